"""Links and shipments: role checks, visibility through either end, bulk import."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import insert, or_, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session, aliased

from logicrm import access
from logicrm.audit import service as audit
from logicrm.consignees.models import ConsigneeProfile
from logicrm.customers import service as customers
from logicrm.customers.models import Customer
from logicrm.db import new_external_ref
from logicrm.errors import Forbidden, Invalid, NotFound, field_error
from logicrm.lanes.models import Link, Shipment
from logicrm.network import revisions
from logicrm.shippers.models import ShipperProfile
from logicrm.users.models import User

LINK_FIELDS = (
    "shipper_id",
    "consignee_id",
    "origin",
    "destination",
    "service_type",
    "declared_monthly_volume",
    "started_on",
    "ended_on",
    "status",
)
SHIPMENT_FIELDS = ("external_ref", "link_id", "shipped_at", "promised_at", "delivered_at", "in_full", "damaged",
                   "claim_amount", "revenue", "cost")  # fmt: skip


def visible_links(user: User):
    """SQL condition on Link: a lane is visible when either end is."""
    ids = customers.visible_ids(user)
    return or_(Link.shipper_id.in_(ids), Link.consignee_id.in_(ids))


def visible_link_ids(session: Session, user: User) -> set[int] | None:
    """Return the ids of the lanes the user may see, or None when it sees them all."""
    if not access.is_restricted(user):
        return None
    return set(session.scalars(select(Link.id).where(visible_links(user))))


def list_links_statement(user: User, *, customer_id=None, shipper_id=None, consignee_id=None, status=None):
    """Select visible links with filters."""
    statement = select(Link).where(visible_links(user))
    if customer_id is not None:
        statement = statement.where(or_(Link.shipper_id == customer_id, Link.consignee_id == customer_id))
    for column, value in (
        (Link.shipper_id, shipper_id),
        (Link.consignee_id, consignee_id),
        (Link.status, status),
    ):
        if value is not None:
            statement = statement.where(column == value)
    return statement.order_by(Link.id)


def get_link(session: Session, user: User, link_id: int, *, field: str | None = None) -> Link:
    """Return a visible link, or raise NotFound (or a 422 naming `field` when the id came in a body)."""
    link = session.scalar(select(Link).where(Link.id == link_id, visible_links(user)))
    if link is None:
        if field is not None:
            raise field_error(field, f"unknown link {link_id}")
        raise NotFound(f"link {link_id} not found")
    return link


WRITTEN_BY_SHIPPER = "link {link_id} and its shipments are written by its shipper's account team"


def writable_links(user: User):
    """SQL condition on Link: a lane is written by its shipper's account team (the payer's)."""
    return Link.shipper_id.in_(customers.visible_ids(user))


def _require_writer(session: Session, user: User, link: Link) -> None:
    """Refuse a write to a lane the user sees only through its consignee."""
    if not customers.is_visible(session, user, link.shipper_id):
        raise Forbidden(WRITTEN_BY_SHIPPER.format(link_id=link.id))


def _check_ends(session: Session, user: User, shipper_id: int, consignee_id: int) -> None:
    """Both ends must be customers the user sees (a hidden one reads as unknown) holding the right role."""
    ends = {
        "shipper_id": (shipper_id, ShipperProfile, "shipper"),
        "consignee_id": (consignee_id, ConsigneeProfile, "consignee"),
    }
    errors = {}
    for field, (customer_id, profile, role) in ends.items():
        if not customers.is_visible(session, user, customer_id):
            errors[field] = [f"unknown customer {customer_id}"]
        elif session.get(profile, customer_id) is None:
            name = session.get(Customer, customer_id).name
            errors[field] = [f"customer {customer_id} ({name}) has no {role} role; add it first"]
    if errors:
        raise Invalid("; ".join(f"{k}: {v[0]}" for k, v in errors.items()), errors={"json": errors})


def record_for_ends(
    session: Session,
    user: User | None,
    *,
    entity: str,
    entity_id: int,
    ends: Iterable[int],
    action: str,
    changes: dict,
) -> None:
    """Record a write to a lane or a shipment in the history of each customer at its ends."""
    for customer_id in sorted(set(ends)):
        audit.record(
            session,
            user=user,
            entity=entity,
            entity_id=entity_id,
            customer_id=customer_id,
            action=action,
            changes=changes,
        )


def _audit_link(
    session: Session, user: User, link: Link, action: str, changes: dict, *, also: Iterable[int] = ()
) -> None:
    record_for_ends(
        session,
        user,
        entity="link",
        entity_id=link.id,
        ends=(link.shipper_id, link.consignee_id, *also),
        action=action,
        changes=changes,
    )


def audit_shipments(session: Session, user: User | None, action: str, changes: Iterable[tuple]) -> None:
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
        record_for_ends(
            session,
            user,
            entity="shipment",
            entity_id=shipment_id,
            ends=[end for link_id in link_ids for end in ends[link_id]],
            action=action,
            changes=shipment_changes,
        )


def create_link(session: Session, user: User, data: dict) -> Link:
    """Create a shipper → consignee lane; both roles must exist already."""
    _check_ends(session, user, data["shipper_id"], data["consignee_id"])
    link = Link(**data)
    session.add(link)
    session.flush()
    _audit_link(session, user, link, "create", audit.snapshot(link, LINK_FIELDS))
    return link


def update_link(session: Session, user: User, link: Link, changes: dict) -> Link:
    """Apply a partial update to a lane and record it in the history of its old and new ends."""
    _require_writer(session, user, link)
    shipper_id = changes.get("shipper_id", link.shipper_id)
    consignee_id = changes.get("consignee_id", link.consignee_id)
    if shipper_id == consignee_id:
        raise field_error("consignee_id", "must differ from shipper_id")
    if "shipper_id" in changes or "consignee_id" in changes:
        _check_ends(session, user, shipper_id, consignee_id)
    started, ended = changes.get("started_on", link.started_on), changes.get("ended_on", link.ended_on)
    if started and ended and ended < started:
        raise field_error("ended_on", "must not be before started_on")
    ends_before = (link.shipper_id, link.consignee_id)
    diff = audit.apply_changes(link, changes)
    session.flush()
    _audit_link(session, user, link, "update", diff, also=ends_before)
    return link


def delete_link(session: Session, user: User, link: Link) -> None:
    """Delete a lane with its shipments (end it instead to keep them)."""
    _require_writer(session, user, link)
    _audit_link(session, user, link, "delete", {})
    session.delete(link)
    session.flush()


def partners_statement(user: User, customer_id: int, *, as_role: str):
    """Select the visible customers on the other end of `customer_id`'s lanes (as shipper or consignee)."""
    mine, theirs = (
        (Link.shipper_id, Link.consignee_id) if as_role == "shipper" else (Link.consignee_id, Link.shipper_id)
    )
    partner_ids = select(theirs).where(mine == customer_id)
    return (
        select(Customer)
        .where(Customer.id.in_(partner_ids), customers.visible(user), Customer.deleted_at.is_(None))
        .order_by(Customer.normalized_name, Customer.id)
    )


def list_shipments_statement(
    user: User, *, link_id=None, customer_id=None, shipped_from=None, shipped_to=None
):
    """Select shipments on visible links with filters."""
    link = aliased(Link)
    statement = (
        select(Shipment)
        .join(link, Shipment.link_id == link.id)
        .where(link.id.in_(select(Link.id).where(visible_links(user))))
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


def get_shipment(session: Session, user: User, shipment_id: int) -> Shipment:
    """Return a shipment on a visible link or raise NotFound."""
    shipment = session.get(Shipment, shipment_id)
    if (
        shipment is None
        or session.scalar(select(Link.id).where(Link.id == shipment.link_id, visible_links(user))) is None
    ):
        raise NotFound(f"shipment {shipment_id} not found")
    return shipment


def import_shipments(session: Session, user: User, rows: list[dict], *, max_rows: int) -> dict:
    """Insert or update (by external_ref) a batch of shipments: every row valid, or nothing written."""
    if len(rows) > max_rows:
        raise field_error("shipments", f"at most {max_rows} rows per request, got {len(rows)}")
    link_ids = {row["link_id"] for row in rows}
    lanes = dict(
        session.execute(
            select(Link.id, writable_links(user)).where(Link.id.in_(link_ids), visible_links(user))
        ).all()
    )  # visible lane -> whether the caller may write it
    refs = [row["external_ref"] for row in rows if row.get("external_ref")]
    existing, foreign = {}, set()  # ref -> stored row (id, version and SHIPMENT_FIELDS)
    if refs:
        # A known ref on a lane the caller may not write is somebody else's shipment: never overwrite it.
        on_writable_link = Shipment.link_id.in_(select(Link.id).where(writable_links(user)))
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
        if row["link_id"] not in lanes:
            errors.setdefault(index, {})["link_id"] = [f"unknown link {row['link_id']}"]
        elif not lanes[row["link_id"]]:
            errors.setdefault(index, {})["link_id"] = [WRITTEN_BY_SHIPPER.format(link_id=row["link_id"])]
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
    # Bulk statements bypass the flush that normally advances the revisions.
    revisions.bump(session, revisions.NETWORK, revisions.SCORES)
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
    audit_shipments(session, user, "update", changes)


def update_shipment(session: Session, user: User, shipment: Shipment, changes: dict) -> Shipment:
    """Apply a partial update; delivery still may not precede shipping."""
    _require_writer(session, user, session.get(Link, shipment.link_id))
    if "link_id" in changes and changes["link_id"] != shipment.link_id:
        _require_writer(session, user, get_link(session, user, changes["link_id"], field="link_id"))
    shipped = changes.get("shipped_at", shipment.shipped_at)
    for field in ("delivered_at", "promised_at"):
        value = changes.get(field, getattr(shipment, field))
        if value is not None and value < shipped:
            raise field_error(field, f"must not be before shipped_at ({shipped.isoformat()})")
    link_before = shipment.link_id
    diff = audit.apply_changes(shipment, changes)
    session.flush()
    audit_shipments(session, user, "update", [(shipment.id, {link_before, shipment.link_id}, diff)])
    return shipment


def delete_shipment(session: Session, user: User, shipment: Shipment) -> None:
    """Delete a shipment; its history keeps what it was (shipments come in bulk, without create events)."""
    _require_writer(session, user, session.get(Link, shipment.link_id))
    removed = audit.removed(shipment, SHIPMENT_FIELDS)
    audit_shipments(session, user, "delete", [(shipment.id, {shipment.link_id}, removed)])
    session.delete(shipment)
    session.flush()
