"""Tasks over the API: an account manager's day, follow-ups from interactions, assignees who cover the account."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from logicrm.db import utcnow
from tests import factories


def _day(offset: int, zone: str = "UTC") -> str:
    return (utcnow().astimezone(zoneinfo.ZoneInfo(zone)).date() + dt.timedelta(days=offset)).isoformat()


def test_my_day_sorts_my_open_tasks_into_overdue_today_and_upcoming(api, actors):
    am = api.as_(actors["am"])
    customer = factories.customer(api, owner_id=actors["am"].user_id)
    made = {offset: factories.task(am, customer, title=f"due {offset:+d}", due_on=_day(offset)) for offset in
            (-3, 0, 2, 9)}  # fmt: skip
    done = factories.task(am, customer, title="done", due_on=_day(-1))
    assert am.update(f"/tasks/{done['id']}", {"status": "done", "outcome": "called"}).status_code == 200
    factories.task(api, customer, title="the admin's own", due_on=_day(0))

    day = am.get("/me/tasks").json
    assert day["date"] == _day(0)
    assert [t["title"] for t in day["overdue"]] == ["due -3"]
    assert [t["title"] for t in day["today"]] == ["due +0"]
    assert [t["title"] for t in day["upcoming"]] == ["due +2"]  # within the 7 days asked by default
    wider = am.get("/me/tasks", query={"upcoming_days": 30}).json
    assert [t["id"] for t in wider["upcoming"]] == [made[2]["id"], made[9]["id"]]
    assert am.get("/tasks/" + str(done["id"])).json["completed_at"] is not None


def test_today_is_the_callers_in_its_time_zone(api, actors):
    for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):  # UTC+14 and UTC-11: never the same day
        assert api.get("/me/tasks", query={"time_zone": zone}).json["date"] == _day(0, zone)
    refused = api.get("/me/tasks", query={"time_zone": "Mars/Olympus"})
    assert refused.status_code == 422 and "time_zone" in refused.json["errors"]["query"]


def test_an_assignee_must_cover_the_account(api, actors):
    customer = factories.customer(api, owner_id=actors["am"].user_id)
    body = {"customer_id": customer["id"], "kind": "visit", "title": "visit", "due_on": _day(3)}
    for who in ("am2", "viewer"):  # another account's manager; a role that takes no tasks
        refused = api.post("/tasks", json={**body, "assignee_id": actors[who].user_id})
        assert refused.status_code == 422 and "assignee_id" in refused.json["errors"]["json"], who
    given = api.post("/tasks", json={**body, "assignee_id": actors["am"].user_id})
    assert given.status_code == 201 and given.json["assignee_id"] == actors["am"].user_id


def test_next_follow_up_of_an_interaction_is_a_task_that_moves_with_it(api, actors):
    am = api.as_(actors["am"])
    customer = factories.customer(api, owner_id=actors["am"].user_id)
    contact = factories.interaction(am, customer, next_follow_up=_day(5))
    [task] = am.get("/tasks", query={"source": "follow_up"}).json["items"]
    assert (task["interaction_id"], task["due_on"], task["assignee_id"]) == (
        contact["id"],
        _day(5),
        actors["am"].user_id,
    )
    assert am.update(f"/interactions/{contact['id']}", {"next_follow_up": _day(8)}).status_code == 200
    [moved] = am.get("/tasks", query={"source": "follow_up"}).json["items"]
    assert (moved["id"], moved["due_on"]) == (task["id"], _day(8))
