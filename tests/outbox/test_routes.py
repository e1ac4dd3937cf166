"""Webhook receivers and the outbox through the API: admin only, secrets shown once, dead letters retried."""

from __future__ import annotations

import datetime as dt

import pytest

from logicrm.db import utcnow
from logicrm.outbox import service as outbox
from tests.outbox.servers import WebhookServer

PUBLIC_URL = "https://93.184.215.14/hooks/logicrm"


@pytest.fixture
def app(app):
    """The app with test-friendly delivery settings (local receivers allowed, few attempts)."""
    app.config["LOGICRM"] = app.config["LOGICRM"].replace(
        webhook_allow_private=True, webhook_timeout_s=5, delivery_max_attempts=2
    )
    return app


@pytest.fixture
def server():
    receiver = WebhookServer().start()
    yield receiver
    receiver.stop()


def flush(app, now):
    return outbox.flush(app.extensions["logicrm.db"], app.config["LOGICRM"], now=now)


def test_receivers_crud_shows_the_secret_once(api):
    created = api.post("/webhooks", json={"url": PUBLIC_URL, "description": "Ops Slack bridge"})
    assert created.status_code == 201, created.json
    receiver = created.json
    assert receiver["secret"].startswith("whsec_") and receiver["active"] is True
    path = f"/webhooks/{receiver['id']}"
    shown = api.get(path).json
    assert "secret" not in shown and shown == {k: v for k, v in receiver.items() if k != "secret"}
    listed = api.get("/webhooks").json
    assert listed["meta"]["total"] == 1 and "secret" not in listed["items"][0]

    updated = api.patch(path, json={"description": "paused", "active": False})
    assert (updated.status_code, updated.json["active"], updated.json["url"]) == (200, False, PUBLIC_URL)
    assert api.get("/webhooks", query={"active": "true"}).json["meta"]["total"] == 0
    assert api.patch(path, json={"secret": "whsec_mine"}).status_code == 422

    assert api.delete(path).status_code == 204
    assert api.get(path).status_code == 404
    assert api.delete(path).status_code == 404


def test_loopback_private_and_plain_http_urls_are_refused(app, api):
    app.config["LOGICRM"] = app.config["LOGICRM"].replace(webhook_allow_private=False)
    for url, reason in [
        ("http://127.0.0.1:9000/hook", "loopback"),
        ("http://192.168.0.10/hook", "private"),
        ("http://169.254.169.254/", "link-local"),
        ("https://host.invalid/hook", "does not resolve"),
    ]:
        refused = api.post("/webhooks", json={"url": url})
        assert refused.status_code == 422 and reason in refused.json["errors"]["json"]["url"][0], refused.json
    created = api.post("/webhooks", json={"url": PUBLIC_URL}).json
    moved = api.patch(f"/webhooks/{created['id']}", json={"url": "http://10.0.0.1/"})
    assert moved.status_code == 422 and "private" in moved.json["errors"]["json"]["url"][0]

    app.config["LOGICRM"] = app.config["LOGICRM"].replace(env="production")
    plain = api.post("/webhooks", json={"url": "http://93.184.215.14/hook"})
    assert plain.status_code == 422 and plain.json["errors"]["json"]["url"] == ["must use https"]
    assert api.post("/webhooks", json={"url": PUBLIC_URL}).status_code == 201
    assert api.get("/webhooks").json["meta"]["total"] == 2


def test_only_admins_manage_receivers_and_see_deliveries(api, actors):
    for role in ("manager", "am", "planner", "viewer"):
        as_role = api.as_(actors[role])
        assert as_role.get("/webhooks").status_code == 403
        assert as_role.get("/deliveries").status_code == 403
        assert as_role.post("/webhooks", json={"url": PUBLIC_URL}).status_code == 403
    assert api.as_(None).get("/deliveries").status_code == 401
    assert api.get("/webhooks").json["meta"]["total"] == 0


def test_test_event_dead_letters_then_retry_delivers(app, api, server):
    created = api.post("/webhooks", json={"url": server.url, "description": "local"}).json
    server.secret = created["secret"]
    queued = api.post(f"/webhooks/{created['id']}/test")
    assert queued.status_code == 202, queued.json
    delivery = queued.json
    assert (delivery["kind"], delivery["channel"], delivery["status"], delivery["receiver_id"]) == (
        "test",
        "webhook",
        "pending",
        created["id"],
    )
    assert delivery["message_id"].startswith("msg_test-")

    server.fail_rate = 1.0
    now = utcnow()
    assert flush(app, now)["failed"] == 1
    assert flush(app, now + dt.timedelta(hours=2))["dead"] == 1  # delivery_max_attempts=2
    dead = api.get("/deliveries", query={"status": "dead"}).json
    assert [d["id"] for d in dead["items"]] == [delivery["id"]]
    assert dead["items"][0]["attempts"] == 2 and dead["items"][0]["last_error"].startswith("HTTP 500")
    detail = api.get(f"/deliveries/{delivery['id']}").json
    assert detail["payload"]["type"] == "webhook.test"

    retried = api.post(f"/deliveries/{delivery['id']}/retry")
    assert (retried.status_code, retried.json["status"], retried.json["attempts"]) == (200, "pending", 0)
    assert api.post(f"/deliveries/{delivery['id']}/retry").status_code == 409
    server.fail_rate = 0.0
    assert flush(app, utcnow())["sent"] == 1
    sent = api.get(f"/deliveries/{delivery['id']}").json
    assert sent["status"] == "sent" and sent["sent_at"]
    assert server.rejected == [] and list(server.events) == [delivery["message_id"]]
    assert server.events[delivery["message_id"]]["type"] == "webhook.test"
    assert api.post(f"/deliveries/{delivery['id']}/retry").status_code == 409


def test_deliveries_list_filters_and_pages(app, api):
    receivers = [api.post("/webhooks", json={"url": PUBLIC_URL}).json["id"] for _ in range(2)]
    for receiver_id in receivers:
        for _ in range(3):
            assert api.post(f"/webhooks/{receiver_id}/test").status_code == 202
    page = api.get("/deliveries", query={"page_size": 4}).json
    assert page["meta"] == {"total": 6, "page": 1, "page_size": 4, "pages": 2}
    ids = [d["id"] for d in page["items"]]
    assert ids == sorted(ids, reverse=True)  # newest first
    assert "payload" not in page["items"][0]
    by_receiver = api.get("/deliveries", query={"receiver_id": receivers[0]}).json
    assert by_receiver["meta"]["total"] == 3
    for query, total in [
        ({"channel": "webhook", "kind": "test", "status": "pending"}, 6),
        ({"channel": "email"}, 0),
        ({"kind": "digest"}, 0),
        ({"alert_id": 12345}, 0),
    ]:
        assert api.get("/deliveries", query=query).json["meta"]["total"] == total, query
    assert api.get("/deliveries", query={"status": "lost"}).status_code == 422
    assert api.get("/deliveries", query={"kind": "fax"}).status_code == 422
    assert api.get("/deliveries/999999").status_code == 404
    assert api.post("/deliveries/999999/retry").status_code == 404
    assert api.post("/webhooks/999999/test").status_code == 404
    pending = api.post(f"/deliveries/{ids[0]}/retry")
    assert pending.status_code == 409 and "only dead" in pending.json["message"]


def test_deleting_a_receiver_drops_its_queued_deliveries(api):
    receiver_id = api.post("/webhooks", json={"url": PUBLIC_URL}).json["id"]
    api.post(f"/webhooks/{receiver_id}/test")
    assert api.get("/deliveries").json["meta"]["total"] == 1
    assert api.delete(f"/webhooks/{receiver_id}").status_code == 204
    assert api.get("/deliveries").json["meta"]["total"] == 0
