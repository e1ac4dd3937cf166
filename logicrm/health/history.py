"""A customer's health over time: the snapshots health runs keep, rendered for their reader."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from logicrm.health.alerts import columns, partner_names
from logicrm.health.models import HealthSnapshot
from logicrm.network import drivers
from logicrm.users.models import User


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
