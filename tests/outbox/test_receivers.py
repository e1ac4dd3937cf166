"""Webhook receivers: URLs checked on create and update, fresh whsec_ secrets, list and delete."""

from __future__ import annotations

import base64

import pytest

from logicrm.config import Settings
from logicrm.errors import Invalid
from logicrm.outbox import receivers

DEV = Settings(env="development")
PRODUCTION = Settings(env="production")


def test_secrets_are_fresh_whsec_keys():
    first, second = receivers.new_secret(), receivers.new_secret()
    assert first.startswith("whsec_") and first != second
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == receivers.SECRET_BYTES


def test_receivers_are_checked_on_create_and_update(session):
    with pytest.raises(Invalid) as refused:
        receivers.create(session, url="http://10.0.0.5/hook", settings=DEV)
    assert "private" in refused.value.errors["json"]["url"][0]

    receiver, secret = receivers.create(
        session, url="https://93.184.215.14/hook", description="ops", settings=PRODUCTION
    )
    assert receiver.id and receiver.secret == secret and receiver.active
    with pytest.raises(Invalid, match="url: must use https"):
        receivers.update(
            session, receiver=receiver, changes={"url": "http://93.184.215.14/"}, settings=PRODUCTION
        )
    receivers.update(
        session, receiver=receiver, changes={"description": "on-call", "active": False}, settings=PRODUCTION
    )
    assert (receiver.description, receiver.active, receiver.url) == (
        "on-call",
        False,
        "https://93.184.215.14/hook",
    )
    assert session.scalars(receivers.list_statement(active=False)).all() == [receiver]
    receivers.delete(session, receiver=receiver)
    assert session.scalars(receivers.list_statement()).all() == []
