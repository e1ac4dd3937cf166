"""Recompute the scores off the request path: `logicrm worker` polls the data revisions and publishes
new scores when writes moved them, when another model became active, or when the last ones grew old.

A worker keeps what its last full computation observed (`Kept`). After writes whose accounts are
known (revisions.noted) it refreshes incrementally: those accounts observed anew, then every account's
own risk, the propagation over the network, the explanations and the value, all as a full computation
does, under the kept portfolio priors. It computes the whole portfolio again when nothing is kept (its
first poll), when the kept computation is `max_age_s` old, when a write's accounts are not known or it
moved the graph (lanes, shipments, a customer created, deleted, churned, or whose roles changed),
when another model became active, or when another process published meanwhile. An incremental refresh
publishes its changes over the full publication it started from (published.Delta), not the whole.

Several workers may run: on PostgreSQL an advisory lock lets one compute at a time; on both backends a
publication names the one it supersedes (unique), so two workers that computed from the same one
publish once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import text

from logicrm.db import Database, utcnow
from logicrm.network.params import ScoringParams
from logicrm.scoring import model as churn_models
from logicrm.scoring import published, revisions, scores

log = logging.getLogger(__name__)
LOCK_KEY = zlib.crc32(b"logicrm:scores")
POLL_S = 1.0


@dataclass
class Kept:
    """What a worker keeps between refreshes: the observation behind the scores it published last."""

    seen: scores.Observation | None = None
    published_id: int | None = None
    model_version: int | None = None
    full_at: dt.datetime | None = None  # when the full computation it started from was published
    base: tuple[int, scores.PortfolioScores] | None = None  # that full publication: its id and scores


def refresh(
    database: Database, params: ScoringParams, *, max_age_s: float, kept: Kept | None = None
) -> int | None:
    """Publish new scores if the latest publication is outdated; return the new publication's id, None
    when it was up to date or another process computes or published first.

    With `kept` (a worker's state between calls): incrementally where it can (module docstring), and in
    full at the first call even when the publication is up to date. Without: in full, when outdated.
    """
    with _computing_alone(database) as alone:
        if not alone:
            return None
        with database.session(write=False) as reader:
            model, version = churn_models.active(reader, params)
            latest = published.head(reader, config_hash=params.config_hash())
            # after the revisions (in the head): every write counted there has its notes read here
            noted = revisions.noted(reader)
            started = time.perf_counter()
            seen = None
            if _incremental(kept, latest, noted, version, max_age_s=max_age_s):
                if not latest.behind and not noted.ids:
                    return None
                seen = scores.update(
                    reader, kept.seen, params, ids=noted.accounts, now=utcnow(), revision=latest.now_at
                )
            elif not _full_due(kept, latest, noted, version, max_age_s=max_age_s):
                return None
            full = seen is None
            if full:
                seen = scores.observe(reader, params, now=utcnow())
            portfolio = scores.score(reader, seen, params, model=model, model_version=version)
        with database.session_scope() as writer:
            published_id = published.publish(
                writer,
                portfolio,
                supersedes=latest and latest.id,
                claimed=noted.ids,
                over=None if full else kept.base,
            )
    if kept is not None:
        kept.seen, kept.published_id, kept.model_version = (
            (seen, published_id, version) if published_id else (None, None, None)
        )
        if full:
            kept.full_at, kept.base = utcnow(), published_id and (published_id, portfolio)
    log.info(
        "scores at revision %s %s %s in %.1f s",
        portfolio.revision,
        "computed in full" if full else f"refreshed for {len(noted.accounts)} written accounts",
        "and published" if published_id else "but another process published first",
        time.perf_counter() - started,
    )
    return published_id


def _full_due(
    kept: Kept | None, latest: published.Head | None, noted: revisions.Noted, version, *, max_age_s: float
) -> bool:
    """Whether the whole portfolio is to be computed (when it cannot be refreshed incrementally)."""
    if kept is not None and (kept.seen is None or _age_s(kept.full_at) >= max_age_s):
        return True  # a worker's first poll; its last full computation grew old
    return latest is None or published.outdated(latest, version, max_age_s=max_age_s) or bool(noted.ids)


def _age_s(moment: dt.datetime) -> float:
    return (utcnow() - moment).total_seconds()


def _incremental(
    kept: Kept | None, latest: published.Head | None, noted: revisions.Noted, version, *, max_age_s: float
) -> bool:
    """Whether the kept observation can be refreshed for the noted accounts alone."""
    return (
        kept is not None
        and kept.seen is not None
        and latest is not None
        and kept.published_id == latest.id  # nobody else published since
        and kept.model_version == version
        and noted.accounts is not None
        and latest.now_at[0] == kept.seen.revision[0]  # the graph did not move
        and _age_s(kept.full_at) < max_age_s
    )


@contextlib.contextmanager
def _computing_alone(database: Database) -> Iterator[bool]:
    """Hold a PostgreSQL advisory lock while computing (yield False when another process holds it); on
    SQLite yield True (a second worker computes in vain, and its publication is refused)."""
    if database.engine.dialect.name != "postgresql":
        yield True
        return
    with database.engine.connect() as connection:
        alone = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}).scalar()
        connection.commit()  # the lock is the session's: no transaction left open while computing
        try:
            yield bool(alone)
        finally:
            if alone:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
                connection.commit()


def run(
    database: Database,
    params: ScoringParams,
    *,
    max_age_s: float,
    stop: threading.Event,
    poll_s: float = POLL_S,
) -> None:
    """Refresh the scores every `poll_s` until `stop` is set.

    Writes arriving while a computation runs are picked up by the next poll: a burst of writes costs
    one computation after it, not one per write. A failed computation is logged and retried next poll.
    """
    log.info("worker: refreshing the scores every %.1f s", poll_s)
    kept = Kept()
    while not stop.is_set():
        try:
            refresh(database, params, max_age_s=max_age_s, kept=kept)
        except Exception:
            log.exception("refreshing the scores failed; retrying in %.1f s", poll_s)
        stop.wait(poll_s)
    log.info("worker stopped")
