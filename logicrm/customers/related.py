"""Records that belong to one customer (departments, contacts, surveys, ...): one service for all.

Each kind is described by a `RelatedKind`; visibility follows the owning customer, and every
foreign id in a payload must exist and belong to the same customer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from logicrm import access
from logicrm.audit import service as audit
from logicrm.customers import service as customers
from logicrm.errors import Conflict, NotFound, field_error
from logicrm.lanes.models import Link
from logicrm.relations.models import Contact, Department, Interaction, SurveyResponse, SurveyScore
from logicrm.sales.models import Opportunity
from logicrm.tickets.models import Ticket
from logicrm.users.models import User


@dataclass(frozen=True)
class RelatedKind:
    model: type
    entity: str
    audited: bool = False
    # payload field -> model of a row that must belong to the same customer
    same_customer: dict[str, type] = field(default_factory=dict)
    # field unique within one customer (the database enforces it; this names the field in the 409)
    unique_per_customer: str | None = None
    # later field -> earlier field it may not precede (checked on the merged record, so PATCH too)
    not_before: dict[str, str] = field(default_factory=dict)
    # what a delete would take with it through the database's cascade: (model, its column naming this
    # record, a sentence on what to do about them); the delete is refused while any exist, so no
    # history disappears without a trace
    kept_by: tuple[tuple[type, str, str], ...] = ()


DEPARTMENTS = RelatedKind(
    Department,
    "department",
    audited=True,
    unique_per_customer="name",
    kept_by=(
        (
            SurveyResponse,
            "department_id",
            "survey responses would go with it; rename the department instead, or delete them first",
        ),
    ),
)
CONTACTS = RelatedKind(Contact, "contact", audited=True, same_customer={"department_id": Department})
SURVEYS = RelatedKind(
    SurveyResponse,
    "survey",
    audited=True,
    same_customer={"department_id": Department, "contact_id": Contact},
)
INTERACTIONS = RelatedKind(
    Interaction, "interaction", audited=True, same_customer={"department_id": Department}
)
TICKETS = RelatedKind(
    Ticket,
    "ticket",
    audited=True,
    not_before={"first_response_at": "opened_at", "resolved_at": "opened_at"},
)
OPPORTUNITIES = RelatedKind(Opportunity, "opportunity")
KINDS = (DEPARTMENTS, CONTACTS, SURVEYS, INTERACTIONS, TICKETS, OPPORTUNITIES)


def list_statement(kind: RelatedKind, user: User, *, customer_id: int | None = None):
    """Select the records of visible, live customers, optionally of one customer."""
    model = kind.model
    statement = select(model).where(model.customer_id.in_(customers.visible_ids(user)))
    if customer_id is not None:
        statement = statement.where(model.customer_id == customer_id)
    return statement.order_by(model.id)


def get(session: Session, user: User, kind: RelatedKind, record_id: int):
    """Return one record the user may see, or raise NotFound."""
    record = session.get(kind.model, record_id)
    if record is None:
        raise NotFound(f"{kind.entity} {record_id} not found")
    try:
        customers.get_visible(session, user, record.customer_id)
    except NotFound:
        raise NotFound(f"{kind.entity} {record_id} not found") from None
    return record


def _check_rules(session: Session, kind: RelatedKind, record, customer_id: int) -> None:
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


def _check_references(session: Session, user: User, kind: RelatedKind, data: dict, customer_id: int) -> None:
    for name, model in kind.same_customer.items():
        ref = data.get(name)
        if ref is None:
            continue
        # One answer whether the row is missing or another (perhaps hidden) customer's.
        row = session.get(model, ref)
        if row is None or row.customer_id != customer_id:
            raise field_error(name, f"no {model.__tablename__[:-1]} {ref} at customer {customer_id}")
    link_id = data.get("link_id")
    if link_id is not None:
        link = session.scalar(
            select(Link).where(
                Link.id == link_id, or_(Link.shipper_id == customer_id, Link.consignee_id == customer_id)
            )
        )
        if link is None:
            raise field_error(
                "link_id", f"link {link_id} does not exist or does not involve customer {customer_id}"
            )


def _check_author(session: Session, user: User, author: int | None) -> None:
    """Interactions are logged as the caller; managers and admins may record one in a colleague's name."""
    if author == user.id:
        return
    if not access.manages_teams(user):
        raise field_error("user_id", "you log interactions as yourself; leave user_id out")
    if author is not None and session.get(User, author) is None:
        raise field_error("user_id", f"unknown user {author}")


def _refuse_move_while_referred_to(session: Session, kind: RelatedKind, record) -> None:
    """A record that others of its customer refer to (a department, a contact) stays with them."""
    referrers = [
        (other.model, name)
        for other in KINDS
        for name, target in other.same_customer.items()
        if target is kind.model
    ]
    counts = {
        model.__tablename__.replace("_", " "): _count_referring(session, model, name, record)
        for model, name in referrers
    }
    if any(counts.values()):
        held = ", ".join(f"{count} {what}" for what, count in counts.items() if count)
        raise field_error(
            "customer_id", f"{kind.entity} {record.id} cannot move to another customer: {held} refer to it"
        )


def _count_referring(session: Session, model, column: str, record) -> int:
    """How many `model` rows name `record` in `column`."""
    return session.scalar(select(func.count()).select_from(model).where(getattr(model, column) == record.id))


def _customer_for_write(session: Session, user: User, customer_id: int):
    try:
        return customers.get_visible(session, user, customer_id)
    except NotFound:
        raise field_error("customer_id", f"unknown customer {customer_id}") from None


def _build(kind: RelatedKind, data: dict):
    data = dict(data)
    scores = data.pop("scores", None)
    record = kind.model(**data)
    if scores is not None:
        record.scores = [SurveyScore(**score) for score in scores]
    return record


def create(session: Session, user: User, kind: RelatedKind, data: dict):
    """Validate references and create a record for a visible customer."""
    customer = _customer_for_write(session, user, data["customer_id"])
    if kind is INTERACTIONS:
        if data.get("user_id") is None:
            data = {**data, "user_id": user.id}
        _check_author(session, user, data["user_id"])
    _check_references(session, user, kind, data, customer.id)
    record = _build(kind, data)
    _check_rules(session, kind, record, customer.id)
    session.add(record)
    session.flush()
    if kind.audited:
        changes = audit.snapshot(record, [name for name in data if name != "scores"])
        if "scores" in data:
            changes["scores"] = [None, score_table(record.scores)]
        audit.record(
            session,
            user=user,
            entity=kind.entity,
            entity_id=record.id,
            customer_id=customer.id,
            action="create",
            changes=changes,
        )
    return record


def score_table(scores) -> dict[str, list[float]]:
    """Describe survey scores (models or payload dicts) as {dimension: [importance, expectation, perception]}."""

    def value(score, name):
        return score[name] if isinstance(score, dict) else getattr(score, name)

    return {
        str(value(s, "dimension")): [value(s, "importance"), value(s, "expectation"), value(s, "perception")]
        for s in scores
    }


def update(session: Session, user: User, kind: RelatedKind, record, changes: dict):
    """Apply a partial update; a record may move only to another visible customer, and only when no
    record of its customer refers to it."""
    customer_id = changes.get("customer_id", record.customer_id)
    if customer_id != record.customer_id:
        _customer_for_write(session, user, customer_id)
        _refuse_move_while_referred_to(session, kind, record)
    if "user_id" in changes and changes["user_id"] != record.user_id:
        _check_author(session, user, changes["user_id"])
    merged = {
        name: changes.get(name, getattr(record, name, None))
        for name in (*kind.same_customer, "link_id")
        if hasattr(record, name)
    }
    _check_references(session, user, kind, merged, customer_id)
    with session.no_autoflush:
        diff = audit.apply_changes(record, changes)
        _check_rules(session, kind, record, customer_id)
    session.flush()
    if kind.audited:
        audit.record(
            session,
            user=user,
            entity=kind.entity,
            entity_id=record.id,
            customer_id=record.customer_id,
            action="update",
            changes=diff,
        )
    return record


def delete(session: Session, user: User, kind: RelatedKind, record) -> None:
    """Delete a record (the audit trail keeps what it was); refused while records it would take exist."""
    for model, column, advice in kind.kept_by:
        count = _count_referring(session, model, column, record)
        if count:
            raise Conflict(f"{kind.entity} {record.id}: {count} {advice}")
    if kind.audited:
        audit.record(
            session,
            user=user,
            entity=kind.entity,
            entity_id=record.id,
            customer_id=record.customer_id,
            action="delete",
            changes={},
        )
    session.delete(record)
    session.flush()
