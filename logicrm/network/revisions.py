"""Data revisions: counters bumped in the same transaction as any write that changes scores.

Every API worker caches the network graph and the computed scores; a cache entry is valid while the
revision it was built at is still current, so a write in one worker invalidates all of them.
`network` moves when links or shipments change (the graph), `scores` when anything scored changes.
"""

from __future__ import annotations

from sqlalchemy import String, event, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from logicrm.audit.models import AuditEvent
from logicrm.db import Base
from logicrm.network.models import Link, Shipment
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
    bump(session, *names)
