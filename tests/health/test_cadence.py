"""Contact cadence per deciding department: only the kinds that count, only the department contacted; the
task opens before the alert."""

from __future__ import annotations

import datetime as dt

import pytest

from logicrm.db import utcnow
from logicrm.health import runs
from tests import factories


@pytest.fixture
def config(app) -> runs.RunConfig:
    return runs.RunConfig(app.config["LOGICRM"], app.config["LOGICRM_SCORING"], app.config["LOGICRM_RULES"])


def _ago(days: int) -> str:
    return (utcnow() - dt.timedelta(days=days)).isoformat()


def _overdue(api, customer_id: int) -> list[str]:
    """The departments the open contact_overdue alert of an account names."""
    alerts = api.get("/alerts", query={"customer_id": customer_id, "rule": "contact_overdue"}).json["items"]
    found = [a for a in alerts if a["state"] != "resolved"]
    return sorted(d["name"] if isinstance(d, dict) else d for a in found for d in a["details"]["departments"])


def test_only_kinds_that_count_with_the_deciding_department_keep_the_cadence(api, actors, db, config):
    customer = factories.customer(api, tier="vip", owner_id=actors["am"].user_id)  # VIP: every 30 days
    finance = factories.department(api, customer, "finance", is_decision_maker=True)
    logistics = factories.department(api, customer, "logistics", is_decision_maker=True)
    marketing = factories.department(api, customer, "marketing", is_decision_maker=False)
    # an email to finance does not count; a visit to marketing counts for marketing only
    factories.interaction(api, customer, kind="email", department_id=finance["id"], at=_ago(2))
    factories.interaction(api, customer, kind="visit", department_id=marketing["id"], at=_ago(2))
    factories.interaction(api, customer, kind="call", department_id=logistics["id"], at=_ago(10))

    runs.run_health(db, config)
    assert _overdue(api, customer["id"]) == ["finance"]
    cadence_tasks = api.get("/tasks", query={"customer_id": customer["id"], "source": "cadence"}).json[
        "items"
    ]
    # finance is due now (never contacted); logistics only in 20 days, beyond the 7-day lead: no task yet
    assert [(t["department_id"], t["kind"], t["assignee_id"]) for t in cadence_tasks] == [
        (finance["id"], "visit", actors["am"].user_id)
    ]

    factories.interaction(api, customer, kind="meeting", department_id=finance["id"], at=_ago(1))
    runs.run_health(db, config)
    assert _overdue(api, customer["id"]) == []
    assert (
        len(api.get("/tasks", query={"customer_id": customer["id"], "source": "cadence"}).json["items"]) == 1
    )


def test_the_task_opens_within_the_lead_time_before_the_alert(api, actors, db, config):
    customer = factories.customer(api, tier="key", owner_id=actors["am"].user_id)  # key: every 60 days
    buying = factories.department(api, customer, "purchasing", is_decision_maker=True)
    factories.interaction(api, customer, kind="visit", department_id=buying["id"], at=_ago(55))

    runs.run_health(db, config)
    [task] = api.get("/tasks", query={"customer_id": customer["id"], "source": "cadence"}).json["items"]
    assert task["due_on"] == (utcnow() - dt.timedelta(days=55) + dt.timedelta(days=60)).date().isoformat()
    assert _overdue(api, customer["id"]) == []  # not overdue yet: the task comes first
    runs.run_health(db, config)  # the same cycle: no second task
    assert (
        len(api.get("/tasks", query={"customer_id": customer["id"], "source": "cadence"}).json["items"]) == 1
    )
