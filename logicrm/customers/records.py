"""Records that belong to one customer (departments, contacts, surveys, interactions, tickets, opportunities):
one service for what they share.

Each kind is described by a `RecordKind` in its own domain's service; visibility follows the owning
customer, every foreign id in a payload must exist and belong to the same customer, and audited kinds
record who changed what. A kind adds its own rules through `prepare` (the payload as it will be written),
`build` (a new row from it), `describe` (what a create records in the history) and `written` (what
follows a create or update, such as the task an interaction's follow-up date asks for).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, Table, func, select
from sqlalchemy.orm import Session

from logicrm.audit import service as audit
from logicrm.customers import service as customers
from logicrm.db import Base
from logicrm.errors import Conflict, NotFound, field_error
from logicrm.users.models import User

# every kind, by model: a record that others refer to stays with its customer
KINDS: dict[type, RecordKind] = {}


@dataclass(frozen=True)
class RecordKind:
    model: type
    entity: str
    audited: bool = False
    # payload field -> model (or table name, for a domain this one may not import) of a row that must
    # belong to the same customer
    same_customer: dict[str, type | str] = field(default_factory=dict)
    # field unique within one customer (the database enforces it; this names the field in the 409)
    unique_per_customer: str | None = None
    # later field -> earlier field it may not precede (checked on the merged record, so PATCH too)
    not_before: dict[str, str] = field(default_factory=dict)
    # what a delete would take with it through the database's cascade: (model, its column naming this
    # record, a sentence on what to do about them); the delete is refused while any exist, so no
    # history disappears without a trace
    kept_by: tuple[tuple[type, str, str], ...] = ()
    # (session, user, payload, stored record or None) -> payload to write: the kind's own rules
    prepare: Callable[[Session, User, dict, Any], dict] | None = None
    # payload -> new row (default: the model built from the payload)
    build: Callable[[dict], Any] | None = None
    # (new row, payload) -> the changes a create records in the history
    describe: Callable[[Any, dict], dict] | None = None
    # (session, user, row, {field: [old, new]} of what changed (every field on a create), created=bool)
    # -> None: what follows a write, in the same transaction
    written: Callable[..., None] | None = None

    def __post_init__(self):
        KINDS[self.model] = self


def list_statement(*, user: User, kind: RecordKind, customer_id: int | None = None) -> Select:
    """Select the records of visible, live customers, optionally of one customer."""
    model = kind.model
    statement = select(model).where(model.customer_id.in_(customers.visible_ids(user=user)))
    if customer_id is not None:
        statement = statement.where(model.customer_id == customer_id)
    return statement.order_by(model.id)


def get(session: Session, *, user: User, kind: RecordKind, record_id: int):
    """Return one record the user may see, or raise NotFound."""
    record = session.get(kind.model, record_id)
    if record is None or not customers.is_visible(session, user=user, customer_id=record.customer_id):
        raise NotFound(f"{kind.entity} {record_id} not found")
    return record


def create(session: Session, *, user: User, kind: RecordKind, data: dict):
    """Validate references and create a record for a visible customer."""
    customer_id = _customer_for_write(session, user, data["customer_id"])
    if kind.prepare is not None:
        data = kind.prepare(session, user, data, None)
    _check_references(session, kind, data, customer_id)
    record = kind.build(data) if kind.build is not None else kind.model(**data)
    _check_rules(session, kind, record, customer_id)
    session.add(record)
    session.flush()
    if kind.audited:
        changes = (
            kind.describe(record, data) if kind.describe is not None else audit.snapshot(record, list(data))
        )
        _record(session, user, kind, record, "create", changes)
    if kind.written is not None:
        kind.written(
            session, user, record, {name: [None, value] for name, value in data.items()}, created=True
        )
    return record


def update(session: Session, *, user: User, kind: RecordKind, record, changes: dict):
    """Apply a partial update; a record may move only to another visible customer, and only when no
    record of its customer refers to it."""
    if kind.prepare is not None:
        changes = kind.prepare(session, user, changes, record)
    customer_id = changes.get("customer_id", record.customer_id)
    if customer_id != record.customer_id:
        _customer_for_write(session, user, customer_id)
        _refuse_move_while_referred_to(session, kind, record)
    merged = {name: changes.get(name, getattr(record, name, None)) for name in kind.same_customer}
    _check_references(session, kind, merged, customer_id)
    with session.no_autoflush:
        diff = audit.apply_changes(record, changes)
        _check_rules(session, kind, record, customer_id)
    session.flush()
    if kind.audited:
        _record(session, user, kind, record, "update", diff)
    if kind.written is not None and diff:
        kind.written(session, user, record, diff, created=False)
    return record


def delete(session: Session, *, user: User, kind: RecordKind, record) -> None:
    """Delete a record (the audit trail keeps what it was); refused while records it would take exist."""
    for model, column, advice in kind.kept_by:
        count = count_referring(session, model=model, column=column, record_id=record.id)
        if count:
            raise Conflict(f"{kind.entity} {record.id}: {count} {advice}")
    if kind.audited:
        _record(session, user, kind, record, "delete", {})
    session.delete(record)
    session.flush()


def count_referring(session: Session, *, model: type, column: str, record_id: int) -> int:
    """How many `model` rows name the record in `column`."""
    return session.scalar(select(func.count()).select_from(model).where(getattr(model, column) == record_id))


def _record(session: Session, user: User, kind: RecordKind, record, action: str, changes: dict) -> None:
    audit.record(
        session,
        user=user,
        entity=kind.entity,
        entity_id=record.id,
        customer_id=record.customer_id,
        action=action,
        changes=changes,
    )


def _customer_for_write(session: Session, user: User, customer_id: int) -> int:
    if not customers.is_visible(session, user=user, customer_id=customer_id):
        raise field_error("customer_id", f"unknown customer {customer_id}")
    return customer_id


def _check_rules(session: Session, kind: RecordKind, record, customer_id: int) -> None:
    """Check the rules that span fields or rows on the record as it would be written."""
    for later, earlier in kind.not_before.items():
        late, early = getattr(record, later, None), getattr(record, earlier, None)
        if late is not None and early is not None and late < early:
            raise field_error(later, f"must not be before {earlier} ({early.isoformat()})")
    name = kind.unique_per_customer
    if name is not None:
        column = getattr(kind.model, name)
        taken = session.scalar(
            select(kind.model.id).where(
                kind.model.customer_id == customer_id,
                column == getattr(record, name),
                kind.model.id != (record.id or 0),
            )
        )
        if taken is not None:
            raise Conflict(
                f"{kind.entity} {taken} of customer {customer_id} already has this {name}",
                errors={"json": {name: ["already used by another record of this customer"]}},
                existing_id=taken,
            )


def _table(target: type | str) -> Table:
    return target.__table__ if isinstance(target, type) else Base.metadata.tables[target]


def _check_references(session: Session, kind: RecordKind, data: dict, customer_id: int) -> None:
    for name, target in kind.same_customer.items():
        ref = data.get(name)
        if ref is None:
            continue
        # One answer whether the row is missing or another (perhaps hidden) customer's.
        table = _table(target)
        owner = session.scalar(select(table.c.customer_id).where(table.c.id == ref))
        if owner != customer_id:
            raise field_error(name, f"no {table.name[:-1]} {ref} at customer {customer_id}")


def _refuse_move_while_referred_to(session: Session, kind: RecordKind, record) -> None:
    """A record that others of its customer refer to (a department, a contact) stays with them."""
    referrers = [
        (other.model, name)
        for other in KINDS.values()
        for name, target in other.same_customer.items()
        if _table(target) is kind.model.__table__
    ]
    counts = {
        model.__tablename__.replace("_", " "): count_referring(
            session, model=model, column=name, record_id=record.id
        )
        for model, name in referrers
    }
    if any(counts.values()):
        held = ", ".join(f"{count} {what}" for what, count in counts.items() if count)
        raise field_error(
            "customer_id", f"{kind.entity} {record.id} cannot move to another customer: {held} refer to it"
        )
