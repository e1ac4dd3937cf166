"""Segment churn history: point in time, shrunk toward the portfolio, bounded, missing segments."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logicrm.network import churn
from logicrm.network.segments import SegmentRecord, segment_risk

START, TODAY = 100, 465


def _risk(records, events, *, first_seen=None, strength=30.0, cap=1.0, today=TODAY):
    seen = first_seen if first_seen is not None else {r.customer_id: 0 for r in records}
    return segment_risk(
        records, events=events, first_seen=seen, start=START, today=today, strength=strength, cap=cap
    )


def _portfolio(industries: dict[str, tuple[int, int]]):
    """Records and events: per industry, (accounts, of which churned in the window); tier and channel
    the same for everyone."""
    records, events, next_id = [], {}, 1
    for industry, (accounts, churned) in industries.items():
        for k in range(accounts):
            records.append(SegmentRecord(next_id, industry, "standard", "web"))
            if k < churned:
                events[next_id] = (START + 30,)
            next_id += 1
    return records, events


def test_a_segment_that_churns_twice_as_often_reads_the_log_of_its_shrunk_ratio():
    records, events = _portfolio({"food": (100, 40), "pharma": (100, 10)})
    risk = _risk(records, events, strength=30.0)
    portfolio = 50 / 200
    food = (40 + 30 * portfolio) / (100 + 30)
    assert risk[1] == pytest.approx(math.log(food / portfolio))
    assert risk[101] == pytest.approx(math.log((10 + 30 * portfolio) / 130 / portfolio))
    assert risk[1] > 0 > risk[101]


def test_a_segment_of_two_accounts_both_gone_stays_near_the_portfolio():
    records, events = _portfolio({"food": (200, 20), "pharma": (2, 2)})
    few = _risk(records, events)[201]
    # shrunk (2 + 30·0.109) / (2 + 30) = 0.165 against 0.109: log 0.41; raw it would read log(1 / 0.109) = 2.2
    assert few == pytest.approx(math.log((2 + 30 * 22 / 202) / 32 / (22 / 202)))
    assert 0 < few < 0.5
    assert _risk(records, events, strength=0.01)[201] == 1.0  # barely shrunk: at the cap


def test_churn_after_today_is_not_known_yet():
    records, events = _portfolio({"food": (50, 5), "pharma": (50, 5)})
    before = _risk(records, events)
    later = {**events, **{c: (TODAY + 1,) for c in range(6, 40)}}  # food leaves, tomorrow
    assert _risk(records, later) == before
    assert _risk(records, later, today=TODAY + 1)[6] > before[6]


def test_only_accounts_live_at_the_window_start_are_exposed():
    records, events = _portfolio({"food": (50, 5), "pharma": (50, 5)})
    baseline = _risk(records, events)
    # left before the window: not exposed, so neither a leaver nor a stayer of its segment
    gone = [SegmentRecord(999, "food", "standard", "web")]
    assert _risk(records + gone, {**events, 999: (START - 10,)})[1] == pytest.approx(baseline[1])
    # acquired inside the window: not exposed either
    new = [SegmentRecord(998, "food", "standard", "web")]
    first_seen = {**{r.customer_id: 0 for r in records}, 998: START + 1}
    risk = _risk(records + new, {**events, 998: (START + 50,)}, first_seen=first_seen)
    assert risk[1] == pytest.approx(baseline[1])
    assert risk[998] == pytest.approx(baseline[1])  # it still reads its segment's history


def test_an_unrecorded_industry_is_a_segment_of_its_own():
    records, events = _portfolio({"food": (100, 10), "pharma": (100, 10)})
    unknown = [SegmentRecord(500 + k, None, "standard", "web") for k in range(100)]
    events.update({500 + k: (START + 5,) for k in range(50)})
    risk = _risk(records + unknown, events)
    assert risk[500] > 0 > risk[1]
    assert risk[1] == pytest.approx(risk[101])


def test_industry_spelling_does_not_split_a_segment():
    records = [SegmentRecord(1, "Food ", "standard", "web"), SegmentRecord(2, "food", "standard", "web")]
    records += [SegmentRecord(3, "pharma", "standard", "web")]
    risk = _risk(records, {1: (START + 5,)})
    assert risk[1] == risk[2] > risk[3]


def test_a_segment_nobody_was_exposed_in_reads_as_the_portfolio():
    records, events = _portfolio({"food": (100, 10)})
    newcomer = SegmentRecord(900, "textiles", "standard", "web")
    first_seen = {**{r.customer_id: 0 for r in records}, 900: START + 10}
    assert _risk([*records, newcomer], events, first_seen=first_seen)[900] == pytest.approx(0.0)


def test_without_churn_or_exposure_every_account_reads_zero():
    records, _ = _portfolio({"food": (10, 0)})
    assert set(_risk(records, {}).values()) == {0.0}
    assert set(_risk(records, {}, first_seen={}).values()) == {0.0}


def test_the_kinds_add_up():
    records = [SegmentRecord(k, "food", "vip" if k < 50 else "standard", "web") for k in range(100)]
    records += [SegmentRecord(100 + k, "pharma", "vip" if k < 50 else "standard", "web") for k in range(100)]
    events = {k: (START + 1,) for k in (*range(50, 80), *range(100, 110))}  # food standard, pharma vip
    risk = _risk(records, events, strength=1e-9, cap=10.0)
    # food: 30 of 100 of 40 of 200; standard: 30 of 100; web: everyone (0)
    assert risk[50] == pytest.approx(math.log(0.3 / 0.2) + math.log(0.3 / 0.2))


@settings(max_examples=100, deadline=None)
@given(
    churned=st.lists(st.integers(0, 20), min_size=3, max_size=3),
    strength=st.floats(0.1, 1000),
    cap=st.floats(0.1, 5),
)
def test_the_history_is_bounded_and_a_riskier_segment_never_reads_lower(churned, strength, cap):
    records, events = _portfolio({name: (20, n) for name, n in zip(("a", "b", "c"), churned, strict=True)})
    risk = _risk(records, events, strength=strength, cap=cap)
    assert all(-cap <= value <= cap for value in risk.values())
    by_segment = sorted(zip(churned, (risk[1], risk[21], risk[41]), strict=True))
    assert all(low[1] <= high[1] + 1e-12 for low, high in itertools.pairwise(by_segment))


def test_shrinkage_is_the_beta_binomial_posterior_mean():
    assert churn.shrunk(0, 0, prior=0.2, strength=30) == 0.2
    assert churn.shrunk(5, 10, prior=0.2, strength=10) == pytest.approx(0.35)
    assert churn.shrunk(500, 1000, prior=0.2, strength=10) == pytest.approx(0.497, abs=1e-3)


def test_the_feature_carries_the_history_to_the_model():
    assert churn.features(churn.RiskSignals(segment_risk=0.4), churn.PortfolioRates())["segment_churn"] == 0.4
