"""Customers: visibility, duplicates, create, update, soft delete and restore."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Select, case, or_, select, true
from sqlalchemy.orm import Session

from logicrm import access, db
from logicrm.audit import service as audit
from logicrm.customers import profiles
from logicrm.customers.models import Customer, CustomerStatus, Tier, customer_team
from logicrm.customers.names import normalize_name, search_pattern
from logicrm.db import utcnow
from logicrm.errors import Conflict, Forbidden, NotFound, field_error
from logicrm.users.models import User

CUSTOMER_FIELDS = (
    "external_ref",
    "name",
    "registration_number",
    "industry",
    "region",
    "tier",
    "status",
    "owner_id",
    "acquisition_channel",
    "referred_by_id",
    "acquired_on",
    "churned_on",
)


def _in_declared_order(column, enum_cls):
    """Sort an enum column by its members' order (vip, key, standard), not alphabetically."""
    return case({member: rank for rank, member in enumerate(enum_cls)}, value=column)


SORTS = {
    "name": Customer.normalized_name,
    "created_at": Customer.created_at,
    "tier": _in_declared_order(Customer.tier, Tier),
    "region": Customer.region,
    "status": _in_declared_order(Customer.status, CustomerStatus),
    "id": Customer.id,
}


def visible(*, user: User):
    """SQL condition on Customer: the accounts this user may see (account managers: owned or on the team)."""
    if not access.is_restricted(user):
        return true()
    on_team = select(customer_team.c.customer_id).where(customer_team.c.user_id == user.id)
    return or_(Customer.owner_id == user.id, Customer.id.in_(on_team))


def visible_ids(*, user: User) -> Select:
    """Select the ids of live customers visible to `user` (for filtering related records)."""
    return select(Customer.id).where(visible(user=user), Customer.deleted_at.is_(None))


def get(session: Session, *, user: User, customer_id: int, include_deleted: bool = False) -> Customer:
    """Return a customer the user may see, or raise NotFound (also for customers hidden from them)."""
    customer = session.scalar(select(Customer).where(Customer.id == customer_id, visible(user=user)))
    if customer is None or (customer.deleted_at is not None and not include_deleted):
        raise NotFound(f"customer {customer_id} not found")
    return customer


def list_statement(
    *,
    user: User,
    role: str | None = None,
    tier=None,
    status=None,
    owner_id=None,
    region=None,
    industry=None,
    q: str | None = None,
    include_deleted: bool = False,
    sort: str = "name",
) -> Select:
    """Build the filtered, sorted customer list query."""
    statement = select(Customer).where(visible(user=user))
    if not include_deleted:
        statement = statement.where(Customer.deleted_at.is_(None))
    if role:
        statement = statement.where(getattr(Customer, f"{role}_profile").has())
    for column, value in (
        (Customer.tier, tier),
        (Customer.status, status),
        (Customer.owner_id, owner_id),
        (Customer.region, region),
        (Customer.industry, industry),
    ):
        if value is not None:
            statement = statement.where(column == value)
    if q:
        pattern = search_pattern(q)
        statement = statement.where(
            or_(Customer.normalized_name.like(pattern, escape="\\"), Customer.external_ref == q.strip())
        )
    column = SORTS[sort.lstrip("-")]
    return statement.order_by(column.desc() if sort.startswith("-") else column.asc(), Customer.id)


def _check_references(session: Session, user: User, data: dict) -> None:
    owner_id = data.get("owner_id")
    if owner_id is not None and session.get(User, owner_id) is None:
        raise field_error("owner_id", f"unknown user {owner_id}")
    referred = data.get("referred_by_id")
    if referred is not None and not is_visible(
        session, user=user, customer_id=referred, include_deleted=True
    ):
        raise field_error("referred_by_id", f"unknown customer {referred}")


def is_visible(session: Session, *, user: User, customer_id: int, include_deleted: bool = False) -> bool:
    """Tell whether a customer exists for this user (hidden and missing are the same answer)."""
    return bool(existing(session, user=user, ids=[customer_id], include_deleted=include_deleted))


def existing(session: Session, *, user: User, ids: Iterable[int], include_deleted: bool = False) -> set[int]:
    """Return the ids among `ids` of customers that exist for this user (hidden and missing alike are left out)."""
    ids = set(ids)
    if not ids:
        return set()
    statement = select(Customer.id).where(
        db.among(session.connection(), Customer.id, ids), visible(user=user)
    )
    if not include_deleted:
        statement = statement.where(Customer.deleted_at.is_(None))
    return set(session.scalars(statement))


def visible_id_set(session: Session, *, user: User) -> set[int] | None:
    """Return the ids of the live customers the user may see, or None when it sees them all."""
    if not access.is_restricted(user):
        return None
    return set(session.scalars(visible_ids(user=user)))


def visible_among(session: Session, *, user: User, ids: Iterable[int]) -> set[int]:
    """Return the ids among `ids` of customers the user may see."""
    ids = set(ids)
    if not access.is_restricted(user) or not ids:
        return ids
    return set(session.scalars(select(Customer.id).where(Customer.id.in_(ids), visible(user=user))))


def names_for(session: Session, *, user: User, ids: Iterable[int]) -> dict[int, str]:
    """Map the ids among `ids` of customers the user may see to their names."""
    ids = set(ids)
    if not ids:
        return {}
    rows = session.execute(select(Customer.id, Customer.name).where(Customer.id.in_(ids), visible(user=user)))
    return dict(rows.all())


def check_coverage_change(user: User, current: Mapping | None, data: Mapping) -> None:
    """Owner and team are set by managers and admins; an account manager creates accounts it owns.

    `current`: the account's owner_id and team_ids now (None for a new account)."""
    if access.manages_teams(user):
        return
    if current is None:
        changed = {
            "owner_id": data.get("owner_id") not in (None, user.id),
            "team_ids": bool(data.get("team_ids")),
        }
    else:
        changed = {
            "owner_id": "owner_id" in data and data["owner_id"] != current["owner_id"],
            "team_ids": "team_ids" in data
            and data["team_ids"] is not None
            and set(data["team_ids"]) != set(current["team_ids"]),
        }
    for field, refused in changed.items():
        if refused:
            raise Forbidden(
                f"{field}: an account's owner and team are set by managers and admins",
                errors={"json": {field: ["only managers and admins change who covers an account"]}},
            )


def check_dates(acquired_on, churned_on) -> None:
    """An account is not churned before it was acquired."""
    if acquired_on is not None and churned_on is not None and churned_on < acquired_on:
        raise field_error("churned_on", f"must not be before acquired_on ({acquired_on.isoformat()})")


def with_normalized_name(values: dict) -> dict:
    """The values a write stores: the normalised name (duplicates, search) follows the name."""
    return {**values, "normalized_name": normalize_name(values["name"])} if "name" in values else values


def team_change(before: Iterable[int], after: Iterable[int] | None) -> list | None:
    """[old, new] sorted team ids when `after` changes the team, else None."""
    before = sorted(before)
    if after is None or before == sorted(set(after)):
        return None
    return [before, sorted(set(after))]


def _team(session: Session, team_ids: list[int]) -> list[User]:
    users = session.scalars(select(User).where(User.id.in_(team_ids))).all()
    missing = sorted(set(team_ids) - {u.id for u in users})
    if missing:
        raise field_error("team_ids", f"unknown users {missing}")
    return list(users)


@dataclass(frozen=True)
class Candidate:
    """A customer about to be written, for the duplicate check: a same registration number is the same
    legal entity, always refused; a same name is refused unless `allow_duplicate`."""

    name: str
    registration_number: str | None
    allow_duplicate: bool = False
    exclude_id: int | None = None  # the customer itself, when it is updated


def duplicates(session: Session, *, user: User, candidates: Sequence[Candidate]) -> list[Conflict | None]:
    """Check customers about to be written against the stored ones: the Conflict refusing each, or None.

    Check-then-write is safe only one writer at a time per name and registration number: the keys are
    locked until the transaction ends (PostgreSQL; SQLite writers hold the database's lock). A customer
    the user may not see is never named, but the same company must not be entered twice. Checked against
    what is stored: two candidates of one batch are not compared with each other.
    """
    db.lock_keys(
        session,
        [
            key
            for c in candidates
            for key in (
                f"customer-name:{normalize_name(c.name)}",
                f"customer-registration:{c.registration_number}",
            )
        ],
    )
    numbers = {c.registration_number for c in candidates if c.registration_number}
    names = {normalize_name(c.name) for c in candidates if not c.allow_duplicate}
    by_number, by_name = {}, {}
    found = select(
        Customer.id,
        Customer.name,
        Customer.registration_number,
        Customer.normalized_name,
        visible(user=user).label("visible"),
    )
    for chunk in _chunks(numbers):
        for row in session.execute(found.where(Customer.registration_number.in_(chunk))):
            by_number[row.registration_number] = row
    for chunk in _chunks(names):
        statement = found.where(Customer.normalized_name.in_(chunk), Customer.deleted_at.is_(None))
        for row in session.execute(statement.order_by(Customer.id)):
            by_name.setdefault(row.normalized_name, []).append(row)
    conflicts = []
    for c in candidates:
        same = by_number.get(c.registration_number) if c.registration_number else None
        reason = "registration_number"
        if same is None or same.id == c.exclude_id:
            reason, same = "name", None
            if not c.allow_duplicate:
                others = (row for row in by_name.get(normalize_name(c.name), ()) if row.id != c.exclude_id)
                same = next(others, None)
        conflicts.append(
            None if same is None else duplicate_conflict(same.id, same.name, reason, visible=same.visible)
        )
    return conflicts


def duplicate_conflict(existing_id: int, existing_name: str, reason: str, *, visible: bool) -> Conflict:
    """The refusal of a probable duplicate of customer `existing_id` (same `reason`: registration_number
    or name), naming it only to a user who sees it."""
    same = reason.replace("_", " ")
    if visible:
        return Conflict(
            f"probable duplicate of customer {existing_id} ({existing_name}): same {same}",
            errors={"json": {reason: ["matches an existing customer"]}},
            existing_id=existing_id,
            allow_duplicate=reason == "name",
        )
    insist = (
        "" if reason == "registration_number" else " (or send allow_duplicate=true if it is another company)"
    )
    return Conflict(
        f"a customer with this {same} already exists; ask a manager{insist}",
        errors={"json": {reason: ["matches an existing customer"]}},
        allow_duplicate=reason == "name",
    )


def _refuse_duplicate(session: Session, user: User, candidate: Candidate) -> None:
    [conflict] = duplicates(session, user=user, candidates=[candidate])
    if conflict is not None:
        raise conflict


def _chunks(items, size: int = 500):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def create(session: Session, *, user: User, data: dict, allow_duplicate: bool = False) -> Customer:
    """Create a customer with optional role profiles; refuse probable duplicates unless allowed."""
    data = dict(data)
    team_ids = data.pop("team_ids", [])
    roles = {role: data.pop(role, None) for role in profiles.ROLES}
    check_coverage_change(user, None, {**data, "team_ids": team_ids})
    if not access.manages_teams(user):
        data["owner_id"] = user.id
    _check_references(session, user, data)
    check_dates(data.get("acquired_on"), data.get("churned_on"))
    _refuse_duplicate(
        session,
        user,
        Candidate(data["name"], data.get("registration_number"), allow_duplicate=allow_duplicate),
    )
    customer = Customer(**with_normalized_name(data), team=_team(session, team_ids))
    session.add(customer)
    session.flush()
    audit.record(
        session,
        user=user,
        entity="customer",
        entity_id=customer.id,
        customer_id=customer.id,
        action="create",
        changes=audit.snapshot(customer, CUSTOMER_FIELDS),
    )
    for role, profile in roles.items():
        if profile is not None:
            profiles.put(session, user=user, customer=customer, role=role, data=profile)
    return customer


def update(
    session: Session, *, user: User, customer: Customer, changes: dict, allow_duplicate: bool = False
) -> Customer:
    """Apply a partial update and record what changed."""
    team_before = [member.id for member in customer.team]
    check_coverage_change(user, {"owner_id": customer.owner_id, "team_ids": team_before}, changes)
    changes = dict(changes)
    team_ids = changes.pop("team_ids", None)
    _check_references(session, user, changes)
    if "acquired_on" in changes or "churned_on" in changes:
        check_dates(
            changes.get("acquired_on", customer.acquired_on), changes.get("churned_on", customer.churned_on)
        )
    if "name" in changes or "registration_number" in changes:
        _refuse_duplicate(
            session,
            user,
            Candidate(
                changes.get("name", customer.name),
                changes.get("registration_number"),
                allow_duplicate=allow_duplicate or "name" not in changes,
                exclude_id=customer.id,
            ),
        )
    # Look the team up before changing anything: the query's autoflush would write a version in between.
    team = _team(session, team_ids) if team_ids is not None else None
    diff = audit.apply_changes(customer, with_normalized_name(changes))
    diff.pop("normalized_name", None)
    if (change := team_change(team_before, team_ids)) is not None:
        customer.team = team
        diff["team_ids"] = change
    if diff:
        customer.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        user=user,
        entity="customer",
        entity_id=customer.id,
        customer_id=customer.id,
        action="update",
        changes=diff,
    )
    return customer


def delete(session: Session, *, user: User, customer: Customer) -> None:
    """Hide a customer from lists and lookups; restore brings it back with everything attached."""
    customer.deleted_at = utcnow()
    session.flush()
    audit.record(
        session,
        user=user,
        entity="customer",
        entity_id=customer.id,
        customer_id=customer.id,
        action="delete",
        changes={},
    )


def restore(session: Session, *, user: User, customer: Customer) -> Customer:
    """Undo a soft delete (not for customers merged into another)."""
    if customer.deleted_at is None:
        return customer
    if customer.merged_into_id is not None:
        raise Conflict(
            f"customer {customer.id} was merged into {customer.merged_into_id}",
            merged_into_id=customer.merged_into_id,
        )
    _refuse_duplicate(session, user, Candidate(customer.name, None, exclude_id=customer.id))
    customer.deleted_at = None
    session.flush()
    audit.record(
        session,
        user=user,
        entity="customer",
        entity_id=customer.id,
        customer_id=customer.id,
        action="restore",
        changes={},
    )
    return customer
