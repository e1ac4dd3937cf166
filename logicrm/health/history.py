"""A customer's health over time: the snapshots health runs keep, rendered for their reader, and the trend
of satisfaction, risk and value over a range of them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.orm import Session

from logicrm import db
from logicrm.health.alerts import columns, partner_names
from logicrm.health.models import HealthSnapshot, JobRun, RunStatus
from logicrm.network import drivers
from logicrm.users.models import User

HEALTH_RUN = "health_run"  # the job name of the full health run

# what the trend follows: satisfaction on the 0–100 index (None while unknown), risks as probabilities, value in money
TRENDS = ("satisfaction", "own_risk", "network_risk", "revenue_12m", "profit_12m")
TREND_DAYS = 30  # slopes are per this many days


def _in_range(customer_id: int, start: dt.datetime | None, end: dt.datetime | None) -> list:
    conditions = [HealthSnapshot.customer_id == customer_id]
    if start is not None:
        conditions.append(HealthSnapshot.taken_at >= start)
    if end is not None:
        conditions.append(HealthSnapshot.taken_at < end)
    return conditions


def list_statement(
    *, customer_id: int, start: dt.datetime | None = None, end: dt.datetime | None = None
) -> Select:
    """Select a customer's snapshots taken in [start, end), newest first."""
    return (
        select(HealthSnapshot)
        .where(*_in_range(customer_id, start, end))
        .order_by(HealthSnapshot.taken_at.desc(), HealthSnapshot.id.desc())
    )


def present(session: Session, *, user: User, snapshots) -> list[dict]:
    """Render health snapshots for one reader, their drivers like an alert's."""
    names = partner_names(session, user=user, stored=[snapshot.drivers for snapshot in snapshots])
    return [
        {**columns(snapshot), "drivers": drivers.describe(snapshot.drivers, names=names)}
        for snapshot in snapshots
    ]


def successful_runs(*, limit: int) -> Select:
    """Select the ids of the latest successful health runs, newest first."""
    return (
        select(JobRun.id)
        .where(JobRun.job == HEALTH_RUN, JobRun.status == RunStatus.SUCCEEDED)
        .order_by(JobRun.id.desc())
        .limit(limit)
    )


def risks_at(session: Session, *, run_id: int) -> dict[int, float]:
    """Network risk per customer at one health run."""
    rows = session.execute(
        select(HealthSnapshot.customer_id, HealthSnapshot.network_risk).where(HealthSnapshot.run_id == run_id)
    )
    return dict(rows.all())


def risk_moves(session: Session, *, customer_ids: Collection[int] | None, limit: int) -> list[dict]:
    """The accounts (among `customer_ids`; None: all) whose network risk moved most between the last two
    health runs, largest move first: customer_id, before, after, change, and when the runs were."""
    runs = list(session.scalars(successful_runs(limit=2)))
    if len(runs) < 2:
        return []
    latest, previous = (risks_at(session, run_id=run) for run in runs)
    moves = [
        {"customer_id": c, "before": previous[c], "after": risk, "change": risk - previous[c]}
        for c, risk in latest.items()
        if c in previous and (customer_ids is None or c in customer_ids)
    ]
    moves.sort(key=lambda move: (-abs(move["change"]), move["customer_id"]))
    return moves[:limit]


def trend(
    session: Session, *, customer_id: int, start: dt.datetime | None = None, end: dt.datetime | None = None
) -> dict:
    """Per measure over the snapshots in [start, end): its first and last value, the change between them and
    the least-squares slope per TREND_DAYS days (None with fewer than two snapshots knowing the measure).

    One aggregate query: the slope's sums are taken in SQL, time counted in days from the first snapshot.
    """
    where = _in_range(customer_id, start, end)
    first_at = session.scalar(select(func.min(HealthSnapshot.taken_at)).where(*where))
    if first_at is None:
        return {name: _no_trend() for name in TRENDS}
    x = db.days_since(session, HealthSnapshot.taken_at, first_at)
    sums = []
    for name in TRENDS:
        y = getattr(HealthSnapshot, name)
        known = y.is_not(None)
        sums += [
            func.count(y).label(f"{name}_n"),
            func.sum(case((known, x), else_=0.0)).label(f"{name}_x"),
            func.sum(y).label(f"{name}_y"),
            func.sum(case((known, x * x), else_=0.0)).label(f"{name}_xx"),
            func.sum(x * y).label(f"{name}_xy"),
        ]
    totals = session.execute(select(*sums).where(*where)).one()._mapping
    ends = _first_and_last(session, where)
    return {name: _fitted(name, totals, ends) for name in TRENDS}


def _first_and_last(session: Session, where: list) -> dict[str, tuple]:
    """Each measure's value at the earliest and the latest snapshot that knows it."""
    ends = {}
    for name in TRENDS:
        column = getattr(HealthSnapshot, name)
        known = and_(*where, column.is_not(None))
        first = session.scalar(
            select(column).where(known).order_by(HealthSnapshot.taken_at, HealthSnapshot.id).limit(1)
        )
        last = session.scalar(
            select(column)
            .where(known)
            .order_by(HealthSnapshot.taken_at.desc(), HealthSnapshot.id.desc())
            .limit(1)
        )
        ends[name] = (first, last)
    return ends


def _fitted(name: str, totals, ends: dict) -> dict:
    n = totals[f"{name}_n"]
    first, last = ends[name]
    out = {
        "points": n,
        "first": first,
        "last": last,
        "change": None if first is None else last - first,
        "slope_per_30_days": None,
    }
    if n >= 2:
        sx, sy, sxx, sxy = (float(totals[f"{name}_{part}"]) for part in ("x", "y", "xx", "xy"))
        spread = n * sxx - sx * sx
        if spread > 1e-9 * max(1.0, n * sxx):  # snapshots at one moment give no slope
            out["slope_per_30_days"] = (n * sxy - sx * sy) / spread * TREND_DAYS
    return out


def _no_trend() -> dict:
    return {"points": 0, "first": None, "last": None, "change": None, "slope_per_30_days": None}
