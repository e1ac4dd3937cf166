"""Lanes over time: monthly or weekly series of a lane's (or a customer's lanes') shipments, volume, money
and service quality, and each listed lane's last 90 days.

Every figure is one GROUP BY over shipments in the database, by lane and shipping date (the index
ix_shipments_link_shipped serves both, and on PostgreSQL covers every column summed: an index-only scan);
Python only lays the periods out, empty ones included.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import Session

from logicrm import bounds, db
from logicrm.customers import service as customers
from logicrm.lanes import service as lanes
from logicrm.lanes.models import Link, Shipment
from logicrm.users.models import User

RECENT_DAYS = 90
DEFAULT_SPAN = dt.timedelta(days=365)
MAX_PERIODS = {"month": 120, "week": 520}  # ten years either way
LANES_SHOWN, LANES_SHOWN_MAX = 50, 1000

_on_time = and_(
    Shipment.delivered_at.is_not(None),
    Shipment.promised_at.is_not(None),
    Shipment.delivered_at <= Shipment.promised_at,
    Shipment.in_full,
)
_delivered = and_(Shipment.delivered_at.is_not(None), Shipment.promised_at.is_not(None))


def _count_if(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


FIGURES = (
    "shipments",
    "revenue",
    "cost",
    "delivered",
    "on_time_in_full",
    "damaged",
    "claims",
    "claim_amount",
)


def _aggregates(session: Session) -> list:
    """The SQL aggregates over a group of shipments, labelled by FIGURES (money held to its bound)."""

    def money(column):
        return func.coalesce(func.sum(db.held_money(session, column, bounds.MONEY)), 0)

    return [
        func.count().label("shipments"),
        money(Shipment.revenue).label("revenue"),
        money(Shipment.cost).label("cost"),
        _count_if(_delivered).label("delivered"),
        _count_if(_on_time).label("on_time_in_full"),
        _count_if(Shipment.damaged).label("damaged"),
        _count_if(Shipment.claim_amount > 0).label("claims"),
        money(Shipment.claim_amount).label("claim_amount"),
    ]


def figures(row) -> dict:
    """Turn summed shipments into what people read: margin, OTIF and damage as shares (None: no base)."""
    values = {name: row[name] for name in FIGURES}
    shipments, revenue, delivered = values["shipments"], float(values["revenue"]), values["delivered"]
    margin = revenue - float(values["cost"])
    return {
        "shipments": int(shipments),
        "revenue": revenue,
        "cost": float(values["cost"]),
        "margin": margin,
        "margin_share": margin / revenue if revenue > 0 else None,
        "delivered": int(delivered),
        "otif": values["on_time_in_full"] / delivered if delivered else None,
        "damaged": int(values["damaged"]),
        "damage_rate": values["damaged"] / shipments if shipments else None,
        "claims": int(values["claims"]),
        "claim_amount": float(values["claim_amount"]),
    }


def _empty() -> dict:
    return figures(dict.fromkeys(FIGURES, 0))


def default_range(
    *, start: dt.datetime | None, end: dt.datetime | None, now: dt.datetime
) -> tuple[dt.datetime, dt.datetime]:
    """The [start, end) a series covers when not given: up to now, a year back from its end."""
    end = end or now
    return start or end - DEFAULT_SPAN, end


def periods_between(start: dt.datetime, end: dt.datetime, interval: str) -> list[str]:
    """Labels ('YYYY-MM-DD': first of the month, or Monday of the week) of the periods [start, end) touches."""
    first = start.astimezone(dt.UTC).date()
    last = (end.astimezone(dt.UTC) - dt.timedelta(microseconds=1)).date()
    monthly = interval == "month"
    day = first.replace(day=1) if monthly else first - dt.timedelta(days=first.weekday())
    labels = []
    while day <= last:
        labels.append(day.isoformat())
        day += dt.timedelta(days=calendar.monthrange(day.year, day.month)[1] if monthly else 7)
    return labels


def series(
    session: Session, *, link_ids: Select, start: dt.datetime, end: dt.datetime, interval: str
) -> tuple[list[dict], dict]:
    """Return (one row per period, the totals) of the shipments on these lanes shipped in [start, end)."""
    period = db.period_label(session, Shipment.shipped_at, interval).label("period")
    in_range = (Shipment.link_id.in_(link_ids), Shipment.shipped_at >= start, Shipment.shipped_at < end)
    found = {
        row.period: row._mapping
        for row in session.execute(select(period, *_aggregates(session)).where(*in_range).group_by(period))
    }
    rows = [{"period": label, **(figures(found[label]) if label in found else _empty())}
            for label in periods_between(start, end, interval)]  # fmt: skip
    # every figure is a count or a sum of held amounts: the range's totals are the periods' sums (no second scan)
    totals = {name: sum(period[name] for period in found.values()) for name in FIGURES}
    return rows, figures(totals)


def link_metrics(
    session: Session,
    *,
    user: User,
    link_id: int,
    start: dt.datetime,
    end: dt.datetime,
    interval: str,
) -> dict:
    """One lane over time (a lane is seen through either end)."""
    link = lanes.get(session, user=user, link_id=link_id)
    rows, totals = series(
        session, link_ids=select(Link.id).where(Link.id == link.id), start=start, end=end, interval=interval
    )
    return {
        "link_id": link.id,
        "start": start,
        "end": end,
        "interval": interval,
        "series": rows,
        "totals": totals,
    }


def customer_metrics(
    session: Session,
    *,
    user: User,
    customer_id: int,
    start: dt.datetime,
    end: dt.datetime,
    interval: str,
    role: str | None = None,
    lanes_limit: int = LANES_SHOWN,
) -> dict:
    """A customer's lanes over time (as shipper, consignee or both), with the totals over the range of its
    `lanes_limit` lanes that earned most in it (a hub has thousands of lanes; `lanes_total` counts them).

    A lane's far end the caller may not see is named by id only (README: the far end of a lane you see).
    """
    customers.require_visible(session, user=user, customer_id=customer_id)
    ends = {
        "shipper": Link.shipper_id == customer_id,
        "consignee": Link.consignee_id == customer_id,
        None: or_(Link.shipper_id == customer_id, Link.consignee_id == customer_id),
    }
    link_ids = select(Link.id).where(ends[role])
    rows, totals = series(session, link_ids=link_ids, start=start, end=end, interval=interval)
    return {
        "customer_id": customer_id,
        "role": role,
        "start": start,
        "end": end,
        "interval": interval,
        "series": rows,
        "totals": totals,
        "lanes_total": session.scalar(select(func.count()).select_from(link_ids.subquery())),
        "lanes": _lane_totals(session, user, customer_id, ends[role], start, end, lanes_limit),
    }


def _lane_totals(session: Session, user: User, customer_id: int, ends, start, end, limit: int) -> list[dict]:
    """The `limit` lanes earning most over [start, end), largest first, with their totals (ranked in SQL)."""
    per_lane = (
        select(Shipment.link_id, *_aggregates(session))
        .join(Link, Link.id == Shipment.link_id)
        .where(ends, Shipment.shipped_at >= start, Shipment.shipped_at < end)
        .group_by(Shipment.link_id)
        .subquery()
    )
    found = session.execute(
        select(Link, per_lane)
        .outerjoin(per_lane, per_lane.c.link_id == Link.id)
        .where(ends)
        .order_by(func.coalesce(per_lane.c.revenue, 0).desc(), Link.id)
        .limit(limit)
    ).all()
    partners = {
        link.consignee_id if link.shipper_id == customer_id else link.shipper_id for link, *_ in found
    }
    names = customers.names_for(session, user=user, ids=partners)
    lanes_out = []
    for row in found:
        link = row[0]
        partner = link.consignee_id if link.shipper_id == customer_id else link.shipper_id
        lanes_out.append(
            {
                "link_id": link.id,
                "as_role": "shipper" if link.shipper_id == customer_id else "consignee",
                "partner_id": partner,
                "partner_name": names.get(partner),
                "origin": link.origin,
                "destination": link.destination,
                "service_type": link.service_type,
                "status": link.status,
                **(figures(row._mapping) if row.link_id is not None else _empty()),
            }
        )
    return lanes_out


def recent(session: Session, *, link_ids: Iterable[int], now: dt.datetime) -> dict[int, dict]:
    """Each lane's last RECENT_DAYS days: shipments, revenue and OTIF (lanes without shipments: zeros)."""
    ids = sorted(set(link_ids))
    if not ids:
        return {}
    found = {
        row.link_id: row._mapping
        for row in session.execute(
            select(Shipment.link_id, *_aggregates(session))
            .where(
                Shipment.link_id.in_(ids),
                Shipment.shipped_at >= now - dt.timedelta(days=RECENT_DAYS),
                Shipment.shipped_at < now,
            )
            .group_by(Shipment.link_id)
        )
    }
    out = {}
    for link_id in ids:
        full = figures(found[link_id]) if link_id in found else _empty()
        out[link_id] = {key: full[key] for key in ("shipments", "revenue", "margin", "otif")}
    return out


def listed(session: Session, *, links: list[Link], now: dt.datetime) -> list[dict]:
    """Lanes as a list shows them: their fields and their last 90 days."""
    figures_by_link = recent(session, link_ids=[link.id for link in links], now=now)
    columns = [column.key for column in Link.__table__.columns]
    return [
        {**{key: getattr(link, key) for key in columns}, "last_90_days": figures_by_link[link.id]}
        for link in links
    ]
