"""Passwords and sign-in to the web workspace: scrypt hashes, and attempts throttled per email and address.

After `max_failures` failed sign-ins for one email within `window_s` (or 4 times as many from one client
address), sign-in is refused until `window_s` has passed since the last failure. Refused attempts are
not counted, so a refusal lasts at most one window; a success clears the email's count. An unknown
email, a wrong password and an inactive user get the same answer in the same time.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import dataclass

from sqlalchemy import delete, func, or_, select, true
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from logicrm.errors import field_error
from logicrm.users.models import LoginAttempt, User

MIN_LENGTH = 10
MAX_LENGTH = 200
ADDRESS_FACTOR = 4  # an office behind one address holds several people


@dataclass(frozen=True)
class Throttle:
    """How many failures within how long refuse further sign-ins."""

    max_failures: int
    window_s: int


@dataclass(frozen=True)
class SignIn:
    """The outcome of one attempt: the user, or why not (`retry_after_s` set when throttled)."""

    user: User | None
    retry_after_s: int | None = None


def hash_password(password: str) -> str:
    """Check a new password's length and return its scrypt hash."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise field_error("password", f"must be {MIN_LENGTH} to {MAX_LENGTH} characters long")
    return generate_password_hash(password, method="scrypt")


def set_password(session: Session, *, user: User, password: str) -> None:
    """Give a user a new password; sessions signed in with the old one end (see web.login)."""
    user.password_hash = hash_password(password)
    session.flush()


@functools.cache
def _unknown_user_hash() -> str:
    return generate_password_hash("no user has this password", method="scrypt")


def sign_in(
    session: Session, *, email: str, password: str, address: str, now: dt.datetime, throttle: Throttle
) -> SignIn:
    """Check an email and password, record the attempt and return the outcome (the caller commits)."""
    email = email.strip().lower()[:254]
    address = address[:45]
    wait = _wait(session, email=email, address=address, now=now, throttle=throttle)
    if wait is not None:
        return SignIn(None, retry_after_s=wait)
    user = session.scalar(select(User).where(User.email == email))
    stored = user.password_hash if user is not None and user.password_hash else _unknown_user_hash()
    valid = check_password_hash(stored, password) and user is not None and user.active
    valid = valid and bool(user.password_hash)
    cutoff = now - dt.timedelta(seconds=throttle.window_s)
    session.execute(
        delete(LoginAttempt).where(
            or_(LoginAttempt.email == email, LoginAttempt.address == address), LoginAttempt.at < cutoff
        )
    )
    session.add(LoginAttempt(email=email, address=address, at=now, succeeded=valid))
    session.flush()
    return SignIn(user if valid else None)


def _wait(session: Session, *, email: str, address: str, now: dt.datetime, throttle: Throttle) -> int | None:
    """Seconds until this email and address may try again, or None when they may now."""
    since = now - dt.timedelta(seconds=throttle.window_s)
    last_success = (
        select(func.max(LoginAttempt.at))
        .where(LoginAttempt.email == email, LoginAttempt.succeeded)
        .scalar_subquery()
    )
    counted = (
        (
            LoginAttempt.email == email,
            throttle.max_failures,
            LoginAttempt.at > func.coalesce(last_success, since),
        ),
        (LoginAttempt.address == address, throttle.max_failures * ADDRESS_FACTOR, true()),
    )
    waits = []
    for who, limit, after_success in counted:
        failures, last = session.execute(
            select(func.count(), func.max(LoginAttempt.at)).where(
                who, ~LoginAttempt.succeeded, LoginAttempt.at > since, after_success
            )
        ).one()
        if failures >= limit:
            waits.append(math.ceil((last - since).total_seconds()))
    return max(waits) if waits else None
