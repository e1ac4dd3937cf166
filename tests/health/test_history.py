"""A customer's health history: snapshots in a date range and the trend of satisfaction, risk and value."""

from __future__ import annotations

import datetime as dt

import pytest

from logicrm.health import runs
from logicrm.health.models import HealthSnapshot, JobRun, RunStatus
from tests import factories as f

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _snapshots(db, customer_id: int, points: list[tuple[int, float | None, float, float]]) -> None:
    """Store one run and snapshot per (day, satisfaction, network risk, revenue)."""
    with db.session_scope() as session:
        for day, satisfaction, risk, revenue in points:
            at = START + dt.timedelta(days=day)
            run = JobRun(job="health_run", slot=f"day-{day}", status=RunStatus.SUCCEEDED, started_at=at)
            session.add(run)
            session.flush()
            session.add(
                HealthSnapshot(
                    run_id=run.id, customer_id=customer_id, taken_at=at, satisfaction=satisfaction,
                    two_sided=None, coverage=1.0, loyalty_nps=None, own_risk=risk / 2, network_risk=risk,
                    exposure=0.0, revenue_12m=revenue, profit_12m=revenue / 10, abc_class="B",
                )
            )  # fmt: skip


def test_the_trend_over_a_range_is_a_slope_and_a_change(api, db):
    customer = f.customer(api, "Trending")
    # satisfaction falls by 0.1 every 30 days, risk rises 0.05 every 30 days; day 45 has no satisfaction
    _snapshots(db, customer["id"], [
        (0, 0.8, 0.10, 1000.0), (30, 0.7, 0.15, 1100.0), (45, None, 0.175, 1150.0), (60, 0.6, 0.20, 1200.0),
        (90, 0.5, 0.25, 1300.0),
    ])  # fmt: skip
    body = api.get(f"/customers/{customer['id']}/health/history").json
    assert body["meta"]["total"] == 5 and body["items"][0]["taken_at"].startswith("2026-04-01")
    sat, risk, revenue = (body["trend"][name] for name in ("satisfaction", "network_risk", "revenue_12m"))
    assert (sat["points"], sat["first"], sat["last"]) == (4, 0.8, 0.5)
    assert sat["change"] == pytest.approx(-0.3) and sat["slope_per_30_days"] == pytest.approx(-0.1)
    assert risk["points"] == 5 and risk["slope_per_30_days"] == pytest.approx(0.05)
    assert body["trend"]["own_risk"]["change"] == pytest.approx(0.075)
    assert revenue["change"] == 300.0 and revenue["slope_per_30_days"] == pytest.approx(100.0)
    assert body["trend"]["profit_12m"]["slope_per_30_days"] == pytest.approx(10.0)

    ranged = api.get(
        f"/customers/{customer['id']}/health/history",
        query={"from": "2026-01-20T00:00:00Z", "to": "2026-03-15T00:00:00Z", "page_size": 1},
    ).json
    # the trend covers the whole range, not one page
    assert ranged["meta"]["total"] == 3 and len(ranged["items"]) == 1
    assert ranged["trend"]["network_risk"]["points"] == 3
    assert (ranged["trend"]["satisfaction"]["first"], ranged["trend"]["satisfaction"]["last"]) == (0.7, 0.6)


def test_too_few_snapshots_give_no_slope(api, db):
    customer = f.customer(api, "Young")
    empty = api.get(f"/customers/{customer['id']}/health/history").json["trend"]
    assert empty["satisfaction"] == {
        "points": 0,
        "first": None,
        "last": None,
        "change": None,
        "slope_per_30_days": None,
    }
    _snapshots(db, customer["id"], [(3, 0.6, 0.2, 500.0)])
    single = api.get(f"/customers/{customer['id']}/health/history").json["trend"]["network_risk"]
    assert (single["points"], single["change"], single["slope_per_30_days"]) == (1, 0.0, None)


def test_a_range_must_run_forward_and_a_hidden_customer_has_no_history(api, db, actors):
    customer = f.customer(api.as_(actors["am2"]), "Someone Else's")
    backwards = api.get(
        f"/customers/{customer['id']}/health/history",
        query={"from": "2026-03-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
    )
    assert backwards.status_code == 422 and "from" in backwards.json["errors"]["query"]
    assert api.as_(actors["am"]).get(f"/customers/{customer['id']}/health/history").status_code == 404


def test_history_and_its_trend_read_satisfaction_on_the_live_answers_scale(app, api, db):
    customer = f.customer(api, "Surveyed")
    department = f.department(api, customer, is_decision_maker=True, decision_weight=3)
    recent = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    f.survey(api, customer, department, collected_at=recent.isoformat())
    config = runs.RunConfig(app.config["LOGICRM"], app.config["LOGICRM_SCORING"], app.config["LOGICRM_RULES"])
    runs.run_health(db, config, slot="scale-test")

    live = api.get(f"/customers/{customer['id']}/health").json["satisfaction"]["overall"]
    history = api.get(f"/customers/{customer['id']}/health/history").json
    assert 0 < live < 50  # short of expectations, on the 0–100 index
    assert history["items"][0]["satisfaction"] == pytest.approx(live, abs=1e-4)
    assert history["trend"]["satisfaction"]["last"] == pytest.approx(live, abs=1e-4)
