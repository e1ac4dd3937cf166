"""The links messages carry reach pages this app serves: the web pages under public_url, the API beside them."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

from logicrm.outbox import messages


def test_every_link_in_a_message_is_a_route_of_this_app(app):
    settings = app.config["LOGICRM"]
    urls = app.url_map.bind("localhost")
    paths = [urlsplit(link).path for link in messages.links(settings, customer_id=5).values()]
    escalation = messages.EscalationNotice(
        ticket_id=7, step=0, customer_id=5, customer_name="Acme", tier="vip", kind="claim", severity="high",
        subject="late", escalate_to="owner", recipients=["am@example.com"], opened_at=dt.datetime(2026, 1, 1),
        resolution_due_at=dt.datetime(2026, 1, 2), customer_message="we are on it",
    )  # fmt: skip
    (email,) = messages.escalation_emails(escalation, settings=settings)
    paths += [urlsplit(link).path for link in re.findall(r"https?://\S+", email.payload["text"])]
    assert {"/alerts", "/accounts/5", "/service-desk", "/api/v1/tickets/7"} <= set(paths)
    for path in paths:
        endpoint, _arguments = urls.match(path, method="GET")
        assert endpoint.startswith("web.") == (not path.startswith("/api/")), (path, endpoint)
    assert all(link.startswith(settings.public_url.rstrip("/")) for link in messages.links(settings).values())
