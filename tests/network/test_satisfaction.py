import math
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import networkx as nx
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from logicrm.network.graph import CONSIGNEE, SHIPPER, GraphArrays, LinkRecord, NodeRecord, build_graph
from logicrm.network.params import ScoringParams
from logicrm.network.satisfaction import (
    ABOVE,
    BELOW,
    MET,
    WELL_BELOW,
    DepartmentRecord,
    DimensionRating,
    Priors,
    ResponseRecord,
    account_satisfaction,
    account_score,
    band,
    department_satisfaction,
    dimension_score,
    gap_points,
    loyalty,
    portfolio_priors,
    response_score,
    two_sided,
)
from tests import worked_examples
from tests.network.strategies import LARGEST, finite, networks

PARAMS = ScoringParams()
K = PARAMS.satisfaction_prior_strength
K_NPS = PARAMS.loyalty_prior_strength
NEUTRAL = Priors()  # expectations met, NPS 0
PRIORS = Priors(satisfaction=0.6, dimensions={"timeliness": 0.4}, nps=20.0)
NOW = datetime(2026, 6, 1, tzinfo=UTC)
LOGISTICS = DepartmentRecord(1, "logistics", weight=3.0, is_decision_maker=True)
FINANCE = DepartmentRecord(2, "finance", weight=2.0, is_decision_maker=True)
WAREHOUSE = DepartmentRecord(3, "warehouse", weight=1.0, is_decision_maker=False)
DEPARTMENTS = [LOGISTICS, FINANCE, WAREHOUSE]
LN2 = math.log(2)


def said(department, days_ago, score, likelihood=None, dimensions=None):
    at = NOW - timedelta(days=days_ago)
    return ResponseRecord(department.id, at, score, likelihood, dimensions or {})


def weight(days_ago):
    return 0.5 ** (days_ago / PARAMS.half_life_days)


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


def test_department_satisfaction_decays_and_shrinks_toward_the_prior():
    responses = [said(LOGISTICS, 0, 0.8), said(LOGISTICS, 90, 0.2)]
    result = department_satisfaction(LOGISTICS, responses, as_of=NOW, params=PARAMS, priors=PRIORS)
    # a response today weighs 1, one a half-life ago 0.5, the prior k pseudo-responses
    assert result.score == pytest.approx((1 * 0.8 + 0.5 * 0.2 + K * 0.6) / (1.5 + K))
    assert result.evidence == pytest.approx(1.5)
    assert result.gap == pytest.approx(12 * (result.score - 0.5))
    assert result.responses == 2
    assert result.last_response == NOW
    assert not result.silent and not result.no_data


def test_silent_department_keeps_its_verdict_decaying_toward_the_prior():
    old = [said(FINANCE, 181, 0.0), said(FINANCE, 270, 0.0)]
    result = department_satisfaction(FINANCE, old, as_of=NOW, params=PARAMS, priors=NEUTRAL)
    assert result.silent and not result.no_data
    evidence = weight(181) + weight(270)
    assert result.evidence == pytest.approx(evidence)
    assert result.score == pytest.approx(K * 0.5 / (evidence + K))
    assert 0.0 < result.score < 0.5  # on its way to the prior, not there
    assert result.gap == pytest.approx(-2.57, abs=0.01) and result.band == WELL_BELOW
    # a response after as_of does not count (recomputing the past): never heard is no data
    later = department_satisfaction(
        FINANCE, [said(FINANCE, -1, 0.9)], as_of=NOW, params=PARAMS, priors=PRIORS
    )
    assert later.no_data and later.silent and later.responses == 0
    assert later.score is None and later.gap is None and later.band is None


def test_account_satisfaction_weights_coverage_and_silence():
    responses = [said(LOGISTICS, 10, 0.8), said(WAREHOUSE, 10, 0.5), said(FINANCE, 200, 0.1)]
    result = account_satisfaction(DEPARTMENTS, responses, as_of=NOW, params=PARAMS, priors=NEUTRAL)
    logistics, finance, warehouse = (d.score for d in result.departments)
    # the silent finance department still counts, with its decayed verdict
    assert finance == pytest.approx((weight(200) * 0.1 + K * 0.5) / (weight(200) + K))
    assert result.uncapped == pytest.approx((3 * logistics + 2 * finance + 1 * warehouse) / 6)
    assert result.coverage == 1.0
    assert result.silent_deciding == (FINANCE.id,)
    assert result.weakest.department_id == FINANCE.id
    assert result.score == pytest.approx(min(result.uncapped, finance + PARAMS.weakest_cap))
    assert [d.silent for d in result.departments] == [False, True, False]
    assert not result.no_data and result.gap == pytest.approx(12 * (result.score - 0.5))


def test_one_furious_decision_maker_caps_the_account():
    responses = [said(d, 5, s) for d, s in ((LOGISTICS, 0.9), (FINANCE, 0.1), (WAREHOUSE, 0.9))]
    result = account_satisfaction(DEPARTMENTS, responses, as_of=NOW, params=PARAMS, priors=NEUTRAL)
    scores = [d.score for d in result.departments]
    assert result.uncapped == pytest.approx((3 * scores[0] + 2 * scores[1] + scores[2]) / 6)
    assert result.score == pytest.approx(scores[1] + PARAMS.weakest_cap)
    assert result.capped
    assert result.weakest.name == "finance"


def test_no_data_is_its_own_state():
    result = account_satisfaction([LOGISTICS], [], as_of=NOW, params=PARAMS, priors=PRIORS)
    assert result.no_data and result.score is None and result.gap is None and result.band is None
    assert result.coverage == 0.0 and result.weakest is None and result.dimensions == ()
    assert result.departments[0].no_data and result.departments[0].silent
    assert result.loyalty.no_data and result.loyalty.nps is None and result.loyalty.evidence == 0.0
    # a department that weighs nothing gives no verdict that counts
    idle = DepartmentRecord(4, "sales", weight=0.0, is_decision_maker=False)
    weightless = account_satisfaction([idle], [said(idle, 1, 0.5)], as_of=NOW, params=PARAMS, priors=PRIORS)
    assert weightless.no_data and not weightless.departments[0].no_data
    # expectations met is a verdict, unlike no data
    met = account_satisfaction(
        [LOGISTICS], [said(LOGISTICS, 1, 0.5)], as_of=NOW, params=PARAMS, priors=NEUTRAL
    )
    assert not met.no_data and met.score == pytest.approx(0.5) and met.band == MET
    with pytest.raises(ValueError, match="unknown department 9"):
        account_satisfaction(
            [LOGISTICS], [ResponseRecord(9, NOW, 0.5)], as_of=NOW, params=PARAMS, priors=PRIORS
        )


def test_loyalty_is_decayed_nps_shrunk_toward_the_portfolio():
    responses = [said(LOGISTICS, 0, None, 10), said(FINANCE, 0, 0.2, 3), said(WAREHOUSE, 90, None, 8)]
    result = loyalty(responses, as_of=NOW, params=PARAMS, priors=PRIORS)
    # promoter weight 1, detractor weight 1, passive weight 0.5; the prior NPS 20 as K_NPS respondents
    assert result.nps == pytest.approx(100 * (1 - 1 + 0 + K_NPS * 0.2) / (2.5 + K_NPS))
    assert result.score == pytest.approx((result.nps + 100) / 200)
    assert result.responses == 3 and result.evidence == pytest.approx(2.5)
    with pytest.raises(ValueError, match="0–10"):
        loyalty([said(LOGISTICS, 0, None, 11)], as_of=NOW, params=PARAMS, priors=PRIORS)


def test_one_answer_gives_no_extreme_nps():
    # issue 12: one survey answer gave NPS −100
    detractor = loyalty([said(LOGISTICS, 0, None, 0)], as_of=NOW, params=PARAMS, priors=PRIORS)
    assert detractor.nps == pytest.approx(100 * (-1 + K_NPS * 0.2) / (1 + K_NPS))  # −10 by default
    promoter = loyalty([said(LOGISTICS, 0, None, 10)], as_of=NOW, params=PARAMS, priors=PRIORS)
    assert -100 < detractor.nps < PRIORS.nps < promoter.nps < 100


def test_a_neutral_nps_is_neutral():
    passives = [said(LOGISTICS, days, None, 7) for days in (0, 30, 200)] + [said(FINANCE, 3, None, 8)]
    result = loyalty(passives, as_of=NOW, params=PARAMS, priors=NEUTRAL)
    assert result.nps == 0.0 and result.score == 0.5


def test_gap_bands_say_what_the_gap_means():
    met, well_below = PARAMS.gap_met_points, PARAMS.gap_well_below_points
    assert [band(g, PARAMS) for g in (-6, -well_below - 0.01, -well_below, -met - 0.01, -met, 0, met)] == [
        WELL_BELOW, WELL_BELOW, BELOW, BELOW, MET, MET, MET
    ]  # fmt: skip
    assert band(met + 0.01, PARAMS) == ABOVE
    assert [gap_points(s) for s in (0.0, 0.5, 1.0)] == [-6.0, 0.0, 6.0]


def test_dimension_gaps_per_department_and_account():
    def rated(department, days_ago, timeliness, reliability):
        return said(department, days_ago, (timeliness + reliability) / 2, None,
                    {"timeliness": timeliness, "reliability": reliability})  # fmt: skip

    responses = [rated(LOGISTICS, 0, 0.25, 0.75), rated(FINANCE, 0, 0.5, 0.5), rated(FINANCE, 90, 0.0, 1.0)]
    result = account_satisfaction(DEPARTMENTS, responses, as_of=NOW, params=PARAMS, priors=PRIORS)
    logistics = {g.dimension: g for g in result.departments[0].dimensions}
    # timeliness shrinks toward its own prior (0.4), reliability toward the satisfaction prior (0.6)
    assert logistics["timeliness"].score == pytest.approx((0.25 + K * 0.4) / (1 + K))
    assert logistics["reliability"].score == pytest.approx((0.75 + K * 0.6) / (1 + K))
    assert [g.dimension for g in result.departments[0].dimensions] == [
        "timeliness",
        "reliability",
    ]  # worst first
    finance = {g.dimension: g for g in result.departments[1].dimensions}
    assert finance["timeliness"].evidence == pytest.approx(1.5)
    assert finance["timeliness"].score == pytest.approx((0.5 + 0.5 * 0.0 + K * 0.4) / (1.5 + K))
    account = {g.dimension: g for g in result.dimensions}
    assert account["timeliness"].score == pytest.approx(
        (3 * logistics["timeliness"].score + 2 * finance["timeliness"].score) / 5
    )
    assert account["timeliness"].evidence == pytest.approx(2.5)
    for gap in [*result.dimensions, *logistics.values(), *finance.values()]:
        assert gap.gap == pytest.approx(12 * (gap.score - 0.5))
        assert gap.band == band(gap.gap, PARAMS)
    assert result.departments[2].dimensions == ()  # warehouse never answered


def test_portfolio_priors_weigh_departments_by_their_evidence():
    heard_much = [said(LOGISTICS, days, 0.8, 10, {"timeliness": 0.9}) for days in (0, 1, 2, 3)]
    heard_once = [said(FINANCE, 90, 0.2, 0)]
    priors = portfolio_priors([heard_much, heard_once], as_of=NOW, params=PARAMS)
    n_much, n_once = sum(weight(d) for d in (0, 1, 2, 3)), weight(90)
    f_much, f_once = n_much / (n_much + K), n_once / (n_once + K)
    assert priors.satisfaction == pytest.approx((f_much * 0.8 + f_once * 0.2) / (f_much + f_once))
    assert priors.dimensions == {"timeliness": pytest.approx(0.9)}
    assert priors.dimension("reliability") == priors.satisfaction  # never rated: the overall prior
    # NPS: per account, account 1 all promoters, account 2 one detractor
    g_much, g_once = n_much / (n_much + K_NPS), n_once / (n_once + K_NPS)
    assert priors.nps == pytest.approx(100 * (g_much - g_once) / (g_much + g_once))
    assert portfolio_priors([], as_of=NOW, params=PARAMS) == Priors()
    assert portfolio_priors([[said(LOGISTICS, -5, 0.1, 0)]], as_of=NOW, params=PARAMS) == Priors()


def test_answers_beyond_the_horizon_weigh_nothing_but_keep_the_department_known():
    horizon = PARAMS.response_horizon_days()
    ancient = said(FINANCE, horizon + 1, 0.0, 0)
    result = account_satisfaction([FINANCE], [ancient], as_of=NOW, params=PARAMS, priors=PRIORS)
    department = result.departments[0]
    assert department.score == PRIORS.satisfaction and department.evidence == 0.0
    assert department.silent and not department.no_data
    assert result.loyalty.nps == pytest.approx(PRIORS.nps) and not result.loyalty.no_data
    # the same from the summary a caller loads instead of the responses themselves
    remembered = DepartmentRecord(2, "finance", 2.0, True, earlier_answer=ancient.collected_at,
                                  earlier_recommendation=ancient.collected_at)  # fmt: skip
    summary = account_satisfaction([remembered], [], as_of=NOW, params=PARAMS, priors=PRIORS)

    def verdicts(account):
        d, nps = account.departments[0], account.loyalty
        return (account.score, account.gap, account.band, account.coverage, d.score, d.evidence,
                d.last_response, d.silent, d.no_data, nps.nps, nps.evidence, nps.no_data)  # fmt: skip

    assert verdicts(summary) == verdicts(result)
    # a summary dated after as_of did not exist yet
    before = account_satisfaction(
        [remembered], [], as_of=ancient.collected_at - timedelta(days=1), params=PARAMS, priors=PRIORS
    )
    assert before.no_data and before.loyalty.no_data


# --- properties ------------------------------------------------------------------------------------

unit_scores = st.floats(0, 1)
likelihoods = st.none() | st.integers(0, 10)
histories = st.lists(
    st.tuples(st.sampled_from(DEPARTMENTS), st.floats(0, 1500), unit_scores, likelihoods), max_size=10
)
priors = st.builds(Priors, satisfaction=unit_scores, nps=st.floats(-100, 100))


def _responses(rows, shift_days=0.0):
    """Responses `days` before NOW − shift_days: the same history seen shift_days later."""
    return [said(d, days + shift_days, score, likelihood) for d, days, score, likelihood in rows]


def _account(rows, prior, *, later_days=0.0):
    return account_satisfaction(
        DEPARTMENTS, _responses(rows), as_of=NOW + timedelta(days=later_days), params=PARAMS, priors=prior
    )


@settings(max_examples=200, deadline=None)
@given(histories, priors, st.floats(0, 1500), st.floats(0, 30))
def test_no_cliff_satisfaction_and_nps_move_smoothly_with_time(rows, prior, t, step):
    """With no new answer, each verdict changes at most by ln 2 / half-life per day (its decay speed
    toward the prior), at 180 days as anywhere; only at the far horizon may a weight under 2^−16 drop."""
    first, second = _account(rows, prior, later_days=t), _account(rows, prior, later_days=t + step)
    horizon = PARAMS.response_horizon_days()
    crosses_horizon = any(days + t <= horizon < days + t + step for _, days, _, _ in rows)
    slack = 1e-9 + (0.5**PARAMS.response_horizon_half_lives if crosses_horizon else 0.0)
    bound = LN2 / PARAMS.half_life_days * step + slack
    pairs = [(first.score, second.score), (first.uncapped, second.uncapped)] + [
        (a.score, b.score) for a, b in zip(first.departments, second.departments, strict=True)
    ]
    for a, b in pairs:
        assert (a is None) == (b is None)
        assert a is None or abs(a - b) <= bound
    assert first.loyalty.no_data == second.loyalty.no_data
    if not first.loyalty.no_data:  # a vote lies in [−1, 1], so NPS moves twice as far per unit of weight
        assert abs(first.loyalty.nps - second.loyalty.nps) <= 200 * bound


@settings(max_examples=200, deadline=None)
@given(histories, unit_scores, st.floats(0, 0.3), priors, st.floats(0, 1500), st.floats(0, 1500))
def test_silence_never_raises_a_furious_deciders_verdict_above_its_decay(
    rows, calm, furious, prior, t, later
):
    """Finance (deciding) answered once, furious, t days ago and fell silent; the others go on. Its
    verdict follows (w·s + k·prior) / (w + k) exactly, never beyond, and still caps the account."""
    others = [row for row in rows if row[0] is not FINANCE] + [(LOGISTICS, 0, calm, None)]
    history = [*others, (FINANCE, t, furious, None)]
    result = _account(history, prior, later_days=later)
    finance = result.departments[1]
    w = weight(t + later) if t + later <= PARAMS.response_horizon_days() else 0.0
    assert finance.score == pytest.approx((w * furious + K * prior.satisfaction) / (w + K), abs=1e-12)
    assert finance.silent == (t + later > PARAMS.silent_after_days)
    assert (
        min(furious, prior.satisfaction) - 1e-12 <= finance.score <= max(furious, prior.satisfaction) + 1e-12
    )
    assert result.score <= result.weakest.score + PARAMS.weakest_cap + 1e-12
    assert result.weakest.score <= finance.score
    # time only moves it toward the prior: a day later it is no further from it
    next_day = _account(history, prior, later_days=later + 1).departments[1].score
    assert abs(next_day - prior.satisfaction) <= abs(finance.score - prior.satisfaction) + 1e-12


@settings(max_examples=200, deadline=None)
@given(histories.filter(bool), priors)
def test_shrinkage_keeps_every_verdict_between_its_evidence_and_the_prior(rows, prior):
    result = _account(rows, prior)
    for department in result.departments:
        scores = [score for d, _, score, _ in rows if d.id == department.department_id]
        if department.no_data:
            assert not scores
            continue
        low, high = min([*scores, prior.satisfaction]), max([*scores, prior.satisfaction])
        assert low - 1e-12 <= department.score <= high + 1e-12
        # no more than its evidence's share n / (n + k) of the way from the prior
        furthest = max(abs(s - prior.satisfaction) for s in scores)
        share = department.evidence / (department.evidence + K)
        assert abs(department.score - prior.satisfaction) <= share * furthest + 1e-12
    if not result.loyalty.no_data:
        share = result.loyalty.evidence / (result.loyalty.evidence + K_NPS)
        assert abs(result.loyalty.nps - prior.nps) <= share * 200 + 1e-9


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(DEPARTMENTS), st.floats(0, 1500), unit_scores, st.integers(0, 10), priors)
def test_one_answer_cannot_give_an_extreme(department, days, score, likelihood, prior):
    result = _account([(department, days, score, likelihood)], prior)
    verdict = result.departments[DEPARTMENTS.index(department)]
    assert abs(verdict.score - prior.satisfaction) <= abs(score - prior.satisfaction) / (1 + K) + 1e-12
    assert abs(result.loyalty.nps - prior.nps) <= 200 / (1 + K_NPS) + 1e-9
    if not -100 < prior.nps < 100:
        return
    assert -100 < result.loyalty.nps < 100


@settings(max_examples=200, deadline=None)
@given(histories, priors, st.lists(st.floats(0, 1500), min_size=1, max_size=5))
def test_passive_answers_pull_nps_toward_neutral_never_past_it(rows, prior, passive_days):
    """A passive (7–8) is a neutral vote: it moves the NPS toward 0 and never beyond, whatever came before."""
    before = _account(rows, prior).loyalty
    after = _account([*rows, *((LOGISTICS, days, 0.5, 7) for days in passive_days)], prior).loyalty
    if before.no_data:
        # passives alone: between the prior and 0
        assert min(0.0, prior.nps) - 1e-9 <= after.nps <= max(0.0, prior.nps) + 1e-9
    else:
        assert abs(after.nps) <= abs(before.nps) + 1e-9
        assert after.nps * before.nps >= 0  # never crosses to the other side


scales = st.tuples(st.integers(-20, 20), st.integers(1, 20)).map(lambda t: (t[0], t[0] + t[1]))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(scales, st.floats(0, 1), st.floats(0, 1), st.floats(0, 400)), min_size=1, max_size=6),
    priors,
)
def test_gap_is_perception_minus_expectation_on_a_one_to_seven_scale(rows, prior):
    """Surveys on any declared scale: a department's timeliness gap is the decayed, shrunk mean of each
    rating's perception − expectation rescaled to the 1–7 scale, and 12·(score − 0.5) of its score."""
    responses, gaps, weights = [], [], []
    for (low, high), e, p, days in rows:
        expectation, perception = low + e * (high - low), low + p * (high - low)
        score = dimension_score(expectation=expectation, perception=perception, scale_min=low, scale_max=high)
        responses.append(said(LOGISTICS, days, score, None, {"timeliness": score}))
        gaps.append(max(-6.0, min(6.0, (perception - expectation) * 6 / (high - low))))
        weights.append(weight(days))
    result = department_satisfaction(LOGISTICS, responses, as_of=NOW, params=PARAMS, priors=prior)
    [timeliness] = result.dimensions
    prior_gap = gap_points(prior.dimension("timeliness"))
    expected = (math.fsum(w * g for w, g in zip(weights, gaps, strict=True)) + K * prior_gap) / (
        sum(weights) + K
    )
    assert timeliness.gap == pytest.approx(expected, abs=1e-9)
    assert timeliness.gap == pytest.approx(gap_points(timeliness.score), abs=1e-12)
    assert -6 <= timeliness.gap <= 6 and -6 <= result.gap <= 6
    assert result.gap == pytest.approx(gap_points(result.score), abs=1e-12)


ratings = st.lists(
    st.tuples(st.sampled_from(DEPARTMENTS), st.integers(0, 400), st.integers(1, 5), st.integers(1, 5)),
    max_size=12,
)


def _rated_account(rows):
    responses = [
        said(d, age, dimension_score(expectation=e, perception=p, scale_min=1, scale_max=5))
        for d, age, e, p in rows
    ]
    return account_satisfaction(DEPARTMENTS, responses, as_of=NOW, params=PARAMS, priors=PRIORS)


@settings(max_examples=100, deadline=None)
@given(ratings)
def test_satisfaction_bounds(rows):
    result = _rated_account(rows)
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
    before, after = _rated_account(rows), _rated_account(better)
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
@example(1e300, 1e307, 0.0, 5e-324)  # a scale one subnormal wide: halving the clamped gap first gave 0.5
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
    result = account_satisfaction(departments, responses, as_of=NOW, params=PARAMS, priors=PRIORS)
    assert 0.0 <= result.coverage <= 1.0
    for score in [result.score, result.uncapped] + [d.score for d in result.departments]:
        assert score is None or 0.0 <= score <= 1.0
    # weights are relative: scaling them all (exactly, by a power of two) changes nothing
    factor = 2.0 if max(d.weight for d in departments) < LARGEST / 2 else 0.5
    scaled = [DepartmentRecord(d.id, d.name, d.weight * factor, d.is_decision_maker) for d in departments]
    again = account_satisfaction(scaled, responses, as_of=NOW, params=PARAMS, priors=PRIORS)
    assert (
        again.score == pytest.approx(result.score, abs=1e-9)
        if result.score is not None
        else again.score is None
    )


def test_two_huge_decision_weights_average_instead_of_overflowing():
    # issue 10: one department weighing 1e308 made the sum of weights overflow
    huge = [DepartmentRecord(1, "logistics", 1e308, True), DepartmentRecord(2, "finance", 1.7e308, True)]
    result = account_satisfaction(
        huge, [said(huge[0], 1, 0.2), said(huge[1], 1, 0.6)], as_of=NOW, params=PARAMS, priors=PRIORS
    )
    logistics, finance = (d.score for d in result.departments)
    assert result.uncapped == pytest.approx((1 * logistics + 1.7 * finance) / 2.7)
    assert result.coverage == 1.0


@settings(max_examples=100, deadline=None)
@given(networks(), st.data())
def test_two_sided_stays_a_score_for_any_finite_volumes(case, data):
    nodes, links = case
    own = {node.id: data.draw(st.none() | finite()) for node in nodes}
    result = two_sided(build_graph(nodes, links, PARAMS), own, PARAMS)
    assert all(x is None or 0.0 <= x <= 1.0 for x in result.values())
    assert all((result[c] is None) == (own[c] is None) for c in own)


# the example's own parameters, as stated on the page, so that recalibrated defaults leave it intact
DOC_EXAMPLE = ScoringParams(
    half_life_days=90.0, satisfaction_prior_strength=0.5, loyalty_prior_strength=3.0, weakest_cap=0.25,
    gap_met_points=0.5, gap_well_below_points=1.5,
)  # fmt: skip


def test_scoring_doc_worked_example():
    priors = Priors(0.55, {"timeliness": 0.45, "reliability": 0.60, "responsiveness": 0.55}, nps=20.0)
    logistics, finance = (
        DepartmentRecord(1, "logistics", 2.0, True),
        DepartmentRecord(2, "finance", 1.0, True),
    )
    warehouse = DepartmentRecord(3, "warehouse", 1.0, False)

    def response(department, days_ago, scale, ratings, likelihood):
        low, high = scale
        scores = {
            d: dimension_score(expectation=e, perception=p, scale_min=low, scale_max=high)
            for d, e, p in ratings
        }
        score = response_score([DimensionRating(*r) for r in ratings], scale_min=low, scale_max=high)
        return said(department, days_ago, score, likelihood, scores)

    responses = [
        response(logistics, 0, (1, 5), [("timeliness", 4, 5), ("reliability", 4, 4)], 9),
        response(logistics, 90, (1, 7), [("timeliness", 6, 5), ("reliability", 6, 6)], 7),
        response(finance, 200, (1, 7), [("responsiveness", 6, 2)], 2),
    ]
    acme = account_satisfaction(
        [logistics, finance, warehouse], responses, as_of=NOW, params=DOC_EXAMPLE, priors=priors
    )

    def verdict(d):
        if d.no_data:
            return ["–", "–", "–", "no data"]
        return [f"{d.score:.4f}", f"{100 * d.score:.1f}", f"{d.gap:+.2f}", d.band]

    assert worked_examples.table("satisfaction-departments") == [
        [d.name, f"{d.evidence:.4f}", *verdict(d), "yes" if d.silent else "no"] for d in acme.departments
    ]
    assert worked_examples.table("satisfaction-dimensions") == [
        [g.dimension, f"{g.evidence:.4f}", f"{g.score:.4f}", f"{g.gap:+.2f}", g.band] for g in acme.dimensions
    ]
    one_detractor = loyalty([said(logistics, 0, None, 0)], as_of=NOW, params=DOC_EXAMPLE, priors=priors)
    assert worked_examples.table("satisfaction-account") == [
        ["index", f"{100 * acme.score:.1f}"],
        ["gap", f"{acme.gap:+.2f}"],
        ["band", acme.band],
        ["coverage", f"{acme.coverage:.2f}"],
        ["capped", "yes" if acme.capped else "no"],
        ["NPS", f"{acme.loyalty.nps:.1f}"],
        ["NPS evidence", f"{acme.loyalty.evidence:.4f}"],
        ["NPS of one detractor alone", f"{one_detractor.nps:.1f}"],
    ]


# --- the score alone: what the earlier day's satisfaction is read by ----------------------------------

dimension_names = st.sampled_from(["timeliness", "reliability", "capacity", "attitude"])


@st.composite
def surveyed_accounts(draw):
    """Departments (any finite weights, deciders or not, some with an answer before the responses) and
    responses to them, with or without a score, a likelihood and dimension scores."""
    departments = [
        DepartmentRecord(
            i,
            f"dept {i}",
            draw(st.sampled_from([0.0, 1.0, 2.5]) | finite(0.0)),
            draw(st.booleans()),
            earlier_answer=draw(st.none() | st.floats(0, 3000).map(lambda d: NOW - timedelta(days=d))),
        )
        for i in range(draw(st.integers(0, 4)))
    ]
    responses = [
        ResponseRecord(
            draw(st.sampled_from(departments)).id,
            NOW - timedelta(days=draw(st.floats(0, 1500))),
            draw(st.none() | unit_scores),
            draw(likelihoods),
            draw(st.dictionaries(dimension_names, unit_scores, max_size=3)),
        )
        for _ in range(draw(st.integers(0, 8) if departments else st.just(0)))
    ]
    return departments, responses


@settings(max_examples=300, deadline=None)
@given(surveyed_accounts(), priors, st.floats(-400, 100))
def test_account_score_is_account_satisfactions_score(account, prior, shift_days):
    """account_score takes the full verdict's arithmetic in the same order: equal to the bit."""
    departments, responses = account
    as_of = NOW + timedelta(days=shift_days)
    full = account_satisfaction(departments, responses, as_of=as_of, params=PARAMS, priors=prior)
    assert account_score(departments, responses, as_of=as_of, params=PARAMS, priors=prior) == full.score


def test_account_score_refuses_what_account_satisfaction_refuses():
    stranger = said(DepartmentRecord(9, "stranger", 1.0, True), 5, 0.4)
    unweighable = DepartmentRecord(1, "logistics", math.inf, True)
    for departments, responses in (([LOGISTICS], [stranger]), ([unweighable], [])):
        for score in (account_satisfaction, account_score):
            with pytest.raises(ValueError):
                score(departments, responses, as_of=NOW, params=PARAMS, priors=PRIORS)


@settings(max_examples=200, deadline=None)
@given(st.lists(surveyed_accounts(), max_size=4), st.floats(-400, 100))
def test_satisfaction_only_priors_hold_the_same_satisfaction_prior(accounts, shift_days):
    as_of = NOW + timedelta(days=shift_days)
    live = [responses for _departments, responses in accounts]
    full = portfolio_priors(live, as_of=as_of, params=PARAMS)
    alone = portfolio_priors(live, as_of=as_of, params=PARAMS, satisfaction_only=True)
    assert alone == Priors(satisfaction=full.satisfaction)
