"""Data revisions: counters bumped in the same transaction as any write to what the scores are computed from.

Every API worker caches the network graph and the computed scores; a cache entry is valid while the
revision it was built at is still current, so a write in one worker invalidates all of them.
`network` moves when links or shipments change (the graph), `scores` when any scored table changes.
Writes are seen both through the ORM (flushes) and as bulk statements run through a session; only
statements run on a bare connection (the CSV import's bulk paths) must say so with `wrote`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

from sqlalchemy import String, event, select, update
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column

from logicrm.db import Base

NETWORK = "network"
SCORES = "scores"
# what scoring.queries reads: a write anywhere else (users, history, health runs, the outbox) leaves
# the scores as they are
SCORED_TABLES = frozenset(
    {
        "customers",
        "customer_team",
        "shipper_profiles",
        "consignee_profiles",
        "departments",
        "survey_responses",
        "survey_scores",
        "interactions",
        "tickets",
        "opportunities",
        "links",
        "shipments",
    }
)
NETWORK_TABLES = frozenset({"links", "shipments"})


class Revision(Base):
    __tablename__ = "revisions"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)


def bump(session: Session, *names: str) -> None:
    """Advance revisions in the current transaction (statements run on a bare connection call this)."""
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
    """Collect the bumps of every write inside and make them once at the end.

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


def wrote(session: Session, tables: Iterable[str]) -> None:
    """Advance the revisions the tables written feed (inside `deferred`: once, at its end)."""
    _bump_for(session, tables)


def _bump_for(session: Session, tables: Iterable[str]) -> None:
    scored = SCORED_TABLES.intersection(tables)
    if not scored:
        return
    names = [SCORES, *([NETWORK] if scored & NETWORK_TABLES else [])]
    if _DEFERRED in session.info:
        session.info[_DEFERRED].update(names)
        return
    bump(session, *names)


@event.listens_for(Session, "after_flush")
def _bump_on_flush(session: Session, _context) -> None:
    _bump_for(session, {obj.__table__.name for obj in (*session.new, *session.dirty, *session.deleted)})


@event.listens_for(Session, "do_orm_execute")
def _bump_on_statement(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        _bump_for(state.session, {state.statement.table.name})
