"""Who hears of an account's alerts, and how.

An alert reaches the account's active owner, the active members of its team and the active users who
subscribed to the account, each only if they may see the account. An account with no active owner (none,
or deactivated) reaches the active managers instead of the owner. Each person chooses per severity:
immediate (an email at once, and in the digest), digest (in the run's digest) or off; without a choice,
digest. A deactivated user hears nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from logicrm import db
from logicrm.customers import service as customers
from logicrm.customers import teams
from logicrm.errors import field_error
from logicrm.health.models import AlertPreference, AlertSubscription, DeliveryMode
from logicrm.users.models import User, UserRole

SEVERITIES = ("low", "medium", "high")
DEFAULT_MODE = DeliveryMode.DIGEST


@dataclass(frozen=True)
class Reached:
    """A person an account's alerts reach, why, and how they want each severity."""

    user: User
    reason: str  # owner | team | subscriber | manager
    modes: dict[str, DeliveryMode]


def preferences(session: Session, *, user_ids: Iterable[int]) -> dict[int, dict[str, DeliveryMode]]:
    """Each user's mode per severity (the default where they chose none)."""
    ids = set(user_ids)
    found = {user_id: dict.fromkeys(SEVERITIES, DEFAULT_MODE) for user_id in ids}
    for row in session.scalars(select(AlertPreference).where(AlertPreference.user_id.in_(ids))):
        found[row.user_id] = {severity: getattr(row, severity) for severity in SEVERITIES}
    return found


def reached(session: Session, *, customer_ids: Iterable[int]) -> dict[int, list[Reached]]:
    """Per account, the people its alerts reach (see the module's doc), each once."""
    ids = set(customer_ids)
    stands = teams.people(session, customer_ids=ids)
    members = teams.team_members(session, customer_ids=ids)
    subscribers: dict[int, list[int]] = {customer_id: [] for customer_id in ids}
    for customer_id, user_id in session.execute(
        select(AlertSubscription.customer_id, AlertSubscription.user_id).where(
            db.among(session.connection(), AlertSubscription.customer_id, ids)
        )
    ):
        subscribers[customer_id].append(user_id)
    managers = session.scalars(select(User.id).where(User.role == UserRole.MANAGER, User.active)).all()
    wanted: dict[int, list[tuple[int, str]]] = {}
    for customer_id in ids:
        owner = stands[customer_id].get(teams.OWNER)
        people = [(owner, "owner")] if owner is not None else [(m, "manager") for m in managers]
        people += [(m, "team") for m in members[customer_id]]
        people += [(s, "subscriber") for s in subscribers[customer_id]]
        first_reason: dict[int, str] = {}
        for user_id, why in people:
            first_reason.setdefault(user_id, why)
        wanted[customer_id] = list(first_reason.items())
    user_ids = {user_id for people in wanted.values() for user_id, _why in people}
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(user_ids), User.active))}
    modes = preferences(session, user_ids=users)
    sees = {user_id: customers.visible_among(session, user=user, ids=ids) for user_id, user in users.items()}
    return {
        customer_id: [
            Reached(users[user_id], why, modes[user_id])
            for user_id, why in people
            if user_id in users and customer_id in sees[user_id]
        ]
        for customer_id, people in wanted.items()
    }


def settings_of(session: Session, *, user: User) -> dict:
    """A user's alert settings: mode per severity and the accounts subscribed to (that it still sees)."""
    subscribed = session.scalars(
        select(AlertSubscription.customer_id)
        .where(AlertSubscription.user_id == user.id)
        .order_by(AlertSubscription.customer_id)
    ).all()
    seen = customers.visible_among(session, user=user, ids=subscribed)
    return {
        "modes": preferences(session, user_ids=[user.id])[user.id],
        "customer_ids": [customer_id for customer_id in subscribed if customer_id in seen],
    }


def replace(session: Session, *, user: User, modes: dict[str, DeliveryMode], customer_ids: list[int]) -> dict:
    """Set a user's modes (severities left out keep theirs) and the accounts it subscribes to."""
    seen = customers.existing(session, user=user, ids=customer_ids)  # one query, however long the list
    for index, customer_id in enumerate(customer_ids):
        if customer_id not in seen:
            error = field_error("customer_ids", f"unknown customer {customer_id}")
            error.errors = {"json": {"customer_ids": {str(index): [f"unknown customer {customer_id}"]}}}
            raise error
    row = session.get(AlertPreference, user.id)
    if row is None:
        row = AlertPreference(user_id=user.id, **dict.fromkeys(SEVERITIES, DEFAULT_MODE))
        session.add(row)
    for severity, mode in modes.items():
        setattr(row, severity, mode)
    session.execute(delete(AlertSubscription).where(AlertSubscription.user_id == user.id))
    session.add_all(
        AlertSubscription(user_id=user.id, customer_id=customer_id)
        for customer_id in dict.fromkeys(customer_ids)
    )
    session.flush()
    return settings_of(session, user=user)


def hand_over(session: Session, *, from_user: User, to_user: User) -> int:
    """Move `from_user`'s subscriptions to `to_user` (those it already has are dropped); return how many."""
    theirs = set(
        session.scalars(select(AlertSubscription.customer_id).where(AlertSubscription.user_id == to_user.id))
    )
    moving = session.scalars(select(AlertSubscription).where(AlertSubscription.user_id == from_user.id)).all()
    for subscription in moving:
        if subscription.customer_id in theirs:
            session.delete(subscription)
        else:
            subscription.user_id = to_user.id
    session.flush()
    return len(moving)


def count(session: Session, *, user_id: int) -> int:
    """How many accounts a user subscribes to."""
    return len(
        session.scalars(select(AlertSubscription.id).where(AlertSubscription.user_id == user_id)).all()
    )
