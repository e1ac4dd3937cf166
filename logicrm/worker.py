"""`logicrm worker`: the background work off the API's requests, in one process — queued import jobs in
one thread, the score refresh in the other — until SIGTERM or SIGINT. Several workers may run."""

from __future__ import annotations

import logging
import threading

from logicrm.config import Settings
from logicrm.db import Database
from logicrm.imports import jobs
from logicrm.network.params import ScoringParams
from logicrm.scoring import refresh

log = logging.getLogger(__name__)


def run(
    database: Database,
    params: ScoringParams,
    *,
    settings: Settings,
    poll_s: float,
    stop: threading.Event,
) -> None:
    """Run the import jobs and refresh the scores until `stop` is set.

    On stop an import under way rolls back after its current batch and goes back to the queue, its
    attempt not counted, for the next worker.
    """
    importing = threading.Thread(
        target=jobs.run,
        args=(database,),
        kwargs={"settings": settings, "stop": stop, "poll_s": poll_s},
        name="logicrm-jobs",
    )
    importing.start()
    try:
        refresh.run(database, params, max_age_s=settings.scores_cache_seconds, poll_s=poll_s, stop=stop)
    finally:
        stop.set()
        importing.join()
