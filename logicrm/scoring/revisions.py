"""Data revisions: counters bumped in the same transaction as any write to what the scores are computed from.

Every API worker caches the network graph and the computed scores; a cache entry is valid while the
revision it was built at is still current, so a write in one worker invalidates all of them.
`network` moves when links or shipments change (the graph), `scores` when any scored table changes.
Writes are seen both through the ORM (flushes) and as bulk statements run through a session; only
statements run on a bare connection (the CSV import's bulk paths) must say so with `wrote`.

Every move of `scores` also notes, in the same transaction, which accounts the write touched
(`DirtyAccount`): `logicrm worker` refreshes only those (logicrm.scoring.refresh). A write whose accounts
are not known (bulk statements, lanes and shipments, a customer created, deleted or whose status or
dates changed) notes None: the next refresh recomputes the whole portfolio.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import String, column, delete, event, insert, inspect, select, table, update
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column

from logicrm import db
from logicrm.db import Base

_RESPONSES = table("survey_responses", column("id"), column("customer_id"))

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
# tables whose rows belong to one account, named by this column: a write there touches that account alone
ACCOUNT_COLUMN = {
    "departments": "customer_id",
    "survey_responses": "customer_id",
    "interactions": "customer_id",
    "tickets": "customer_id",
    "opportunities": "customer_id",
    "shipper_profiles": "customer_id",
    "consignee_profiles": "customer_id",
}
# a customer's fields that move more than its own account: whether it is live (the graph's nodes), when
# it began (tenure) and its churn (its partners' contagion)
PORTFOLIO_FIELDS = ("status", "churned_on", "acquired_on", "deleted_at")


class Revision(Base):
    __tablename__ = "revisions"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)


class DirtyAccount(Base):
    """An account a write touched since the scores the worker last published (None: any account)."""

    __tablename__ = "dirty_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None]  # no foreign key: a deleted customer's note stays until claimed


def bump(session: Session, *names: str, accounts: Iterable[int] | None = None) -> None:
    """Advance revisions in the current transaction (statements run on a bare connection call this); a
    move of `scores` notes the `accounts` touched (None: not known)."""
    connection = session.connection()
    for name in names:
        connection.execute(update(Revision).where(Revision.name == name).values(value=Revision.value + 1))
    if SCORES in names:
        noted = [None] if accounts is None else sorted(set(accounts))
        if noted:
            connection.execute(insert(DirtyAccount), [{"customer_id": c} for c in noted])


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
    session.info[_DEFERRED] = _Deferred(set(), set())
    try:
        yield
    except BaseException:
        session.info.pop(_DEFERRED, None)
        raise
    collected = session.info.pop(_DEFERRED)
    if collected.names:
        bump(session, *sorted(collected.names), accounts=collected.accounts)


@dataclass(slots=True)
class _Deferred:
    names: set[str]
    accounts: set[int] | None  # None: some write's accounts are not known


def wrote(session: Session, tables: Iterable[str]) -> None:
    """Advance the revisions the tables written feed (inside `deferred`: once, at its end); which
    accounts were touched is not known."""
    _bump_for(session, tables, accounts=None)


def _bump_for(session: Session, tables: Iterable[str], *, accounts: set[int] | None) -> None:
    scored = SCORED_TABLES.intersection(tables)
    if not scored:
        return
    names = [SCORES, *([NETWORK] if scored & NETWORK_TABLES else [])]
    collected = session.info.get(_DEFERRED)
    if collected is None:
        bump(session, *names, accounts=accounts)
        return
    collected.names.update(names)
    if accounts is None or collected.accounts is None:
        collected.accounts = None
    else:
        collected.accounts |= accounts


@event.listens_for(Session, "after_flush")
def _bump_on_flush(session: Session, _context) -> None:
    written = [
        obj for obj in (*session.new, *session.dirty, *session.deleted) if obj.__table__.name in SCORED_TABLES
    ]
    if written:
        _bump_for(session, {obj.__table__.name for obj in written}, accounts=_touched(session, written))


@event.listens_for(Session, "do_orm_execute")
def _bump_on_statement(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        _bump_for(state.session, {state.statement.table.name}, accounts=None)


def _touched(session: Session, written: list) -> set[int] | None:
    """The accounts whose own scores the flushed objects may move; None when a write moves more than its
    accounts (lanes and shipments, a customer created, deleted or whose liveness, dates or roles change)."""
    accounts: set[int] = set()
    responses: set[int] = set()
    for obj in written:
        table = obj.__table__.name
        state = inspect(obj)
        if table == "customers":
            if obj in session.new or obj in session.deleted:
                return None
            if any(state.attrs[name].history.has_changes() for name in PORTFOLIO_FIELDS):
                return None
            accounts.add(state.identity[0])
        elif table in ("shipper_profiles", "consignee_profiles") and (
            obj in session.new or obj in session.deleted
        ):
            return None  # the account's roles: a node of the graph changes
        elif table in ACCOUNT_COLUMN or table == "survey_scores":
            values = _values(state, ACCOUNT_COLUMN.get(table, "response_id"))
            if not values:
                return None  # not loaded: the account is not known
            (accounts if table in ACCOUNT_COLUMN else responses).update(values)
        else:
            return None
    if responses:
        # a response flushed with its ratings names its account; only the others are looked up
        known = {
            obj.id: obj.customer_id  # a new one has no identity yet while the flush ends
            for obj in written
            if obj.__table__.name == "survey_responses"
        }
        missing = sorted(responses - known.keys())
        if missing:
            known |= dict(
                session.connection()
                .execute(
                    select(_RESPONSES.c.id, _RESPONSES.c.customer_id).where(
                        db.among(session.connection(), _RESPONSES.c.id, missing)
                    )
                )
                .all()
            )
        if not responses <= known.keys():
            return None
        accounts.update(known[response_id] for response_id in responses)
    return accounts


def _values(state, column: str) -> set[int]:
    """The column's value now and before the flush (a row moved to another account touches both)."""
    history = state.attrs[column].history
    return {v for v in (*history.added, *history.unchanged, *history.deleted) if v is not None}


@dataclass(frozen=True, slots=True)
class Noted:
    """The accounts writes noted as touched (`DirtyAccount`), as read before a computation."""

    ids: tuple[int, ...]  # the notes read: cleared once scores including them are published
    accounts: frozenset[int] | None  # None: some write's accounts are not known


def noted(session: Session) -> Noted:
    """Read the notes of writes committed so far."""
    rows = session.execute(select(DirtyAccount.id, DirtyAccount.customer_id).order_by(DirtyAccount.id)).all()
    customers = [customer_id for _id, customer_id in rows]
    return Noted(
        tuple(note_id for note_id, _customer in rows),
        None if None in customers else frozenset(customers),
    )


def clear(session: Session, ids: Iterable[int]) -> None:
    """Remove notes read before computing scores that are now published (exactly those: a note committed
    meanwhile, whatever its id, stays for the next refresh)."""
    ids = list(ids)
    if ids:
        session.execute(delete(DirtyAccount).where(db.among(session.connection(), DirtyAccount.id, ids)))
