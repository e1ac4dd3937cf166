"""Record who changed which fields from what to what."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Iterable, Mapping
from json.encoder import JSONEncoder, c_make_encoder, encode_basestring_ascii
from operator import attrgetter

from sqlalchemy import Column, MetaData, Table, Text, select
from sqlalchemy.orm import Session

from logicrm import access
from logicrm.audit.models import AuditEvent
from logicrm.db import bulk_insert, utcnow
from logicrm.users.models import User

_AS_THEY_ARE = frozenset({str, int, float, bool, type(None)})


def plain(value):
    """Return a JSON-ready form of a field value (enums by value, dates in ISO 8601)."""
    kind = type(value)
    if kind in _AS_THEY_ARE:  # most values: no isinstance checks (an import makes millions)
        return value
    convert = _PLAIN_BY_TYPE.get(kind)
    if convert is None:
        convert = _PLAIN_BY_TYPE[kind] = _converter(kind)
    return convert(value)


def _converter(kind: type) -> Callable:
    if issubclass(kind, enum.Enum):
        return attrgetter("_value_")  # what .value returns, without its descriptor
    if issubclass(kind, dt.date):  # (datetime included)
        return kind.isoformat
    return _as_it_is


def _as_it_is(value):
    return value


_PLAIN_BY_TYPE: dict[type, Callable] = {}  # the converter of each type seen that is not plain already


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
        field: [
            old if type(old := stored[field]) in _AS_THEY_ARE else plain(old),
            value if type(value) in _AS_THEY_ARE else plain(value),
        ]
        for field, value in new.items()
        if stored[field] != value
    }


def snapshot(obj, fields) -> dict:
    """Return {field: [None, value]} describing a created record."""
    return created({field: getattr(obj, field) for field in fields})


def created(values: Mapping) -> dict:
    """Return {field: [None, value]} describing a record created with `values` (None values left out)."""
    # plain() inlined for the values that need nothing: an import builds this for every row it writes
    return {
        field: [None, value if type(value) in _AS_THEY_ARE else plain(value)]
        for field, value in values.items()
        if value is not None
    }


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


# json.dumps's own C encoder, made once, without the check for circular references (changes hold plain
# values): json.dumps makes one each call, a third of the time it takes to encode an event
_ENCODER = c_make_encoder(
    None, JSONEncoder().default, encode_basestring_ascii, None, ": ", ", ", False, False, True
)


def encode(changes: dict) -> str:
    """Return json.dumps(changes), the same text, faster: an import encodes one event a row it writes."""
    return "".join(_ENCODER(changes, 0))


EVENT_COLUMNS = ("user_id", "entity", "entity_id", "customer_id", "action", "changes", "at")
# audit_events with the changes as the text `encode` gives: bulk_insert leaves a Text value as it is
# (it would run each value through json.dumps for the JSON column)
_EVENTS_AS_TEXT = Table(
    AuditEvent.__tablename__,
    MetaData(),
    *(
        Column(name, Text() if name == "changes" else AuditEvent.__table__.c[name].type)
        for name in EVENT_COLUMNS
    ),
)


def record_many(session: Session, *, user: User | None, events: Iterable[tuple]) -> None:
    """Append audit events in bulk: (entity, entity_id, customer_id, action, changes) each, as `record`
    would one by one (an update that changed nothing records nothing)."""
    user_id, at = (user.id if user else None), utcnow()
    rows = [
        (user_id, entity, entity_id, customer_id, action, encode(changes), at)
        for entity, entity_id, customer_id, action, changes in events
        if changes or action != "update"
    ]
    if rows:
        bulk_insert(session.connection(), _EVENTS_AS_TEXT, EVENT_COLUMNS, rows)


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
