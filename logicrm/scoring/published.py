"""Published scores: the portfolio as last computed, stored in the database for every process to read.

Whoever computes the scores (`logicrm worker` after writes, the nightly health run, a request when
nothing is published yet) publishes them here; readers fetch the latest publication's header with the
current data revisions in one small query per request, and its payload once per process when it is
newer than the one they hold (logicrm.scoring.held). The payload is the pickled `PortfolioScores`: the
database is the app's own and only its processes write this table. A publication records the code that
pickled it (`code_version`, a fingerprint of the modules defining what it holds): another release's, or
one that no longer unpickles, counts as no publication.
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
import hashlib
import pickle
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import logicrm.network
from logicrm.db import utcnow
from logicrm.memory import paused_gc
from logicrm.scoring import revisions
from logicrm.scoring.models import PublishedScores


@functools.cache
def code_version() -> str:
    """Fingerprint of the source defining the pickled scores (logicrm/network, scoring/scores.py)."""
    sources = sorted(Path(logicrm.network.__file__).parent.glob("*.py"))
    digest = hashlib.sha256()
    for source in (*sources, Path(__file__).with_name("scores.py")):
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

    @property
    def behind(self) -> bool:
        """Whether writes were made since it was computed."""
        return self.revision != self.now_at


def outdated(latest: Head, model_version: int | None, *, max_age_s: float) -> bool:
    """Whether a publication misses writes or the model in force, or was published `max_age_s` ago (scores
    decay with time; counted from its publication, so a computation slower than `max_age_s` is not
    followed by another at once)."""
    age = (utcnow() - latest.published_at).total_seconds()
    return latest.behind or latest.model_version != model_version or age >= max_age_s


def head(session: Session, *, config_hash: str) -> Head | None:
    """Return the latest publication for `config_hash` by this code, None when there is none (one statement)."""

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
        )
        .where(PublishedScores.config_hash == config_hash, PublishedScores.code_version == code_version())
        .order_by(PublishedScores.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    published_id, network, scored, model_version, computed_at, published_at, network_now, scores_now = row
    return Head(
        published_id,
        (network, scored),
        model_version,
        computed_at,
        published_at,
        (network_now or 0, scores_now or 0),
    )


def load(session: Session, head: Head):
    """Return the publication's scores; None if it was superseded and removed, or does not unpickle."""
    payload = session.scalar(select(PublishedScores.payload).where(PublishedScores.id == head.id))
    if payload is None:
        return None
    try:
        with paused_gc():  # a million acyclic objects: collecting while they are made only costs time
            portfolio = pickle.loads(payload)  # written by this app's own processes (see the module)
    except (pickle.UnpicklingError, AttributeError, ImportError, TypeError, ValueError, EOFError):
        return None
    # Held until the next publication and freed by reference counting then: keep the cycle collector
    # from walking them at every full collection while requests run.
    gc.freeze()
    return portfolio


def publish(
    session: Session, portfolio, *, supersedes: int | None, claimed: Iterable[int] = ()
) -> int | None:
    """Store `portfolio` as the latest publication of its configuration, superseding the publication it
    was computed after (None: none yet); return its id, or None when another process published first.
    Clear the notes of touched accounts `claimed` (revisions.noted, read before computing it).

    Runs in a savepoint, so losing the race leaves the caller's transaction as it was. Publications of
    the configuration before the superseded one are removed, by any code (a reader may still be loading
    the superseded one).
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
        "payload": pickle.dumps(portfolio, protocol=pickle.HIGHEST_PROTOCOL),
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
        session.execute(
            delete(PublishedScores).where(
                PublishedScores.config_hash == portfolio.config_hash, PublishedScores.id < supersedes
            )
        )
    return published_id


def publish_if_newer(session: Session, portfolio, *, claimed: Iterable[int] = ()) -> int | None:
    """Publish scores computed elsewhere (the health run's) unless the latest publication is at a later
    revision or moment; return the new publication's id or None."""
    latest = head(session, config_hash=portfolio.config_hash)
    if latest is not None and (latest.revision > portfolio.revision or latest.computed_at >= portfolio.as_of):
        return None
    return publish(session, portfolio, supersedes=latest and latest.id, claimed=claimed)
