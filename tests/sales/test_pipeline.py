"""The pipeline: deals by stage and owner, the weighted forecast per month, win rates, cycle times and
stalled deals, over the customers the reader sees."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from logicrm.db import utcnow
from logicrm.sales.models import Opportunity, OpportunityStageEvent
from tests import factories as f


def _backdate(db, deal_id: int, days: float) -> None:
    """Move a deal's creation and every stay of it `days` into the past."""
    shift = dt.timedelta(days=days)
    with db.session_scope() as session:
        for stay in session.query(OpportunityStageEvent).filter_by(opportunity_id=deal_id):
            stay.entered_at -= shift
            stay.left_at = stay.left_at - shift if stay.left_at else None
        session.execute(
            update(Opportunity).where(Opportunity.id == deal_id).values(created_at=utcnow() - shift)
        )


def _move(api, deal: dict, stage: str) -> dict:
    answer = api.update(f"/opportunities/{deal['id']}", {"stage": stage})
    assert answer.status_code == 200, answer.json
    return answer.json


@pytest.fixture
def deals(api, db, actors) -> dict:
    am, other = actors["am"].user_id, actors["am2"].user_id
    mine, theirs = f.customer(api, owner_id=am), f.customer(api, owner_id=other)
    won = f.opportunity(api, mine, value=1000, expected_close="2027-01-15")
    _move(api, won, "proposal")
    _backdate(db, won["id"], 10)  # ten days in lead, then in proposal since
    _move(api, won, "won")
    lost = f.opportunity(api, mine, value=500)
    _move(api, lost, "proposal")
    _move(api, lost, "lost")
    stalled = f.opportunity(api, mine, value=2000, expected_close="2027-02-10", stage="negotiation")
    _backdate(db, stalled["id"], 45)
    fresh = f.opportunity(api, mine, value=400, expected_close="2027-02-20", stage="proposal")
    undated = f.opportunity(api, mine, value=100)
    hidden = f.opportunity(api, theirs, value=99_999, expected_close="2027-01-01")
    return {
        "won": won,
        "lost": lost,
        "stalled": stalled,
        "fresh": fresh,
        "undated": undated,
        "hidden": hidden,
    }


def test_the_pipeline_by_stage_owner_and_month(api, actors, deals):
    body = api.get("/opportunities/pipeline").json
    stages = {row["stage"]: row for row in body["by_stage"]}
    assert list(stages) == ["lead", "proposal", "negotiation", "tender", "won", "lost"]
    assert (stages["negotiation"]["deals"], stages["negotiation"]["weighted_value"]) == (1, 1000.0)
    assert (stages["lead"]["deals"], stages["lead"]["value"]) == (2, 100_099.0)  # the undated and the hidden
    # of the two closed deals, both passed through proposal and one was won
    assert stages["proposal"]["win_rate"] == 0.5 and stages["lead"]["win_rate"] == 0.5
    # the won deal spent 10 days in proposal, the lost one none; both left lead at once
    assert stages["proposal"]["average_days"] == pytest.approx(5, abs=0.01)
    assert stages["lead"]["average_days"] == pytest.approx(0, abs=0.01)
    assert body["win_rate"] == 0.5
    # JSON answers round floats to 6 decimals
    assert [(m["month"], m["deals"], m["weighted_value"]) for m in body["forecast"]] == [
        ("2027-01", 1, pytest.approx(99_999 * 0.1, abs=1e-6)),
        ("2027-02", 2, pytest.approx(2000 * 0.5 + 400 * 0.25, abs=1e-6)),
        (None, 1, pytest.approx(10.0, abs=1e-6)),
    ]
    owners = {row["owner_id"]: row for row in body["by_owner"]}
    mine = owners[actors["am"].user_id]
    assert (mine["open_deals"], mine["won"], mine["lost"], mine["win_rate"]) == (3, 1, 1, 0.5)
    assert mine["average_days_to_win"] == 10
    assert [(d["id"], round(d["days_in_stage"])) for d in body["stalled"]] == [(deals["stalled"]["id"], 45)]
    assert body["stalled_days"] == 30


def test_an_account_manager_s_pipeline_holds_only_their_customers(api, actors, deals):
    body = api.as_(actors["am"]).get("/opportunities/pipeline").json
    assert [m["month"] for m in body["forecast"]] == ["2027-02", None]  # 2027-01 was the hidden deal
    assert sum(row["deals"] for row in body["by_stage"]) == 5
    assert {row["owner_id"] for row in body["by_owner"]} == {actors["am"].user_id}
