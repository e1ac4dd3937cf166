"""Kinds checked and written a batch at a time, by the rules of the API's services.

After its rows are checked alone and their references resolved (kinds.base), a batch is planned: one
query loads what the rows' keys already name, and the services' rules are applied to the whole batch
through the functions the API's writes call too (customers.records.check, customers.service,
lanes.service), a query per rule. The plan is then written with bulk statements (COPY on PostgreSQL),
new rows getting the ids and defaults the ORM would give them, and the history in bulk (audit).

The database may still refuse a batch the rules let through: a concurrent writer took a key between the
check and the write, or a constraint no rule mirrors. The batch is then rolled back to its savepoint and
written row by row through the services (ServiceKind.write), which name the row refused, as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from logicrm import db
from logicrm.audit import service as audit
from logicrm.customers import records
from logicrm.errors import DomainError
from logicrm.imports.kinds.base import Batch, Context, CustomerRef, Row, ServiceKind, taken
from logicrm.relations.models import Department
from logicrm.scoring import revisions


@dataclass
class Plan:
    """What a batch writes, decided before anything is written."""

    rows: list[Row] = field(default_factory=list)  # every row the rules let through (the fallback's)
    creates: list[tuple[Row, dict]] = field(default_factory=list)  # row, values of the new record
    updates: list[tuple[Row, Mapping, dict]] = field(default_factory=list)  # row, stored, changed values
    unchanged: int = 0
    seen: dict = field(default_factory=dict)  # keys this batch claims -> line
    after: list = field(default_factory=list)  # work a kind does once the batch is written (Context.pending)


class BulkKind(ServiceKind):
    """A kind planned and written a batch at a time (module doc); `write` remains its row-by-row way."""

    def process(self, ctx: Context, batch: Batch) -> None:
        plan = self.plan(ctx, self.resolved_rows(ctx, batch))
        try:
            with ctx.session.begin_nested():
                self.apply(ctx, plan)
        except (IntegrityError, DataError, StaleDataError):
            ctx.session.expire_all()  # the bulk statements bypassed the objects it may hold
            self.write(ctx, plan.rows)
            return
        ctx.seen.update(plan.seen)
        ctx.pending += plan.after
        ctx.counts["created"] += len(plan.creates)
        ctx.counts["updated"] += len(plan.updates)
        ctx.counts["unchanged"] += plan.unchanged

    def plan(self, ctx: Context, rows: list[Row]) -> Plan:
        """Claim each row's key, refuse keys of records the user may not see, then decide (kind rules)."""
        stored = self.stored(ctx, rows)
        hidden = self.hidden(ctx, stored)
        plan, writes = Plan(), []
        for row in rows:
            key = self.key(row)
            line = ctx.seen.get(key) or plan.seen.get(key)
            if line is not None:
                row.error(self.key_column, f"also on line {line}")
                continue
            plan.seen[key] = row.line
            old = stored.get(key)
            if old is not None and key in hidden:
                row.error(self.key_column, taken(row.values[self.key_column]))
                continue
            writes.append((row, old))
        self.decide(ctx, plan, writes)
        return plan

    def stored(self, ctx: Context, rows: list[Row]) -> dict[Any, Mapping]:
        """The stored records the rows' keys name: key -> their columns."""
        table, connection = self.model.__table__, ctx.session.connection()
        keys = [row.values[self.key_column] for row in rows]
        if not keys:
            return {}
        found = connection.execute(select(table).where(db.among(connection, table.c.external_ref, keys)))
        return {record.external_ref: record for record in found.mappings()}

    def hidden(self, ctx: Context, stored: Mapping[Any, Mapping]) -> set:
        """The keys of stored records whose customer the user may not see."""
        owners = {key: record[self.owner_attribute] for key, record in stored.items()}
        hidden = ctx.hidden_customers(owners.values())
        return {key for key, owner in owners.items() if owner in hidden}

    def decide(self, ctx: Context, plan: Plan, writes: list[tuple[Row, Mapping | None]]) -> None:
        """Apply the services' rules to the batch and sort its rows into creates, updates and unchanged."""
        raise NotImplementedError

    def apply(self, ctx: Context, plan: Plan) -> None:
        """Write the plan in bulk, with its history."""
        raise NotImplementedError

    def refuse(self, ctx: Context, row: Row, error: DomainError) -> None:
        """Report a service rule's refusal on the row, as the row-by-row way reports it."""
        row.error(self._column_of(error), self._message(ctx, error))


def insert(ctx: Context, table: Table, records: list[dict]) -> list[dict]:
    """db.insert_records, the revisions the table feeds moved on."""
    rows = db.insert_records(ctx.session.connection(), table, records)
    if rows:
        revisions.wrote(ctx.session, [table.name])
    return rows


def update(
    ctx: Context,
    table: Table,
    changes: list[tuple[Mapping, dict]],
    *,
    key: str = "id",
    bump: dict | None = None,
) -> None:
    """Write (stored record, changed values) pairs in bulk, each record's version moving on by one."""
    if changes:
        rows = [{key: old[key], "version": old["version"], **values} for old, values in changes]
        db.bulk_update(ctx.session.connection(), table, rows, key=key, bump=bump)
        revisions.wrote(ctx.session, [table.name])


class RelatedKind(BulkKind):
    """Records of one customer (contacts, surveys, interactions, tickets) through customers.records."""

    record_kind: records.RecordKind
    plain = ()  # columns copied as they are

    def resolve(self, ctx: Context, rows: list[Row]) -> None:
        ctx.customers(row.values["customer_ref"] for row in rows if row.values.get("customer_ref"))
        departments = self._departments(ctx, rows)
        for row in rows:
            customer = self._customer(ctx, row, "customer_ref")
            if customer is None:
                continue
            row.record = {"customer_id": customer.id, **self._record(row, ("external_ref", *self.plain))}
            if "department" in row.values:
                name = row.values["department"]
                if name is None:
                    row.record["department_id"] = None
                elif (department_id := departments.get((customer.id, name))) is None:
                    row.error(
                        "department",
                        f"customer {row.values['customer_ref']!r} has no department {name!r}; import departments first",
                    )
                else:
                    row.record["department_id"] = department_id
            self.resolve_more(ctx, row, customer)

    def resolve_more(self, ctx: Context, row: Row, customer: CustomerRef) -> None:
        """Resolve the kind's other references."""

    def _departments(self, ctx: Context, rows: list[Row]) -> dict[tuple[int, str], int]:
        pairs = set()
        for row in rows:
            customer = ctx.customers([row.values["customer_ref"]]).get(row.values["customer_ref"])
            if customer is not None and row.values.get("department"):
                pairs.add((customer.id, row.values["department"]))
        if not pairs:
            return {}
        connection = ctx.session.connection()
        found = connection.execute(
            select(Department.customer_id, Department.name, Department.id).where(
                db.pairs_among(connection, (Department.customer_id, Department.name), pairs)
            )
        )
        return {(customer_id, name): department_id for customer_id, name, department_id in found}

    def decide(self, ctx: Context, plan: Plan, writes: list[tuple[Row, Mapping | None]]) -> None:
        checked = records.check(
            ctx.session,
            user=ctx.user,
            kind=self.record_kind,
            writes=[(row.record, old) for row, old in writes],
        )
        for (row, old), result in zip(writes, checked, strict=True):
            if isinstance(result, DomainError):
                self.refuse(ctx, row, result)
                continue
            plan.rows.append(row)
            if old is None:
                plan.creates.append((row, result))
            elif changed := self.changes(old, result):
                plan.updates.append((row, old, changed))
            else:
                plan.unchanged += 1

    def changes(self, old: Mapping, values: dict) -> dict:
        """The values that differ from the stored record's."""
        return {name: value for name, value in values.items() if old[name] != value}

    def apply(self, ctx: Context, plan: Plan) -> None:
        table, kind = self.model.__table__, self.record_kind
        new = insert(ctx, table, [values for _row, values in plan.creates])
        update(ctx, table, [(old, changed) for _row, old, changed in plan.updates])
        if kind.audited:
            self.record_history(ctx, plan, new)
        if kind.written is not None:
            self.follow_writes(ctx, plan, new)

    def record_history(self, ctx: Context, plan: Plan, new: list[dict]) -> None:
        """Record the creates and updates as records.create and records.update record them."""
        kind = self.record_kind
        audit.record_many(
            ctx.session,
            user=ctx.user,
            events=[
                *(
                    (
                        kind.entity,
                        stored["id"],
                        stored["customer_id"],
                        "create",
                        records.created(kind, SimpleNamespace(**stored), values),
                    )
                    for (_row, values), stored in zip(plan.creates, new, strict=True)
                ),
                *(
                    (
                        kind.entity,
                        old["id"],
                        changed.get("customer_id", old["customer_id"]),
                        "update",
                        audit.diff(old, changed),
                    )
                    for _row, old, changed in plan.updates
                ),
            ],
        )

    def follow_writes(self, ctx: Context, plan: Plan, new: list[dict]) -> None:
        """What follows each create and update, as records.create and records.update have it follow (the
        kind's `written`: an interaction's follow-up task, a ticket's timeline), on the rows as stored.

        The rows are read back as plain result rows through the table's column types: the values and
        attribute names an ORM object would give (enums, aware datetimes) without building, instrumenting
        and tracking an object per row, which cost as much as the rest of the hooks."""
        kind, table, connection = self.record_kind, self.model.__table__, ctx.session.connection()
        ids = [stored["id"] for stored in new] + [old["id"] for _row, old, _changed in plan.updates]
        written = {
            record.id: record
            for record in connection.execute(select(table).where(db.among(connection, table.c.id, ids)))
        }
        kind.written(
            ctx.session,
            ctx.user,
            [
                *(
                    (written[stored["id"]], {name: [None, value] for name, value in values.items()}, True)
                    for (_row, values), stored in zip(plan.creates, new, strict=True)
                ),
                *(
                    (written[old["id"]], audit.diff(old, changed), False)
                    for _row, old, changed in plan.updates
                ),
            ],
        )

    # row by row (the fallback)

    def create(self, ctx: Context, row: Row) -> None:
        records.create(ctx.session, user=ctx.user, kind=self.record_kind, data=row.record)

    def update(self, ctx: Context, obj, row: Row) -> bool:
        return self._apply(ctx, obj, row.record)

    def _apply(self, ctx: Context, obj, changes: dict) -> bool:
        """Update `obj` through the service; tell whether anything changed."""
        version = obj.version
        records.update(ctx.session, user=ctx.user, kind=self.record_kind, record=obj, changes=changes)
        return obj.version != version
