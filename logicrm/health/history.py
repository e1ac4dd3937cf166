"""A customer's health over time: the snapshots health runs keep, rendered for their reader."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from logicrm.health.alerts import columns, partner_names
from logicrm.health.models import HealthSnapshot, JobRun, RunStatus
from logicrm.network import drivers
from logicrm.users.models import User

HEALTH_RUN = "health_run"  # the job name of the full health run


def list_statement(*, customer_id: int) -> Select:
    """Select a customer's snapshots, newest first."""
    return (
        select(HealthSnapshot)
        .where(HealthSnapshot.customer_id == customer_id)
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
