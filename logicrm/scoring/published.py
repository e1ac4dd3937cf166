"""Published scores: the portfolio as last computed, stored in the database for every process to read.

Whoever computes the scores (`logicrm worker` after writes, the nightly health run, a request when
nothing is published yet) publishes them here; readers fetch the latest publication's header with the
current data revisions in one small query per request, and its payload once per process when it is
newer than the one they hold (logicrm.scoring.held). The payload is the pickled `PortfolioScores`: the
database is the app's own and only its processes write this table. A publication records the code that
pickled it (`code_version`, a fingerprint of the modules defining what it holds): another release's, or
one that no longer unpickles, counts as no publication.

After an incremental refresh the worker publishes a `Delta` over the full publication it started from
(its base): the fields of the accounts that differ from the base's and the portfolio's other fields
(2 MB at 10,000 accounts, where the whole is 44 MB). Deltas are cumulative over their base, not
chained: a process holding the base applies the latest delta to it, one holding nothing loads the base
first. What it assembles equals the full publication of the same scores.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import gc
import hashlib
import pickle
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import ColumnElement, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import logicrm.memory
import logicrm.network
from logicrm.db import utcnow
from logicrm.memory import paused_gc
from logicrm.scoring import revisions
from logicrm.scoring.models import PublishedScores
from logicrm.scoring.scores import AccountScores, PortfolioScores


@functools.cache
def code_version() -> str:
    """Fingerprint of the source defining the payloads: logicrm/network, how memory.py pickles its classes,
    the scoring modules computing and holding them (scores, satisfaction, problems) and this one (the
    delta)."""
    sources = sorted(Path(logicrm.network.__file__).parent.glob("*.py"))
    here = Path(__file__)
    computed = [here.with_name(name) for name in ("scores.py", "satisfaction.py", "problems.py")]
    digest = hashlib.sha256()
    for source in (*sources, Path(logicrm.memory.__file__), *computed, here):
        digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Head:
    """The latest publication of one configuration, without its payload, and the data revisions now."""

    id: int
    revision: tuple[int, int]  # (network, scores) it was computed at
    model_version: int | None
    computed_at: dt.datetime
    published_at: dt.datetime
    now_at: tuple[int, int]  # the (network, scores) revisions as this head was read
    alongside: tuple = ()  # the values of the caller's `alongside` columns, read in the same statement

    @property
    def behind(self) -> bool:
        """Whether writes were made since it was computed."""
        return self.revision != self.now_at


@dataclass(frozen=True, slots=True)
class Delta:
    """A publication's scores as the changes `apply` makes to its base's.

    An account's changes are the fields that differ: a write that moves one account's own risk moves
    every connected account's network risk and explanation, not their satisfaction (most of the bytes).
    """

    base_as_of: dt.datetime  # the base's, to tell it from a row that took its id (a restored database)
    fields: dict[str, object]  # the portfolio's fields but its accounts, and its arrays unless they moved
    changed: dict[int, dict[str, object]]  # per account of the base's whose scores differ, the fields that do
    added: dict[int, AccountScores]  # the accounts the base does not hold
    removed: tuple[int, ...]  # the base's accounts it no longer holds

    @classmethod
    def between(cls, base: PortfolioScores, portfolio: PortfolioScores) -> Delta:
        fields = {
            field.name: getattr(portfolio, field.name)
            for field in dataclasses.fields(portfolio)
            if field.name != "accounts" and (field.name != "arrays" or portfolio.arrays is not base.arrays)
        }
        names = [field.name for field in dataclasses.fields(AccountScores)]
        changed, added = {}, {}
        for customer_id, account in portfolio.accounts.items():
            before = base.accounts.get(customer_id)
            if before is None:
                added[customer_id] = account
            elif before != account:
                changed[customer_id] = {
                    name: getattr(account, name)
                    for name in names
                    if getattr(account, name) != getattr(before, name)
                }
        removed = tuple(c for c in base.accounts if c not in portfolio.accounts)
        return cls(base.as_of, fields, changed, added, removed)

    def apply(self, base: PortfolioScores) -> PortfolioScores:
        accounts = dict(base.accounts)  # a new dict per publication: logicrm.scoring.derived keys by it
        for customer_id in self.removed:
            del accounts[customer_id]
        for customer_id, fields in self.changed.items():
            accounts[customer_id] = dataclasses.replace(accounts[customer_id], **fields)
        accounts.update(self.added)
        return dataclasses.replace(base, accounts=accounts, **self.fields)


@dataclass(frozen=True, slots=True)
class Loaded:
    """A publication as a process holds it, with the full publication its scores were assembled over."""

    id: int
    computed_at: dt.datetime
    scores: PortfolioScores
    base_id: int  # its own id when it is a full publication
    base: PortfolioScores

    @classmethod
    def full(cls, published_id: int, portfolio: PortfolioScores) -> Loaded:
        return cls(published_id, portfolio.as_of, portfolio, published_id, portfolio)


def outdated(latest: Head, model_version: int | None, *, max_age_s: float) -> bool:
    """Whether a publication misses writes or the model in force, or was published `max_age_s` ago (scores
    decay with time; counted from its publication, so a computation slower than `max_age_s` is not
    followed by another at once)."""
    age = (utcnow() - latest.published_at).total_seconds()
    return latest.behind or latest.model_version != model_version or age >= max_age_s


def head(session: Session, *, config_hash: str, alongside: Sequence[ColumnElement] = ()) -> Head | None:
    """Return the latest publication for `config_hash` by this code, None when there is none (one statement,
    reading the caller's scalar subqueries `alongside` too)."""

    def revision(name: str):
        return select(revisions.Revision.value).where(revisions.Revision.name == name).scalar_subquery()

    row = session.execute(
        select(
            PublishedScores.id,
            PublishedScores.network_revision,
            PublishedScores.scores_revision,
            PublishedScores.model_version,
            PublishedScores.computed_at,
            PublishedScores.published_at,
            revision(revisions.NETWORK),
            revision(revisions.SCORES),
            *alongside,
        )
        .where(PublishedScores.config_hash == config_hash, PublishedScores.code_version == code_version())
        .order_by(PublishedScores.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    published_id, network, scored, model_version, computed_at, published_at, network_now, scores_now = row[:8]
    return Head(
        published_id,
        (network, scored),
        model_version,
        computed_at,
        published_at,
        (network_now or 0, scores_now or 0),
        tuple(row[8:]),
    )


def load(session: Session, head: Head, *, over: Loaded | None = None) -> Loaded | None:
    """Return the publication's scores; None if it was superseded and removed, or does not unpickle. A
    delta is applied to the base `over` holds when it is the delta's, else to its base loaded anew."""
    row = session.execute(
        select(PublishedScores.payload, PublishedScores.base_id).where(PublishedScores.id == head.id)
    ).first()
    payload = row and _unpickled(row.payload)
    if payload is None:
        return None
    if row.base_id is None:
        return Loaded.full(head.id, payload)
    if over is not None and over.base_id == row.base_id and over.base.as_of == payload.base_as_of:
        base = over.base
    else:
        base = _unpickled(
            session.scalar(select(PublishedScores.payload).where(PublishedScores.id == row.base_id))
        )
        if base is None or base.as_of != payload.base_as_of:
            return None
    return Loaded(head.id, head.computed_at, payload.apply(base), row.base_id, base)


def _unpickled(payload: bytes | None):
    """The payload unpickled; None when there is none or it does not unpickle."""
    if payload is None:
        return None
    try:
        with paused_gc():  # a million acyclic objects: collecting while they are made only costs time
            unpickled = pickle.loads(payload)  # written by this app's own processes (see the module)
    except (pickle.UnpicklingError, AttributeError, ImportError, TypeError, ValueError, EOFError):
        return None
    # Held until the next publication and freed by reference counting then: keep the cycle collector
    # from walking them at every full collection while requests run.
    gc.freeze()
    return unpickled


def publish(
    session: Session,
    portfolio: PortfolioScores,
    *,
    supersedes: int | None,
    claimed: Iterable[int] = (),
    over: tuple[int, PortfolioScores] | None = None,
) -> int | None:
    """Store `portfolio` as the latest publication of its configuration, superseding the publication it
    was computed after (None: none yet); return its id, or None when another process published first.
    Clear the notes of touched accounts `claimed` (revisions.noted, read before computing it). With
    `over`, a full publication (its id and scores) `portfolio` was refreshed from, store the `Delta`.

    Runs in a savepoint, so losing the race leaves the caller's transaction as it was. Publications of
    the configuration before the superseded one are removed, by any code, but the bases of the new and
    the superseded ones (a reader may still be loading the superseded one).
    """
    network, scored = portfolio.revision
    values = {
        "config_hash": portfolio.config_hash,
        "code_version": code_version(),
        "supersedes": supersedes or 0,
        "network_revision": network,
        "scores_revision": scored,
        "model_version": portfolio.model_version,
        "computed_at": portfolio.as_of,
        "base_id": over and over[0],
        "payload": pickle.dumps(
            portfolio if over is None else Delta.between(over[1], portfolio), protocol=pickle.HIGHEST_PROTOCOL
        ),
    }
    try:
        with session.begin_nested():
            published_id = session.scalar(
                insert(PublishedScores).values(values).returning(PublishedScores.id)
            )
    except IntegrityError:
        return None
    revisions.clear(session, claimed)
    if supersedes:
        superseded_base = select(PublishedScores.base_id).where(
            PublishedScores.id == supersedes, PublishedScores.base_id.is_not(None)
        )
        session.execute(
            delete(PublishedScores).where(
                PublishedScores.config_hash == portfolio.config_hash,
                PublishedScores.id < supersedes,
                PublishedScores.id.not_in(superseded_base),
                PublishedScores.id != (over[0] if over else 0),
            )
        )
    return published_id


def publish_if_newer(
    session: Session, portfolio: PortfolioScores, *, claimed: Iterable[int] = ()
) -> int | None:
    """Publish scores computed elsewhere (the health run's) unless the latest publication is at a later
    revision or moment; return the new publication's id or None."""
    latest = head(session, config_hash=portfolio.config_hash)
    if latest is not None and (latest.revision > portfolio.revision or latest.computed_at >= portfolio.as_of):
        return None
    return publish(session, portfolio, supersedes=latest and latest.id, claimed=claimed)
