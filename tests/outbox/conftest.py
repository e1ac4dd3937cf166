"""Outbox fixtures: a real SMTP server, a real webhook receiver, and settings aimed at them."""

from __future__ import annotations

import pytest

from logicrm.outbox import receivers
from tests.outbox.servers import SmtpServer, WebhookServer


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def settings(app, smtp):
    """Settings aimed at the test SMTP server, allowing the loopback webhook receiver."""
    settings = app.config["LOGICRM"].replace(
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_timeout_s=5,
        webhook_timeout_s=5,
        webhook_allow_private=True,
        delivery_backoff_base_s=30,
        delivery_backoff_max_s=600,
        public_url="https://crm.example.com",
    )
    app.config["LOGICRM"] = settings
    return settings


@pytest.fixture
def receiver(db, settings):
    """A running webhook receiver registered as the only active receiver."""
    server = WebhookServer(seed=7).start()
    with db.session_scope() as session:
        server.receiver_id = receivers.create(session, url=server.url, settings=settings)[0].id
        server.secret = receivers.get(session, receiver_id=server.receiver_id).secret
    yield server
    server.stop()
