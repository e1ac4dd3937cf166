"""Record who changed which fields from what to what."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from logicrm import access
from logicrm.audit.models import AuditEvent
from logicrm.db import bulk_insert, utcnow
from logicrm.users.models import User

_AS_THEY_ARE = frozenset({str, int, float, bool, type(None)})


def plain(value):
    """Return a JSON-ready form of a field value (enums by value, dates in ISO 8601)."""
    if type(value) in _AS_THEY_ARE:  # most values: no isinstance checks (an import makes millions)
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def apply_changes(obj, changes: dict) -> dict:
    """Set attributes on `obj`; return {field: [old, new]} for the ones that really changed."""
    diff = {}
    for field, new in changes.items():
        old = getattr(obj, field)
        if old != new:
            setattr(obj, field, new)
            diff[field] = [plain(old), plain(new)]
    return diff


def diff(stored: Mapping, new: Mapping) -> dict:
    """Return {field: [old, new]} for the fields of `new` whose value differs from `stored`'s."""
    return {
        field: [plain(stored[field]), plain(value)] for field, value in new.items() if stored[field] != value
    }


def snapshot(obj, fields) -> dict:
    """Return {field: [None, value]} describing a created record."""
    return created({field: getattr(obj, field) for field in fields})


def created(values: Mapping) -> dict:
    """Return {field: [None, value]} describing a record created with `values` (None values left out)."""
    return {field: [None, plain(value)] for field, value in values.items() if value is not None}


def removed(obj, fields) -> dict:
    """Return {field: [value, None]} describing a deleted record."""
    return {field: [plain(getattr(obj, field)), None] for field in fields if getattr(obj, field) is not None}


def record(
    session: Session,
    *,
    user: User | None,
    entity: str,
    entity_id: int,
    customer_id: int | None,
    action: str,
    changes: dict,
) -> None:
    """Append one audit event (nothing when an update changed nothing)."""
    if action == "update" and not changes:
        return
    session.add(
        AuditEvent(
            user_id=user.id if user else None,
            entity=entity,
            entity_id=entity_id,
            customer_id=customer_id,
            action=action,
            changes=changes,
        )
    )


EVENT_COLUMNS = ("user_id", "entity", "entity_id", "customer_id", "action", "changes", "at")


def record_many(session: Session, *, user: User | None, events: Iterable[tuple]) -> None:
    """Append audit events in bulk: (entity, entity_id, customer_id, action, changes) each, as `record`
    would one by one (an update that changed nothing records nothing)."""
    user_id, at = (user.id if user else None), utcnow()
    rows = [
        (user_id, entity, entity_id, customer_id, action, changes, at)
        for entity, entity_id, customer_id, action, changes in events
        if changes or action != "update"
    ]
    if rows:
        bulk_insert(session.connection(), AuditEvent.__table__, EVENT_COLUMNS, rows)


def present(*, user: User, events) -> list[dict]:
    """Render audit events for one reader: fields the reader may not see (contacts' email and phone for
    planners) are left out of the changes, as they are left out of the record's own answers."""
    return [
        {
            **{column.key: getattr(event, column.key) for column in event.__table__.columns},
            "changes": access.redact(user, event.entity, event.changes or {}),
        }
        for event in events
    ]


def history_statement(*, customer_id: int):
    """Select the audit events shown in a customer's history, newest first."""
    return (
        select(AuditEvent)
        .where(AuditEvent.customer_id == customer_id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    )
