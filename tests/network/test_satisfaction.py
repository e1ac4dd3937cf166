from datetime import UTC, datetime, timedelta
from fractions import Fraction

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logicrm.network.graph import CONSIGNEE, SHIPPER, GraphArrays, LinkRecord, NodeRecord, build_graph
from logicrm.network.params import ScoringParams
from logicrm.network.satisfaction import (
    DepartmentRecord,
    DimensionRating,
    ResponseRecord,
    account_satisfaction,
    department_satisfaction,
    dimension_score,
    loyalty,
    response_score,
    two_sided,
)
from tests.network.strategies import LARGEST, finite, networks

PARAMS = ScoringParams()
NOW = datetime(2026, 6, 1, tzinfo=UTC)
LOGISTICS = DepartmentRecord(1, "logistics", weight=3.0, is_decision_maker=True)
FINANCE = DepartmentRecord(2, "finance", weight=2.0, is_decision_maker=True)
WAREHOUSE = DepartmentRecord(3, "warehouse", weight=1.0, is_decision_maker=False)


def said(department, days_ago, score, likelihood=None):
    return ResponseRecord(department.id, NOW - timedelta(days=days_ago), score, likelihood)


def test_dimension_score_is_the_gap():
    assert dimension_score(expectation=4, perception=4, scale_min=1, scale_max=5) == 0.5
    assert dimension_score(expectation=3, perception=5, scale_min=1, scale_max=5) == 0.75
    assert dimension_score(expectation=5, perception=1, scale_min=1, scale_max=5) == 0.0
    assert dimension_score(expectation=1, perception=5, scale_min=1, scale_max=5) == 1.0
    with pytest.raises(ValueError):
        dimension_score(expectation=1, perception=1, scale_min=5, scale_max=5)


def test_response_score_weighs_dimensions_by_importance():
    ratings = [
        DimensionRating("timeliness", expectation=4, perception=5, importance=3),  # 0.625
        DimensionRating("staff attitude", expectation=4, perception=2, importance=1),  # 0.25
    ]
    assert response_score(ratings, scale_min=1, scale_max=5) == pytest.approx((3 * 0.625 + 0.25) / 4)
    assert response_score([], scale_min=1, scale_max=5) is None
    with pytest.raises(ValueError, match="importance"):
        response_score([DimensionRating("x", 1, 1, importance=-1)], scale_min=1, scale_max=5)


def test_department_satisfaction_decays_with_half_life():
    result = department_satisfaction(
        LOGISTICS, [said(LOGISTICS, 0, 0.8), said(LOGISTICS, 90, 0.2)], as_of=NOW, params=PARAMS
    )
    assert result.score == pytest.approx((1 * 0.8 + 0.5 * 0.2) / 1.5)
    assert result.responses == 2
    assert result.last_response == NOW
    assert not result.silent


def test_silent_department_is_unknown_not_average():
    old = [said(FINANCE, 181, 0.9), said(FINANCE, 400, 0.9)]
    result = department_satisfaction(FINANCE, old, as_of=NOW, params=PARAMS)
    assert result.silent
    assert result.score is None
    assert result.responses == 2
    # a response after as_of does not count (recomputing the past)
    later = department_satisfaction(FINANCE, [said(FINANCE, -1, 0.9)], as_of=NOW, params=PARAMS)
    assert later.silent and later.responses == 0


def test_account_satisfaction_weights_coverage_and_silence():
    responses = [said(LOGISTICS, 10, 0.8), said(WAREHOUSE, 10, 0.5), said(FINANCE, 200, 0.1)]
    result = account_satisfaction([LOGISTICS, FINANCE, WAREHOUSE], responses, as_of=NOW, params=PARAMS)
    assert result.uncapped == pytest.approx((3 * 0.8 + 1 * 0.5) / 4)
    assert result.score == result.uncapped
    assert result.coverage == pytest.approx(4 / 6)
    assert result.silent_deciding == (FINANCE.id,)
    assert result.weakest.department_id == LOGISTICS.id
    assert [d.silent for d in result.departments] == [False, True, False]


def test_one_furious_decision_maker_caps_the_account():
    responses = [said(LOGISTICS, 5, 0.9), said(FINANCE, 5, 0.1), said(WAREHOUSE, 5, 0.9)]
    result = account_satisfaction([LOGISTICS, FINANCE, WAREHOUSE], responses, as_of=NOW, params=PARAMS)
    assert result.uncapped == pytest.approx((3 * 0.9 + 2 * 0.1 + 0.9) / 6)
    assert result.score == pytest.approx(0.1 + PARAMS.weakest_cap)
    assert result.capped
    assert result.weakest.name == "finance"


def test_account_without_data():
    result = account_satisfaction([LOGISTICS], [], as_of=NOW, params=PARAMS)
    assert result.score is None and result.coverage == 0.0 and result.weakest is None
    assert result.loyalty.nps is None
    with pytest.raises(ValueError, match="unknown department 9"):
        account_satisfaction([LOGISTICS], [ResponseRecord(9, NOW, 0.5)], as_of=NOW, params=PARAMS)


def test_loyalty_is_decayed_nps_kept_apart():
    responses = [said(LOGISTICS, 0, None, 10), said(FINANCE, 0, 0.2, 3), said(WAREHOUSE, 90, None, 8)]
    result = loyalty(responses, as_of=NOW, params=PARAMS)
    # promoter weight 1, detractor weight 1, passive weight 0.5
    assert result.nps == pytest.approx(100 * (1 - 1) / 2.5)
    assert result.score == pytest.approx(0.5)
    assert result.responses == 3
    assert loyalty([said(LOGISTICS, 0, None, 9)], as_of=NOW, params=PARAMS).nps == 100.0
    assert loyalty([said(LOGISTICS, 0, None, 0)], as_of=NOW, params=PARAMS).score == 0.0
    assert loyalty([said(LOGISTICS, 200, None, 10)], as_of=NOW, params=PARAMS).nps is None
    with pytest.raises(ValueError, match="0–10"):
        loyalty([said(LOGISTICS, 0, None, 11)], as_of=NOW, params=PARAMS)


DEPARTMENTS = [LOGISTICS, FINANCE, WAREHOUSE]
ratings = st.lists(
    st.tuples(st.sampled_from(DEPARTMENTS), st.integers(0, 400), st.integers(1, 5), st.integers(1, 5)),
    max_size=12,
)


def _account(rows):
    responses = [
        said(d, age, dimension_score(expectation=e, perception=p, scale_min=1, scale_max=5))
        for d, age, e, p in rows
    ]
    return account_satisfaction(DEPARTMENTS, responses, as_of=NOW, params=PARAMS)


@settings(max_examples=100, deadline=None)
@given(ratings)
def test_satisfaction_bounds(rows):
    result = _account(rows)
    assert 0.0 <= result.coverage <= 1.0
    for score in [result.score, result.uncapped] + [d.score for d in result.departments]:
        assert score is None or 0.0 <= score <= 1.0
    if result.score is not None and result.weakest is not None:
        assert result.score <= result.weakest.score + PARAMS.weakest_cap + 1e-12


@settings(max_examples=100, deadline=None)
@given(ratings.filter(bool), st.data())
def test_better_perception_never_lowers_satisfaction(rows, data):
    k = data.draw(st.integers(0, len(rows) - 1))
    d, age, e, p = rows[k]
    better = [*rows[:k], (d, age, e, data.draw(st.integers(p, 5))), *rows[k + 1 :]]
    before, after = _account(rows), _account(better)
    if before.score is not None:
        assert after.score >= before.score - 1e-12


def _star():
    """Shipper 1 ships 60 to consignee 3 and 30 to distributor 4; shipper 2 ships 30 to 3; 4 ships to 5."""
    nodes = [
        NodeRecord(1, "s1", frozenset({SHIPPER})),
        NodeRecord(2, "s2", frozenset({SHIPPER})),
        NodeRecord(3, "c3", frozenset({CONSIGNEE})),
        NodeRecord(4, "d4", frozenset({SHIPPER, CONSIGNEE})),
        NodeRecord(5, "c5", frozenset({CONSIGNEE})),
    ]
    links = [
        LinkRecord(1, 1, 3, 60.0),
        LinkRecord(2, 1, 4, 30.0),
        LinkRecord(3, 2, 3, 30.0),
        LinkRecord(4, 4, 5, 10.0),
    ]
    return build_graph(nodes, links, PARAMS)


def test_two_sided_blends_volume_weighted_partners():
    own = {1: 0.7, 2: 0.5, 3: 0.4, 4: 0.8, 5: None}
    result = two_sided(_star(), own, PARAMS)
    beta = PARAMS.beta_two_sided
    assert result[1] == pytest.approx((1 - beta) * 0.7 + beta * (60 * 0.4 + 30 * 0.8) / 90)
    assert result[3] == pytest.approx((1 - beta) * 0.4 + beta * (60 * 0.7 + 30 * 0.5) / 90)
    # the distributor's partners on both sides count by volume; c5 is unknown and left out
    assert result[4] == pytest.approx((1 - beta) * 0.8 + beta * 0.7)
    assert result[5] is None  # unknown own stays unknown


def test_two_sided_falls_back_to_own():
    result = two_sided(_star(), {1: None, 2: 0.5, 3: None, 4: None, 5: 0.9}, PARAMS)
    assert result[2] == 0.5  # its only consignee is unknown
    arrays = GraphArrays.from_graph(_star())
    assert two_sided(arrays, {5: 0.9}, PARAMS)[5] == 0.9  # accepts arrays; missing partners are unknown
    lonely = nx.DiGraph()
    lonely.add_node("x")
    assert two_sided(lonely, {"x": 0.3}, PARAMS) == {"x": 0.3}


def _exact_dimension_score(e, p, low, high) -> float:
    """The §4.1 formula in exact rational arithmetic: no overflow, no rounding."""
    gap = Fraction(p) - Fraction(e)
    return float(
        min(Fraction(1), max(Fraction(0), Fraction(1, 2) + gap / (2 * (Fraction(high) - Fraction(low)))))
    )


@settings(max_examples=300, deadline=None)
@given(finite(), finite(), finite(), finite())
def test_any_finite_rating_scores_as_the_exact_formula(e, p, a, b):
    low, high = min(a, b), max(a, b)
    if low == high:
        return
    score = dimension_score(expectation=e, perception=p, scale_min=low, scale_max=high)
    assert 0.0 <= score <= 1.0
    assert score == pytest.approx(_exact_dimension_score(e, p, low, high), abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(finite(), finite(), finite(0.0)), min_size=1, max_size=6))
def test_any_finite_importances_give_a_weighted_mean(rows):
    ratings = [DimensionRating("timeliness", e, p, importance) for e, p, importance in rows]
    score = response_score(ratings, scale_min=1, scale_max=7)
    weights = [Fraction(r.importance) for r in ratings]
    if sum(weights) == 0:
        assert score is None
        return
    exact = sum(w * Fraction(_exact_dimension_score(r.expectation, r.perception, 1, 7))
                for w, r in zip(weights, ratings, strict=True)) / sum(weights)  # fmt: skip
    assert 0.0 <= score <= 1.0
    assert score == pytest.approx(float(exact), abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(finite(0.0), st.booleans(), st.none() | finite()), min_size=1, max_size=5))
def test_any_finite_department_weights_and_scores_stay_in_range(rows):
    departments = [DepartmentRecord(i, f"dept {i}", w, decides) for i, (w, decides, _) in enumerate(rows)]
    responses = [
        said(d, 10, score) for d, (_, _, score) in zip(departments, rows, strict=True) if score is not None
    ]
    result = account_satisfaction(departments, responses, as_of=NOW, params=PARAMS)
    assert 0.0 <= result.coverage <= 1.0
    for score in [result.score, result.uncapped] + [d.score for d in result.departments]:
        assert score is None or 0.0 <= score <= 1.0
    # weights are relative: scaling them all (exactly, by a power of two) changes nothing
    factor = 2.0 if max(d.weight for d in departments) < LARGEST / 2 else 0.5
    scaled = [DepartmentRecord(d.id, d.name, d.weight * factor, d.is_decision_maker) for d in departments]
    again = account_satisfaction(scaled, responses, as_of=NOW, params=PARAMS)
    assert (
        again.score == pytest.approx(result.score, abs=1e-9)
        if result.score is not None
        else again.score is None
    )


def test_two_huge_decision_weights_average_instead_of_overflowing():
    # issue 10: one department weighing 1e308 made the sum of weights overflow
    huge = [DepartmentRecord(1, "logistics", 1e308, True), DepartmentRecord(2, "finance", 1.7e308, True)]
    result = account_satisfaction(
        huge, [said(huge[0], 1, 0.2), said(huge[1], 1, 0.6)], as_of=NOW, params=PARAMS
    )
    assert result.uncapped == pytest.approx((1 * 0.2 + 1.7 * 0.6) / 2.7)
    assert result.coverage == 1.0


@settings(max_examples=100, deadline=None)
@given(networks(), st.data())
def test_two_sided_stays_a_score_for_any_finite_volumes(case, data):
    nodes, links = case
    own = {node.id: data.draw(st.none() | finite()) for node in nodes}
    result = two_sided(build_graph(nodes, links, PARAMS), own, PARAMS)
    assert all(x is None or 0.0 <= x <= 1.0 for x in result.values())
    assert all((result[c] is None) == (own[c] is None) for c in own)
