"""Bearer-key authentication: every API request resolves its key to a user (g.user) before any view runs."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

from flask import current_app, g, request
from sqlalchemy.orm import Session

from logicrm.api import extra_writers, is_read_only_request, session
from logicrm.db import utcnow
from logicrm.errors import Forbidden, Unauthorized
from logicrm.users import keys as api_keys
from logicrm.users.models import User, UserRole

WRITERS = frozenset({UserRole.ADMIN, UserRole.MANAGER, UserRole.ACCOUNT_MANAGER})
# Keys are URL-safe base64 and underscores; anything else is no key, and is refused before it reaches the
# database (a NUL byte would break a PostgreSQL lookup).
KEY_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,200}")


def may_write(user: User) -> bool:
    """Tell whether the user's role may write at all (viewers and planners only read)."""
    return user.role in WRITERS


def record_key_use() -> None:
    """Write the request's key's last use, if due, once the request's session has ended: in a writer of
    its own (a writing request holds SQLite's write lock until its session ends)."""
    due = g.pop("key_use", None)
    if due is not None:
        key_id, now = due
        with current_app.extensions["logicrm.db"].session_scope() as db:
            api_keys.touch(db, key_id=key_id, now=now)


@contextlib.contextmanager
def _reader() -> Iterator[Session]:
    """The session the key is read in. A read: the request's own, so the view reads on in the same
    transaction. A write: a reader of its own, closed at once, so the request's writer takes SQLite's
    write lock only when its view starts (a view may first hand work to a writer of its own).

    The read's transaction ends with the key read: on SQLite a transaction reads one snapshot, and the
    view must see what is committed when it starts (a view may first write in a session of its own, as
    reading import jobs recovers the abandoned ones)."""
    if is_read_only_request():
        request_session = session()
        yield request_session
        request_session.commit()  # nothing to commit: ends the snapshot; expire_on_commit is off
    else:
        with current_app.extensions["logicrm.db"].session(write=False) as own:
            yield own


def authenticate_request() -> None:
    """Resolve the bearer key into g.user; refuse writes by read-only roles (but where a view lets them)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("missing bearer API key", headers={"WWW-Authenticate": "Bearer"})
    with _reader() as db:
        key = api_keys.authenticate(db, token=token) if KEY_SHAPE.fullmatch(token) else None
        if key is None:
            raise Unauthorized("invalid or revoked API key", headers={"WWW-Authenticate": "Bearer"})
        user, now = key.user, utcnow()
    if api_keys.needs_touch(
        key, resolution_s=current_app.config["LOGICRM"].key_last_used_resolution_s, now=now
    ):
        g.key_use = (key.id, now)
    g.user = user
    if not is_read_only_request() and not may_write(user) and user.role not in extra_writers():
        raise Forbidden(f"role {user.role} may not write")
