"""Links (lanes) and their shipments.

Links are planned and written a batch at a time by the lanes service's rules (kinds.bulk); shipments,
the one kind that comes in millions, are compared and written column by column (COPY on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from sqlalchemy import ARRAY, JSON, String, any_, bindparam, func, select, update

from logicrm import bounds
from logicrm.audit import service as audit
from logicrm.db import bulk_insert
from logicrm.imports.columns import Boolean, Choice, Column, Date, DateTime, Number, Text, money, ref
from logicrm.imports.kinds.base import (
    Batch,
    Context,
    CustomerRef,
    Kind,
    Row,
    taken,
    unknown_customer,
)
from logicrm.imports.kinds.bulk import BulkKind, Plan, insert
from logicrm.imports.kinds.bulk import update as update_in_bulk
from logicrm.lanes import service as lanes
from logicrm.lanes import shipments
from logicrm.lanes.models import Link, LinkStatus, ServiceType, Shipment
from logicrm.lanes.shipments import SHIPMENT_FIELDS
from logicrm.scoring import revisions

LINK_ENDS = {"shipper_ref": "shipper", "consignee_ref": "consignee"}


class Links(BulkKind):
    name = "links"
    model = Link
    entity = "link"
    columns = (
        Column("external_ref", ref(), required=True),
        Column("shipper_ref", ref(), required=True, doc="external_ref of a customer with the shipper role"),
        Column("consignee_ref", ref(), required=True, doc="external_ref of a customer with the consignee role"),
        Column("origin", Text(100), required=True),
        Column("destination", Text(100), required=True),
        Column("service_type", Choice(ServiceType), default=ServiceType.FTL),
        Column("declared_monthly_volume", Number(bounds.MONTHLY_VOLUME), doc="shipments a month expected before any exist"),
        Column("started_on", Date()),
        Column("ended_on", Date()),
        Column("status", Choice(LinkStatus), default=LinkStatus.ACTIVE),
    )  # fmt: skip
    fields = {"shipper_id": "shipper_ref", "consignee_id": "consignee_ref"}
    not_before = {"ended_on": "started_on"}

    def check(self, row: Row) -> None:
        if row.values.get("shipper_ref") == row.values.get("consignee_ref"):
            row.error("consignee_ref", "must differ from shipper_ref")

    def resolve(self, ctx: Context, rows: list[Row]) -> None:
        found = ctx.customers(row.values[end] for row in rows for end in LINK_ENDS)
        for row in rows:
            row.record = self._record(
                row, ("external_ref", "origin", "destination", "service_type", "declared_monthly_volume",
                      "started_on", "ended_on", "status"),
            )  # fmt: skip
            problems = self._ends(found, row)
            for end, problem in problems.items():
                row.error(end, problem)
            if not problems:
                for end, role in LINK_ENDS.items():
                    row.record[f"{role}_id"] = found[row.values[end]].id

    def _ends(self, found: dict[str, CustomerRef | None], row: Row) -> dict[str, str]:
        """What is wrong with the lane's ends, by column: both must be customers the user sees (a hidden
        one reads as missing) holding the role (writing needs the shipper's team: the service checks)."""
        problems = {}
        for end, role in LINK_ENDS.items():
            customer = found[row.values[end]]
            if customer is None or not customer.visible:
                problems[end] = unknown_customer(row.values[end])
            elif not getattr(customer, role):
                problems[end] = (
                    f"customer {row.values[end]!r} has no {role} role; import it with {role}=true first"
                )
        return problems

    def hidden(self, ctx: Context, stored: Mapping[Any, Mapping]) -> set:
        """The keys of stored lanes the user may not see (neither end visible)."""
        hidden = ctx.hidden_links(record["id"] for record in stored.values())
        return {key for key, record in stored.items() if record["id"] in hidden}

    def decide(self, ctx: Context, plan: Plan, writes: list[tuple[Row, Mapping | None]]) -> None:
        checked = lanes.check(ctx.session, user=ctx.user, writes=[(row.record, old) for row, old in writes])
        for (row, old), problem in zip(writes, checked, strict=True):
            if problem is not None:
                self.refuse(ctx, row, problem)
                continue
            plan.rows.append(row)
            if old is None:
                plan.creates.append((row, row.record))
            elif changed := {name: value for name, value in row.record.items() if old[name] != value}:
                plan.updates.append((row, old, changed))
            else:
                plan.unchanged += 1

    def apply(self, ctx: Context, plan: Plan) -> None:
        """Write the lanes in bulk and record each write in the history of its ends, old and new (as
        lanes.create and lanes.update record it)."""
        table = Link.__table__
        new = insert(ctx, table, [values for _row, values in plan.creates])
        update_in_bulk(ctx, table, [(old, changed) for _row, old, changed in plan.updates])
        events = []
        for link in new:
            changes = audit.created({name: link.get(name) for name in lanes.LINK_FIELDS})
            ends = {link["shipper_id"], link["consignee_id"]}
            events += [("link", link["id"], end, "create", changes) for end in sorted(ends)]
        for _row, old, changed in plan.updates:
            changes = audit.diff(old, changed)
            ends = {
                old["shipper_id"],
                old["consignee_id"],
                *(changed.get(f"{role}_id") for role in LINK_ENDS.values()),
            }
            events += [("link", old["id"], end, "update", changes) for end in sorted(ends - {None})]
        audit.record_many(ctx.session, user=ctx.user, events=events)

    # row by row (the fallback)

    def _hidden(self, ctx: Context, objs: Iterable) -> set:
        objs = list(objs)
        hidden = ctx.hidden_links(obj.id for obj in objs)
        return {obj for obj in objs if obj.id in hidden}

    def create(self, ctx: Context, row: Row) -> None:
        lanes.create(ctx.session, user=ctx.user, data=row.record)

    def update(self, ctx: Context, obj: Link, row: Row) -> bool:
        version = obj.version
        lanes.update(ctx.session, user=ctx.user, link=obj, changes=row.record)
        return obj.version != version


class Shipments(Kind):
    """Shipments come by the million: checked and written a batch at a time, column by column."""

    name = "shipments"
    model = Shipment
    entity = "shipment"
    columns = (
        Column("external_ref", ref(), required=True, doc="your TMS's shipment number"),
        Column("link_ref", ref(), required=True, doc="external_ref of the link (lane) it ran on"),
        Column("shipped_at", DateTime(), required=True),
        Column("promised_at", DateTime(), doc="promised delivery"),
        Column("delivered_at", DateTime(), doc="empty while in transit"),
        Column("in_full", Boolean(), default=True),
        Column("damaged", Boolean(), default=False),
        Column("claim_amount", money(), default=0.0),
        Column("revenue", money(), default=0.0),
        Column("cost", money(), default=0.0),
    )
    not_before = {"delivered_at": "shipped_at", "promised_at": "shipped_at"}
    defaults = {column.name: column.default for column in columns}

    def start(self, ctx: Context) -> None:
        watermark = ctx.session.scalar(select(func.max(Shipment.id))) or 0
        ctx.state["watermark"] = watermark
        # one flag per stored id (a million shipments: 1 MB), set when a row of the file matched it
        ctx.state["matched"] = np.zeros(watermark + 1, dtype=bool)

    def process(self, ctx: Context, batch: Batch) -> None:
        """Column by column: a batch of new shipments becomes one bulk insert with no per-row work."""
        self.check_order(batch)
        link_ids = self._link_ids(ctx, batch)
        positions = batch.valid()
        refs = batch.columns["external_ref"]
        keys = _pick(refs, positions)
        existing = self._existing(ctx, keys)
        if existing or len(set(keys)) < len(keys):
            positions = self._compare(ctx, batch, positions, link_ids, existing)
        if positions:
            values = [
                _pick(batch.columns[name], positions)
                if name in batch.columns
                else [self.defaults[name]] * len(positions)
                for name in SHIPMENT_FIELDS[2:]
            ]
            bulk_insert(
                ctx.session.connection(),
                Shipment.__table__,
                SHIPMENT_FIELDS,
                zip(_pick(refs, positions), _pick(link_ids, positions), *values, strict=True),
            )
            ctx.counts["created"] += len(positions)
            ctx.state["written"] = True

    def _link_ids(self, ctx: Context, batch: Batch) -> list[int | None]:
        """The id of each valid row's link; rows naming a link that is unknown or hidden get an error."""
        refs, positions = batch.columns["link_ref"], batch.valid()
        wanted = set(_pick(refs, positions))
        links = ctx.links(wanted)
        usable = {ref: links[ref].id for ref in wanted if links[ref] is not None and links[ref].writable}
        link_ids = list(map(usable.get, refs))
        if None in link_ids:
            for position in positions:
                if link_ids[position] is None:
                    link = links[refs[position]]
                    batch.error(
                        position,
                        "link_ref",
                        lanes.WRITTEN_BY_SHIPPER.format(link=repr(refs[position]))
                        if link is not None and link.visible
                        else f"no link with external_ref {refs[position]!r}",
                    )
        return link_ids

    def _existing(self, ctx: Context, keys: list[str]) -> dict[str, Any]:
        """The stored shipments among `keys`: external_ref -> row of SHIPMENT_FIELDS with its id."""
        table, connection = Shipment.__table__, ctx.session.connection()
        # The keys go as one parameter (an array; a JSON list on SQLite): rendering and parsing an IN
        # list of thousands of placeholders costs more than running the query.
        if connection.dialect.name == "postgresql":
            match = table.c.external_ref == any_(bindparam("keys", type_=ARRAY(String)))
        else:
            keys_table = func.json_each(bindparam("keys", type_=JSON)).table_valued("value")
            match = table.c.external_ref.in_(select(keys_table.c.value))
        statement = select(table.c.id, *(table.c[c] for c in SHIPMENT_FIELDS)).where(match)
        return {found.external_ref: found for found in connection.execute(statement, {"keys": list(keys)})}

    def _compare(self, ctx: Context, batch: Batch, positions, link_ids: list, existing: dict) -> list[int]:
        """Update the changed stored shipments, count the unchanged ones and report repeated keys;
        return the positions of the new rows.

        A key repeated in the file is found without remembering every key: a stored row that an
        earlier row of the file matched is either newer than the import (its id is above the highest
        id before it) or flagged in `matched`.
        """
        watermark, matched = ctx.state["watermark"], ctx.state["matched"]
        hidden = ctx.unwritable_links(old.link_id for old in existing.values())
        columns = {name: batch.columns[name] for name in SHIPMENT_FIELDS[2:] if name in batch.columns}
        refs = batch.columns["external_ref"]
        new, updates, audits, lines = [], [], [], {}
        for position in positions:
            key = refs[position]
            old = existing.get(key)
            if key in lines or (old is not None and (old.id > watermark or matched[old.id])):
                reason = f"also on line {lines[key]}" if key in lines else "also earlier in this file"
                batch.error(position, "external_ref", reason)
                continue
            lines[key] = batch.lines[position]
            if old is None:
                new.append(position)
                continue
            matched[old.id] = True
            if old.link_id in hidden:
                batch.error(position, "external_ref", taken(key))
                continue
            record = {
                "link_id": link_ids[position],
                **{name: values[position] for name, values in columns.items()},
            }
            diff = audit.diff(old._mapping, record)
            if not diff:
                ctx.counts["unchanged"] += 1
                continue
            updates.append({"_id": old.id, **record})
            audits.append((old.id, {old.link_id, record["link_id"]}, diff))
        self._update(ctx, updates, audits)
        return new

    def _update(self, ctx: Context, updates: list[dict], audits: list[tuple]) -> None:
        table = Shipment.__table__
        for names, group in _group_by_keys(updates).items():
            ctx.session.connection().execute(
                update(table)
                .where(table.c.id == bindparam("_id"))
                .values({**{name: bindparam(name) for name in names}, "version": table.c.version + 1}),
                group,
            )
            ctx.counts["updated"] += len(group)
            ctx.state["written"] = True
        shipments.record_changes(ctx.session, user=ctx.user, action="update", changes=audits)

    def finish(self, ctx: Context) -> list[Row]:
        if ctx.state.get("written"):
            # Bulk statements bypass the flush that normally advances the revisions.
            revisions.bump(ctx.session, revisions.NETWORK, revisions.SCORES)
        return []


def _pick(values: list, positions) -> list:
    """The values at `positions` (all of them when positions is the whole range)."""
    return values if isinstance(positions, range) else [values[p] for p in positions]


def _group_by_keys(updates: list[dict]) -> dict[tuple, list[dict]]:
    groups: dict[tuple, list[dict]] = {}
    for params in updates:
        groups.setdefault(tuple(name for name in params if name != "_id"), []).append(params)
    return groups
