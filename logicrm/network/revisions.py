"""Data revisions: counters bumped in the same transaction as any write that changes scores.

Every API worker caches the network graph and the computed scores; a cache entry is valid while the
revision it was built at is still current, so a write in one worker invalidates all of them.
`network` moves when links or shipments change (the graph), `scores` when anything scored changes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import String, event, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from logicrm.audit.models import AuditEvent
from logicrm.db import Base
from logicrm.lanes.models import Link, Shipment
from logicrm.users.models import ApiKey, User

NETWORK = "network"
SCORES = "scores"
UNSCORED = (AuditEvent, ApiKey, User)


class Revision(Base):
    __tablename__ = "revisions"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)


def bump(session: Session, *names: str) -> None:
    """Advance revisions in the current transaction (bulk statements that bypass the ORM call this)."""
    connection = session.connection()
    for name in names:
        connection.execute(update(Revision).where(Revision.name == name).values(value=Revision.value + 1))


def current(session: Session) -> tuple[int, int]:
    """Return the (network, scores) revisions."""
    values = dict(session.execute(select(Revision.name, Revision.value)).all())
    return values.get(NETWORK, 0), values.get(SCORES, 0)


_DEFERRED = "logicrm.revisions.deferred"


@contextlib.contextmanager
def deferred(session: Session) -> Iterator[None]:
    """Collect the bumps of every flush inside and make them once at the end.

    A long import flushes thousands of times in one transaction; on PostgreSQL each bump of the same
    row leaves a dead version that the next one has to step over, so per-flush bumps slow it down
    quadratically.
    """
    session.info[_DEFERRED] = set()
    try:
        yield
    except BaseException:
        session.info.pop(_DEFERRED, None)
        raise
    names = session.info.pop(_DEFERRED)
    if names:
        bump(session, *sorted(names))


@event.listens_for(Session, "after_flush")
def _bump_on_flush(session: Session, _context) -> None:
    changed = [
        obj for obj in (*session.new, *session.dirty, *session.deleted) if not isinstance(obj, Revision)
    ]
    scored = [obj for obj in changed if not isinstance(obj, UNSCORED)]
    if not scored:
        return
    names = [SCORES]
    if any(isinstance(obj, Link | Shipment) for obj in scored):
        names.append(NETWORK)
    if _DEFERRED in session.info:
        session.info[_DEFERRED].update(names)
        return
    bump(session, *names)
