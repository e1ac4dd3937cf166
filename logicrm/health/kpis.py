"""Portfolio KPIs at a moment, stored by every health run (and replayable for past dates), served as series.

Everything is derived from shipments (revenue belongs to the payer: the lane's shipper), customers and won
renewals, so a KPI at a past date is computed the same way as today's. Each figure is aggregated in SQL per
customer (one GROUP BY over shipments); Python only ranks and divides. Definitions: docs/commercial.md.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Sequence

from sqlalchemy import Integer, Select, and_, case, cast, func, null, select, union_all
from sqlalchemy.orm import Session

from logicrm import bounds, db
from logicrm.customers.models import Customer
from logicrm.health.models import PortfolioKpis
from logicrm.lanes.models import Link, Shipment
from logicrm.sales.models import Opportunity, OpportunityKind, OpportunityStage
from logicrm.scoring import queries

YEAR = dt.timedelta(days=365)
RECENT = dt.timedelta(days=90)
FLOW_FALLBACK = dt.timedelta(days=30)  # flows are counted from the previous stored point, else this far back
DISCOUNT_RATE = 0.10  # yearly, for the customer lifetime value
PARETO_SHARE = 0.2  # the top fifth of paying customers
TOP_ACCOUNTS = 10
# prospect -> onboarding -> active -> at risk -> churned -> won back (README, docs/commercial.md)
STAGES = ("prospect", "onboarding", "active", "at_risk", "churned", "won_back")
DEFAULT_SPAN = dt.timedelta(days=3 * 365)


def _between(start: dt.datetime, end: dt.datetime):
    return and_(Shipment.shipped_at >= start, Shipment.shipped_at < end)


def _sum_if(condition, value):
    return func.coalesce(func.sum(case((condition, value), else_=0)), 0)


ACTIVITY = ("first_at", "last_at", "recent", "earlier", "year_before")
PAYER = ("revenue", "margin", "shipments", "revenue_before", "first_at")


def activity(
    session: Session, moments: Sequence[dt.datetime], *, payers_at: dt.datetime | None = None
) -> tuple[dict[int, dict], list[dict[int, str]]]:
    """The paying customers at `payers_at` (as `compute` defines them; none without it) and each live
    customer's lifecycle stage at each of `moments`, from one pass over the shipments.

    The shipments are grouped per lane once, with every figure of every moment as a conditional
    aggregate; the lanes' figures are then added up at both of their ends (the payers' at the shipper's
    alone, as revenue belongs to the payer).
    """
    shipped = Shipment.shipped_at
    end = max([*moments, *([payers_at] if payers_at else [])])

    def stage_figures(at: dt.datetime) -> list:
        before = shipped < at
        return [
            func.min(case((before, shipped))),
            func.max(case((before, shipped))),
            _sum_if(and_(shipped >= at - RECENT, before), 1),
            _sum_if(and_(shipped >= at - YEAR, shipped < at - RECENT), 1),
            _sum_if(and_(shipped >= at - 2 * YEAR, shipped < at - YEAR), 1),
        ]

    def payer_figures(at: dt.datetime) -> list:
        this_year, last_year = _between(at - YEAR, at), _between(at - 2 * YEAR, at - YEAR)
        revenue, cost = (
            db.held_money(session, column, bounds.MONEY) for column in (Shipment.revenue, Shipment.cost)
        )
        return [
            _sum_if(this_year, revenue),
            _sum_if(this_year, revenue - cost),
            _sum_if(this_year, 1),
            _sum_if(last_year, revenue),
            func.min(case((shipped < at, shipped))),
        ]

    # (label, figure, its SQL per lane, whether it is a payer's)
    columns = [
        (f"{name}_{k}", name, column, False)
        for k, at in enumerate(moments)
        for name, column in zip(ACTIVITY, stage_figures(at), strict=True)
    ]
    if payers_at is not None:
        columns += [
            (f"payer_{name}", name, column, True)
            for name, column in zip(PAYER, payer_figures(payers_at), strict=True)
        ]
    # SQLite: a lane's figures read the money, not in the (link_id, shipped_at) index; reading the table in
    # order and sorting it by lane costs a third of looking up each shipment from that index
    lane = queries.unindexed(session, Shipment.link_id) if payers_at is not None else Shipment.link_id
    per_lane = (
        select(lane.label("link_id"), *(column.label(label) for label, _name, column, _payer in columns))
        .where(queries.unindexed(session, shipped) < end)
        .group_by(lane)
        .cte("per_lane")  # read by both ends: a CTE is computed once, a subquery once per end
    )

    def at_end(end_column, *, payer_side: bool) -> Select:
        return select(
            end_column.label("customer_id"),
            *(
                per_lane.c[label] if payer_side or not payer else null().label(label)
                for label, _name, _column, payer in columns
            ),
        ).join(per_lane, per_lane.c.link_id == Link.id)

    ends = union_all(at_end(Link.shipper_id, payer_side=True), at_end(Link.consignee_id, payer_side=False))
    ends = ends.subquery()

    def rolled_up(label: str, name: str):
        if name in ("first_at", "last_at"):
            return (func.min if name == "first_at" else func.max)(ends.c[label])
        if label.startswith("payer_") and name != "shipments":
            return func.sum(ends.c[label])
        return cast(func.sum(ends.c[label]), Integer)  # PostgreSQL sums bigints into numerics

    rolled = (
        select(
            ends.c.customer_id,
            *(rolled_up(label, name).label(label) for label, name, _column, _payer in columns),
        )
        .group_by(ends.c.customer_id)
        .subquery()
    )
    rows = session.execute(
        select(Customer.id, Customer.created_at, *(rolled.c[label] for label, _n, _c, _p in columns))
        .outerjoin(rolled, rolled.c.customer_id == Customer.id)
        .where(Customer.deleted_at.is_(None))
    ).all()
    stages: list[dict[int, str]] = [{} for _ in moments]
    payers: dict[int, dict] = {}
    for row in rows:
        for k, at in enumerate(moments):
            first_at, last_at, recent, earlier, year_before = row[
                2 + k * len(ACTIVITY) : 2 + (k + 1) * len(ACTIVITY)
            ]
            if first_at is not None or row.created_at <= at:
                stages[k][row.id] = _stage(at, first_at, last_at, recent, earlier, year_before)
        if payers_at is not None:
            revenue, margin, shipments, revenue_before, first_at = row[2 + len(moments) * len(ACTIVITY) :]
            if first_at is not None:  # a shipper with a shipment before `payers_at`
                payers[row.id] = {
                    "revenue": float(revenue),
                    "margin": float(margin),
                    "shipments": int(shipments),
                    "revenue_before": float(revenue_before),
                    "first_at": first_at,
                }
    return payers, stages


def stages_at(session: Session, moments: Sequence[dt.datetime]) -> list[dict[int, str]]:
    """Each live customer's lifecycle stage at each of `moments`, from its shipments at either end of its
    lanes (`activity`)."""
    return activity(session, moments)[1]


def _stage(at: dt.datetime, first_at, last_at, recent: int, earlier: int, year_before: int) -> str:
    if first_at is None:
        return "prospect"
    if last_at < at - YEAR:
        return "churned"
    if first_at >= at - RECENT:
        return "onboarding"
    if year_before == 0 and first_at < at - 2 * YEAR:
        return "won_back"
    # fewer than half the shipments of an average 90 days of the nine months before
    if recent < 0.5 * earlier / 3:
        return "at_risk"
    return "active"


def _repeat_customers(session: Session, at: dt.datetime) -> set[int]:
    """Customers with a renewal won on or before `at`: their contract was signed again."""
    return set(
        session.scalars(
            select(Opportunity.customer_id).where(
                Opportunity.kind == OpportunityKind.RENEWAL,
                Opportunity.stage == OpportunityStage.WON,
                Opportunity.closed_on <= at.date(),
            )
        )
    )


def _share(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def compute(session: Session, *, at: dt.datetime, since: dt.datetime | None = None) -> dict:
    """The portfolio's KPIs at `at`; lifecycle flows are counted from `since` (the previous point).

    The paying customers are the shippers (not deleted) with a shipment before `at`: revenue and margin
    over the year to `at`, revenue over the year before it, shipments over the year and the first shipping
    time as a shipper.
    """
    since = since or at - FLOW_FALLBACK
    payers, (now, before) = activity(session, [at, since], payers_at=at)
    paying = {cid: p for cid, p in payers.items() if p["revenue"] > 0}
    base = {cid: p for cid, p in payers.items() if p["revenue_before"] > 0}
    kept = [p for cid, p in base.items() if cid in paying]
    revenue = sum(p["revenue"] for p in paying.values())
    base_revenue = sum(p["revenue_before"] for p in base.values())
    retention = _share(len(kept), len(base))
    return {
        "retention": {
            "base_customers": len(base),
            "retained_customers": len(kept),
            "customer_retention": retention,
            "churned_customers": len(base) - len(kept),
            "churn_rate": None if retention is None else 1 - retention,
            "base_revenue": base_revenue,
            "revenue_retention": _share(
                sum(min(p["revenue"], p["revenue_before"]) for p in kept), base_revenue
            ),
            "churned_revenue": sum(p["revenue_before"] for cid, p in base.items() if cid not in paying),
            "revenue_churn_rate": _share(
                sum(p["revenue_before"] for cid, p in base.items() if cid not in paying), base_revenue
            ),
            "net_revenue_retention": _share(sum(p["revenue"] for p in kept), base_revenue),
        },
        "revenue": _concentration(paying, revenue, _repeat_customers(session, at)),
        "acquisition": _acquisition(session, payers, at),
        "lifetime_value": _lifetime_value(paying, retention),
        "lifecycle": _lifecycle(now, before, since),
    }


def _concentration(paying: dict[int, dict], revenue: float, repeat: set[int]) -> dict:
    ranked = sorted((p["revenue"] for p in paying.values()), reverse=True)
    top = math.ceil(PARETO_SHARE * len(ranked))
    return {
        "paying_customers": len(ranked),
        "revenue": revenue,
        "repeat_contract_share": _share(sum(p["revenue"] for c, p in paying.items() if c in repeat), revenue),
        "pareto_ratio": _share(sum(ranked[:top]), revenue),
        "pareto_label": f"the top {top} of {len(ranked)} paying customers (20%) bring this share of revenue",
        "top_10_share": _share(sum(ranked[:TOP_ACCOUNTS]), revenue),
        "herfindahl": sum((r / revenue) ** 2 for r in ranked) if revenue else None,
    }


def _acquisition(session: Session, payers: dict[int, dict], at: dt.datetime) -> list[dict]:
    """Customers whose first paid shipment fell in the year to `at`, by the channel that brought them."""
    new = {cid: p for cid, p in payers.items() if p["first_at"] >= at - YEAR}
    channels = dict(
        session.execute(select(Customer.id, Customer.acquisition_channel).where(db.among(session.connection(), Customer.id, new))).all()
    ) if new else {}  # fmt: skip
    counts, revenue = Counter(), Counter()
    for cid, p in new.items():
        channel = str(channels.get(cid) or "unknown")
        counts[channel] += 1
        revenue[channel] += p["revenue"]
    return [{"channel": c, "customers": counts[c], "revenue": revenue[c]} for c in sorted(counts)]


def _lifetime_value(paying: dict[int, dict], retention: float | None) -> dict:
    """A year's margin and shipments per paying customer, carried over its expected remaining years:
    sum over t >= 1 of r^t / (1 + d)^t = r / (1 + d - r) with yearly retention r and discount rate d."""
    if retention is None or not paying:
        return {
            "years_multiplier": None,
            "average": None,
            "total": None,
            "expected_shipments_per_customer": None,
        }
    multiplier = retention / (1 + DISCOUNT_RATE - retention)
    margin = sum(p["margin"] for p in paying.values())
    return {
        "years_multiplier": multiplier,
        "average": margin / len(paying) * multiplier,
        "total": margin * multiplier,
        "expected_shipments_per_customer": sum(p["shipments"] for p in paying.values())
        / len(paying)
        * multiplier,
    }


def _lifecycle(now: dict[int, str], before: dict[int, str], since: dt.datetime) -> dict:
    counts = Counter(now.values())
    moves = Counter((before.get(cid, "new"), stage) for cid, stage in now.items() if before.get(cid) != stage)
    return {
        "since": since.isoformat(),
        "counts": {stage: counts[stage] for stage in STAGES},
        "flows": [{"from": a, "to": b, "customers": n} for (a, b), n in sorted(moves.items())],
    }


def record(session: Session, *, at: dt.datetime, figures: dict, run_id: int | None = None) -> PortfolioKpis:
    """Store the KPIs computed for `at` (by a health run: its run_id; replayed: None)."""
    row = PortfolioKpis(run_id=run_id, as_of=at, figures=figures)
    session.add(row)
    session.flush()
    return row


def previous_point(session: Session, *, at: dt.datetime) -> dt.datetime | None:
    """The time of the latest stored KPIs before `at`."""
    return session.scalar(select(func.max(PortfolioKpis.as_of)).where(PortfolioKpis.as_of < at))


def replay(session: Session, *, start: dt.datetime, end: dt.datetime) -> int:
    """Compute and store the KPIs at the first of every month in [start, end) that no stored point has yet
    on that day, each counting its flows from the month before; return how many were stored."""
    day = dt.datetime(start.year, start.month, 1, tzinfo=dt.UTC)
    if day < start:
        day = _next_month(day)
    stored = 0
    while day < end:
        taken = select(PortfolioKpis.id).where(
            PortfolioKpis.as_of >= day, PortfolioKpis.as_of < day + dt.timedelta(days=1)
        )
        if session.scalar(taken.limit(1)) is None:
            record(session, at=day, figures=compute(session, at=day, since=_previous_month(day)))
            stored += 1
        day = _next_month(day)
    return stored


def _next_month(day: dt.datetime) -> dt.datetime:
    return day.replace(year=day.year + day.month // 12, month=day.month % 12 + 1)


def _previous_month(day: dt.datetime) -> dt.datetime:
    return day.replace(year=day.year - (day.month == 1), month=(day.month - 2) % 12 + 1)


def list_statement(*, start: dt.datetime, end: dt.datetime) -> Select:
    """Select the stored KPI points in [start, end), oldest first."""
    return (
        select(PortfolioKpis)
        .where(PortfolioKpis.as_of >= start, PortfolioKpis.as_of < end)
        .order_by(PortfolioKpis.as_of, PortfolioKpis.id)
    )


def series(session: Session, *, start: dt.datetime, end: dt.datetime) -> dict:
    """The stored points in [start, end), oldest first, each its figures with when and how it was taken."""
    points = session.scalars(list_statement(start=start, end=end)).all()
    return {
        "start": start,
        "end": end,
        "points": [
            {"as_of": p.as_of, "run_id": p.run_id, "replayed": p.run_id is None, **p.figures} for p in points
        ],
    }
