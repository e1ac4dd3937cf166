"""The people side of account teams: what a user covers and holds, and handing all of it over.

A handover moves, in one transaction, the accounts a user owns and its seats on teams (with their roles),
its open tasks and open tickets (to the new user where it sees the account after the move; left
unassigned otherwise) and its alert subscriptions, records the move in each account's history and, by
default, deactivates the user. Deactivating a user any other way is refused (users.service.update).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from logicrm import db
from logicrm.customers import service as customers
from logicrm.customers import teams
from logicrm.customers.models import Customer, customer_team
from logicrm.errors import Conflict, field_error
from logicrm.health import subscriptions
from logicrm.health.models import Alert, AlertState
from logicrm.tasks import service as tasks
from logicrm.tickets import service as tickets
from logicrm.users import service as users
from logicrm.users.models import User, UserRole

TAKERS = (UserRole.ADMIN, UserRole.MANAGER, UserRole.ACCOUNT_MANAGER)


def holdings(session: Session, *, user_id: int) -> dict[str, int]:
    """What a user covers: accounts owned, team seats, open tasks, open tickets, alert subscriptions."""
    owned = session.scalar(select(func.count()).select_from(Customer).where(Customer.owner_id == user_id))
    seats = session.scalar(
        select(func.count()).select_from(customer_team).where(customer_team.c.user_id == user_id)
    )
    return {
        "accounts": owned,
        "team_seats": seats,
        "open_tasks": tasks.count_open(session, assignee_id=user_id),
        "open_tickets": tickets.count_open(session, assignee_id=user_id),
        "subscriptions": subscriptions.count(session, user_id=user_id),
    }


def hand_over(
    session: Session, *, user: User, from_user_id: int, to_user_id: int | None, deactivate: bool
) -> dict:
    """Move everything `from_user_id` covers to `to_user_id` and (by default) deactivate it."""
    leaving = users.get(session, user_id=from_user_id)
    before = holdings(session, user_id=leaving.id)
    if to_user_id is None:
        if any(before.values()):
            raise Conflict(
                f"user {leaving.id} still covers {_listed(before)}: name to_user_id to hand them over",
                errors={"json": {"to_user_id": ["required while the user covers anything"]}},
            )
        moved = {}
    else:
        taking = _taker(session, to_user_id, leaving)
        moved = {
            **teams.hand_over(session, user=user, from_user=leaving, to_user=taking),
            **tasks.reassign_open(session, user=user, from_user=leaving, to_user=taking),
            **tickets.reassign_open(session, user=user, from_user=leaving, to_user=taking),
            "subscriptions": subscriptions.hand_over(session, from_user=leaving, to_user=taking),
        }
    if deactivate and leaving.active:
        users.deactivate(session, user=leaving)
    return {
        "from_user_id": leaving.id,
        "to_user_id": to_user_id,
        "deactivated": not leaving.active,
        "before": before,
        "moved": moved,
        "after": holdings(session, user_id=leaving.id),
    }


def _taker(session: Session, to_user_id: int, leaving: User) -> User:
    if to_user_id == leaving.id:
        raise field_error("to_user_id", "hand over to another user")
    taking = session.get(User, to_user_id)
    if taking is None or not taking.active or taking.role not in TAKERS:
        raise field_error(
            "to_user_id", f"user {to_user_id} is not an active admin, manager or account manager"
        )
    return taking


def _listed(found: dict[str, int]) -> str:
    return ", ".join(f"{count} {what.replace('_', ' ')}" for what, count in found.items() if count)


def me(session: Session, *, user: User) -> dict:
    """The caller: who it is, the accounts it owns, the teams it is on (with its role), what is open."""
    covered = teams.covered_by(session, user_id=user.id)
    seats = dict(
        session.execute(
            select(customer_team.c.customer_id, customer_team.c.role).where(
                customer_team.c.user_id == user.id
            )
        ).all()
    )
    names = {  # the columns an account line shows, not whole customers with their relationships
        row.id: row
        for row in session.execute(
            select(Customer.id, Customer.name, Customer.tier, Customer.status).where(
                db.among(session.connection(), Customer.id, covered["owned"] + covered["team"])
            )
        )
    }
    mine = customers.visible_ids(user=user)
    open_alerts = session.scalar(
        select(func.count())
        .select_from(Alert)
        .where(
            Alert.state != AlertState.RESOLVED,
            db.among(session.connection(), Alert.customer_id, covered["owned"] + covered["team"]),
            Alert.customer_id.in_(mine),
        )
    )
    return {
        "user": user,
        "accounts": [_account(names[customer_id]) for customer_id in covered["owned"]],
        "teams": [
            {**_account(names[customer_id]), "role": str(seats[customer_id])}
            for customer_id in covered["team"]
        ],
        "open_tasks": tasks.count_open(session, assignee_id=user.id),
        "open_tickets": tickets.count_open(session, assignee_id=user.id),
        "open_alerts": open_alerts,
    }


def _account(customer) -> dict:
    return {
        "customer_id": customer.id,
        "name": customer.name,
        "tier": customer.tier,
        "status": customer.status,
    }


def team(session: Session, *, user: User, customer_id: int) -> tuple[Customer, list[dict]]:
    """A visible account and its team, owner first."""
    customer = customers.get(session, user=user, customer_id=customer_id)
    return customer, teams.members(session, customer=customer)
