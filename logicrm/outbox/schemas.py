"""Webhook receiver and delivery (outbox) payloads."""

from __future__ import annotations

import marshmallow as ma

from logicrm.api import PageArgs
from logicrm.outbox.models import Channel, DeliveryStatus
from logicrm.schemas import Id, enum_field

KINDS = ("alert", "digest", "escalation", "test")


class WebhookIn(ma.Schema):
    url = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=2000),
        metadata={"description": "https in production; no loopback or private addresses unless allowed"},
    )
    description = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=300))
    active = ma.fields.Boolean(load_default=True)


class WebhookOut(WebhookIn):
    id = Id()
    created_at = ma.fields.DateTime()


class NewWebhookOut(WebhookOut):
    secret = ma.fields.String(metadata={"description": "whsec_<base64> signing secret, shown this once only"})


class WebhookListArgs(PageArgs):
    active = ma.fields.Boolean()


class DeliveryOut(ma.Schema):
    id = Id()
    message_id = ma.fields.String(metadata={"description": "Message-ID or webhook-id, stable across retries"})
    kind = ma.fields.String(metadata={"description": "alert, digest or test"})
    channel = enum_field(Channel)
    alert_id = Id(allow_none=True)
    receiver_id = Id(allow_none=True)
    recipient = ma.fields.String()
    subject = ma.fields.String(allow_none=True)
    status = enum_field(DeliveryStatus)
    attempts = ma.fields.Integer()
    next_attempt_at = ma.fields.DateTime()
    last_error = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    sent_at = ma.fields.DateTime(allow_none=True)


class DeliveryDetailOut(DeliveryOut):
    payload = ma.fields.Dict(metadata={"description": "email text, or the webhook's JSON body"})


class DeliveryListArgs(PageArgs):
    status = enum_field(DeliveryStatus)
    channel = enum_field(Channel)
    kind = ma.fields.String(validate=ma.validate.OneOf(KINDS))
    alert_id = Id()
    receiver_id = Id()
