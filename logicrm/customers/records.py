"""Records that belong to one customer (departments, contacts, surveys, interactions, tickets, opportunities):
one service for what they share.

Each kind is described by a `RecordKind` in its own domain's service; visibility follows the owning
customer, every foreign id in a payload must exist and belong to the same customer, and audited kinds
record who changed what. A kind adds its own rules through `prepare` (the payload as it will be written),
`build` (a new row from it), `describe` (what a create records in the history) and `written` (what
follows a create or update, such as the task an interaction's follow-up date asks for).

Every rule is checked for a batch of writes at once (`check`, a query per rule and batch): `create` and
`update` check a batch of one, the CSV import thousands.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, Table, func, select
from sqlalchemy.orm import Session

from logicrm import db
from logicrm.audit import service as audit
from logicrm.customers import service as customers
from logicrm.db import Base
from logicrm.errors import Conflict, DomainError, NotFound, field_error
from logicrm.users.models import User

# every kind, by model: a record that others refer to stays with its customer
KINDS: dict[type, RecordKind] = {}

# One write to check: its payload, and the stored record's fields (None: a new record).
Write = tuple[dict, Mapping | None]
# What `check` answers for each write: the payload to write, or the error refusing it.
Checked = dict | DomainError


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
    # (session, user, writes) -> the payload to write or the error refusing it, for each write: the
    # kind's own rules, for a batch at once
    prepare: Callable[[Session, User, list[Write]], list[Checked]] | None = None
    # payload -> new row (default: the model built from the payload)
    build: Callable[[dict], Any] | None = None
    # (new row, payload) -> the changes a create records in the history
    describe: Callable[[Any, dict], dict] | None = None
    # (session, user, [(row, {field: [old, new]} of what changed (every field on a create), created)])
    # -> None: what follows writes (one, or a batch in order), in the same transaction
    written: Callable[..., None] | None = None

    def __post_init__(self):
        KINDS[self.model] = self


def each(rule: Callable[[Session, User, dict, Mapping | None], dict]) -> Callable[..., list[Checked]]:
    """A `prepare` from a rule written for one write (payload, stored fields or None -> the payload to write,
    or raise a DomainError): the rule applied to each write of the batch in turn."""

    def prepare(session: Session, user: User, writes: list[Write]) -> list[Checked]:
        results: list[Checked] = []
        for data, stored in writes:
            try:
                results.append(rule(session, user, data, stored))
            except DomainError as error:
                results.append(error)
        return results

    return prepare


def list_statement(
    *, user: User, kind: RecordKind, customer_id: int | None = None, newest_by: str | None = None
) -> Select:
    """Select the records of visible, live customers, optionally of one customer; oldest first, or newest
    first by the time column `newest_by`."""
    model = kind.model
    statement = select(model).where(model.customer_id.in_(customers.visible_ids(user=user)))
    if customer_id is not None:
        statement = statement.where(model.customer_id == customer_id)
    if newest_by is not None:
        return statement.order_by(getattr(model, newest_by).desc(), model.id.desc())
    return statement.order_by(model.id)


def get(session: Session, *, user: User, kind: RecordKind, record_id: int):
    """Return one record the user may see, or raise NotFound."""
    record = session.get(kind.model, record_id)
    if record is None or not customers.is_visible(session, user=user, customer_id=record.customer_id):
        raise NotFound(f"{kind.entity} {record_id} not found")
    return record


def create(session: Session, *, user: User, kind: RecordKind, data: dict):
    """Validate references and create a record for a visible customer."""
    data = _checked(session, user, kind, (data, None))
    record = kind.build(data) if kind.build is not None else kind.model(**data)
    session.add(record)
    session.flush()
    if kind.audited:
        _record(session, user, kind, record, "create", created(kind, record, data))
    if kind.written is not None:
        kind.written(session, user, [(record, {name: [None, value] for name, value in data.items()}, True)])
    return record


def created(kind: RecordKind, record, data: dict) -> dict:
    """What creating `record` from `data` records in the history (`record`: the row as stored, or an
    object with its values as attributes)."""
    if kind.describe is not None:
        return kind.describe(record, data)
    return audit.snapshot(record, list(data))


def update(session: Session, *, user: User, kind: RecordKind, record, changes: dict):
    """Apply a partial update; a record may move only to another visible customer, and only when no
    record of its customer refers to it."""
    stored = {column.key: getattr(record, column.key) for column in kind.model.__table__.columns}
    changes = _checked(session, user, kind, (changes, stored))
    with session.no_autoflush:
        diff = audit.apply_changes(record, changes)
    session.flush()
    if kind.audited:
        _record(session, user, kind, record, "update", diff)
    if kind.written is not None and diff:
        kind.written(session, user, [(record, diff, False)])
    return record


def _checked(session: Session, user: User, kind: RecordKind, write: Write) -> dict:
    [result] = check(session, user=user, kind=kind, writes=[write])
    if isinstance(result, DomainError):
        raise result
    return result


def check(session: Session, *, user: User, kind: RecordKind, writes: Sequence[Write]) -> list[Checked]:
    """Apply every rule of a create (stored None) or an update to each write of a batch; return the payload
    to write, or the first error refusing it, for each.

    A create's customer must be one the user sees; the kind's own rules (`prepare`) come next; an update
    may move a record only to a customer the user sees, and only when no other record refers to it; then
    the references (on the record as it would be written) and the rules across fields and rows. Checked
    against what is stored: two writes of one batch are not compared with each other.
    """
    results: list[Checked] = [data for data, _stored in writes]
    stored = [stored for _data, stored in writes]
    _refuse_hidden_customers(session, user, results, [i for i, old in enumerate(stored) if old is None])
    if kind.prepare is not None:
        live = _live(results)
        prepared = kind.prepare(session, user, [(results[i], stored[i]) for i in live])
        for i, result in zip(live, prepared, strict=True):
            results[i] = result
    moving = [
        i
        for i in _live(results)
        if stored[i] is not None
        and results[i].get("customer_id", stored[i]["customer_id"]) != stored[i]["customer_id"]
    ]
    _refuse_hidden_customers(session, user, results, moving)
    _refuse_moves_while_referred_to(session, kind, stored, results, moving)
    merged = {i: {**(stored[i] or {}), **results[i]} for i in _live(results)}
    _check_references(session, kind, merged, results)
    _check_rules(session, kind, merged, stored, results)
    return results


def _live(results: list[Checked], among=None) -> list[int]:
    """The positions (among `among`, or all) whose write no rule has refused yet."""
    positions = range(len(results)) if among is None else among
    return [i for i in positions if not isinstance(results[i], DomainError)]


def _refuse_hidden_customers(session: Session, user: User, results: list[Checked], positions) -> None:
    """A record is written only for a customer the user sees (a hidden one reads as unknown)."""
    positions = _live(results, positions)
    seen = customers.existing(session, user=user, ids={results[i]["customer_id"] for i in positions})
    for i in positions:
        customer_id = results[i]["customer_id"]
        if customer_id not in seen:
            results[i] = field_error("customer_id", f"unknown customer {customer_id}")


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


def _check_rules(session: Session, kind: RecordKind, merged: dict[int, dict], stored, results) -> None:
    """Check the rules that span fields or rows on each record as it would be written."""
    for i in _live(results, merged):
        record = merged[i]
        for later, earlier in kind.not_before.items():
            late, early = record.get(later), record.get(earlier)
            if late is not None and early is not None and late < early:
                results[i] = field_error(later, f"must not be before {earlier} ({early.isoformat()})")
                break
    name = kind.unique_per_customer
    if name is None:
        return
    model, column = kind.model, getattr(kind.model, name)
    live = _live(results, merged)
    wanted = {(merged[i]["customer_id"], merged[i].get(name)) for i in live}
    holders = {}
    if wanted:
        connection = session.connection()
        for record_id, customer_id, value in connection.execute(
            select(model.id, model.customer_id, column).where(
                db.pairs_among(connection, (model.customer_id, column), wanted)
            )
        ):
            holders[(customer_id, value)] = record_id
    for i in live:
        record = merged[i]
        taken = holders.get((record["customer_id"], record.get(name)))
        if taken is not None and taken != (stored[i] or {}).get("id"):
            results[i] = Conflict(
                f"{kind.entity} {taken} of customer {record['customer_id']} already has this {name}",
                errors={"json": {name: ["already used by another record of this customer"]}},
                existing_id=taken,
            )


def _table(target: type | str) -> Table:
    return target.__table__ if isinstance(target, type) else Base.metadata.tables[target]


def _check_references(session: Session, kind: RecordKind, merged: dict[int, dict], results) -> None:
    """Each foreign id must name a row of the same customer (one answer whether it is missing or another,
    perhaps hidden, customer's)."""
    for name, target in kind.same_customer.items():
        table = _table(target)
        wanted = {record[name] for record in merged.values() if record.get(name) is not None}
        owners = {}
        for chunk in _chunks(wanted):
            owners.update(
                session.execute(select(table.c.id, table.c.customer_id).where(table.c.id.in_(chunk))).all()
            )
        for i in _live(results, merged):
            ref, customer_id = merged[i].get(name), merged[i]["customer_id"]
            if ref is not None and owners.get(ref) != customer_id:
                results[i] = field_error(name, f"no {table.name[:-1]} {ref} at customer {customer_id}")


def _refuse_moves_while_referred_to(session: Session, kind: RecordKind, stored, results, moving) -> None:
    """A record that others of its customer refer to (a department, a contact) stays with them."""
    ids = {stored[i]["id"]: i for i in _live(results, moving)}
    if not ids:
        return
    held: dict[int, list[str]] = {}
    for other in KINDS.values():
        for name, target in other.same_customer.items():
            if _table(target) is not kind.model.__table__:
                continue
            column = getattr(other.model, name)
            for record_id, count in session.execute(
                select(column, func.count()).where(column.in_(ids)).group_by(column)
            ):
                held.setdefault(record_id, []).append(
                    f"{count} {other.model.__tablename__.replace('_', ' ')}"
                )
    for record_id, what in held.items():
        results[ids[record_id]] = field_error(
            "customer_id",
            f"{kind.entity} {record_id} cannot move to another customer: {', '.join(what)} refer to it",
        )


def _chunks(items, size: int = 500):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]
