"""Customer value (DESIGN §4.10): profit, ABC classes, Pareto ratio, exposure and tier mismatches."""

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass

from logicrm.memory import pickled_by_fields
from logicrm.network.cascade import exposures
from logicrm.network.graph import GraphArrays, saturate
from logicrm.network.params import TIERS, ScoringParams

VALUE_TIER = {"A": "vip", "B": "key", "C": "standard"}
UNDER_SERVED = "under_served"  # value tier above the account's tier
OVER_SERVED = "over_served"  # value tier below the account's tier


@dataclass(frozen=True, slots=True)
class ValueRecord:
    """One customer's trailing-12-month revenue and cost to serve, and its current tier."""

    customer_id: int
    revenue_12m: float
    cost_12m: float
    tier: str


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class CustomerValue:
    """A customer's profit, class, the tier its value suggests, any mismatch, and its cascade exposure."""

    customer_id: int
    revenue: float
    cost: float
    profit: float
    margin: float | None
    abc: str
    value_tier: str
    tier: str
    mismatch: str | None
    exposure: float | None


@dataclass(frozen=True, slots=True)
class Portfolio:
    """Every customer's value plus the portfolio's positive profit and Pareto ratio."""

    customers: dict[int, CustomerValue]
    positive_profit: float
    pareto_ratio: float | None
    class_counts: dict[str, int]


def abc_classes(profits: dict[int, float], params: ScoringParams) -> dict[int, str]:
    """Classify by cumulative share of positive profit: A up to the A cutoff, B up to the B cutoff, C rest.

    The customer whose profit crosses a cutoff belongs to the class below it, so A is the smallest set of
    top customers making at least the A cutoff. Customers with profit ≤ 0 are C.
    """
    positive = sorted(((saturate(p), c) for c, p in profits.items() if p > 0), key=lambda pc: (-pc[0], pc[1]))
    total = math.fsum(p for p, _ in positive)
    # a relative slack keeps a share that is exactly a cutoff (0.8 of 100) from losing to rounding
    slack = 1e-12 * total
    classes = dict.fromkeys(profits, "C")
    before = 0.0
    for profit, customer in positive:
        if before < params.abc_a_cutoff * total - slack:
            classes[customer] = "A"
        elif before < params.abc_b_cutoff * total - slack:
            classes[customer] = "B"
        before += profit
    return classes


def tier_mismatch(tier: str, value_tier: str, params: ScoringParams) -> str | None:
    """Return UNDER_SERVED or OVER_SERVED when tier and value tier are ≥ tier_mismatch_steps apart."""
    steps = TIERS.index(tier) - TIERS.index(value_tier)
    if abs(steps) < params.tier_mismatch_steps:
        return None
    return UNDER_SERVED if steps > 0 else OVER_SERVED


def portfolio(
    records: Iterable[ValueRecord], params: ScoringParams, *, graph: GraphArrays | None = None
) -> Portfolio:
    """Value every customer; with a graph, add each one's exposure (revenue/month its departure cascades to)."""
    # saturated money keeps profits, margins and the portfolio's sums finite for any finite record
    records = {
        r.customer_id: dataclasses.replace(
            r, revenue_12m=saturate(r.revenue_12m), cost_12m=saturate(r.cost_12m)
        )
        for r in records
    }
    profits = {c: r.revenue_12m - r.cost_12m for c, r in records.items()}
    classes = abc_classes(profits, params)
    exposure = exposures(graph, threshold=params.cascade_threshold) if graph is not None else None
    customers = {}
    for c, r in records.items():
        value_tier = VALUE_TIER[classes[c]]
        customers[c] = CustomerValue(
            customer_id=c,
            revenue=r.revenue_12m,
            cost=r.cost_12m,
            profit=profits[c],
            margin=saturate(profits[c] / r.revenue_12m) if r.revenue_12m > 0 else None,
            abc=classes[c],
            value_tier=value_tier,
            tier=r.tier,
            mismatch=tier_mismatch(r.tier, value_tier, params),
            exposure=None if exposure is None else exposure.get(c, 0.0),
        )
    counts = {k: sum(1 for v in classes.values() if v == k) for k in VALUE_TIER}
    positive = math.fsum(p for p in profits.values() if p > 0)
    return Portfolio(
        customers=customers,
        positive_profit=positive,
        pareto_ratio=counts["A"] / len(records) if positive > 0 else None,
        class_counts=counts,
    )
