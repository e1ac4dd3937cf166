"""Lanes (links) from a shipper to a consignee: role checks, read through either end, written by the
shipper's team, and every change in both ends' history."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from logicrm import access, db
from logicrm.audit import service as audit
from logicrm.customers import service as customers
from logicrm.customers.models import Customer
from logicrm.errors import DomainError, Forbidden, Invalid, NotFound, field_error
from logicrm.lanes.models import Link
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


def visible_links(*, user: User):
    """SQL condition on Link: a lane is visible when either end is."""
    ids = customers.visible_ids(user=user)
    return or_(Link.shipper_id.in_(ids), Link.consignee_id.in_(ids))


def visible_link_ids(session: Session, *, user: User) -> set[int] | None:
    """Return the ids of the lanes the user may see, or None when it sees them all."""
    if not access.is_restricted(user):
        return None
    return set(session.scalars(select(Link.id).where(visible_links(user=user))))


def list_statement(
    *, user: User, customer_id=None, shipper_id=None, consignee_id=None, status=None
) -> Select:
    """Select visible links with filters."""
    statement = select(Link).where(visible_links(user=user))
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


def get(session: Session, *, user: User, link_id: int, field: str | None = None) -> Link:
    """Return a visible link, or raise NotFound (or a 422 naming `field` when the id came in a body)."""
    link = session.scalar(select(Link).where(Link.id == link_id, visible_links(user=user)))
    if link is None:
        if field is not None:
            raise field_error(field, f"unknown link {link_id}")
        raise NotFound(f"link {link_id} not found")
    return link


WRITTEN_BY_SHIPPER = "link {link} and its shipments are written by its shipper's account team"


def writable_links(*, user: User):
    """SQL condition on Link: a lane is written by its shipper's account team (the payer's)."""
    return Link.shipper_id.in_(customers.visible_ids(user=user))


def require_writer(session: Session, *, user: User, link: Link) -> None:
    """Refuse a write to a lane the user sees only through its consignee."""
    if not customers.is_visible(session, user=user, customer_id=link.shipper_id):
        raise Forbidden(WRITTEN_BY_SHIPPER.format(link=link.id))


def check(
    session: Session, *, user: User, writes: Sequence[tuple[dict, Mapping | None]]
) -> list[DomainError | None]:
    """Apply the rules of a create (stored None) or an update to each write of a batch: the first error
    refusing each, or None.

    A lane is written by its shipper's team; its ends differ, are customers the user sees (a hidden one
    reads as unknown) and hold the right roles; it does not end before it starts.
    """
    results: list[DomainError | None] = [None] * len(writes)
    shippers = customers.existing(
        session, user=user, ids={stored["shipper_id"] for _data, stored in writes if stored is not None}
    )
    ends_to_check = {}
    for i, (data, stored) in enumerate(writes):
        if stored is None:
            ends_to_check[i] = (data["shipper_id"], data["consignee_id"])
            continue
        shipper_id = data.get("shipper_id", stored["shipper_id"])
        consignee_id = data.get("consignee_id", stored["consignee_id"])
        started, ended = (
            data.get("started_on", stored["started_on"]),
            data.get("ended_on", stored["ended_on"]),
        )
        if stored["shipper_id"] not in shippers:
            results[i] = Forbidden(WRITTEN_BY_SHIPPER.format(link=stored["id"]))
        elif shipper_id == consignee_id:
            results[i] = field_error("consignee_id", "must differ from shipper_id")
        elif "shipper_id" in data or "consignee_id" in data:
            ends_to_check[i] = (shipper_id, consignee_id)
        if results[i] is None and started and ended and ended < started:
            results[i] = field_error("ended_on", "must not be before started_on")
    for i, problem in zip(
        ends_to_check, _end_problems(session, user, list(ends_to_check.values())), strict=True
    ):
        if problem is not None:
            results[i] = problem
    return results


def _end_problems(session: Session, user: User, pairs: list[tuple[int, int]]) -> list[Invalid | None]:
    """Both ends of each lane must be customers the user sees (a hidden one reads as unknown) holding the
    right role."""
    ids = {customer_id for pair in pairs for customer_id in pair}
    seen = customers.existing(session, user=user, ids=ids)
    found = {
        row.id: row
        for row in session.execute(
            select(
                Customer.id,
                Customer.name,
                Customer.shipper_profile.has().label("shipper"),
                Customer.consignee_profile.has().label("consignee"),
            ).where(db.among(session.connection(), Customer.id, seen))
        )
    }
    problems = []
    for shipper_id, consignee_id in pairs:
        errors = {}
        for field, customer_id, role in (
            ("shipper_id", shipper_id, "shipper"),
            ("consignee_id", consignee_id, "consignee"),
        ):
            customer = found.get(customer_id)
            if customer is None:
                errors[field] = [f"unknown customer {customer_id}"]
            elif not getattr(customer, role):
                errors[field] = [f"customer {customer_id} ({customer.name}) has no {role} role; add it first"]
        problems.append(
            Invalid("; ".join(f"{k}: {v[0]}" for k, v in errors.items()), errors={"json": errors})
            if errors
            else None
        )
    return problems


def record_for_ends(
    session: Session,
    *,
    user: User | None,
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
        user=user,
        entity="link",
        entity_id=link.id,
        ends=(link.shipper_id, link.consignee_id, *also),
        action=action,
        changes=changes,
    )


def create(session: Session, *, user: User, data: dict) -> Link:
    """Create a shipper → consignee lane; both roles must exist already."""
    _refuse(check(session, user=user, writes=[(data, None)]))
    link = Link(**data)
    session.add(link)
    session.flush()
    _audit_link(session, user, link, "create", audit.snapshot(link, LINK_FIELDS))
    return link


def update(session: Session, *, user: User, link: Link, changes: dict) -> Link:
    """Apply a partial update to a lane and record it in the history of its old and new ends."""
    stored = {column.key: getattr(link, column.key) for column in Link.__table__.columns}
    _refuse(check(session, user=user, writes=[(changes, stored)]))
    ends_before = (link.shipper_id, link.consignee_id)
    diff = audit.apply_changes(link, changes)
    session.flush()
    _audit_link(session, user, link, "update", diff, also=ends_before)
    return link


def _refuse(results: list[DomainError | None]) -> None:
    if results[0] is not None:
        raise results[0]


def delete(session: Session, *, user: User, link: Link) -> None:
    """Delete a lane with its shipments (end it instead to keep them)."""
    require_writer(session, user=user, link=link)
    _audit_link(session, user, link, "delete", {})
    session.delete(link)
    session.flush()


def partners_statement(*, user: User, customer_id: int, as_role: str) -> Select:
    """Select the visible customers on the other end of `customer_id`'s lanes (as shipper or consignee)."""
    mine, theirs = (
        (Link.shipper_id, Link.consignee_id) if as_role == "shipper" else (Link.consignee_id, Link.shipper_id)
    )
    partner_ids = select(theirs).where(mine == customer_id)
    return (
        select(Customer)
        .where(Customer.id.in_(partner_ids), customers.visible(user=user), Customer.deleted_at.is_(None))
        .order_by(Customer.normalized_name, Customer.id)
    )


def first_link_id(session: Session, *, customer_id: int, as_role: str) -> int | None:
    """Return a lane on which the customer holds `as_role`, or None."""
    column = Link.shipper_id if as_role == "shipper" else Link.consignee_id
    return session.scalar(select(Link.id).where(column == customer_id).limit(1))
