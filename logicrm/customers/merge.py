"""Merge two customers: everything that refers to the source moves to the target, and the source is
soft-deleted with `merged_into_id` set.

The records to move are found through the schema, not listed here: every foreign key to customers.id
moves, so a new kind of record merges without touching this module (and the customer core imports no
domain built on it). A table or column says otherwise in its SQLAlchemy `info`:
- table `info={"merge": "keep"}`: rows stay with the merged-away customer (its health history, alerts);
- a unique constraint on (customer_id, …) folds a source row into the target's twin (a department both
  have): rows that refer to it are repointed to the twin, then it is deleted; a column with
  `info={"merge": "max"}` keeps the larger of the two values (decision weight, decision-maker flag).
Role profiles merge field by field (the target's filled fields win) and the teams unite. The source's
name stays findable as an alias of the target (its aliases move like any record).
"""

from __future__ import annotations

from sqlalchemy import Table, UniqueConstraint, delete, or_, select, update
from sqlalchemy.orm import Session

from logicrm.audit import service as audit
from logicrm.audit.models import AuditEvent
from logicrm.customers import aliases, profiles
from logicrm.customers.matching import reindex_names
from logicrm.customers.models import Customer, customer_team
from logicrm.db import Base, utcnow
from logicrm.errors import Conflict, field_error
from logicrm.users.models import User

# moved apart from the generic rule: history follows the surviving customer, and a customer's own
# row, profiles and team are merged field by field
HISTORY = AuditEvent.__table__
SPECIAL = {Customer.__tablename__, customer_team.name}


def merge(session: Session, *, user: User, target: Customer, source: Customer) -> dict:
    """Fold `source` into `target`: move every related record, keep history, soft-delete the source."""
    if source.id == target.id:
        raise field_error("source_id", "cannot merge a customer into itself")
    referring = _referring_columns()
    _refuse_rows_between(session, referring, target, source)
    moved: dict[str, int] = {}
    for table, columns in referring.items():
        for column in columns:
            moved[table.name] = moved.get(table.name, 0) + _move(session, table, column, source, target)
    session.execute(
        update(Customer).where(Customer.referred_by_id == source.id).values(referred_by_id=target.id)
    )
    session.execute(update(HISTORY).where(HISTORY.c.customer_id == source.id).values(customer_id=target.id))
    _merge_profiles(session, target, source)
    target.team = list({u.id: u for u in [*target.team, *source.team]}.values())
    if target.registration_number is None and source.registration_number:
        registration_number, source.registration_number = source.registration_number, None
        session.flush()
        target.registration_number = registration_number
    source.deleted_at = utcnow()
    source.merged_into_id = target.id
    session.flush()
    aliases.add_merged_name(session, customer=target, name=source.name)
    reindex_names(session, customer_ids=[target.id])
    audit.record(
        session,
        user=user,
        entity="customer",
        entity_id=target.id,
        customer_id=target.id,
        action="merge",
        changes={
            "merged_customer_id": [None, source.id],
            "merged_customer_name": [None, source.name],
            "moved": [None, moved],
        },
    )
    session.expire_all()
    return moved


def _referring_columns() -> dict[Table, list]:
    """Map every table whose rows belong to a customer to its columns naming the customer."""
    referring: dict[Table, list] = {}
    for table in Base.metadata.sorted_tables:
        if table.name in SPECIAL or table.info.get("merge") == "keep" or _is_profile(table):
            continue
        for key in table.foreign_keys:
            if key.column.table.name == Customer.__tablename__:
                referring.setdefault(table, []).append(key.parent)
    return referring


def _is_profile(table: Table) -> bool:
    return any(profiles.model(role).__table__ is table for role in profiles.ROLES)


def _refuse_rows_between(session: Session, referring: dict, target: Customer, source: Customer) -> None:
    """A row naming both customers (a lane between them) would name one customer twice after the merge."""
    for table, columns in referring.items():
        if len(columns) < 2:
            continue
        first, second = columns[:2]
        between = session.scalars(
            select(table.c.id).where(
                or_(
                    (first == source.id) & (second == target.id),
                    (first == target.id) & (second == source.id),
                )
            )
        ).all()
        if between:
            raise Conflict(
                f"customers {target.id} and {source.id} are linked to each other "
                f"({table.name} {list(between)}); end or delete those {table.name} before merging",
                link_ids=list(between),
            )


def _move(session: Session, table: Table, column, source: Customer, target: Customer) -> int:
    """Move the source's rows to the target; fold those whose unique key the target already holds."""
    key = next(
        (
            [c for c in unique.columns if c is not column]
            for unique in table.constraints
            if isinstance(unique, UniqueConstraint)
            and unique.columns.contains_column(column)
            and len(unique.columns) > 1
        ),
        None,
    )
    if key:
        _fold(session, table, column, key, source, target)
    result = session.execute(
        update(table).where(column == source.id).values(_moved(table, column, target.id))
    )
    return result.rowcount


def _fold(session: Session, table: Table, column, key: list, source: Customer, target: Customer) -> None:
    """Fold each source row whose key the target already has into the target's row."""
    theirs = {
        tuple(row[1:]): row[0] for row in session.execute(select(table.c.id, *key).where(column == target.id))
    }
    twins = [
        (row.id, theirs[tuple(row[1:])])
        for row in session.execute(select(table.c.id, *key).where(column == source.id))
        if tuple(row[1:]) in theirs
    ]
    kept = [c for c in table.columns if c.info.get("merge") == "max"]
    for row_id, twin_id in twins:
        for referrer in Base.metadata.sorted_tables:
            for foreign in referrer.foreign_keys:
                if foreign.column is table.c.id:
                    session.execute(
                        update(referrer)
                        .where(foreign.parent == row_id)
                        .values(_moved(referrer, foreign.parent, twin_id))
                    )
        if kept:
            both = {
                row.id: row
                for row in session.execute(select(table.c.id, *kept).where(table.c.id.in_([row_id, twin_id])))
            }
            session.execute(
                update(table)
                .where(table.c.id == twin_id)
                .values(
                    {c.key: max(getattr(both[row_id], c.key), getattr(both[twin_id], c.key)) for c in kept}
                )
            )
        session.execute(delete(table).where(table.c.id == row_id))


def _moved(table: Table, column, value: int) -> dict:
    """Values for a bulk UPDATE that moves rows: the version goes up as an ORM write's would, so an
    ETag read before the merge no longer matches."""
    values = {column.key: value}
    if "version" in table.c:
        values["version"] = table.c.version + 1
    return values


def _merge_profiles(session: Session, target: Customer, source: Customer) -> None:
    for role in profiles.ROLES:
        theirs = getattr(source, f"{role}_profile")
        if theirs is None:
            continue
        values = {field: getattr(theirs, field) for field in profiles.fields(role)}
        session.delete(theirs)
        session.flush()
        ours = getattr(target, f"{role}_profile")
        if ours is None:
            session.add(profiles.model(role)(customer_id=target.id, **values))
        else:
            for field, value in values.items():
                if getattr(ours, field) in (None, []):
                    setattr(ours, field, value)
    session.flush()
    session.refresh(target)
    session.refresh(source)
