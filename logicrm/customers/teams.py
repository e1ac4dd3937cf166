"""An account's team: the owner and the members with their roles (executive sponsor, second account
manager, service agent), who stands for a role on an account, and moving coverage from one user to another.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from logicrm import access, db
from logicrm.audit import service as audit
from logicrm.customers.models import Customer, TeamRole, customer_team
from logicrm.db import utcnow
from logicrm.errors import Forbidden, field_error
from logicrm.users.models import User

OWNER = "owner"


def members(session: Session, *, customer: Customer) -> list[dict]:
    """The team of an account, owner first, then members by user id: user id, name, role, active."""
    team = session.execute(
        select(User.id, User.name, User.active, customer_team.c.role)
        .join(customer_team, customer_team.c.user_id == User.id)
        .where(customer_team.c.customer_id == customer.id)
        .order_by(User.id)
    ).all()
    owner = session.get(User, customer.owner_id) if customer.owner_id is not None else None
    found = (
        [{"user_id": owner.id, "name": owner.name, "role": OWNER, "active": owner.active}] if owner else []
    )
    return found + [
        {"user_id": row.id, "name": row.name, "role": str(row.role), "active": row.active} for row in team
    ]


def replace(session: Session, *, user: User, customer: Customer, team: list[dict]) -> list[dict]:
    """Set the account's team members and their roles (managers and admins); record the change."""
    if not access.manages_teams(user):
        raise Forbidden(
            "team: an account's owner and team are set by managers and admins",
            errors={"json": {"members": ["only managers and admins change who covers an account"]}},
        )
    wanted = {}
    for index, member in enumerate(team):
        if member["user_id"] in wanted:
            raise _member_error(index, "user_id", f"user {member['user_id']} is listed twice")
        wanted[member["user_id"]] = TeamRole(member["role"])
    found = {
        u.id: u for u in session.scalars(select(User).where(db.among(session.connection(), User.id, wanted)))
    }
    for index, member in enumerate(team):
        person = found.get(member["user_id"])
        if person is None:
            raise _member_error(index, "user_id", f"unknown user {member['user_id']}")
        if not person.active:
            raise _member_error(index, "user_id", f"user {person.id} is deactivated")
    before = _roles(session, customer.id)
    session.execute(delete(customer_team).where(customer_team.c.customer_id == customer.id))
    if wanted:
        session.execute(
            insert(customer_team),
            [{"customer_id": customer.id, "user_id": uid, "role": role} for uid, role in wanted.items()],
        )
    after = {uid: str(role) for uid, role in wanted.items()}
    if after != before:
        customer.updated_at = utcnow()  # a new version: an ETag read before no longer matches
        session.flush()
        session.expire(customer, ["team"])
        audit.record(
            session,
            user=user,
            entity="customer",
            entity_id=customer.id,
            customer_id=customer.id,
            action="update",
            changes={"team": [_listed(before), _listed(after)]},
        )
    return members(session, customer=customer)


def _member_error(index: int, field: str, message: str):
    error = field_error("members", message)
    error.errors = {"json": {"members": {str(index): {field: [message]}}}}
    return error


def _roles(session: Session, customer_id: int) -> dict[int, str]:
    rows = session.execute(
        select(customer_team.c.user_id, customer_team.c.role).where(
            customer_team.c.customer_id == customer_id
        )
    )
    return {user_id: str(role) for user_id, role in rows}


def _listed(roles: dict[int, str]) -> list[dict]:
    return [{"user_id": user_id, "role": role} for user_id, role in sorted(roles.items())]


def people(session: Session, *, customer_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Per account, who stands for each role: "owner" and each team role, active users only (the lowest
    user id where a role has several)."""
    ids = set(customer_ids)
    found: dict[int, dict[str, int]] = {customer_id: {} for customer_id in ids}
    if not ids:
        return found
    owners = session.execute(
        select(Customer.id, Customer.owner_id)
        .join(User, User.id == Customer.owner_id)
        .where(db.among(session.connection(), Customer.id, ids), User.active)
    )
    for customer_id, owner_id in owners:
        found[customer_id][OWNER] = owner_id
    team = session.execute(
        select(customer_team.c.customer_id, customer_team.c.role, customer_team.c.user_id)
        .join(User, User.id == customer_team.c.user_id)
        .where(db.among(session.connection(), customer_team.c.customer_id, ids), User.active)
        .order_by(customer_team.c.user_id.desc())
    )
    for customer_id, role, user_id in team:
        found[customer_id][str(role)] = user_id  # descending ids: the lowest is written last
    return found


def person_for(session: Session, *, customer_id: int, who: str) -> int | None:
    """The active user standing for `who` ("owner" or a team role) on an account, falling back to the
    owner; None when the account has no active owner either."""
    stands = people(session, customer_ids=[customer_id])[customer_id]
    return stands.get(who, stands.get(OWNER))


def team_members(session: Session, *, customer_ids: Iterable[int]) -> dict[int, list[int]]:
    """The active members (not the owner) of each account's team."""
    ids = set(customer_ids)
    rows = session.execute(
        select(customer_team.c.customer_id, customer_team.c.user_id)
        .join(User, User.id == customer_team.c.user_id)
        .where(db.among(session.connection(), customer_team.c.customer_id, ids), User.active)
        .order_by(customer_team.c.customer_id, customer_team.c.user_id)
    )
    found: dict[int, list[int]] = {customer_id: [] for customer_id in ids}
    for customer_id, user_id in rows:
        found[customer_id].append(user_id)
    return found


def covered_by(session: Session, *, user_id: int) -> dict[str, list[int]]:
    """The accounts a user owns and those whose team it is on (live accounts)."""
    owned = session.scalars(
        select(Customer.id).where(Customer.owner_id == user_id, Customer.deleted_at.is_(None))
    ).all()
    seats = session.scalars(
        select(customer_team.c.customer_id)
        .join(Customer, Customer.id == customer_team.c.customer_id)
        .where(customer_team.c.user_id == user_id, Customer.deleted_at.is_(None))
    ).all()
    return {"owned": sorted(owned), "team": sorted(seats)}


def hand_over(session: Session, *, user: User, from_user: User, to_user: User) -> dict[str, int]:
    """Move the accounts `from_user` owns and its team seats (with their roles) to `to_user`, recording
    the change in each account's history; a seat `to_user` already holds on that team, or on an
    account it now owns, is dropped. Deleted accounts move too, so a restore finds an owner."""
    owned = session.scalars(select(Customer).where(Customer.owner_id == from_user.id)).all()
    seats = dict(
        session.execute(
            select(customer_team.c.customer_id, customer_team.c.role).where(
                customer_team.c.user_id == from_user.id
            )
        ).all()
    )
    theirs = set(
        session.scalars(select(customer_team.c.customer_id).where(customer_team.c.user_id == to_user.id))
    )
    owned_ids = {customer.id for customer in owned}
    owned_before = set(session.scalars(select(Customer.id).where(Customer.owner_id == to_user.id)))
    for customer in owned:
        customer.owner_id = to_user.id
        customer.updated_at = utcnow()
    session.execute(
        delete(customer_team).where(
            customer_team.c.user_id == to_user.id,
            db.among(session.connection(), customer_team.c.customer_id, owned_ids),
        )
    )
    dropped = theirs | owned_ids | owned_before
    session.execute(
        delete(customer_team).where(
            customer_team.c.user_id == from_user.id,
            db.among(session.connection(), customer_team.c.customer_id, dropped),
        )
    )
    session.execute(
        update(customer_team).where(customer_team.c.user_id == from_user.id).values(user_id=to_user.id)
    )
    moved_seats = set(seats) - owned_ids
    moved = select(Customer).where(db.among(session.connection(), Customer.id, moved_seats - owned_ids))
    for customer in session.scalars(moved):
        customer.updated_at = utcnow()
    session.flush()
    for customer_id in sorted(owned_ids | set(seats)):
        changes = {}
        if customer_id in owned_ids:
            changes["owner_id"] = [from_user.id, to_user.id]
        if customer_id in seats:
            kept = customer_id not in dropped
            changes["team"] = [
                {"user_id": from_user.id, "role": str(seats[customer_id])},
                {"user_id": to_user.id, "role": str(seats[customer_id])} if kept else None,
            ]
        audit.record(
            session,
            user=user,
            entity="customer",
            entity_id=customer_id,
            customer_id=customer_id,
            action="handover",
            changes=changes,
        )
    session.expire_all()
    return {"accounts": len(owned_ids), "team_seats": len(seats)}
