"""The health answer's satisfaction and loyalty through the API, on SQLite and PostgreSQL: gaps to
expectation on a 1–7 scale with their bands, shrinkage toward the portfolio, silence that forgives
nothing, no data as its own state, and the health history on the same scale as the live answer."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from logicrm.db import utcnow
from logicrm.health import runs
from logicrm.health.models import HealthSnapshot
from logicrm.network.params import ScoringParams
from logicrm.network.satisfaction import (
    MET,
    WELL_BELOW,
    DepartmentRecord,
    DimensionRating,
    ResponseRecord,
    account_satisfaction,
    dimension_score,
    portfolio_priors,
    response_score,
)
from logicrm.scoring import reports, scores
from tests import factories

PARAMS = ScoringParams()


def _answer(api, customer, department, *, days_ago, scale, ratings, likelihood, today):
    """Post one survey; return it as the pure core reads it (scores computed from the same ratings)."""
    at = today - dt.timedelta(days=days_ago)
    factories.survey(
        api,
        customer,
        department,
        collected_at=at.isoformat(),
        scale_min=scale[0],
        scale_max=scale[1],
        likelihood_to_recommend=likelihood,
        scores=[
            {"dimension": d, "expectation": e, "perception": p, "importance": i} for d, e, p, i in ratings
        ],
    )
    low, high = scale
    return ResponseRecord(
        department_id=department["id"],
        collected_at=at,
        score=response_score([DimensionRating(*r) for r in ratings], scale_min=low, scale_max=high),
        likelihood_to_recommend=likelihood,
        dimensions={
            d: dimension_score(expectation=e, perception=p, scale_min=low, scale_max=high)
            for d, e, p, _ in ratings
        },
    )


def _record(department: dict) -> DepartmentRecord:
    return DepartmentRecord(
        department["id"], department["name"], department["decision_weight"], department["is_decision_maker"]
    )


def _index(score: float) -> float:
    return round(100 * score, 1)


def test_health_shows_satisfaction_as_gaps_and_bands_shrunk_and_on_one_scale(api, app, db):
    shipper = factories.customer(api, roles=("shipper",))
    consignee = factories.customer(api, roles=("consignee",))
    quiet = factories.customer(api, roles=("consignee",))
    factories.link(api, shipper, consignee, declared_monthly_volume=10)
    logistics = factories.department(api, shipper, "logistics", decision_weight=6, is_decision_maker=True)
    finance = factories.department(api, shipper, "finance", decision_weight=1, is_decision_maker=True)
    warehouse = factories.department(api, consignee, "warehouse", is_decision_maker=True)
    never = factories.department(api, quiet, "warehouse", is_decision_maker=True)
    today = utcnow()
    said = {
        "shipper": [
            # a 1–5 survey: timeliness one point above expectation, reliability too (and it matters more)
            _answer(api, shipper, logistics, days_ago=5, scale=(1, 5), likelihood=10, today=today,
                    ratings=[("timeliness", 4, 5, 1), ("reliability", 4, 5, 2)]),
            _answer(api, shipper, logistics, days_ago=100, scale=(1, 7), likelihood=8, today=today,
                    ratings=[("timeliness", 6, 6, 1), ("responsiveness", 5, 7, 1)]),
            # finance furious, then silent for 200 days
            _answer(api, shipper, finance, days_ago=200, scale=(1, 7), likelihood=3, today=today,
                    ratings=[("responsiveness", 7, 1, 1)]),
            _answer(api, shipper, finance, days_ago=260, scale=(1, 7), likelihood=0, today=today,
                    ratings=[("responsiveness", 7, 2, 1), ("competence", 6, 2, 1)]),
        ],
        "consignee": [
            _answer(api, consignee, warehouse, days_ago=30, scale=(0, 10), likelihood=6, today=today,
                    ratings=[("handover", 8, 6, 1)]),
        ],
    }  # fmt: skip
    health = api.get(f"/customers/{shipper['id']}/health").json
    as_of = dt.datetime.fromisoformat(health["as_of"])
    priors = portfolio_priors([*said.values(), []], as_of=as_of, params=PARAMS)
    expected = account_satisfaction(
        [_record(logistics), _record(finance)], said["shipper"], as_of=as_of, params=PARAMS, priors=priors
    )
    other = account_satisfaction(
        [_record(warehouse)], said["consignee"], as_of=as_of, params=PARAMS, priors=priors
    )

    satisfaction = health["satisfaction"]
    assert satisfaction["overall"] == _index(expected.score)
    assert satisfaction["gap"] == round(expected.gap, 2) and satisfaction["band"] == expected.band
    assert satisfaction["no_data"] is False and satisfaction["coverage"] == 1
    # the silent, furious finance department still counts: it is the weakest and caps the account
    assert satisfaction["weakest_deciding_department"]["name"] == "finance"
    assert satisfaction["capped"] and satisfaction["overall"] == pytest.approx(
        satisfaction["weakest_deciding_department"]["score"] + 100 * PARAMS.weakest_cap, abs=0.11
    )
    departments = {d["name"]: d for d in satisfaction["departments"]}
    for shown, computed in zip(satisfaction["departments"], expected.departments, strict=True):
        assert shown["score"] == _index(computed.score) and shown["gap"] == round(computed.gap, 2)
        assert shown["band"] == computed.band and shown["evidence"] == pytest.approx(
            computed.evidence, abs=1e-6
        )
        assert [(g["dimension"], g["gap"], g["band"]) for g in shown["dimensions"]] == [
            (g.dimension, round(g.gap, 2), g.band) for g in computed.dimensions
        ]
    assert departments["finance"]["silent"] and not departments["finance"]["no_data"]
    assert departments["finance"]["evidence"] == pytest.approx(
        0.5 ** (200 / 90) + 0.5 ** (260 / 90), rel=1e-3
    )
    assert departments["finance"]["band"] == WELL_BELOW
    # timeliness: +1 on 1–5 is +1.5 on 1–7, then met exactly; shrunk toward the portfolio's timeliness
    timeliness = next(g for g in departments["logistics"]["dimensions"] if g["dimension"] == "timeliness")
    assert 0 < timeliness["gap"] < 1.5
    assert departments["logistics"]["band"] == "above expectations"
    assert [(g["dimension"], g["gap"]) for g in satisfaction["dimensions"]] == [
        (g.dimension, round(g.gap, 2)) for g in expected.dimensions
    ]
    assert satisfaction["two_sided"] == _index(
        (1 - PARAMS.beta_two_sided) * expected.score + PARAMS.beta_two_sided * other.score
    )
    loyalty = health["loyalty"]
    assert loyalty["nps"] == round(expected.loyalty.nps, 1) and -100 < loyalty["nps"] < 100
    assert (
        loyalty["evidence"] == pytest.approx(expected.loyalty.evidence, abs=1e-6)
        and loyalty["no_data"] is False
    )

    # never surveyed: no data, its own state, neither safe nor average
    unknown = api.get(f"/customers/{quiet['id']}/health").json
    assert unknown["satisfaction"]["no_data"] and unknown["loyalty"]["no_data"]
    assert unknown["satisfaction"]["overall"] is unknown["satisfaction"]["gap"] is None
    assert unknown["satisfaction"]["band"] is unknown["loyalty"]["nps"] is None
    [department] = unknown["satisfaction"]["departments"]
    assert department["id"] == never["id"] and department["no_data"] and department["silent"]
    assert department["dimensions"] == [] and department["evidence"] == 0

    # the health run keeps the history on the scale the answer shows
    config = runs.RunConfig(app.config["LOGICRM"], app.config["LOGICRM_SCORING"], app.config["LOGICRM_RULES"])
    runs.run_health(db, config, slot="today")
    with db.session(write=False) as session:
        snapshot = session.scalars(
            select(HealthSnapshot).where(HealthSnapshot.customer_id == shipper["id"])
        ).one()
    assert snapshot.satisfaction == pytest.approx(satisfaction["overall"], abs=0.051)
    assert snapshot.two_sided == pytest.approx(satisfaction["two_sided"], abs=0.051)
    kept = {d["name"]: d for d in snapshot.departments}
    assert kept["finance"]["score"] == pytest.approx(departments["finance"]["score"], abs=0.051)
    assert kept["finance"]["gap"] == pytest.approx(departments["finance"]["gap"], abs=0.01)
    assert kept["finance"]["band"] == WELL_BELOW and kept["finance"]["silent"]
    history = api.get(f"/customers/{shipper['id']}/health/history").json["items"]
    assert history[0]["satisfaction"] == pytest.approx(satisfaction["overall"], abs=0.051)


def test_expectations_met_reads_met_not_mediocre(api):
    customer = factories.customer(api, roles=("consignee",))
    department = factories.department(api, customer, is_decision_maker=True)
    today = utcnow()
    for days_ago in (1, 40, 80):
        _answer(api, customer, department, days_ago=days_ago, scale=(1, 7), likelihood=7, today=today,
                ratings=[("timeliness", 5, 5, 1), ("reliability", 6, 6, 1)])  # fmt: skip
    health = api.get(f"/customers/{customer['id']}/health").json
    satisfaction = health["satisfaction"]
    # the whole portfolio met expectations: so did this account, on every dimension
    assert (satisfaction["overall"], satisfaction["gap"], satisfaction["band"]) == (50.0, 0.0, MET)
    assert {g["band"] for g in satisfaction["dimensions"]} == {MET}
    assert health["loyalty"]["nps"] == 0.0


def test_partner_names_leave_out_a_stored_partner_neither_live_nor_departed(api, db):
    """An old alert's drivers may name a partner that has since left the portfolio and the contagion
    window: it reads as "another partner" instead of failing the health run or the page."""
    shipper = factories.customer(api, "Shipper Co", roles=("shipper",))
    consignee = factories.customer(api, "Consignee Co", roles=("consignee",))
    factories.shipments(api, factories.link(api, shipper, consignee), 3)
    with db.session(write=False) as session:
        portfolio = scores.compute(session, PARAMS)
    gone = shipper["id"] + consignee["id"] + 1000
    names = reports.partner_names(portfolio, {shipper["id"], gone}, visible=None)
    assert names == {shipper["id"]: "Shipper Co"}
    assert reports.partner_names(portfolio, {shipper["id"], gone}, visible={consignee["id"]}) == {}
