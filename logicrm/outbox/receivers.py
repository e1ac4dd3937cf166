"""Webhook receivers: register, read, list, change and delete the endpoints that get alert events.

A receiver's URL is checked (webhooks.check_destination) when it is registered or changed, and again
each time an event is sent; its signing secret is shown once, when it is registered.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from logicrm.config import Settings
from logicrm.errors import NotFound, field_error
from logicrm.outbox import webhooks
from logicrm.outbox.models import WebhookReceiver

SECRET_BYTES = 24


def create(
    session: Session, *, url: str, description: str | None = None, active: bool = True, settings: Settings
) -> tuple[WebhookReceiver, str]:
    """Register a receiver after checking its URL; return it and its secret (shown this once)."""
    _check_url_field(url, settings)
    secret = new_secret()
    receiver = WebhookReceiver(url=url, secret=secret, description=description, active=active)
    session.add(receiver)
    session.flush()
    return receiver, secret


def get(session: Session, *, receiver_id: int) -> WebhookReceiver:
    """Return one receiver or raise NotFound."""
    receiver = session.get(WebhookReceiver, receiver_id)
    if receiver is None:
        raise NotFound(f"webhook receiver {receiver_id} not found")
    return receiver


def list_statement(*, active: bool | None = None) -> Select:
    """Return the statement listing receivers, oldest first (the caller paginates)."""
    statement = select(WebhookReceiver).order_by(WebhookReceiver.id)
    if active is not None:
        statement = statement.where(WebhookReceiver.active == active)
    return statement


def update(
    session: Session, *, receiver: WebhookReceiver, changes: Mapping, settings: Settings
) -> WebhookReceiver:
    """Change a receiver's url, description or active flag; a new URL is checked like a new receiver's."""
    if "url" in changes and changes["url"] != receiver.url:
        _check_url_field(changes["url"], settings)
    for name in ("url", "description", "active"):
        if name in changes:
            setattr(receiver, name, changes[name])
    session.flush()
    return receiver


def delete(session: Session, *, receiver: WebhookReceiver) -> None:
    """Delete a receiver; its deliveries go with it (the foreign key cascades)."""
    session.delete(receiver)
    session.flush()


def new_secret() -> str:
    """Return a fresh signing secret in the Standard Webhooks form whsec_<base64>."""
    return webhooks.SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _check_url_field(url: str, settings: Settings) -> None:
    try:
        webhooks.check_destination(url, settings)
    except webhooks.UnsafeDestination as error:
        raise field_error("url", str(error)) from None
