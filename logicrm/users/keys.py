"""API keys: shown once, stored as SHA-256, compared in constant time, revocable."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import secrets

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session, contains_eager

from logicrm.db import utcnow
from logicrm.errors import NotFound
from logicrm.users.models import ApiKey, User

KEY_PREFIX = "lcrm"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create(session: Session, *, user: User, label: str | None = None) -> tuple[ApiKey, str]:
    """Create an API key for a user; return the row and the plaintext key (shown once)."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(user=user, prefix=prefix, secret_hash=_hash(secret), label=label)
    session.add(key)
    session.flush()
    return key, f"{KEY_PREFIX}_{prefix}_{secret}"


def live_counts(session: Session, *, user_ids) -> dict[int, int]:
    """The number of unrevoked keys of each of `user_ids` (users without one are left out)."""
    rows = session.execute(
        select(ApiKey.user_id, func.count())
        .where(ApiKey.user_id.in_(list(user_ids)), ApiKey.revoked_at.is_(None))
        .group_by(ApiKey.user_id)
    )
    return {user_id: count for user_id, count in rows}


def revoke(session: Session, *, key_id: int) -> ApiKey:
    """Revoke a key; revoking twice is harmless."""
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"API key {key_id} not found")
    key.revoked_at = key.revoked_at or utcnow()
    return key


def revoke_labelled(session: Session, *, user: User, label: str) -> int:
    """Revoke the user's live keys of this label; return how many."""
    live = session.scalars(
        select(ApiKey).where(ApiKey.user_id == user.id, ApiKey.label == label, ApiKey.revoked_at.is_(None))
    ).all()
    for key in live:
        key.revoked_at = utcnow()
    return len(live)


def authenticate(session: Session, *, token: str) -> ApiKey | None:
    """Return the live key matching a presented token, with its user (one statement), or None."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    key = session.scalar(_by_prefix(), {"prefix": parts[1]})
    if key is None or key.revoked_at is not None or not key.user.active:
        return None
    return key if hmac.compare_digest(key.secret_hash, _hash(parts[2])) else None


@functools.cache
def _by_prefix() -> Select:
    """The key of a :prefix with its user, in one statement; built once (every API request runs it, and
    building it cost about as much as running it)."""
    return (
        select(ApiKey)
        .join(ApiKey.user)
        .options(contains_eager(ApiKey.user))
        .where(ApiKey.prefix == bindparam("prefix"))
    )


def needs_touch(key: ApiKey, *, resolution_s: int, now: dt.datetime) -> bool:
    """Tell whether last_used_at is stale enough to write (avoids a write per request)."""
    return key.last_used_at is None or (now - key.last_used_at).total_seconds() >= resolution_s


def touch(session: Session, *, key_id: int, now: dt.datetime) -> None:
    """Record that a key was used."""
    session.get(ApiKey, key_id).last_used_at = now
