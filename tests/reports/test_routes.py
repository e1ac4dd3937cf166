"""Service KPIs on crafted data equal the figures computed by hand."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from logicrm.db import utcnow
from tests import factories


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat()


@pytest.fixture
def crafted(api, actors) -> dict:
    """One key account of am (cadence 60 days, finance deciding) and one standard account of am2."""
    now = utcnow()
    am, am2 = actors["am"].user_id, actors["am2"].user_id
    key = factories.customer(api, tier="key", owner_id=am)  # SLA: first response 8 h, resolution 120 h
    finance = factories.department(api, key, "finance", is_decision_maker=True)
    factories.customer(api, tier="standard", owner_id=am2)
    # on time: answered after 2 h, resolved after 20 h
    opened = now - dt.timedelta(days=10)
    factories.ticket(api, key, kind="request", opened_at=_iso(opened), first_response_at=_iso(opened + dt.timedelta(hours=2)),
                     resolved_at=_iso(opened + dt.timedelta(hours=20)), status="resolved", root_cause="system_error",
                     resolution="fixed")  # fmt: skip
    # late first response (10 h), resolved after 30 h, through the desk: its callback follows, due two
    # days (a key account's) after the resolution
    opened = now - dt.timedelta(days=2)
    late = factories.ticket(api, key, kind="complaint", opened_at=_iso(opened),
                            first_response_at=_iso(opened + dt.timedelta(hours=10)))  # fmt: skip
    closing = {"status": "resolved", "resolved_at": _iso(opened + dt.timedelta(hours=30)),
               "root_cause": "carrier_delay", "resolution": "rebooked"}  # fmt: skip
    assert api.update(f"/tickets/{late['id']}", closing).status_code == 200
    factories.ticket(api, key, kind="delay")  # open: not handled
    answered = {"outcome": "fine now", "satisfaction": 4, "department_id": finance["id"]}
    assert (
        api.post(f"/tickets/{late['id']}/callback", json=answered).status_code == 201
    )  # done by its due day
    today = now.date()
    for due in (today - dt.timedelta(days=1), today + dt.timedelta(days=1)):  # one late, one on time
        task = factories.task(api, key, assignee_id=am, due_on=due.isoformat())
        assert api.update(f"/tasks/{task['id']}", {"status": "done", "outcome": "done"}).status_code == 200
    factories.task(api, key, assignee_id=am, due_on=today.isoformat())  # open: not done
    for kind in ("visit", "call", "email"):  # the email does not count
        factories.interaction(
            api, key, kind=kind, department_id=finance["id"], at=_iso(now - dt.timedelta(days=2))
        )
    return {"am": am, "am2": am2, "since": today - dt.timedelta(days=29), "until": today}


def test_kpis_equal_the_hand_computed_figures(api, crafted):
    period = {"since": crafted["since"].isoformat(), "until": crafted["until"].isoformat()}
    report = api.as_(None).get("/reports/service", query=period)
    assert report.status_code == 401
    report = api.get("/reports/service", query=period).json
    agents = {row["user_id"]: row for row in report["agents"]}
    teams = {row["user_id"]: row for row in report["teams"]}
    am = agents[crafted["am"]]
    assert am["tickets_handled"] == 2
    assert am["first_response_hours"] == pytest.approx((2 + 10) / 2)
    assert am["resolution_hours"] == pytest.approx((20 + 30) / 2)
    assert am["sla_breach_rate"] == pytest.approx(1 / 2)
    assert (am["callbacks_done"], am["callback_satisfaction"]) == (1, pytest.approx(4.0))
    assert am["tasks_done"] == 3  # the callback and two tasks
    assert am["tasks_on_time_rate"] == pytest.approx(2 / 3)
    # the team of am: its one key account, 2 contacts that count against 30 days / 60 for finance
    team = teams[crafted["am"]]
    assert (team["accounts"], team["contacts"]) == (1, 2)
    assert team["contacts_expected"] == pytest.approx(30 / 60)
    assert team["contact_ratio"] == pytest.approx(4.0)
    assert team["tickets_handled"] == 2
    # am2's standard account has no deciding department: the account's cadence, 120 days
    other = teams[crafted["am2"]]
    assert (other["accounts"], other["contacts"], other["contacts_expected"]) == (
        1,
        0,
        pytest.approx(30 / 120),
    )
    assert other["tickets_handled"] == 0 and other["sla_breach_rate"] is None

    before = api.get(
        "/reports/service", query={"until": (crafted["since"] - dt.timedelta(days=1)).isoformat()}
    ).json
    assert all(row["tickets_handled"] == 0 for row in before["agents"])


def test_the_csv_has_the_same_figures_and_managers_only_read_it(api, actors, crafted):
    period = {"since": crafted["since"].isoformat(), "until": crafted["until"].isoformat()}
    answer = api.as_(actors["manager"]).get("/reports/service.csv", query=period)
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    [am] = [row for row in rows if row["group"] == "agent" and row["user_id"] == str(crafted["am"])]
    assert (am["tickets_handled"], am["first_response_hours"], am["tasks_on_time_rate"]) == (
        "2",
        "6",
        "0.6667",
    )
    assert api.as_(actors["am"]).get("/reports/service.csv").status_code == 403
    bad = api.get("/reports/service", query={"since": "2026-05-02", "until": "2026-05-01"})
    assert bad.status_code == 422 and "since" in bad.json["errors"]["query"]
