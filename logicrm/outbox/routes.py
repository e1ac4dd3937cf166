"""Webhook receivers and the delivery outbox (admins only)."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from logicrm.api import Blueprint, page_of, paginate, require_role, session
from logicrm.outbox import receivers
from logicrm.outbox import service as outbox
from logicrm.outbox.schemas import (
    DeliveryDetailOut,
    DeliveryListArgs,
    DeliveryOut,
    NewWebhookOut,
    WebhookIn,
    WebhookListArgs,
    WebhookOut,
)
from logicrm.schemas import patch_schema
from logicrm.users.models import UserRole

webhooks_blp = Blueprint(
    "webhooks",
    __name__,
    url_prefix="/webhooks",
    description="Webhook receivers of alert events, signed Standard Webhooks style (admin only).",
)
deliveries_blp = Blueprint(
    "deliveries",
    __name__,
    url_prefix="/deliveries",
    description="The outbox: alert emails and webhooks, their retries and dead letters (admin only).",
)


@webhooks_blp.before_request
@deliveries_blp.before_request
def _admins_only():
    require_role(UserRole.ADMIN)


def _settings():
    return current_app.config["LOGICRM"]


@webhooks_blp.route("")
class Webhooks(MethodView):
    @webhooks_blp.arguments(WebhookListArgs, location="query")
    @webhooks_blp.response(200, page_of(WebhookOut))
    def get(self, args):
        """List webhook receivers (never their secrets)."""
        statement = receivers.list_statement(active=args.get("active"))
        return paginate(session(), statement, page=args["page"], page_size=args["page_size"])

    @webhooks_blp.arguments(WebhookIn)
    @webhooks_blp.response(201, NewWebhookOut)
    def post(self, webhook_in):
        """Register a receiver; the response is the only time its signing secret is shown."""
        receiver, secret = receivers.create(session(), **webhook_in, settings=_settings())
        return {**{name: getattr(receiver, name) for name in WebhookOut().fields}, "secret": secret}


@webhooks_blp.route("/<int:receiver_id>")
class WebhookById(MethodView):
    @webhooks_blp.response(200, WebhookOut)
    def get(self, receiver_id):
        """Read one receiver."""
        return receivers.get(session(), receiver_id=receiver_id)

    @webhooks_blp.arguments(patch_schema(WebhookIn))
    @webhooks_blp.response(200, WebhookOut)
    def patch(self, changes, receiver_id):
        """Change a receiver's URL (checked again), description or active flag."""
        receiver = receivers.get(session(), receiver_id=receiver_id)
        return receivers.update(session(), receiver=receiver, changes=changes, settings=_settings())

    @webhooks_blp.response(204)
    def delete(self, receiver_id):
        """Delete a receiver and its deliveries."""
        receivers.delete(session(), receiver=receivers.get(session(), receiver_id=receiver_id))


@webhooks_blp.route("/<int:receiver_id>/test")
class WebhookTest(MethodView):
    @webhooks_blp.response(202, DeliveryOut)
    def post(self, receiver_id):
        """Queue a webhook.test event to this receiver; the next outbox flush sends it."""
        receiver = receivers.get(session(), receiver_id=receiver_id)
        return outbox.enqueue_test(session(), receiver=receiver, settings=_settings())


@deliveries_blp.route("")
class Deliveries(MethodView):
    @deliveries_blp.arguments(DeliveryListArgs, location="query")
    @deliveries_blp.response(200, page_of(DeliveryOut))
    def get(self, args):
        """List deliveries, newest first; status=dead shows the dead letters."""
        page, page_size = args.pop("page"), args.pop("page_size")
        return paginate(session(), outbox.list_statement(**args), page=page, page_size=page_size)


@deliveries_blp.route("/<int:delivery_id>")
class DeliveryById(MethodView):
    @deliveries_blp.response(200, DeliveryDetailOut)
    def get(self, delivery_id):
        """Read one delivery with its payload."""
        return outbox.get(session(), delivery_id=delivery_id)


@deliveries_blp.route("/<int:delivery_id>/retry")
class DeliveryRetry(MethodView):
    @deliveries_blp.response(200, DeliveryOut)
    def post(self, delivery_id):
        """Put a dead delivery back in the queue, due now, with fresh attempts (409 unless dead)."""
        return outbox.retry(session(), delivery_id=delivery_id)


blueprints = (webhooks_blp, deliveries_blp)
