"""Recompute the scores off the request path: `logicrm worker` polls the data revisions and publishes
new scores when writes moved them, when another model became active, or when the last ones grew old.

Several workers may run: on PostgreSQL an advisory lock lets one compute at a time; on both backends a
publication names the one it supersedes (unique), so two workers that computed from the same one
publish once.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import zlib
from collections.abc import Iterator

from sqlalchemy import text

from logicrm.db import Database
from logicrm.network.params import ScoringParams
from logicrm.scoring import model as churn_models
from logicrm.scoring import published, scores

log = logging.getLogger(__name__)
LOCK_KEY = zlib.crc32(b"logicrm:scores")
POLL_S = 1.0


def refresh(database: Database, params: ScoringParams, *, max_age_s: float) -> int | None:
    """Recompute and publish the scores if the latest publication is outdated; return the new
    publication's id, None when it was up to date or another process computes or published first."""
    with _computing_alone(database) as alone:
        if not alone:
            return None
        with database.session(write=False) as reader:
            model, version = churn_models.active(reader, params)
            latest = published.head(reader, config_hash=params.config_hash())
            if latest is not None and not published.outdated(latest, version, max_age_s=max_age_s):
                return None
            started = time.perf_counter()
            portfolio = scores.compute(reader, params, model=model, model_version=version)
        with database.session_scope() as writer:
            published_id = published.publish(writer, portfolio, supersedes=latest and latest.id)
    log.info(
        "scores at revision %s %s in %.1f s",
        portfolio.revision,
        "published" if published_id else "computed, but another process published first",
        time.perf_counter() - started,
    )
    return published_id


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
    while not stop.is_set():
        try:
            refresh(database, params, max_age_s=max_age_s)
        except Exception:
            log.exception("refreshing the scores failed; retrying in %.1f s", poll_s)
        stop.wait(poll_s)
    log.info("worker stopped")
