"""Scoring from the database never fails on stored numbers: bounds hold, bad values are flagged, results are finite.

Every test writes its values straight into the database (tests.network.extremes), past the API's schemas
and the database's CHECKs, then scores through `scoring.compute` or the API, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logicrm.bounds import DECISION_WEIGHT, IMPORTANCE, MONEY, MONTHLY_VOLUME, SCALE_POINT
from logicrm.network.params import ScoringParams
from logicrm.network.satisfaction import (
    DepartmentRecord,
    DimensionRating,
    ResponseRecord,
    account_satisfaction,
    dimension_score,
    portfolio_priors,
    response_score,
)
from logicrm.scoring import queries
from logicrm.scoring import satisfaction as measured
from logicrm.scoring import scores as scoring
from tests import factories
from tests.network.strategies import LARGEST, finite
from tests.scoring.extremes import (
    NOW,
    all_finite,
    build_portfolio,
    issue_10_examples,
    strict_json,
    write_raw,
)

PARAMS = ScoringParams()
# numeric(14, 2) on PostgreSQL holds less than 10^12; SQLite stores any float in it
PG_MONEY_MAX = 999_999_999_999.99
DB_SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def portfolio(api):
    return build_portfolio(api)


def _compute(db) -> scoring.PortfolioScores:
    with db.session(write=False) as session:
        return scoring.compute(session, PARAMS, now=NOW)


def _problems(scores, field: str) -> set[int]:
    """Return the customers whose data problems name `field`."""
    return {c for c, a in scores.accounts.items() if any(p.field == field for p in a.data_problems)}


def assert_scores_in_range(scores: scoring.PortfolioScores) -> None:
    """Every number finite, every score and risk in [0, 1], driver shares adding up to the risk."""
    for account in scores.accounts.values():
        assert all_finite(dataclasses.asdict(account)), account
        sat = account.satisfaction
        for score in (
            sat.score,
            sat.uncapped,
            account.two_sided,
            account.satisfaction_before,
            sat.loyalty.score,
        ):
            assert score is None or 0.0 <= score <= 1.0
        assert all(d.score is None or 0.0 <= d.score <= 1.0 for d in sat.departments)
        assert 0.0 <= sat.coverage <= 1.0
        assert 0.0 <= account.own.risk <= account.network_risk + 1e-12 <= 1.0 + 1e-12
        assert math.fsum(d.share for d in account.explanation.drivers) == pytest.approx(
            account.network_risk, abs=1e-9
        )
        assert account.value.exposure >= 0
    for values in (scores.arrays.node_volume, scores.arrays.node_revenue, scores.arrays.influence):
        assert np.isfinite(values).all()


def _money(db):
    """Shipment money the backend's column can hold, beyond MONEY's bound too."""
    return finite(0.0, LARGEST if db.engine.dialect.name == "sqlite" else PG_MONEY_MAX)


def _write(db, portfolio, data, *, volume, weight, importance, scale_point, money) -> dict:
    """Write drawn values into every scored number column; return what was written."""
    links = [portfolio.declared_link, *portfolio.shipped_links]
    declared = {link: data.draw(st.none() | volume, label=f"declared {link}") for link in links}
    write_raw(
        db,
        "links",
        "UPDATE links SET declared_monthly_volume = :value WHERE id = :id",
        [{"id": link, "value": value} for link, value in declared.items()],
    )
    weights = {d: data.draw(weight, label=f"weight {d}") for d in portfolio.departments}
    write_raw(
        db,
        "departments",
        "UPDATE departments SET decision_weight = :value WHERE id = :id",
        [{"id": d, "value": w} for d, w in weights.items()],
    )
    ratings = data.draw(st.tuples(importance, scale_point, scale_point), label="rating")
    write_raw(
        db,
        "survey_scores",
        "UPDATE survey_scores SET importance = :importance, expectation = :expectation, perception = :perception",
        dict(zip(("importance", "expectation", "perception"), ratings, strict=True)),
    )
    amounts = {
        link: data.draw(st.tuples(money, money), label=f"money {link}") for link in portfolio.shipped_links
    }
    write_raw(
        db,
        "shipments",
        "UPDATE shipments SET revenue = :revenue, cost = :cost WHERE link_id = :id",
        [{"id": link, "revenue": r, "cost": c} for link, (r, c) in amounts.items()],
    )
    return {"declared": declared, "weights": weights, "ratings": ratings, "money": amounts}


@DB_SETTINGS
@given(data=st.data())
def test_any_value_within_the_bounds_scores_without_problems(db, portfolio, data):
    _write(
        db,
        portfolio,
        data,
        volume=finite(MONTHLY_VOLUME.low, MONTHLY_VOLUME.high),
        weight=finite(DECISION_WEIGHT.low, DECISION_WEIGHT.high),
        importance=finite(0.0, IMPORTANCE.high).filter(lambda x: x > 0),
        scale_point=finite(SCALE_POINT.low, SCALE_POINT.high),
        money=finite(MONEY.low, MONEY.high),
    )
    scores = _compute(db)
    assert_scores_in_range(scores)
    assert [a.data_problems for a in scores.accounts.values() if a.data_problems] == []


@DB_SETTINGS
@given(data=st.data())
def test_any_finite_value_scores_and_what_was_held_to_a_bound_is_flagged(db, portfolio, data):
    written = _write(
        db,
        portfolio,
        data,
        volume=finite(0.0),
        weight=finite(0.0),
        importance=finite(0.0).filter(lambda x: x > 0),
        scale_point=finite(),
        money=_money(db),
    )
    scores = _compute(db)
    assert_scores_in_range(scores)

    def ends_of(links) -> set[int]:
        return {c for link in links for c in portfolio.ends[link]}

    assert _problems(scores, "links.declared_monthly_volume") == ends_of(
        link for link, v in written["declared"].items() if v is not None and v > MONTHLY_VOLUME.high
    )
    assert _problems(scores, "departments.decision_weight") == {
        portfolio.departments[d] for d, w in written["weights"].items() if w > DECISION_WEIGHT.high
    }
    assert _problems(scores, "survey_scores.importance") == (
        set(portfolio.departments.values()) if written["ratings"][0] > IMPORTANCE.high else set()
    )
    for k, money in enumerate(("revenue", "cost")):
        assert _problems(scores, f"shipments.{money}") == ends_of(
            link for link, amounts in written["money"].items() if amounts[k] > MONEY.high
        )


def _scoring_answers(api, portfolio) -> dict[str, object]:
    """Call every scoring endpoint for every customer; return each answer's parsed JSON by request."""
    requests = [
        ("GET", "/network/risk", None),
        ("GET", "/network/hubs", None),
        ("GET", "/portfolio/summary", None),
    ]
    for customer in portfolio.customers.values():
        requests += [
            ("GET", f"/customers/{customer}/health", None),
            ("GET", f"/network/graph?center={customer}&depth=2", None),
            ("POST", "/network/what-if", {"remove_customers": [customer]}),
        ]
    requests.append(("POST", "/network/what-if", {"remove_links": [portfolio.declared_link]}))
    answers = {}
    for method, path, body in requests:
        response = api.request(method, path, json=body)
        assert response.status_code == 200, (method, path, response.get_data(as_text=True)[:500])
        answers[f"{method} {path} {body or ''}"] = strict_json(response.get_data(as_text=True))
    return answers


def test_issue_10_examples_leave_every_scoring_endpoint_answering(api, db, portfolio):
    issue_10_examples(db, portfolio)
    answers = _scoring_answers(api, portfolio)
    assert all(all_finite(answer) for answer in answers.values())
    health = answers[f"GET /customers/{portfolio.customers['c1']}/health "]
    assert 0.0 <= health["own_risk"] <= health["network_risk"] <= 1.0
    assert all(0.0 <= d["share"] <= 1.0 for d in health["drivers"])
    # the answer says what was degraded, field by field
    flagged = {
        customer: {p["field"] for p in answers[f"GET /customers/{customer}/health "]["data_problems"]}
        for customer in portfolio.customers.values()
    }
    assert all("departments.decision_weight" in flagged[c] for c in set(portfolio.departments.values()))
    scores = _compute(db)
    ends = portfolio.ends
    assert _problems(scores, "links.declared_monthly_volume") == set(ends[portfolio.declared_link])
    assert _problems(scores, "departments.decision_weight") == set(portfolio.departments.values())
    assert _problems(scores, "shipments.revenue") == set(ends[portfolio.shipped_links[0]])
    # the declared 1e307 a month counts as the bound, 1e6, with three months in the volume window
    assert (
        scores.arrays.link_volume[scores.arrays.link_index[portfolio.declared_link]]
        == 3 * MONTHLY_VOLUME.high
    )


def test_bad_data_on_one_account_changes_no_unrelated_account(api, db, portfolio):
    shipper = factories.customer(api, roles=("shipper",))
    consignee = factories.customer(api, roles=("consignee",))
    factories.shipments(api, factories.link(api, shipper, consignee), 4)
    department = factories.department(api, consignee, decision_weight=2)
    factories.survey(api, consignee, department)
    before = _compute(db)
    issue_10_examples(db, portfolio)
    after = _compute(db)
    for customer in (shipper["id"], consignee["id"]):
        # ABC classes rank against the whole portfolio: a huge account (held to its bound) still ranks first
        assert _without_ranks(after.accounts[customer]) == _without_ranks(before.accounts[customer])
        assert after.accounts[customer].data_problems == ()


def _without_ranks(account: scoring.AccountScores) -> scoring.AccountScores:
    """The account's scores without the portfolio-relative ones: ABC class, value tier, tier mismatch."""
    return dataclasses.replace(
        account, value=dataclasses.replace(account.value, abc="", value_tier="", mismatch=None)
    )


# Per backend, what its columns can hold: infinity, and shipment money beyond the bound.
RAW = {
    "sqlite": {"inf": "9e999", "huge_money": "9000000000000000000"},
    "postgresql": {"inf": "'Infinity'", "huge_money": "999999999999.99"},
}


@pytest.mark.parametrize(
    ("table", "assignment", "field"),
    [
        # 'NaN' is NaN to PostgreSQL and text to SQLite, which keeps it as text in a number column
        ("links", "declared_monthly_volume = 'NaN'", "links.declared_monthly_volume"),
        ("links", "declared_monthly_volume = {inf}", "links.declared_monthly_volume"),
        ("departments", "decision_weight = 'NaN'", "departments.decision_weight"),
        ("departments", "decision_weight = {inf}", "departments.decision_weight"),
        ("survey_scores", "perception = {inf}", "survey_scores.perception"),
        ("survey_scores", "expectation = 'NaN'", "survey_scores.expectation"),
        ("survey_scores", "perception = {inf}, expectation = {inf}", "survey_scores.perception"),
        ("survey_scores", "importance = 'NaN'", "survey_scores.importance"),
        ("survey_scores", "importance = {inf}", "survey_scores.importance"),
        ("shipments", "revenue = 'NaN'", "shipments.revenue"),
        ("shipments", "cost = 'NaN'", "shipments.cost"),
        # on SQLite integers whose SUM overflowed its 64 bits ("integer overflow")
        ("shipments", "revenue = {huge_money}", "shipments.revenue"),
        # the widest scale an integer column holds: M − m overflowed PostgreSQL's integer; used as it is
        ("survey_responses", "scale_min = -2147483648, scale_max = 2147483647", None),
    ],
)
def test_a_value_scoring_cannot_use_as_stored_is_flagged_not_fatal(
    api, db, portfolio, table, assignment, field
):
    write_raw(db, table, f"UPDATE {table} SET {assignment.format(**RAW[db.engine.dialect.name])}")
    scores = _compute(db)
    assert_scores_in_range(scores)
    if field is None:
        assert all(a.data_problems == () for a in scores.accounts.values())
    else:
        assert _problems(scores, field)
    assert all(all_finite(answer) for answer in _scoring_answers(api, portfolio).values())


def test_a_part_of_one_account_that_fails_is_flagged_and_scored_as_unknown(db, portfolio, monkeypatch):
    # a future bug, simulated: satisfaction and own-risk drivers raise for c1 (made the only vip) alone
    victim = portfolio.customers["c1"]
    write_raw(db, "customers", "UPDATE customers SET tier = 'vip' WHERE id = :id", {"id": victim})
    victims_departments = {d for d, c in portfolio.departments.items() if c == victim}
    real_satisfaction, real_features = measured.account_satisfaction, scoring.churn.features

    def satisfaction(departments, responses, **kwargs):
        if {d.id for d in departments} & victims_departments:
            raise ArithmeticError("simulated bug")
        return real_satisfaction(departments, responses, **kwargs)

    def features(signals, rates):
        if signals.cadence_days == PARAMS.cadence_days("vip"):
            raise ArithmeticError("simulated bug")
        return real_features(signals, rates)

    monkeypatch.setattr(measured, "account_satisfaction", satisfaction)
    monkeypatch.setattr(scoring.churn, "features", features)
    scores = _compute(db)
    assert_scores_in_range(scores)
    account = scores.accounts[victim]
    assert {p.field for p in account.data_problems} == {"satisfaction", "own_risk"}
    assert all("ArithmeticError: simulated bug" in p.note for p in account.data_problems)
    assert account.satisfaction.score is None and account.satisfaction_before is None
    baseline = scoring.prior(PARAMS).predict(np.zeros((1, len(scoring.churn.FEATURE_NAMES))))[0]
    assert account.own.evidence == pytest.approx(baseline)  # no evidence: the average account, not a verdict
    others = [a for c, a in scores.accounts.items() if c != victim]
    assert all(a.data_problems == () for a in others)
    assert scores.accounts[portfolio.customers["d"]].satisfaction.score is not None


DIMENSIONS = ("timeliness", "reliability", "responsiveness")


@pytest.fixture
def survey(api):
    """One response rating three dimensions; return its id."""
    customer = factories.customer(api, roles=("consignee",))
    department = factories.department(api, customer)
    scores = [{"dimension": d, "expectation": 4, "perception": 5} for d in DIMENSIONS]
    return factories.survey(api, customer, department, scores=scores)["id"]


@DB_SETTINGS
@given(data=st.data())
def test_the_sql_response_score_is_the_pure_one_for_any_finite_rating(db, survey, data):
    # any scale an integer column holds, ordered as its CHECK requires
    scale_min = data.draw(st.integers(-(2**31), 2**31 - 2))
    scale_max = data.draw(st.integers(scale_min + 1, 2**31 - 1))
    ratings = [
        DimensionRating(d, data.draw(finite()), data.draw(finite()), data.draw(finite(0.0, IMPORTANCE.high)))
        for d in DIMENSIONS
    ]
    write_raw(
        db,
        "survey_responses",
        "UPDATE survey_responses SET scale_min = :low, scale_max = :high WHERE id = :id",
        {"id": survey, "low": scale_min, "high": scale_max},
    )
    write_raw(
        db,
        "survey_scores",
        "UPDATE survey_scores SET importance = :importance, expectation = :expectation, perception = :perception"
        " WHERE response_id = :id AND dimension = :dimension",
        [{**dataclasses.asdict(r), "id": survey} for r in ratings],
    )
    since = NOW - dt.timedelta(days=365)
    with db.session(write=False) as session:
        [row] = queries.response_scores(session, since=since, until=NOW)
        dimensions = queries.dimension_scores(session, since=since, until=NOW)
    expected = response_score(ratings, scale_min=scale_min, scale_max=scale_max)
    assert (row.score is None) == (expected is None)
    if expected is not None:
        assert float(row.score) == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert row.importance_left_out == row.expectation_left_out == row.perception_left_out == 0
    assert row.importances_clamped == 0
    # each rating's own score, as the per-dimension gaps read it
    assert {(d.response_id, str(d.dimension)): d.score for d in dimensions} == {
        (survey, r.dimension): pytest.approx(
            dimension_score(
                expectation=r.expectation, perception=r.perception, scale_min=scale_min, scale_max=scale_max
            ),
            abs=1e-12,
        )
        for r in ratings
    }


@pytest.mark.parametrize(
    ("expectation", "perception", "importance", "scale", "score"),
    [
        (1e300, 1e300, 1.0, (0, 1), 0.5),  # equal huge ratings on a narrow scale: expectations met
        (0.0, 5e-324, 1.0, (1, 7), 0.5),  # a gap whose half underflows
        (-1.7e308, 1.7e308, 1.0, (1, 7), 1.0),  # a gap beyond the largest float
        (1.7e308, -1.7e308, 5e-324, (-(2**31), 2**31 - 1), 0.0),  # and the widest scale, the least weight
        (4.0, 5.0, 1e308, (1, 7), 0.5 + 1 / 12),  # an importance held to its bound
    ],
)
def test_the_sql_response_score_of_extreme_ratings(
    db, survey, expectation, perception, importance, scale, score
):
    write_raw(
        db,
        "survey_responses",
        "UPDATE survey_responses SET scale_min = :low, scale_max = :high",
        {"low": scale[0], "high": scale[1]},
    )
    write_raw(
        db,
        "survey_scores",
        "UPDATE survey_scores SET importance = :importance, expectation = :expectation, perception = :perception",
        {"importance": importance, "expectation": expectation, "perception": perception},
    )
    with db.session(write=False) as session:
        [row] = queries.response_scores(session, since=NOW - dt.timedelta(days=365), until=NOW)
    assert row.score == pytest.approx(score, abs=1e-12)


# --- satisfaction from the database: the horizon and any past day --------------------------------------


def test_satisfaction_from_the_database_is_the_pure_cores_on_any_day_across_the_horizon(api, db):
    """Responses beyond the horizon are not loaded one by one, yet the department stays known (at the
    prior) exactly as when the pure core reads every response; a past day ignores later answers."""
    customer = factories.customer(api, roles=("consignee",))
    old = factories.department(api, customer, "finance", is_decision_maker=True)
    new = factories.department(api, customer, "logistics", decision_weight=2)
    horizon = PARAMS.response_horizon_days()
    rated = [{"dimension": "timeliness", "expectation": 7, "perception": 2}]
    said = [
        (old, NOW - dt.timedelta(days=horizon + 300), 0),  # beyond the horizon today, not a year ago
        (new, NOW - dt.timedelta(days=10), 9),
    ]
    for department, at, likelihood in said:
        factories.survey(
            api,
            customer,
            department,
            collected_at=at.isoformat(),
            likelihood_to_recommend=likelihood,
            scores=rated,
        )
    score = dimension_score(expectation=7, perception=2, scale_min=1, scale_max=7)
    responses = [
        ResponseRecord(d["id"], at, score, likelihood, {"timeliness": score}) for d, at, likelihood in said
    ]
    departments = [
        DepartmentRecord(d["id"], d["name"], d["decision_weight"], d["is_decision_maker"]) for d in (old, new)
    ]
    results = {}
    for as_of in (NOW, NOW - dt.timedelta(days=365)):
        with db.session(write=False) as session:
            account = scoring.compute(session, PARAMS, now=as_of).accounts[customer["id"]].satisfaction
        priors = portfolio_priors([responses], as_of=as_of, params=PARAMS)
        expected = account_satisfaction(departments, responses, as_of=as_of, params=PARAMS, priors=priors)
        assert account.score == pytest.approx(expected.score, abs=1e-12)
        assert account.loyalty.nps == pytest.approx(expected.loyalty.nps, abs=1e-9)
        for got, want in zip(account.departments, expected.departments, strict=True):
            assert (got.no_data, got.silent, got.last_response) == (
                want.no_data,
                want.silent,
                want.last_response,
            )
            assert got.evidence == pytest.approx(want.evidence, abs=1e-12)
            assert (
                got.score == pytest.approx(want.score, abs=1e-12)
                if want.score is not None
                else got.score is None
            )
            assert [(g.dimension, g.gap) for g in got.dimensions] == [
                (g.dimension, pytest.approx(g.gap, abs=1e-9)) for g in want.dimensions
            ]
        results[as_of] = account
    finance, logistics = results[NOW].departments
    assert not finance.no_data and finance.evidence == 0 and finance.dimensions == ()
    finance, logistics = results[NOW - dt.timedelta(days=365)].departments
    assert logistics.no_data and not finance.no_data and finance.evidence > 0
