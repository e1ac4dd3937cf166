"""Users of LogiCRM: created, read and changed by administrators (their keys: users/keys.py)."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from logicrm.errors import Conflict, NotFound
from logicrm.users.models import User, UserRole


def create(session: Session, *, name: str, email: str, role: UserRole) -> User:
    """Create a user; emails are unique."""
    email = email.strip().lower()
    if session.scalar(select(User.id).where(User.email == email)):
        raise Conflict(f"a user with email {email} exists", errors={"json": {"email": ["already in use"]}})
    user = User(name=name, email=email, role=UserRole(role))
    session.add(user)
    session.flush()
    return user


def list_statement(*, role: UserRole | None = None) -> Select:
    """Select users, oldest first, optionally of one role."""
    statement = select(User).order_by(User.id)
    return statement.where(User.role == role) if role else statement


def get(session: Session, *, user_id: int) -> User:
    """Return one user or raise NotFound."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return user


def get_by_email(session: Session, *, email: str) -> User:
    """Return the user with this email or raise NotFound."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"no user with email {email}")
    return user


def update(session: Session, *, user: User, changes: dict) -> User:
    """Change a user's fields; the email stays unique. Deactivating goes through a handover (teams), so
    that nothing the user covers is left without someone."""
    if changes.get("active") is False and user.active:
        raise Conflict(
            f"deactivate user {user.id} with POST /users/{user.id}/handover, which first moves its accounts, "
            "open tasks, open tickets and alert subscriptions to another user",
            errors={"json": {"active": ["deactivate through POST /users/{id}/handover"]}},
        )
    if "email" in changes:
        changes = {**changes, "email": changes["email"].strip().lower()}
        taken = session.scalar(select(User.id).where(User.email == changes["email"], User.id != user.id))
        if taken:
            raise Conflict(
                f"a user with email {changes['email']} exists", errors={"json": {"email": ["already in use"]}}
            )
    for field, value in changes.items():
        setattr(user, field, value)
    session.flush()
    return user


def deactivate(session: Session, *, user: User) -> User:
    """Deactivate a user (its keys stop working); callers hand over what it covers first."""
    user.active = False
    session.flush()
    return user
