"""What-if scenarios (issue 16): removals combined with volume cuts, paused lanes and consignees moving to
another provider, played through the §4.9 cascade, with the expected loss under §4.7 after each round and
the accounts whose risk rises most.

Every change to lanes becomes a share of a link's business taken in round 0:
- a shipper cutting its volume by a share x takes x of each of its lanes as shipper;
- a lane paused for n weeks loses min(1, 7n / volume window days) of the business the cascade measures
  over the trailing volume window (a pause as long as the window takes the whole lane);
- a consignee moving to another provider takes all its lanes as consignee; it leaves (round 0, r = 1)
  unless it also ships with us;
- removed links are taken whole. Shares on one link combine as independent cuts: kept = Π (1 − share).

The expected loss after round k is E_k − E_base with E = Σ_i r_i · kept_i + Σ_i taken_i: r from §4.7 with
the accounts gone by round k at r0 = 1, kept_i the revenue billed to i the lane changes leave, taken_i
what they take (a certain loss). Without lane changes E_0 − E_base is `cascade.expected_loss` with the
removal against the one without (the figure a removal-only what-if has always reported).
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping
from dataclasses import dataclass, field

import numpy as np

from logicrm.network import cascade
from logicrm.network.graph import GraphArrays
from logicrm.network.risk import propagate_arrays

WEEK_DAYS = 7


@dataclass(frozen=True, slots=True)
class Scenario:
    """The changes of one what-if: accounts and links removed, volume cut per shipper (share in [0, 1]),
    weeks paused per link (≥ 1), consignees moving to another provider."""

    remove_customers: Collection[Hashable] = ()
    remove_links: Collection[int] = ()
    volume_cuts: Mapping[Hashable, float] = field(default_factory=dict)
    paused_links: Mapping[int, int] = field(default_factory=dict)
    moved_consignees: Collection[Hashable] = ()


@dataclass(frozen=True, slots=True)
class RoundOutcome:
    """One round: the accounts lost in it, the business it cuts per month (round 0: with the lane changes)
    and the expected loss once the cascade has gone this far."""

    accounts: list[Hashable]
    volume: float
    shipments_per_month: float
    revenue_per_month: float
    margin_per_month: float
    links_cut: int
    expected_revenue_per_month_lost: float


@dataclass(frozen=True, slots=True)
class ScenarioResult:
    """The cascade, each round's outcome, and per account still with us whose risk rises: (before, after)."""

    cascade: cascade.CascadeResult
    rounds: list[RoundOutcome]
    departed: list[Hashable]
    risk_rises: dict[Hashable, tuple[float, float]]

    @property
    def expected_revenue_per_month_lost(self) -> float:
        """What the changes themselves add to the expected loss (round 0)."""
        return self.rounds[0].expected_revenue_per_month_lost


def link_shares(arrays: GraphArrays, scenario: Scenario, *, window_days: float) -> dict[int, float]:
    """Map every link the scenario's lane changes touch to the share of its business they take."""
    kept: dict[int, float] = {}
    links = list(arrays.link_index)  # in row order

    def take(link: int, share: float) -> None:
        kept[link] = kept.get(link, 1.0) * (1.0 - share)

    for link in scenario.remove_links:
        take(link, 1.0)
    for link, weeks in scenario.paused_links.items():
        if not weeks >= 1:
            raise ValueError(f"link {link} paused for {weeks} weeks: at least 1")
        take(link, min(1.0, WEEK_DAYS * weeks / window_days))
    cascade.node_rows(arrays.index, list(scenario.volume_cuts), "customers")  # unknown ones raise
    moved_rows = cascade.node_rows(arrays.index, scenario.moved_consignees, "customers")
    unknown = [link for link in kept if link not in arrays.link_index]
    if unknown:
        raise ValueError(f"unknown links: {unknown[:5]}")
    for shipper, share in scenario.volume_cuts.items():
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"volume cut of customer {shipper}: {share} is not in [0, 1]")
        for row in np.flatnonzero(arrays.link_shipper == arrays.index[shipper]).tolist():
            take(links[row], share)
    for row in np.flatnonzero(np.isin(arrays.link_consignee, moved_rows)).tolist():
        take(links[row], 1.0)
    return {link: 1.0 - k for link, k in kept.items() if k < 1.0}


def baseline(
    risk_arrays: GraphArrays,
    own_risk: Mapping[Hashable, float],
    *,
    tol: float = 1e-12,
    max_iter: int = 10_000,
) -> np.ndarray:
    """Every account's network risk with nothing changed: what a scenario's risks are compared with."""
    return propagate_arrays(risk_arrays, risk_arrays.vector(own_risk), tol=tol, max_iter=max_iter).risk


def run(
    arrays: GraphArrays,
    risk_arrays: GraphArrays,
    own_risk: Mapping[Hashable, float],
    scenario: Scenario,
    *,
    threshold: float,
    window_days: float,
    tol: float = 1e-12,
    max_iter: int = 10_000,
    base_risk: np.ndarray | None = None,
) -> ScenarioResult:
    """Play a scenario: the cascade with each round's business and expected loss, and the rising risks.

    `arrays` carry the business (GraphArrays of build_graph's graph); `risk_arrays` the same graph with the
    influences risk propagates over (the model's coupling applied). `base_risk`: `baseline(...)` with the
    same inputs, when the caller keeps it (it does not depend on the scenario).
    """
    shares = link_shares(arrays, scenario, window_days=window_days)
    moved = cascade.node_rows(arrays.index, scenario.moved_consignees, "customers")
    leaving = moved[~np.isin(moved, arrays.link_shipper)]  # moved consignees that do not ship with us
    departed = [*scenario.remove_customers, *(arrays.nodes[i] for i in leaving.tolist())]
    result = cascade.what_if(arrays, remove_customers=departed, reduce_links=shares, threshold=threshold)
    # what the lane changes take from each payer's bill, for certain
    rows = np.array([arrays.link_index[link] for link in shares], dtype=np.int64)
    if (arrays.link_shipper[rows] < 0).any():
        raise ValueError("the graph records no ends for these links (build it with build_graph)")
    taken_revenue = np.array([shares[link] for link in shares]) * arrays.link_revenue[rows]
    taken = np.bincount(arrays.link_shipper[rows], taken_revenue, minlength=len(arrays.nodes))
    kept = arrays.node_revenue - taken
    r0 = risk_arrays.vector(own_risk)

    def expected(gone: list[Hashable]) -> tuple[float, np.ndarray]:
        start = r0.copy()
        start[cascade.node_rows(arrays.index, gone, "customers")] = 1.0
        risk = propagate_arrays(risk_arrays, start, tol=tol, max_iter=max_iter).risk
        return float(risk @ kept + taken.sum()), risk

    if base_risk is None:
        base_risk = baseline(risk_arrays, own_risk, tol=tol, max_iter=max_iter)
    base = float(base_risk @ arrays.node_revenue)
    rounds, gone, risk = [], list(departed), base_risk
    for k, (members, business) in enumerate(zip(result.rounds, result.by_round, strict=True)):
        if k:
            gone += members
        loss, risk = expected(gone)
        rounds.append(
            RoundOutcome(
                accounts=members,
                volume=business.volume,
                shipments_per_month=business.shipments_per_month,
                revenue_per_month=business.revenue_per_month,
                margin_per_month=business.revenue_per_month - business.cost_per_month,
                links_cut=business.links_cut,
                expected_revenue_per_month_lost=loss - base,
            )
        )
    staying = np.ones(len(arrays.nodes), dtype=bool)
    staying[cascade.node_rows(arrays.index, list(result.lost), "customers")] = False
    rising = np.flatnonzero((risk > base_risk + tol) & staying).tolist()
    rises = {arrays.nodes[i]: (float(base_risk[i]), float(risk[i])) for i in rising}
    return ScenarioResult(cascade=result, rounds=rounds, departed=departed, risk_rises=rises)
