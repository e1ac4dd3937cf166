"""Customers: visibility, duplicates, create, update, soft delete and restore."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import Select, String, bindparam, case, cast, exists, func, or_, select, true
from sqlalchemy.orm import Session, joinedload

from logicrm import access, db
from logicrm.audit import service as audit
from logicrm.customers import names, profiles
from logicrm.customers.matching import Candidate, Duplicate, find_duplicates, reindex_names
from logicrm.customers.models import Customer, CustomerAlias, CustomerStatus, Tier, customer_team
from logicrm.db import utcnow
from logicrm.errors import Conflict, Forbidden, NotFound, field_error, first_of
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
    return covered_by(user_id=user.id) if access.is_restricted(user) else true()


def covered_by(*, user_id: int):
    """SQL condition on Customer: the accounts a user owns or is on the team of."""
    on_team = select(customer_team.c.customer_id).where(customer_team.c.user_id == user_id)
    return or_(Customer.owner_id == user_id, Customer.id.in_(on_team))


def covered_ids(session: Session, *, user: User) -> set[int]:
    """Return the ids of the live accounts the user owns or is on the team of."""
    return set(
        session.scalars(select(Customer.id).where(covered_by(user_id=user.id), Customer.deleted_at.is_(None)))
    )


def visible_ids(*, user: User) -> Select:
    """Select the ids of live customers visible to `user` (for filtering related records)."""
    return select(Customer.id).where(visible(user=user), Customer.deleted_at.is_(None))


@functools.cache
def _whole() -> tuple:
    """Load options for one customer's answer in one statement: its roles, team and aliases joined
    (selectin would add four). Made once, on first use: the relationships resolve once every model is
    imported."""
    return (
        joinedload(Customer.shipper_profile),
        joinedload(Customer.consignee_profile),
        joinedload(Customer.team),
        joinedload(Customer.aliases),
    )


def answered_whole(statement: Select) -> Select:
    """Load with the customers `statement` selects what their answer shows, in the same statement (a page
    of them with selectin loads cost four statements more); paginate makes the joined rows unique."""
    return statement.options(*_whole())


@functools.cache
def _listed() -> tuple:
    """The tables of the two profiles and the columns of a listed customer's answer: its own, its
    profiles' (at most one of each), its team's user ids joined by commas, whether it has aliases."""
    shipper = Customer.shipper_profile.property.mapper.local_table
    consignee = Customer.consignee_profile.property.mapper.local_table
    team = select(func.aggregate_strings(cast(customer_team.c.user_id, String), ","))
    team = team.where(customer_team.c.customer_id == Customer.id).scalar_subquery()
    has_aliases = exists().where(CustomerAlias.customer_id == Customer.id)
    columns = (*Customer.__table__.c, *shipper.c, *consignee.c, team, has_aliases)
    return shipper, consignee, columns


def answered_rows(statement: Select) -> Select:
    """Select what the answers of the customers a `list_statement` lists show, as plain rows (`answers`
    makes them answers): loading a page of customers with their relationships through the ORM cost more
    than running its statement."""
    shipper, consignee, columns = _listed()
    return (
        statement.with_only_columns(*columns)
        .outerjoin(shipper, shipper.c.customer_id == Customer.id)
        .outerjoin(consignee, consignee.c.customer_id == Customer.id)
    )


def answers(session: Session, rows: Sequence) -> list[dict]:
    """Turn the rows of `answered_rows` into what `get` gives, as dicts: the customer's fields with its
    `roles`, `team_ids`, `shipper_profile`, `consignee_profile` and `aliases` (read for those having any)."""
    shipper, consignee, _ = _listed()
    own, shipper_fields, consignee_fields = (
        [column.key for column in table.c] for table in (Customer.__table__, shipper, consignee)
    )
    starts = (
        len(own),
        len(own) + len(shipper_fields),
        len(own) + len(shipper_fields) + len(consignee_fields),
    )
    found, named = [], {}  # named: those with aliases, by id
    for row in rows:
        customer = dict(zip(own, row[: starts[0]], strict=True))
        profiles = (
            ("shipper", shipper_fields, row[starts[0] : starts[1]]),
            ("consignee", consignee_fields, row[starts[1] : starts[2]]),
        )
        customer["roles"] = []
        for role, fields, values in profiles:
            present = values[fields.index("customer_id")] is not None  # the key: none without the role
            customer[f"{role}_profile"] = dict(zip(fields, values, strict=True)) if present else None
            if present:
                customer["roles"].append(role)
        team, has_aliases = row[starts[2] :]
        customer["team_ids"] = sorted(int(user_id) for user_id in team.split(",")) if team else []
        customer["aliases"] = []
        if has_aliases:
            named[customer["id"]] = customer
        found.append(customer)
    if named:
        aliases = select(CustomerAlias.__table__).where(
            db.among(session.connection(), CustomerAlias.customer_id, named)
        )
        for alias in session.execute(aliases.order_by(CustomerAlias.id)).mappings():
            named[alias["customer_id"]]["aliases"].append(dict(alias))
    return found


def get(session: Session, *, user: User, customer_id: int, include_deleted: bool = False) -> Customer:
    """Return a customer the user may see, or raise NotFound (also for customers hidden from them)."""
    restricted = access.is_restricted(user)
    customer = (
        session.scalars(_one_whole(restricted=restricted), {"customer_id": customer_id, "user_id": user.id})
        .unique()
        .one_or_none()
    )
    if customer is None or (customer.deleted_at is not None and not include_deleted):
        raise NotFound(f"customer {customer_id} not found")
    return customer


@functools.cache
def _one_whole(*, restricted: bool) -> Select:
    """One customer with what its answer shows, as the user may see it (:customer_id, :user_id). Built
    once: building the statement and its four load options cost as much as running it."""
    seen = covered_by(user_id=bindparam("user_id")) if restricted else true()
    return answered_whole(select(Customer)).where(Customer.id == bindparam("customer_id"), seen)


def list_statement(
    *,
    user: User,
    include_deleted: bool = False,
    sort: str = "name",
    **filters,
) -> Select:
    """Build the filtered, sorted customer list query (filters: those of `_matching`)."""
    statement = _matching(user=user, **filters)
    if not include_deleted:
        statement = statement.where(Customer.deleted_at.is_(None))
    column = SORTS[sort.lstrip("-")]
    return statement.order_by(column.desc() if sort.startswith("-") else column.asc(), Customer.id)


def list_total(*, user: User, include_deleted: bool = False, sort: str = "name", **filters) -> Select:
    """Count what `list_statement` lists (its `sort` aside): the customers matching, less the deleted ones
    among them.

    Counting the live ones reads every customer's row (`deleted_at` is indexed only where set); the
    matching ones are counted from an index (the whole table's from its narrowest one), the deleted
    ones from that partial index.
    """
    matching = _matching(user=user, **filters).with_only_columns(Customer.id)
    counted = select(func.count()).select_from(matching.subquery())
    if include_deleted:
        return counted
    deleted = matching.where(Customer.deleted_at.is_not(None))
    return select(
        counted.scalar_subquery() - select(func.count()).select_from(deleted.subquery()).scalar_subquery()
    )


def _matching(
    *,
    user: User,
    role: str | None = None,
    tier=None,
    status=None,
    owner_id=None,
    region=None,
    industry=None,
    q: str | None = None,
    team_member_id: int | None = None,
) -> Select:
    """Select the customers `user` sees matching the filters, deleted or not (`team_member_id`: the
    accounts that user covers)."""
    statement = select(Customer)
    if access.is_restricted(user):  # no `WHERE true`: SQLite counts a whole table only without one
        statement = statement.where(visible(user=user))
    if team_member_id is not None:
        statement = statement.where(covered_by(user_id=team_member_id))
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
        statement = statement.where(_named(q))
    return statement


def _named(q: str):
    """SQL condition on Customer: its name or an alias contains `q` once normalised, or once both are
    transliterated and their spaces dropped (pinyin finds a Chinese name), or `q` is its external_ref."""
    pattern = names.search_pattern(q)
    compact = names.match_name(q).replace(" ", "")

    def matches(normalized, transliterated):
        found = normalized.like(pattern, escape="\\")
        if compact:
            found = or_(
                found, func.replace(transliterated, " ", "").like(names.like_pattern(compact), escape="\\")
            )
        return found

    aliases = select(CustomerAlias.customer_id).where(
        matches(CustomerAlias.normalized_name, CustomerAlias.match_name)
    )
    return or_(
        matches(Customer.normalized_name, Customer.match_name),
        Customer.id.in_(aliases),
        Customer.external_ref == q.strip(),
    )


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
    statement = _one_id(restricted=access.is_restricted(user), include_deleted=include_deleted)
    return session.scalar(statement, {"customer_id": customer_id, "user_id": user.id}) is not None


@functools.cache
def _one_id(*, restricted: bool, include_deleted: bool) -> Select:
    """The id of one customer if it exists for the user (:customer_id, :user_id); built once, as `_one_whole`."""
    seen = covered_by(user_id=bindparam("user_id")) if restricted else true()
    statement = select(Customer.id).where(Customer.id == bindparam("customer_id"), seen)
    return statement if include_deleted else statement.where(Customer.deleted_at.is_(None))


def require_visible(session: Session, *, user: User, customer_id: int, include_deleted: bool = False) -> None:
    """Raise NotFound unless the customer exists for this user, as `get` would, without loading it."""
    if not is_visible(session, user=user, customer_id=customer_id, include_deleted=include_deleted):
        raise NotFound(f"customer {customer_id} not found")


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
    return set(
        session.scalars(
            select(Customer.id).where(db.among(session.connection(), Customer.id, ids), visible(user=user))
        )
    )


def names_for(session: Session, *, user: User, ids: Iterable[int]) -> dict[int, str]:
    """Map the ids among `ids` of customers the user may see to their names."""
    ids = set(ids)
    if not ids:
        return {}
    rows = session.execute(
        select(Customer.id, Customer.name).where(
            db.among(session.connection(), Customer.id, ids), visible(user=user)
        )
    )
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


def with_derived_columns(values: dict) -> dict:
    """The values a bulk write stores: the columns derived from the name and the registration number, as
    the model's validators set them on an ORM write (Core inserts and updates bypass those)."""
    derived = {}
    if "name" in values:
        derived["normalized_name"] = names.normalize_name(values["name"])
        derived["match_name"] = names.match_name(values["name"])
    if "registration_number" in values:
        derived["registration_key"] = names.registration_key(values["registration_number"])
    return {**values, **derived}


DERIVED_COLUMNS = ("normalized_name", "match_name", "registration_key")


def team_change(before: Iterable[int], after: Iterable[int] | None) -> list | None:
    """[old, new] sorted team ids when `after` changes the team, else None."""
    before = sorted(before)
    if after is None or before == sorted(set(after)):
        return None
    return [before, sorted(set(after))]


def _team(session: Session, team_ids: list[int]) -> list[User]:
    users = session.scalars(select(User).where(db.among(session.connection(), User.id, set(team_ids)))).all()
    missing = sorted(set(team_ids) - {u.id for u in users})
    if missing:
        raise field_error("team_ids", f"unknown users {first_of(missing)}")
    return list(users)


# reason -> (field named in the 409, what a visible match is told, what a hidden one is told)
REASONS = {
    "registration_number": ("registration_number", "same registration number", "this registration number"),
    "name": ("name", "same name", "this name"),
    "similar_name": ("name", "similar name", "a similar name"),
}


def duplicates(session: Session, *, user: User, candidates: Sequence[Candidate]) -> list[Conflict | None]:
    """Check customers about to be written against the stored ones (see find_duplicates): the Conflict
    refusing each, or None. Two candidates of one batch are not compared with each other.

    Check-then-write is safe only one writer at a time per name, registration number and blocking key: the
    keys are locked until the transaction ends (PostgreSQL; SQLite writers hold the database's lock)."""
    db.lock_keys(
        session,
        (  # (a generator: computed only where locks are taken)
            key
            for c in candidates
            for written in ([c.name, *c.aliases],)
            for key in (
                *(f"customer-name:{names.normalize_name(text)}" for text in written),
                f"customer-registration:{names.registration_key(c.registration_number)}",
                *(f"customer-name-key:{key}" for text in written for key in names.name_keys(text)),
            )
        ),
    )
    conflicts: list[Conflict | None] = []
    for c, found in zip(candidates, find_duplicates(session, candidates=candidates), strict=True):
        if found is None or (c.allow_duplicate and found.reason != "registration_number"):
            conflicts.append(None)
        else:
            seen = is_visible(session, user=user, customer_id=found.customer.id, include_deleted=True)
            conflicts.append(duplicate_conflict(found, visible=seen))
    return conflicts


def duplicate_conflict(found: Duplicate, *, visible: bool) -> Conflict:
    """The refusal of a probable duplicate, naming the existing customer only to a user who sees it."""
    field, same, what = REASONS[found.reason]
    insistable = found.reason != "registration_number"
    score = f" (match score {found.score:.2f})" if found.reason == "similar_name" else ""
    extra = {"allow_duplicate": insistable, "match_score": found.score}
    if visible:
        return Conflict(
            f"probable duplicate of customer {found.customer.id} ({found.customer.name}): {same}{score}",
            errors={"json": {field: ["matches an existing customer"]}},
            existing_id=found.customer.id,
            **extra,
        )
    # A customer the caller may not see is never named, but the same company must not be entered twice.
    insist = " (or send allow_duplicate=true if it is another company)" if insistable else ""
    return Conflict(
        f"a customer with {what} already exists{score}; ask a manager{insist}",
        errors={"json": {field: ["matches an existing customer"]}},
        **extra,
    )


def refuse_duplicate(session: Session, user: User, candidate: Candidate) -> None:
    """Raise the Conflict when the candidate is probably a stored customer (see duplicates)."""
    [conflict] = duplicates(session, user=user, candidates=[candidate])
    if conflict is not None:
        raise conflict


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
    refuse_duplicate(
        session,
        user,
        Candidate(data["name"], data.get("registration_number"), allow_duplicate=allow_duplicate),
    )
    customer = Customer(**data, team=_team(session, team_ids))
    session.add(customer)
    session.flush()
    reindex_names(session, customer_ids=[customer.id])
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
        refuse_duplicate(
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
    diff = audit.apply_changes(customer, changes)
    if "name" in diff:
        reindex_names(session, customer_ids=[customer.id])
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
    refuse_duplicate(session, user, Candidate(customer.name, None, exclude_id=customer.id))
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


def monthly_lifecycle(session: Session, *, user: User, months: list[dt.date]) -> list[dict]:
    """Count, per month (given by its first day), the accounts the user may see that were active at its
    start, won in it and lost in it; an account without acquired_on counts from its creation."""
    rows = session.execute(
        select(Customer.acquired_on, Customer.created_at, Customer.churned_on).where(
            visible(user=user), Customer.deleted_at.is_(None)
        )
    ).all()
    spans = [(acquired or created.date(), churned) for acquired, created, churned in rows]
    found = []
    for start in months:
        end = (start + dt.timedelta(days=32)).replace(day=1)
        found.append(
            {
                "month": start,
                "active_at_start": sum(a < start and (c is None or c >= start) for a, c in spans),
                "won": sum(start <= a < end for a, _c in spans),
                "lost": sum(c is not None and start <= c < end for _a, c in spans),
            }
        )
    return found


def regions(session: Session, *, user: User) -> list[str]:
    """The regions of the live accounts the user may see, in order."""
    statement = (
        select(Customer.region)
        .where(visible(user=user), Customer.deleted_at.is_(None), Customer.region.is_not(None))
        .distinct()
        .order_by(Customer.region)
    )
    return list(session.scalars(statement))


def coverage_counts(session: Session) -> dict[int, dict[str, int]]:
    """Per user: the live accounts it owns and those whose team it is on."""
    live = Customer.deleted_at.is_(None)
    counts: dict[int, dict[str, int]] = {}
    owned = select(Customer.owner_id, func.count()).where(live, Customer.owner_id.is_not(None))
    for user_id, count in session.execute(owned.group_by(Customer.owner_id)):
        counts.setdefault(user_id, {"owned": 0, "team": 0})["owned"] = count
    on_team = (
        select(customer_team.c.user_id, func.count())
        .join(Customer, Customer.id == customer_team.c.customer_id)
        .where(live)
        .group_by(customer_team.c.user_id)
    )
    for user_id, count in session.execute(on_team):
        counts.setdefault(user_id, {"owned": 0, "team": 0})["team"] = count
    return counts
