"""The service desk over the API: due times from the tier SLA, the queue, filters, closing and callback."""

from __future__ import annotations

import datetime as dt

from logicrm.db import utcnow
from tests import factories

# the built-in tier SLAs (hours): first response, resolution
SLA = {"vip": (4, 48), "key": (8, 120), "standard": (24, 240)}


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _opened(hours_ago: float, offset_hours: int) -> str:
    """A moment `hours_ago` before now, written in another time zone."""
    zone = dt.timezone(dt.timedelta(hours=offset_hours))
    return (utcnow() - dt.timedelta(hours=hours_ago)).astimezone(zone).isoformat()


def test_due_times_follow_the_tier_sla_whatever_the_time_zone(api):
    for tier, (first, resolution) in SLA.items():
        customer = factories.customer(api, tier=tier)
        opened = _opened(1, offset_hours=9 if tier == "vip" else -5)
        ticket = factories.ticket(api, customer, opened_at=opened)
        assert _at(ticket["first_response_due_at"]) == _at(opened) + dt.timedelta(hours=first)
        assert _at(ticket["resolution_due_at"]) == _at(opened) + dt.timedelta(hours=resolution)
        assert _at(ticket["breach_at"]) == _at(ticket["first_response_due_at"])
        assert ticket["breached"] is False
    vip = factories.customer(api, tier="vip")
    assert factories.ticket(api, vip, severity="medium")["priority"] == "high"  # one up for a VIP


def test_queue_puts_breached_tickets_first_vip_before_longer_breached(api):
    vip, key, standard = (factories.customer(api, tier=tier) for tier in ("vip", "key", "standard"))
    soon_vip = factories.ticket(api, vip, subject="vip, due in 3 h", opened_at=_opened(1, 9))
    soon_key = factories.ticket(api, key, subject="key, due in 2 h", opened_at=_opened(6, -5))
    late_standard = factories.ticket(api, standard, subject="standard, 6 h late", opened_at=_opened(30, 1))
    late_vip = factories.ticket(api, vip, subject="vip, 1 h late", kind="claim", opened_at=_opened(5, -8))
    answered = factories.ticket(api, standard, subject="answered", opened_at=_opened(10, 0))
    api.post(f"/tickets/{answered['id']}/notes", json={"text": "on it", "to_customer": True})
    resolved = factories.ticket(api, vip, subject="done", opened_at=_opened(10, 0))
    closing = {"status": "resolved", "root_cause": "carrier_delay", "resolution": "rebooked"}
    assert api.update(f"/tickets/{resolved['id']}", closing).status_code == 200

    queue = api.get("/tickets/queue").json["items"]
    # answered: its next due time is the resolution (240 h after opening), last
    expected = [late_vip, late_standard, soon_key, soon_vip, answered]
    assert [t["subject"] for t in queue] == [t["subject"] for t in expected]
    assert [t["breached"] for t in queue] == [True, True, False, False, False]
    assert _at(queue[-1]["breach_at"]) == _at(answered["resolution_due_at"])

    breached = api.get("/tickets/queue", query={"breached": "true"}).json["items"]
    assert [t["id"] for t in breached] == [late_vip["id"], late_standard["id"]]
    on_vips = api.get("/tickets/queue", query={"tier": "vip"}).json["items"]
    assert [t["id"] for t in on_vips] == [late_vip["id"], soon_vip["id"]]
    claims = api.get("/tickets/queue", query={"kind": "claim"}).json["items"]
    assert [t["id"] for t in claims] == [late_vip["id"]]


def test_ticket_filters(api, actors):
    customer = factories.customer(api, owner_id=actors["am"].user_id)
    mine = factories.ticket(api, customer, kind="damage")
    late = factories.ticket(api, customer, kind="billing", opened_at=_opened(30, 0), assignee_id=None)
    closed = factories.ticket(api, customer, kind="damage")
    api.update(
        f"/tickets/{closed['id']}", {"status": "closed", "root_cause": "packaging", "resolution": "paid"}
    )

    def ids(**query):
        return {t["id"] for t in api.get("/tickets", query=query).json["items"]}

    assert mine["assignee_id"] == actors["am"].user_id  # the owner by default
    assert ids(status="open") == {mine["id"], late["id"]}
    assert ids(status="closed") == {closed["id"]}
    assert ids(kind="damage") == {mine["id"], closed["id"]}
    assert ids(assignee_id=actors["am"].user_id) == {mine["id"], closed["id"]}
    assert ids(unassigned="true") == {late["id"]}
    assert ids(breached="true") == {late["id"]}
    assert ids(breached="false") == {mine["id"], closed["id"]}


def test_resolving_takes_a_root_cause_and_a_resolution(api):
    ticket = factories.ticket(api, factories.customer(api))
    refused = api.update(f"/tickets/{ticket['id']}", {"status": "resolved", "resolution": "rebooked"})
    assert refused.status_code == 422 and "root_cause" in refused.json["errors"]["json"]
    assert api.get(f"/tickets/{ticket['id']}").json["status"] == "open"  # nothing half-written


def test_closing_a_claim_schedules_a_callback_whose_answer_is_a_survey(api, actors):
    customer = factories.customer(api, tier="key", owner_id=actors["am"].user_id)
    department = factories.department(api, customer, is_decision_maker=True)
    contact = factories.contact(api, customer, department_id=department["id"])
    ticket = factories.ticket(api, customer, kind="claim", contact_id=contact["id"], claim_amount=900)
    closing = {"status": "resolved", "root_cause": "handling_damage", "resolution": "paid the claim",
               "compensation_amount": 900}  # fmt: skip
    assert api.update(f"/tickets/{ticket['id']}", closing).status_code == 200

    callbacks = api.get("/tasks", query={"ticket_id": ticket["id"]}).json["items"]
    assert [(t["kind"], t["source"], t["assignee_id"]) for t in callbacks] == [
        ("callback", "callback", actors["am"].user_id)
    ]
    assert callbacks[0]["due_on"] == (utcnow().date() + dt.timedelta(days=2)).isoformat()  # key: 2 days

    done = api.post(f"/tickets/{ticket['id']}/callback", json={"outcome": "happy", "satisfaction": 4})
    assert done.status_code == 201, done.json
    assert done.json["task_ids"] == [callbacks[0]["id"]]
    survey = api.get(f"/surveys/{done.json['survey_id']}").json
    assert (survey["ticket_id"], survey["department_id"], survey["channel"]) == (
        ticket["id"],
        department["id"],
        "callback",
    )
    assert api.get(f"/tasks/{callbacks[0]['id']}").json["status"] == "done"
    kinds = [e["kind"] for e in api.get(f"/tickets/{ticket['id']}/timeline").json["items"]]
    assert kinds == ["opened", "resolved", "callback"]


def test_a_callback_is_due_its_days_after_the_resolution_even_when_recorded_later(api, actors):
    customer = factories.customer(api, tier="vip", owner_id=actors["am"].user_id)
    ticket = factories.ticket(api, customer, kind="delay", opened_at=_opened(24 * 6, 2))
    resolved = utcnow() - dt.timedelta(days=4)
    closing = {"status": "closed", "root_cause": "carrier_delay", "resolution": "delivered a day late",
               "resolved_at": resolved.isoformat()}  # fmt: skip
    assert api.update(f"/tickets/{ticket['id']}", closing).status_code == 200
    [callback] = api.get("/tasks", query={"ticket_id": ticket["id"]}).json["items"]
    assert callback["due_on"] == (resolved.date() + dt.timedelta(days=1)).isoformat()  # vip: the day after


def test_first_reply_to_the_customer_is_the_first_response(api):
    ticket = factories.ticket(api, factories.customer(api, tier="vip"), opened_at=_opened(5, 0))
    assert api.get(f"/tickets/{ticket['id']}").json["breached"] is True
    internal = api.post(f"/tickets/{ticket['id']}/notes", json={"text": "checking the tracking"})
    assert internal.status_code == 201
    assert api.get(f"/tickets/{ticket['id']}").json["first_response_at"] is None
    api.post(f"/tickets/{ticket['id']}/notes", json={"text": "found it", "to_customer": True})
    answered = api.get(f"/tickets/{ticket['id']}").json
    assert answered["first_response_at"] is not None
    assert answered["breached"] is True  # answered after its first-response time
    assert _at(answered["breach_at"]) == _at(answered["resolution_due_at"])
