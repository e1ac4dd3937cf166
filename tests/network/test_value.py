import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logicrm.network.graph import CONSIGNEE, SHIPPER, GraphArrays, LinkRecord, NodeRecord, build_graph
from logicrm.network.params import ScoringParams
from logicrm.network.value import (
    OVER_SERVED,
    UNDER_SERVED,
    ValueRecord,
    abc_classes,
    portfolio,
    tier_mismatch,
)
from tests.network.strategies import finite

PARAMS = ScoringParams()
# profits 50, 30, 10, 5, 3, 2, 0, −5 of 100 positive: A = 50 + 30 (80%), B = 10 + 5 (to 95%)
KNOWN = [
    ValueRecord(1, 150.0, 100.0, "standard"),
    ValueRecord(2, 60.0, 30.0, "vip"),
    ValueRecord(3, 20.0, 10.0, "key"),
    ValueRecord(4, 10.0, 5.0, "key"),
    ValueRecord(5, 13.0, 10.0, "standard"),
    ValueRecord(6, 4.0, 2.0, "standard"),
    ValueRecord(7, 0.0, 0.0, "standard"),
    ValueRecord(8, 5.0, 10.0, "vip"),
]


def test_abc_classes_on_a_known_portfolio():
    result = portfolio(KNOWN, PARAMS)
    assert {c: v.abc for c, v in result.customers.items()} == {
        1: "A", 2: "A", 3: "B", 4: "B", 5: "C", 6: "C", 7: "C", 8: "C",
    }  # fmt: skip
    assert result.positive_profit == 100.0
    assert result.pareto_ratio == 2 / 8
    assert result.class_counts == {"A": 2, "B": 2, "C": 4}
    one = result.customers[1]
    assert (one.profit, one.margin, one.value_tier) == (50.0, pytest.approx(1 / 3), "vip")
    assert result.customers[7].margin is None
    assert result.customers[8].profit == -5.0


def test_customer_crossing_a_cutoff_joins_the_class_below_it():
    assert abc_classes({1: 90.0, 2: 10.0}, PARAMS) == {1: "A", 2: "B"}
    assert abc_classes({1: 10.0, 2: 10.0, 3: 10.0}, PARAMS) == {1: "A", 2: "A", 3: "A"}
    assert abc_classes({1: -1.0, 2: 0.0}, PARAMS) == {1: "C", 2: "C"}


def test_no_positive_profit_has_no_pareto_ratio():
    assert portfolio([ValueRecord(1, 1.0, 2.0, "key")], PARAMS).pareto_ratio is None


def test_only_two_step_tier_mismatches_are_reported():
    result = portfolio(KNOWN, PARAMS).customers
    assert result[1].mismatch == UNDER_SERVED  # class A on a standard tier
    assert result[8].mismatch == OVER_SERVED  # loses money on a vip tier
    assert result[2].mismatch is None
    assert result[5].mismatch is None  # C on standard
    assert tier_mismatch("key", "vip", PARAMS) is None
    assert tier_mismatch("key", "vip", ScoringParams(tier_mismatch_steps=1)) == UNDER_SERVED


def test_exposure_comes_from_the_cascade():
    nodes = [NodeRecord(1, "s", frozenset({SHIPPER})), NodeRecord(2, "c", frozenset({CONSIGNEE}))]
    nodes.append(NodeRecord(3, "other", frozenset({CONSIGNEE})))
    links = [LinkRecord(1, 1, 2, 10.0, revenue_per_month=70.0)]
    arrays = GraphArrays.from_graph(build_graph(nodes, links, PARAMS))
    records = [ValueRecord(1, 900.0, 100.0, "key"), ValueRecord(2, 0.0, 50.0, "standard")]
    records.append(ValueRecord(4, 10.0, 1.0, "standard"))  # not in the graph
    result = portfolio(records, PARAMS, graph=arrays).customers
    assert result[1].exposure == 70.0
    assert result[2].exposure == 70.0  # the consignee's departure takes the shipper's link with it
    assert result[4].exposure == 0.0
    assert portfolio(records, PARAMS).customers[1].exposure is None


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(finite(), finite(), st.sampled_from(["vip", "key", "standard"])), min_size=1, max_size=8
    )
)
def test_any_finite_money_values_the_portfolio_finitely(rows):
    records = [ValueRecord(i, revenue, cost, tier) for i, (revenue, cost, tier) in enumerate(rows)]
    result = portfolio(records, PARAMS)
    assert math.isfinite(result.positive_profit)
    assert result.pareto_ratio is None or 0 < result.pareto_ratio <= 1
    for value in result.customers.values():
        assert all(math.isfinite(x) for x in (value.revenue, value.cost, value.profit))
        assert value.margin is None or math.isfinite(value.margin)
    # the most profitable customer is class A whenever there is any profit
    if result.positive_profit > 0:
        best = max(result.customers.values(), key=lambda v: v.profit)
        assert best.abc == "A"
