"""Playbooks: an alert that opens runs its playbook once; resolving it closes the tasks it opened."""

from __future__ import annotations

import pytest

from logicrm.health import runs
from tests import factories


@pytest.fixture
def config(app) -> runs.RunConfig:
    return runs.RunConfig(app.config["LOGICRM"], app.config["LOGICRM_SCORING"], app.config["LOGICRM_RULES"])


def _playbook_tasks(api, customer_id: int, **query) -> list[dict]:
    query = {"customer_id": customer_id, "source": "playbook", **query}
    return api.get("/tasks", query=query).json["items"]


def test_a_playbook_opens_its_tasks_once_per_alert_and_resolving_closes_them(api, actors, db, config):
    customer = factories.customer(api, tier="vip", owner_id=actors["am"].user_id)
    runs.run_health(db, config)
    [alert] = api.get("/alerts", query={"customer_id": customer["id"], "rule": "vip_without_sponsor"}).json[
        "items"
    ]
    [task] = _playbook_tasks(api, customer["id"], alert_id=alert["id"])
    assert (task["alert_id"], task["kind"], task["assignee_id"], task["status"]) == (
        alert["id"],
        "review",
        actors["am"].user_id,
        "open",
    )
    assert customer["name"] in task["title"]

    runs.run_health(db, config)  # the alert stays open: no second task
    assert [t["id"] for t in _playbook_tasks(api, customer["id"], alert_id=alert["id"])] == [task["id"]]

    team = {"members": [{"user_id": actors["am2"].user_id, "role": "executive_sponsor"}]}
    assert api.update(f"/customers/{customer['id']}/team", team, method="PUT").status_code == 200
    runs.run_health(db, config)
    [resolved] = api.get(
        "/alerts", query={"customer_id": customer["id"], "rule": "vip_without_sponsor"}
    ).json["items"]
    assert (resolved["id"], resolved["state"]) == (alert["id"], "resolved")
    [closed] = _playbook_tasks(api, customer["id"], alert_id=alert["id"])
    assert (closed["id"], closed["status"]) == (task["id"], "not_needed")


def test_a_step_for_each_department_opens_one_task_per_department_named(api, actors, db, config):
    customer = factories.customer(api, tier="key", owner_id=actors["am"].user_id)
    named = [factories.department(api, customer, name, is_decision_maker=True) for name in ("finance", "it")]
    runs.run_health(db, config)  # no survey answers: department_silent names both
    visits = [t for t in _playbook_tasks(api, customer["id"]) if t["kind"] == "visit"]
    assert sorted(t["department_id"] for t in visits) == sorted(d["id"] for d in named)
    surveys = [t for t in _playbook_tasks(api, customer["id"]) if t["kind"] == "survey"]
    assert len(surveys) == 2 and all(t["assignee_id"] == actors["am"].user_id for t in surveys)  # no agent
