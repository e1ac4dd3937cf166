"""Shipments on lanes: read through either end, written by the lane's shipper team, bulk import by
external_ref, and every correction in both ends' history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import Select, and_, case, func, insert, or_, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session, aliased

from logicrm.audit import service as audit
from logicrm.db import new_external_ref
from logicrm.errors import Invalid, NotFound, field_error
from logicrm.lanes import service as lanes
from logicrm.lanes.models import Link, Shipment
from logicrm.users.models import User

SHIPMENT_FIELDS = ("external_ref", "link_id", "shipped_at", "promised_at", "delivered_at", "in_full", "damaged",
                   "claim_amount", "revenue", "cost")  # fmt: skip


def list_statement(
    *, user: User, link_id=None, customer_id=None, shipped_from=None, shipped_to=None
) -> Select:
    """Select shipments on visible links with filters."""
    link = aliased(Link)
    statement = (
        select(Shipment)
        .join(link, Shipment.link_id == link.id)
        .where(link.id.in_(select(Link.id).where(lanes.visible_links(user=user))))
    )
    if link_id is not None:
        statement = statement.where(Shipment.link_id == link_id)
    if customer_id is not None:
        statement = statement.where(or_(link.shipper_id == customer_id, link.consignee_id == customer_id))
    if shipped_from is not None:
        statement = statement.where(Shipment.shipped_at >= shipped_from)
    if shipped_to is not None:
        statement = statement.where(Shipment.shipped_at < shipped_to)
    return statement.order_by(Shipment.shipped_at, Shipment.id)


def get(session: Session, *, user: User, shipment_id: int) -> Shipment:
    """Return a shipment on a visible link or raise NotFound."""
    shipment = session.get(Shipment, shipment_id)
    if (
        shipment is None
        or session.scalar(select(Link.id).where(Link.id == shipment.link_id, lanes.visible_links(user=user)))
        is None
    ):
        raise NotFound(f"shipment {shipment_id} not found")
    return shipment


def create_many(session: Session, *, user: User, rows: list[dict], max_rows: int) -> dict:
    """Insert or update (by external_ref) a batch of shipments: every row valid, or nothing written."""
    if len(rows) > max_rows:
        raise field_error("shipments", f"at most {max_rows} rows per request, got {len(rows)}")
    link_ids = {row["link_id"] for row in rows}
    writable = dict(
        session.execute(
            select(Link.id, lanes.writable_links(user=user)).where(
                Link.id.in_(link_ids), lanes.visible_links(user=user)
            )
        ).all()
    )  # visible lane -> whether the caller may write it
    refs = [row["external_ref"] for row in rows if row.get("external_ref")]
    existing, foreign = {}, set()  # ref -> stored row (id, version and SHIPMENT_FIELDS)
    if refs:
        # A known ref on a lane the caller may not write is somebody else's shipment: never overwrite it.
        on_writable_link = Shipment.link_id.in_(select(Link.id).where(lanes.writable_links(user=user)))
        columns = [Shipment.id, Shipment.version, *(getattr(Shipment, name) for name in SHIPMENT_FIELDS)]
        for found in session.execute(
            select(*columns, on_writable_link.label("writable")).where(Shipment.external_ref.in_(refs))
        ):
            existing[found.external_ref] = found._mapping
            if not found.writable:
                foreign.add(found.external_ref)
    errors: dict[int, dict] = {}
    seen_refs: dict[str, int] = {}
    for index, row in enumerate(rows):
        if row["link_id"] not in writable:
            errors.setdefault(index, {})["link_id"] = [f"unknown link {row['link_id']}"]
        elif not writable[row["link_id"]]:
            errors.setdefault(index, {})["link_id"] = [lanes.WRITTEN_BY_SHIPPER.format(link=row["link_id"])]
        ref = row.get("external_ref")
        if ref and ref in seen_refs:
            errors.setdefault(index, {})["external_ref"] = [f"also given in row {seen_refs[ref]}"]
        elif ref in foreign:
            errors.setdefault(index, {})["external_ref"] = [f"{ref} is already used by another shipment"]
        elif ref:
            seen_refs[ref] = index
    if errors:
        raise Invalid(
            f"{len(errors)} of {len(rows)} rows are invalid; nothing was written",
            errors={"json": {"shipments": errors}},
        )
    rows = [row if row.get("external_ref") else {**row, "external_ref": new_external_ref()} for row in rows]
    # The version read goes with each row: the ORM bulk UPDATE bumps it, as a flush would, and answers
    # 412 (StaleDataError) if another writer changed the row since.
    updates = [
        {
            **row,
            "id": existing[row["external_ref"]]["id"],
            "version": existing[row["external_ref"]]["version"],
        }
        for row in rows
        if row.get("external_ref") in existing
    ]
    inserts = [row for row in rows if row.get("external_ref") not in existing]
    new_ids = (
        # render_nulls: rows mixing delivered and in-transit shipments would otherwise split into one
        # INSERT per run of equal None-patterns
        list(
            session.scalars(
                insert(Shipment).returning(Shipment.id, sort_by_parameter_order=True),
                inserts,
                execution_options={"render_nulls": True},
            )
        )
        if inserts
        else []
    )
    if updates:
        session.execute(sql_update(Shipment), updates)
        _audit_bulk_updates(session, user, existing, updates)
    new = iter(new_ids)
    ids = [
        existing[row["external_ref"]]["id"] if row.get("external_ref") in existing else next(new)
        for row in rows
    ]
    return {"created": len(inserts), "updated": len(updates), "ids": ids}


def _audit_bulk_updates(session: Session, user: User, stored: dict, updates: list[dict]) -> None:
    """Record the rows a bulk request really changed (audit_shipments skips the unchanged ones)."""
    changes = []
    for row in updates:
        old = stored[row["external_ref"]]
        diff = audit.diff(old, {name: value for name, value in row.items() if name in SHIPMENT_FIELDS})
        changes.append((row["id"], {old["link_id"], row["link_id"]}, diff))
    record_changes(session, user=user, action="update", changes=changes)


def update(session: Session, *, user: User, shipment: Shipment, changes: dict) -> Shipment:
    """Apply a partial update; delivery still may not precede shipping."""
    lanes.require_writer(session, user=user, link=session.get(Link, shipment.link_id))
    if "link_id" in changes and changes["link_id"] != shipment.link_id:
        lanes.require_writer(
            session,
            user=user,
            link=lanes.get(session, user=user, link_id=changes["link_id"], field="link_id"),
        )
    shipped = changes.get("shipped_at", shipment.shipped_at)
    for field in ("delivered_at", "promised_at"):
        value = changes.get(field, getattr(shipment, field))
        if value is not None and value < shipped:
            raise field_error(field, f"must not be before shipped_at ({shipped.isoformat()})")
    link_before = shipment.link_id
    diff = audit.apply_changes(shipment, changes)
    session.flush()
    record_changes(
        session, user=user, action="update", changes=[(shipment.id, {link_before, shipment.link_id}, diff)]
    )
    return shipment


def delete(session: Session, *, user: User, shipment: Shipment) -> None:
    """Delete a shipment; its history keeps what it was (shipments come in bulk, without create events)."""
    lanes.require_writer(session, user=user, link=session.get(Link, shipment.link_id))
    removed = audit.removed(shipment, SHIPMENT_FIELDS)
    record_changes(session, user=user, action="delete", changes=[(shipment.id, {shipment.link_id}, removed)])
    session.delete(shipment)
    session.flush()


def record_changes(session: Session, *, user: User | None, action: str, changes: Iterable[tuple]) -> None:
    """Record (shipment id, ids of the lanes it ran on, changes) in the history of those lanes' ends:
    two lanes when a correction moved the shipment, so both old and new customers see it."""
    changes = [change for change in changes if change[2] or action != "update"]  # nothing changed: no event
    if not changes:
        return
    lane_ids = {link_id for _id, link_ids, _changes in changes for link_id in link_ids}
    ends = {
        link_id: (shipper_id, consignee_id)
        for link_id, shipper_id, consignee_id in session.execute(
            select(Link.id, Link.shipper_id, Link.consignee_id).where(Link.id.in_(lane_ids))
        )
    }
    for shipment_id, link_ids, shipment_changes in changes:
        lanes.record_for_ends(
            session,
            user=user,
            entity="shipment",
            entity_id=shipment_id,
            ends=[end for link_id in link_ids for end in ends[link_id]],
            action=action,
            changes=shipment_changes,
        )


def delivered():
    """SQL condition on Shipment: delivered against a promise (what on-time-in-full is measured on)."""
    return and_(Shipment.delivered_at.is_not(None), Shipment.promised_at.is_not(None))


def on_time_in_full():
    """SQL condition on Shipment: delivered by the promised time and in full."""
    return and_(delivered(), Shipment.delivered_at <= Shipment.promised_at, Shipment.in_full)


def _month(session: Session, column):
    """The UTC month of a timestamp column as text, YYYY-MM."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM")
    return func.strftime("%Y-%m", column)  # SQLite keeps UTC timestamps as text


def monthly(session: Session, *, link_ids: Iterable[int], since: dt.datetime) -> dict[int, dict[str, dict]]:
    """Per lane and UTC month (YYYY-MM) since `since`: shipments, delivered against a promise, and of those
    on time in full."""
    month = _month(session, Shipment.shipped_at)

    def count_if(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    rows = session.execute(
        select(
            Shipment.link_id,
            month,
            func.count(),
            count_if(delivered()),
            count_if(on_time_in_full()),
        )
        .where(Shipment.link_id.in_(list(link_ids)), Shipment.shipped_at >= since)
        .group_by(Shipment.link_id, month)
    )
    found: dict[int, dict[str, dict]] = {}
    for link_id, key, shipments, measured, on_time in rows:
        found.setdefault(link_id, {})[key] = {
            "shipments": shipments,
            "delivered": measured,
            "on_time": on_time,
        }
    return found
