"""Handling plans at work: the SLA check takes each escalation step once, even when two checks race."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select

from logicrm.db import utcnow
from logicrm.health import runs
from logicrm.outbox.models import Delivery
from tests import factories


@pytest.fixture
def config(app) -> runs.RunConfig:
    return runs.RunConfig(app.config["LOGICRM"], app.config["LOGICRM_SCORING"], app.config["LOGICRM_RULES"])


def _escalations(api, ticket_id: int) -> list[tuple[int, list[int]]]:
    events = api.get(f"/tickets/{ticket_id}/timeline").json["items"]
    return [(e["escalation_step"], e["details"]["recipients"]) for e in events if e["kind"] == "escalated"]


def _sla_checks(db, config, now: dt.datetime, racers: int) -> list[str]:
    """Run `racers` SLA checks at once (distinct slots, as two schedulers would); say how each ended."""
    outcomes: list[str] = []
    start = threading.Barrier(racers)

    def check(slot: str) -> None:
        start.wait(timeout=30)
        try:
            outcomes.append(str(runs.run_sla_check(db, config, slot=slot, now=now).counts["escalated"]))
        except runs.RunInProgress:
            outcomes.append("in_progress")

    threads = [threading.Thread(target=check, args=(f"race-{now}-{n}",)) for n in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(outcomes)


def test_each_step_escalates_once_when_it_comes_due(api, actors, db, config):
    manager, am, sponsor = (actors[name].user_id for name in ("manager", "am", "am2"))
    customer = factories.customer(api, tier="vip", owner_id=am)
    team = {"members": [{"user_id": sponsor, "role": "executive_sponsor"}]}
    assert api.update(f"/customers/{customer['id']}/team", team, method="PUT").status_code == 200
    opened = utcnow() - dt.timedelta(
        hours=13
    )  # VIP: resolution in 48 h; a high complaint's first step at 25%
    ticket = factories.ticket(api, customer, severity="high", opened_at=opened.isoformat())
    assert ticket["handling"]["next_escalation"]["escalate_to"] == "owner"

    assert _sla_checks(db, config, utcnow(), racers=2) in (["0", "1"], ["1", "in_progress"])
    assert _escalations(api, ticket["id"]) == [(0, [am])]
    assert _sla_checks(db, config, opened + dt.timedelta(hours=25), racers=2) in (
        ["0", "1"], ["1", "in_progress"]
    )  # fmt: skip
    assert _escalations(api, ticket["id"]) == [(0, [am]), (1, [sponsor])]
    runs.run_sla_check(db, config, now=opened + dt.timedelta(hours=49))
    assert _escalations(api, ticket["id"]) == [(0, [am]), (1, [sponsor]), (2, [manager])]
    runs.run_sla_check(db, config, now=opened + dt.timedelta(hours=60))
    assert len(_escalations(api, ticket["id"])) == 3
    assert api.get(f"/tickets/{ticket['id']}").json["escalation_level"] == 3

    with db.session(write=False) as session:
        sent = session.scalars(select(Delivery.recipient).where(Delivery.kind == "escalation")).all()
    assert sorted(sent) == sorted(["am@test.example", "am2@test.example", "manager@test.example"])


def test_a_step_missed_while_no_check_ran_is_taken_late_in_order(api, actors, db, config):
    customer = factories.customer(api, tier="standard", owner_id=actors["am"].user_id)
    opened = utcnow() - dt.timedelta(days=20)  # past every step of the plan for requests
    ticket = factories.ticket(api, customer, kind="request", opened_at=opened.isoformat())
    run = runs.run_sla_check(db, config, now=utcnow())
    assert run.counts["escalated"] == 2
    assert [step for step, _ in _escalations(api, ticket["id"])] == [0, 1]
