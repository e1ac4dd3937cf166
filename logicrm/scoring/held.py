"""The published scores each process holds: what a request reads.

A process loads a publication (logicrm.scoring.published) once and answers from it until a newer one is
published (a delta over the full publication it holds: it applies it to its copy); it computes and
publishes the scores itself only when nothing usable is published. `current` says whether the copy it
hands out is `stale`.
"""

from __future__ import annotations

import dataclasses
import logging
import threading

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from logicrm.db import NO_WAIT_OPTION, WRITE_OPTION, busy
from logicrm.network.churn import ChurnModel
from logicrm.network.params import ScoringParams
from logicrm.scoring import published, revisions, scores
from logicrm.scoring.scores import PortfolioScores

log = logging.getLogger(__name__)

# database URL -> the publication held: each process loads a publication once
_held: dict[str, published.Loaded] = {}
_loading: set[str] = set()  # database URLs whose newer publication a thread is loading
_lock = threading.Lock()


def current(
    session: Session,
    params: ScoringParams,
    latest: published.Head | None,
    *,
    model: ChurnModel,
    model_version: int | None,
    max_age_s: float,
    in_request: bool = False,
) -> PortfolioScores:
    """Return the latest published scores (`latest`: their head, as the caller read it), `stale` when
    writes (or another active model) are not in them.

    Scores are computed off the request path (`logicrm worker`, the nightly health run): a read computes
    (and publishes) them only when nothing usable is published for these parameters by this code, or,
    with `in_request`, also when the publication is behind the data or the model or older than
    `max_age_s` (single-process setups). Otherwise a read never waits for a newer publication while the
    process holds an older one: it answers from the one held, marked stale, and a thread loads the newer.
    """
    key = str(session.get_bind().url)
    with _lock:
        held = _held.get(key)
        if latest is None or (in_request and published.outdated(latest, model_version, max_age_s=max_age_s)):
            held = None
        elif held is None or (held.id, held.computed_at) != (latest.id, latest.computed_at):
            if held is not None and held.id < latest.id and not in_request:
                _load_in_background(session, key, latest)
                return dataclasses.replace(held.scores, stale=True)
            # None: removed since, or it does not unpickle
            held = published.load(session, latest, over=held)
        if held is None:
            claimed = revisions.noted(session).ids  # what the computation below includes
            computed = scores.compute(session, params, model=model, model_version=model_version)
            published_id = _publish(session, computed, supersedes=latest and latest.id, claimed=claimed)
            if published_id is not None:
                _held[key] = published.Loaded.full(published_id, computed)
            return computed
        _held[key] = held
    stale = latest.behind or latest.model_version != model_version
    return dataclasses.replace(held.scores, stale=True) if stale else held.scores


def forget() -> None:
    """Drop the publications this process holds (its database was emptied or restored under it)."""
    with _lock:
        _held.clear()


def _load_in_background(session: Session, key: str, latest: published.Head) -> None:
    """Start loading `latest` into this process unless a load is under way (caller holds `_lock`)."""
    if key in _loading:
        return
    _loading.add(key)
    engine = session.get_bind().engine  # a thread of its own needs connections of its own
    threading.Thread(
        target=_load_held, args=(engine, key, latest), name="logicrm-scores-load", daemon=True
    ).start()


def _load_held(engine, key: str, latest: published.Head) -> None:
    try:
        with _lock:
            over = _held.get(key)
        with Session(bind=engine.execution_options(**{WRITE_OPTION: False})) as reader:
            loaded = published.load(reader, latest, over=over)
        with _lock:
            held = _held.get(key)
            if loaded is not None and (held is None or held.id < latest.id):
                _held[key] = loaded
    except Exception:  # the next read starts another load
        log.exception("loading published scores %s failed", latest.id)
    finally:
        with _lock:
            _loading.discard(key)


def _publish(
    session: Session, portfolio: PortfolioScores, *, supersedes: int | None, claimed: tuple[int, ...]
) -> int | None:
    """Publish from a read: in the caller's transaction when it writes, else in a writer of its own (an
    SQLite reader cannot write, and a second writer beside a writing caller would wait for its lock).

    That writer does not wait for SQLite's lock: while another writer holds it (an import, the health
    run) the read answers from what it computed and leaves the publishing to a later read or the worker.
    """
    bind = session.get_bind()
    if bind.get_execution_options().get(WRITE_OPTION, True):
        return published.publish(session, portfolio, supersedes=supersedes, claimed=claimed)
    try:
        with (
            Session(bind=bind.execution_options(**{WRITE_OPTION: True, NO_WAIT_OPTION: True})) as writer,
            writer.begin(),
        ):
            return published.publish(writer, portfolio, supersedes=supersedes, claimed=claimed)
    except OperationalError as error:
        if not busy(error):
            raise
        log.info("scores computed by a read not published: another writer holds the database")
        return None
