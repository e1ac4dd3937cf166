"""Portfolio KPIs: computed from shipments at a moment, stored by each health run and by the monthly replay,
served as a series."""

from __future__ import annotations

import datetime as dt

import pytest

from logicrm.customers.models import Customer
from logicrm.db import utcnow
from logicrm.health import kpis, runs
from logicrm.health.models import PortfolioKpis
from logicrm.sales.models import Opportunity, OpportunityKind, OpportunityStage
from tests import factories as f


def _ship(api, link: dict, at: dt.datetime, rows: list[tuple[int, float, float]]) -> None:
    """Shipments (days before `at`, revenue, cost) on a lane."""
    body = [
        {"link_id": link["id"], "shipped_at": (at - dt.timedelta(days=days)).isoformat(), "revenue": revenue,
         "cost": cost}
        for days, revenue, cost in rows
    ]  # fmt: skip
    assert api.post("/shipments", json={"shipments": body}).status_code == 201


@pytest.fixture
def portfolio(api, db) -> dict:
    """One customer per lifecycle stage, dated in days before `at` (a moment just after they were made)."""
    at = utcnow() + dt.timedelta(seconds=5)
    hub = f.customer(api, "Hub Receiving", roles=("consignee",))
    made = {
        "steady": f.customer(api, "Steady", acquisition_channel="relationship"),
        "lost": f.customer(api, "Lost"),
        "newcomer": f.customer(api, "Newcomer", acquisition_channel="web"),
        "returning": f.customer(api, "Returning"),
        "fading": f.customer(api, "Fading", acquisition_channel="exhibition"),
        "prospect": f.customer(api, "Prospect"),
        "hub": hub,
    }
    lane = {
        name: f.link(api, made[name], hub) for name in ("steady", "lost", "newcomer", "returning", "fading")
    }
    # monthly for two years, 150 a shipment this year and 100 the year before
    _ship(api, lane["steady"], at, [(15 + 30 * k, 150 if k < 12 else 100, 100) for k in range(24)])
    _ship(api, lane["lost"], at, [(380 + 30 * k, 100, 80) for k in range(12)])  # stopped 380 days ago
    _ship(api, lane["newcomer"], at, [(20, 600, 400)])
    _ship(api, lane["returning"], at, [(1000, 500, 300), (60, 300, 100)])  # back after a gap of years
    _ship(api, lane["fading"], at, [(120 + 20 * k, 100, 80) for k in range(8)])  # nothing in 120 days
    with db.session_scope() as session:
        session.add(
            Opportunity(customer_id=made["steady"]["id"], kind=OpportunityKind.RENEWAL, title="renewal",
                        stage=OpportunityStage.WON, value=2000, probability=1, closed_on=(at - dt.timedelta(days=200)).date())
        )  # fmt: skip
    return {"at": at, **{name: customer["id"] for name, customer in made.items()}}


def test_the_kpis_at_a_moment(db, portfolio):
    with db.session_scope() as session:
        figures = kpis.compute(session, at=portfolio["at"])
    # the base: paying customers of the year before (steady, lost); steady stayed, lost left
    assert figures["retention"] == pytest.approx({
        "base_customers": 2, "retained_customers": 1, "customer_retention": 0.5, "churned_customers": 1,
        "churn_rate": 0.5, "base_revenue": 2400.0, "revenue_retention": 0.5, "churned_revenue": 1200.0,
        "revenue_churn_rate": 0.5, "net_revenue_retention": 0.75,
    })  # fmt: skip
    revenue = figures["revenue"]
    # paying this year: steady 1800, newcomer 600, returning 300, fading 800
    assert (revenue["paying_customers"], revenue["revenue"]) == (4, 3500.0)
    assert revenue["pareto_ratio"] == pytest.approx(1800 / 3500) and "top 1 of 4" in revenue["pareto_label"]
    assert revenue["top_10_share"] == 1.0
    assert revenue["herfindahl"] == pytest.approx((1800**2 + 600**2 + 300**2 + 800**2) / 3500**2)
    assert revenue["repeat_contract_share"] == pytest.approx(1800 / 3500)  # steady renewed
    assert figures["acquisition"] == [
        {"channel": "exhibition", "customers": 1, "revenue": 800.0},
        {"channel": "web", "customers": 1, "revenue": 600.0},
    ]
    multiplier = 0.5 / (1.1 - 0.5)  # yearly retention 0.5, discount 10%
    margins, shipments = 12 * 50 + 200 + 200 + 8 * 20, 12 + 1 + 1 + 8
    assert figures["lifetime_value"] == pytest.approx({
        "years_multiplier": multiplier, "average": margins / 4 * multiplier, "total": margins * multiplier,
        "expected_shipments_per_customer": shipments / 4 * multiplier,
    })  # fmt: skip


def test_lifecycle_stages_and_the_moves_since_the_previous_point(db, portfolio):
    with db.session_scope() as session:
        stages = kpis.stages_at(session, [portfolio["at"]])[0]
        lifecycle = kpis.compute(session, at=portfolio["at"])["lifecycle"]
    named = {name: stages[portfolio[name]] for name in ("steady", "lost", "newcomer", "returning", "fading", "prospect", "hub")}  # fmt: skip
    assert named == {
        "steady": "active", "lost": "churned", "newcomer": "onboarding", "returning": "won_back",
        "fading": "at_risk", "prospect": "prospect", "hub": "active",
    }  # fmt: skip
    assert lifecycle["counts"] == {"prospect": 1, "onboarding": 1, "active": 2, "at_risk": 1, "churned": 1, "won_back": 1}  # fmt: skip
    # 30 days earlier: lost still shipped within the year but not lately; newcomer and prospect did not exist
    assert lifecycle["flows"] == [
        {"from": "at_risk", "to": "churned", "customers": 1},
        {"from": "new", "to": "onboarding", "customers": 1},
        {"from": "new", "to": "prospect", "customers": 1},
    ]


def test_payers_and_stages_from_one_pass_keep_each_ones_ends(api, db):
    """Revenue belongs to the lane's shipper and counts only for live shippers, whatever the consignee; a
    payer is new by its first shipment as a shipper, its stage by its shipments at either end; a shipment
    exactly a year back belongs to this year."""
    at = utcnow() + dt.timedelta(seconds=5)
    payer = f.customer(api, "Payer")
    gone_consignee = f.customer(api, "Gone Consignee", roles=("consignee",))
    gone_shipper = f.customer(api, "Gone Shipper")
    receiver = f.customer(api, "Receiver", roles=("consignee",))
    both = f.customer(api, "Both Ends", roles=("shipper", "consignee"), acquisition_channel="web")
    _ship(api, f.link(api, payer, gone_consignee), at, [(10, 100, 60), (365, 50, 0)])
    _ship(api, f.link(api, payer, gone_consignee), at, [(365 + 1 / 24, 70, 0)])
    _ship(api, f.link(api, payer, both), at, [(400, 30, 0)])  # both received long before it paid
    _ship(api, f.link(api, gone_shipper, receiver), at, [(20, 1000, 0)])
    _ship(api, f.link(api, both, gone_consignee), at, [(100, 200, 150)])
    with db.session_scope() as session:
        for gone in (gone_consignee, gone_shipper):
            session.get(Customer, gone["id"]).deleted_at = utcnow()
    with db.session_scope() as session:
        figures = kpis.compute(session, at=at)
        stages = kpis.stages_at(session, [at])[0]
    assert (figures["revenue"]["paying_customers"], figures["revenue"]["revenue"]) == (2, 350.0)
    assert figures["retention"]["base_revenue"] == 100.0  # the payer's year before: 70 + 30
    assert figures["retention"]["net_revenue_retention"] == 1.5
    assert figures["acquisition"] == [{"channel": "web", "customers": 1, "revenue": 200.0}]
    assert figures["lifetime_value"]["expected_shipments_per_customer"] == pytest.approx(
        3 / 2 * figures["lifetime_value"]["years_multiplier"]
    )
    assert figures["lifetime_value"]["total"] == pytest.approx(
        140 * figures["lifetime_value"]["years_multiplier"]
    )
    assert stages == {payer["id"]: "active", receiver["id"]: "onboarding", both["id"]: "at_risk"}
    assert figures["lifecycle"]["counts"] == {
        "prospect": 0, "onboarding": 1, "active": 1, "at_risk": 1, "churned": 0, "won_back": 0,
    }  # fmt: skip


def test_a_health_run_stores_its_kpis_and_the_series_serves_them(app, api, db, actors, portfolio):
    config = runs.RunConfig(app.config["LOGICRM"], app.config["LOGICRM_SCORING"], app.config["LOGICRM_RULES"])
    run = runs.run_health(db, config, now=portfolio["at"])
    until = {"to": (portfolio["at"] + dt.timedelta(days=2)).isoformat()}
    body = api.get("/portfolio/kpis", query=until).json
    assert [(p["run_id"], p["replayed"]) for p in body["points"]] == [(run.id, False)]
    point = body["points"][0]
    assert point["retention"]["net_revenue_retention"] == 0.75 and point["revenue"]["revenue"] == 3500.0
    assert point["lifecycle"]["counts"]["won_back"] == 1 and "seconds" in run.counts
    assert "kpis" in run.counts["seconds"]
    # a second run counts its flows from the first
    later = portfolio["at"] + dt.timedelta(days=1)
    runs.run_health(db, config, now=later)
    second = api.get("/portfolio/kpis", query={"to": (later + dt.timedelta(hours=1)).isoformat()}).json[
        "points"
    ][1]
    assert dt.datetime.fromisoformat(second["lifecycle"]["since"]) == portfolio["at"]
    assert second["lifecycle"]["flows"] == []
    assert api.as_(actors["planner"]).get("/portfolio/kpis").status_code == 200
    assert api.as_(actors["am"]).get("/portfolio/kpis").status_code == 403


def test_past_months_are_replayed_once_and_a_range_must_run_forward(app, api, db, portfolio):
    end = portfolio["at"]
    with db.session_scope() as session:
        assert kpis.replay(session, start=end - dt.timedelta(days=100), end=end) in (3, 4)
    result = app.test_cli_runner().invoke(args=["health", "replay-kpis", "--months", "4"])
    assert result.exit_code == 0 and "of 1 past months" in result.output, result.output
    points = api.get("/portfolio/kpis", query={"to": (end + dt.timedelta(days=1)).isoformat()}).json["points"]
    days = [dt.datetime.fromisoformat(p["as_of"]) for p in points]
    assert all(p["replayed"] and p["run_id"] is None for p in points) and days == sorted(days)
    assert {day.day for day in days} == {1} and len(set(days)) == len(days)
    # three months back the newcomer had not shipped yet, and the first point's flows count from a month before
    assert points[-1]["revenue"]["paying_customers"] <= 4
    with db.session_scope() as session:
        assert session.query(PortfolioKpis).count() == len(points)
    backwards = api.get(
        "/portfolio/kpis", query={"from": "2026-05-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}
    )
    assert backwards.status_code == 422 and "from" in backwards.json["errors"]["query"]
