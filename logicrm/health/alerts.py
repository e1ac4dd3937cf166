"""Alerts as the API reads and changes them: listed, acknowledged, resolved, rendered per reader."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from logicrm import db
from logicrm.customers import service as customers
from logicrm.customers.models import Customer
from logicrm.db import utcnow
from logicrm.errors import Conflict, NotFound
from logicrm.health.models import Alert, AlertState
from logicrm.network import drivers
from logicrm.tasks import service as tasks
from logicrm.users.models import User


def list_statement(
    session: Session,
    *,
    user: User,
    state=None,
    rule=None,
    severity=None,
    customer_id=None,
    owner_id=None,
    customer_ids=None,
) -> Select:
    """Select alerts on accounts the user may see, newest first, with filters (`customer_ids`: among these,
    as many as a manager's portfolio holds: one parameter, not one each)."""
    statement = select(Alert).where(Alert.customer_id.in_(customers.visible_ids(user=user)))
    if customer_ids is not None:
        statement = statement.where(db.among(session.connection(), Alert.customer_id, customer_ids))
    for column, value in (
        (Alert.state, state),
        (Alert.rule, rule),
        (Alert.severity, severity),
        (Alert.customer_id, customer_id),
    ):
        if value is not None:
            statement = statement.where(column == value)
    if owner_id is not None:
        statement = statement.where(
            Alert.customer_id.in_(select(Customer.id).where(Customer.owner_id == owner_id))
        )
    return statement.order_by(Alert.last_seen.desc(), Alert.id.desc())


def get(session: Session, *, user: User, alert_id: int) -> Alert:
    """Return an alert on a visible account or raise NotFound."""
    alert = session.scalar(
        select(Alert).where(Alert.id == alert_id, Alert.customer_id.in_(customers.visible_ids(user=user)))
    )
    if alert is None:
        raise NotFound(f"alert {alert_id} not found")
    return alert


def acknowledge(session: Session, *, user: User, alert: Alert) -> Alert:
    """Acknowledge an open alert: it stays until its condition clears but notifies again only if it worsens."""
    if alert.state == AlertState.RESOLVED:
        raise Conflict(f"alert {alert.id} is resolved")
    if alert.state == AlertState.OPEN:
        alert.state, alert.acknowledged_at, alert.acknowledged_by_id = (
            AlertState.ACKNOWLEDGED,
            utcnow(),
            user.id,
        )
    return alert


def resolve(session: Session, *, user: User, alert: Alert) -> Alert:
    """Resolve an alert by hand, closing the tasks its playbook opened; if its condition persists the next
    run opens a new one."""
    if alert.state != AlertState.RESOLVED:
        alert.state, alert.resolved_at = AlertState.RESOLVED, utcnow()
        tasks.close_for_alerts(session, alert_ids=[alert.id], user=user)
    return alert


def present(session: Session, *, user: User, alerts) -> list[dict]:
    """Render alerts for one reader: risk drivers name only the partners this reader may see."""
    names = partner_names(
        session, user=user, stored=[(alert.details or {}).get("drivers") or [] for alert in alerts]
    )
    return [_present_alert(alert, names) for alert in alerts]


def _present_alert(alert: Alert, names: dict[int, str]) -> dict:
    fields = columns(alert)
    kept = (alert.details or {}).get("drivers")
    if kept is not None:
        described = drivers.describe(kept, names=names)
        summary = drivers.summary(described)
        fields["message"] = f"{alert.message}; drivers: {summary}" if summary else alert.message
        fields["details"] = {**alert.details, "drivers": described}
    return fields


def partner_names(session: Session, *, user: User, stored: list[list]) -> dict[int, str]:
    """Map the partners named by stored drivers that the user may see to their names."""
    return customers.names_for(session, user=user, ids=set().union(*map(drivers.partner_ids, stored)))


def columns(row) -> dict:
    """Return a row's column values by name (what an answer starts from)."""
    return {column.key: getattr(row, column.key) for column in row.__table__.columns}
