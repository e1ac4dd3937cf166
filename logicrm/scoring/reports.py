"""Read models of the network intelligence: plain dicts the API serialises, built from PortfolioScores.

`visible` is the set of customer ids the caller may see, or None for everyone: account managers get
rankings of their own accounts, while cascades still run over the whole network.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Collection

from logicrm.errors import NotFound
from logicrm.network import cascade, drivers, scenarios
from logicrm.network.graph import CONSIGNEE, SHIPPER, GraphArrays
from logicrm.network.params import ScoringParams
from logicrm.scoring import derived
from logicrm.scoring import scenarios as saved
from logicrm.scoring.scores import AccountScores, PortfolioScores


def provenance(portfolio: PortfolioScores) -> dict:
    """Say where an answer's figures come from: the scoring parameters, when they were computed, and
    whether writes since are not in them; after an incremental refresh, the full computation it kept
    the rest from."""
    return {
        "config_hash": portfolio.config_hash,
        "as_of": portfolio.as_of,
        "full_as_of": portfolio.full_as_of or portfolio.as_of,
        "stale": portfolio.stale,
    }


def index_points(score: float | None) -> float | None:
    """Return a score in [0, 1] on the 0–100 index every answer, snapshot and page shows, to one decimal
    (None stays None)."""
    return None if score is None else round(100.0 * score, 1)


def stored_drivers(portfolio: PortfolioScores, account: AccountScores) -> list[dict]:
    """Return an account's risk drivers, largest first, as snapshots and alerts keep them (ids, no names).
    A partner's driver carries the partner's own main driver, so an alert names the real cause: the
    shipper and why it is at risk, not the consignee's symptom."""
    weakest = account.satisfaction.weakest
    partners = {}
    for d in account.explanation.drivers:
        if d.kind == drivers.NEIGHBOUR:
            partner = portfolio.accounts[d.key]
            partners[d.key] = (partner.roles, main_own_driver(partner))
        elif d.kind == drivers.DEPARTED:
            partners[d.key] = (portfolio.departed[d.key][1], None)
    return [
        drivers.record(d, partners=partners, weakest_department=weakest.name if weakest else None)
        for d in account.explanation.drivers
    ]


def main_own_driver(account: AccountScores) -> str | None:
    """The largest of an account's own drivers (a feature name), or None when only the baseline speaks."""
    own = [d for d in account.explanation.drivers if d.kind == "own" and d.share > 0]
    return max(own, key=lambda d: d.share).key if own else None


def partner_names(portfolio: PortfolioScores, ids, *, visible) -> dict[int, str]:
    """Map the partner ids the caller may see to their names (partners that left lately included; a
    stored driver's partner that is neither any more is left out, to read as "another partner")."""
    known = {c: a.name for c in ids if (a := portfolio.accounts.get(c))}
    known |= {c: portfolio.departed[c][0] for c in ids if c not in known and c in portfolio.departed}
    return {c: name for c, name in known.items() if visible is None or c in visible}


def _drivers(portfolio: PortfolioScores, account: AccountScores, *, visible) -> list[dict]:
    stored = stored_drivers(portfolio, account)
    names = partner_names(portfolio, drivers.partner_ids(stored), visible=visible)
    return drivers.describe(stored, names=names)


def _gap(gap: float | None) -> float | None:
    return None if gap is None else round(gap, 2)


def _dimensions(gaps) -> list[dict]:
    return [
        {
            "dimension": g.dimension,
            "score": index_points(g.score),
            "gap": _gap(g.gap),
            "band": g.band,
            "evidence": g.evidence,
        }
        for g in gaps
    ]


def _department(department) -> dict:
    return {
        "id": department.department_id,
        "name": department.name,
        "weight": department.weight,
        "is_decision_maker": department.is_decision_maker,
        "score": index_points(department.score),
        "gap": _gap(department.gap),
        "band": department.band,
        "evidence": department.evidence,
        "responses": department.responses,
        "last_response": department.last_response,
        "silent": department.silent,
        "no_data": department.no_data,
        "dimensions": _dimensions(department.dimensions),
    }


def health(portfolio: PortfolioScores, customer_id: int, *, visible: Collection[int] | None) -> dict:
    """Return one account's satisfaction, loyalty, retention, risks, drivers, value and exposure."""
    account = portfolio.accounts.get(customer_id)
    if account is None:
        raise NotFound(f"customer {customer_id} is not scored (deleted or churned)")
    sat, signals, value = account.satisfaction, account.signals, account.value
    return {
        "customer_id": account.customer_id,
        "name": account.name,
        "roles": list(account.roles),
        "tier": account.tier,
        "satisfaction": {
            "overall": index_points(sat.score),
            "gap": _gap(sat.gap),
            "band": sat.band,
            "no_data": sat.no_data,
            "uncapped": index_points(sat.uncapped),
            "capped": sat.capped,
            "coverage": sat.coverage,
            "weakest_deciding_department": _department(sat.weakest) if sat.weakest else None,
            "two_sided": index_points(account.two_sided),
            "ninety_days_ago": index_points(account.satisfaction_before),
            "departments": [_department(d) for d in sat.departments],
            "dimensions": _dimensions(sat.dimensions),
        },
        "loyalty": {
            "nps": None if sat.loyalty.nps is None else round(sat.loyalty.nps, 1),
            "score": index_points(sat.loyalty.score),
            "responses": sat.loyalty.responses,
            "evidence": sat.loyalty.evidence,
            "no_data": sat.loyalty.no_data,
        },
        "retention": {
            "shipments_last_30_days": signals.volume_recent,
            "shipments_trailing_window": signals.volume_window,
            "otif": signals.on_time / signals.delivered if signals.delivered else None,
            "otif_target": signals.otif_target,
            "claims_rate": signals.troubled / signals.shipments if signals.shipments else 0.0,
            "p_alive": signals.p_alive,
        },
        "own_risk": account.own.from_evidence,
        "network_risk": account.network_risk,
        "horizon_days": portfolio.horizon_days,
        "model_version": portfolio.model_version,
        "too_new": account.signals.too_new,
        "drivers": _drivers(portfolio, account, visible=visible),
        "value": {
            "revenue_12m": value.revenue,
            "cost_12m": value.cost,
            "profit_12m": value.profit,
            "margin": value.margin,
            "abc_class": value.abc,
            "value_tier": value.value_tier,
            "tier_mismatch": value.mismatch,
        },
        "exposure": value.exposure or 0.0,
        "data_problems": [
            {"field": p.field, "record_id": p.record_id, "note": p.note} for p in account.data_problems
        ],
        **provenance(portfolio),
    }


def _selected(portfolio, visible, *, role=None, tier=None, owner_id=None, order=None) -> list[AccountScores]:
    """The accounts the caller sees that pass the filters, in `order` (a once-per-publication ranking) or
    the portfolio's; a restricted caller's few accounts are looked up, not searched for among all."""
    if visible is not None and order is None and len(visible) < len(portfolio.accounts):
        candidates = [portfolio.accounts[c] for c in sorted(visible) if c in portfolio.accounts]
    else:
        candidates = portfolio.accounts.values() if order is None else order
    if visible is None and role is None and tier is None and owner_id is None:
        return list(candidates)
    return [
        a
        for a in candidates
        if (visible is None or a.customer_id in visible)
        and (role is None or role in a.roles)
        and (tier is None or a.tier == tier)
        and (owner_id is None or a.owner_id == owner_id)
    ]


def _by_risk(portfolio: PortfolioScores) -> list[AccountScores]:
    return sorted(portfolio.accounts.values(), key=lambda a: (-a.network_risk, a.customer_id))


def _by_exposure(portfolio: PortfolioScores) -> list[AccountScores]:
    return sorted(portfolio.accounts.values(), key=lambda a: (-(a.value.exposure or 0.0), a.customer_id))


def _page(items: list[dict], portfolio: PortfolioScores, *, total: int, page: int, page_size: int) -> dict:
    return {
        "items": items,
        "meta": {
            "total": total,
            "page": page,
            "page_size": page_size,
            "pages": math.ceil(total / page_size) if total else 0,
            "horizon_days": portfolio.horizon_days,
            "model_version": portfolio.model_version,
            **provenance(portfolio),
        },
    }


def risk_ranking(portfolio: PortfolioScores, *, visible, page: int, page_size: int, **filters) -> dict:
    """Rank accounts by network risk, each with its own risk and top driver (worked out for the page only)."""
    accounts = _selected(portfolio, visible, order=derived.once(portfolio, "by_risk", _by_risk), **filters)
    start = (page - 1) * page_size
    rows = [
        {
            "id": a.customer_id,
            "name": a.name,
            "roles": list(a.roles),
            "tier": a.tier,
            "owner_id": a.owner_id,
            "own_risk": a.own.from_evidence,
            "network_risk": a.network_risk,
            "top_driver": next(
                (d for d in _drivers(portfolio, a, visible=visible) if d["kind"] != "baseline"), None
            ),
        }
        for a in accounts[start : start + page_size]
    ]
    return _page(rows, portfolio, total=len(accounts), page=page, page_size=page_size)


def hubs(
    portfolio: PortfolioScores, params: ScoringParams, *, visible, page: int, page_size: int, **filters
) -> dict:
    """Rank accounts by exposure; the page's accounts also say how many shippers and consignees they take along."""
    accounts = _selected(
        portfolio, visible, order=derived.once(portfolio, "by_exposure", _by_exposure), **filters
    )
    start = (page - 1) * page_size
    rows = []
    for a in accounts[start : start + page_size]:
        result = cascade.what_if(
            portfolio.arrays, remove_customers=[a.customer_id], threshold=params.cascade_threshold
        )
        lost = [portfolio.accounts[c] for c in result.lost if c != a.customer_id]
        rows.append(
            {
                "id": a.customer_id,
                "name": a.name,
                "roles": list(a.roles),
                "tier": a.tier,
                "exposure": a.value.exposure or 0.0,
                "shippers_lost": sum(SHIPPER in c.roles for c in lost),
                "consignees_lost": sum(CONSIGNEE in c.roles for c in lost),
            }
        )
    return _page(rows, portfolio, total=len(accounts), page=page, page_size=page_size)


def graph_node(account: AccountScores, *, hidden: bool) -> dict:
    if hidden:
        return {"id": account.customer_id, "hidden": True, "roles": list(account.roles), "name": None,
                "tier": None, "satisfaction": None, "risk": None}  # fmt: skip
    return {
        "id": account.customer_id,
        "hidden": False,
        "roles": list(account.roles),
        "name": account.name,
        "tier": account.tier,
        "satisfaction": index_points(account.satisfaction.score),
        "risk": account.network_risk,
    }


def ego_graph(
    portfolio: PortfolioScores, *, center: int, depth: int, visible, max_nodes: int | None = None
) -> dict:
    """Return the neighbourhood of `center` up to `depth` lanes away, for drawing.

    A restricted caller gets only lanes with an end it sees; a hidden end carries its id (the lane names
    it) and roles, never its name or figures. With `max_nodes`, only that many accounts are kept, the
    nearest first and, at one distance, the busiest; `total_nodes` says how many there were.
    """
    arrays = portfolio.arrays
    if center not in arrays.index or (visible is not None and center not in visible):
        raise NotFound(f"customer {center} not found")
    # a hidden account shows as the far end of a visible lane, never as a way further
    members, total = arrays.neighbourhood(
        center, depth, limit=max_nodes, through=None if visible is None else visible.__contains__
    )
    nodes = [
        graph_node(portfolio.accounts[node], hidden=visible is not None and node not in visible)
        for node in members
    ]
    edges = [
        {
            "shipper": u,
            "consignee": v,
            "monthly_volume": shipments,
            "revenue_per_month": revenue,
            "influence_down": down,
            "influence_up": up,
        }
        for u, v, shipments, revenue, down, up in arrays.pairs_within(members)
        if visible is None or u in visible or v in visible
    ]
    return {"nodes": nodes, "edges": edges, "total_nodes": total, **provenance(portfolio)}


RISING_SHOWN = 10


def what_if(
    portfolio: PortfolioScores,
    params: ScoringParams,
    *,
    remove_customers: list[int],
    remove_links: list[int],
    volume_cuts: list[dict] = (),
    paused_lanes: list[dict] = (),
    moved_consignees: list[int] = (),
    threshold: float | None,
    visible,
    visible_links=None,
) -> dict:
    """Play a what-if over the whole network; name only the accounts the caller may see.

    `visible_links` (None: all) are the lanes the caller may name; a hidden customer or lane reads as
    unknown, and a change that does not fit the account's role (a cut by a non-shipper, a move by a
    non-consignee) is refused naming its field.
    """
    scenario = saved.checked(
        portfolio,
        visible=visible,
        visible_links=visible_links,
        remove_customers=remove_customers,
        remove_links=remove_links,
        volume_cuts=volume_cuts,
        paused_lanes=paused_lanes,
        moved_consignees=moved_consignees,
    )
    threshold = params.cascade_threshold if threshold is None else threshold
    propagation = {"tol": params.propagation_tol, "max_iter": params.propagation_max_iter}
    risk_arrays = derived.once(portfolio, "risk_arrays", PortfolioScores.risk_arrays)
    own_risks = derived.once(portfolio, "own_risks", PortfolioScores.own_risks)
    result = scenarios.run(
        portfolio.arrays,
        risk_arrays,
        own_risks,
        scenario,
        threshold=threshold,
        window_days=params.volume_window_days,
        base_risk=derived.once(
            portfolio,
            f"baseline {propagation}",
            lambda _whole: scenarios.baseline(risk_arrays, own_risks, **propagation),
        ),
        **propagation,
    )
    seen = visible.__contains__ if visible is not None else lambda _customer: True
    shown = [c for c in result.cascade.lost if seen(c)]
    rising = heapq.nsmallest(  # the few shown of the thousands a removal raises a little
        RISING_SHOWN, (c for c in result.risk_rises if seen(c)), key=lambda c: (-_rise(result, c), c)
    )
    return {
        "rounds": [[c for c in members if seen(c)] for members in result.cascade.rounds],
        "round_outcomes": [
            {
                "round": k,
                "customer_ids": [c for c in outcome.accounts if seen(c)],
                "hidden_customers": sum(not seen(c) for c in outcome.accounts),
                "volume": outcome.volume,
                "shipments_per_month": outcome.shipments_per_month,
                "revenue_per_month": outcome.revenue_per_month,
                "margin_per_month": outcome.margin_per_month,
                "links_cut": outcome.links_cut,
                "expected_revenue_per_month_lost": outcome.expected_revenue_per_month_lost,
            }
            for k, outcome in enumerate(result.rounds)
        ],
        "lost_customers": [
            {
                "id": c,
                "name": portfolio.accounts[c].name,
                "round": result.cascade.lost[c],
                "roles": list(portfolio.accounts[c].roles),
                **_lane_business(portfolio.arrays, c),
            }
            for c in shown
        ],
        "hidden_lost_customers": len(result.cascade.lost) - len(shown),
        "links_cut": result.cascade.links_cut,
        "shipments_per_month_lost": result.cascade.shipments_per_month_lost,
        "revenue_per_month_lost": result.cascade.revenue_per_month_lost,
        "margin_per_month_lost": sum(outcome.margin_per_month for outcome in result.rounds),
        "expected_revenue_per_month_lost": result.expected_revenue_per_month_lost,
        "expected_revenue_per_month_lost_after_cascade": result.rounds[-1].expected_revenue_per_month_lost,
        "rising_risks": [
            {
                "id": c,
                "name": portfolio.accounts[c].name,
                "roles": list(portfolio.accounts[c].roles),
                "risk_before": result.risk_rises[c][0],
                "risk_after": result.risk_rises[c][1],
            }
            for c in rising
        ],
        "threshold": threshold,
        **provenance(portfolio),
    }


def _rise(result: scenarios.ScenarioResult, customer: int) -> float:
    before, after = result.risk_rises[customer]
    return after - before


def _lane_business(arrays: GraphArrays, customer_id: int) -> dict[str, float]:
    """The business on all of an account's lanes, per month over the volume window."""
    lanes = arrays.lanes(customer_id)
    return {
        "shipments_per_month": float(sum(lane.shipments_per_month for lane in lanes)),
        "revenue_per_month": float(sum(lane.revenue_per_month for lane in lanes)),
    }


SATISFACTION_BUCKETS = [(0, 20), (20, 40), (40, 60), (60, 80), (80, 100.0001)]
RISK_BUCKETS = [(0, 0.1), (0.1, 0.2), (0.2, 0.4), (0.4, 0.6), (0.6, 1.0001)]


def _histogram(values, buckets, fmt) -> list[dict]:
    rows = [
        {"bucket": fmt(lo, hi), "count": sum(1 for v in values if v is not None and lo <= v < hi)}
        for lo, hi in buckets
    ]
    unknown = sum(1 for v in values if v is None)
    return [*rows, {"bucket": "unknown", "count": unknown}] if unknown else rows


def summary(portfolio: PortfolioScores, *, visible) -> dict:
    """Summarise the (visible) portfolio: roles, tiers, ABC classes, distributions, tier mismatches."""
    counted = (
        derived.once(portfolio, "summary", lambda whole: _summary(whole, _selected(whole, None)))
        if visible is None
        else _summary(portfolio, _selected(portfolio, visible))
    )
    return {
        **counted,
        **provenance(portfolio),
    }


def _summary(portfolio: PortfolioScores, accounts: list[AccountScores]) -> dict:

    def count(key) -> dict[str, int]:
        counts: dict[str, int] = {}
        for a in accounts:
            for k in key(a):
                counts[k] = counts.get(k, 0) + 1
        return counts

    return {
        "customers": len(accounts),
        "by_role": count(lambda a: ["+".join(a.roles) or "none"]),
        "by_tier": count(lambda a: [a.tier]),
        "by_abc_class": count(lambda a: [a.value.abc]),
        "pareto_ratio": portfolio.pareto_ratio,
        "satisfaction_distribution": _histogram(
            [index_points(a.satisfaction.score) for a in accounts],
            SATISFACTION_BUCKETS,
            lambda lo, hi: f"{lo}-{min(hi, 100):.0f}",
        ),
        "risk_distribution": _histogram(
            [a.network_risk for a in accounts], RISK_BUCKETS, lambda lo, hi: f"{lo:.1f}-{min(hi, 1):.1f}"
        ),
        "tier_mismatches": [
            {
                "id": a.customer_id,
                "name": a.name,
                "tier": a.tier,
                "value_tier": a.value.value_tier,
                "mismatch": a.value.mismatch,
            }
            for a in accounts
            if a.value.mismatch
        ],
    }


def pareto_curve(portfolio: PortfolioScores, *, visible, points: int = 50) -> list[dict]:
    """The paying accounts (shippers), most profitable first: share of accounts against the cumulative share
    of their positive profit, at most `points` + 1 points from (0, 0)."""
    profits = sorted(
        (a.value.profit for a in _selected(portfolio, visible, role=SHIPPER) if a.value.profit > 0),
        reverse=True,
    )
    total = sum(profits)
    if not total:
        return []
    curve, running, step = [{"accounts": 0.0, "profit": 0.0}], 0.0, max(1, len(profits) // points)
    for rank, profit in enumerate(profits, 1):
        running += profit
        if rank % step == 0 or rank == len(profits):
            curve.append({"accounts": rank / len(profits), "profit": running / total})
    return curve
