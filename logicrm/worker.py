"""`logicrm worker`: the background work off the API's requests, in one process — queued import jobs in
one thread, the score refresh in the other — until SIGTERM or SIGINT. Several workers may run."""

from __future__ import annotations

import threading

from logicrm.config import Settings
from logicrm.db import Database
from logicrm.imports import jobs
from logicrm.network.params import ScoringParams
from logicrm.scoring import refresh


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
    loops = [
        threading.Thread(
            target=jobs.run,
            args=(database,),
            kwargs={"settings": settings, "stop": stop, "poll_s": poll_s},
            name="logicrm-jobs",
        ),
        threading.Thread(
            target=refresh.run,
            args=(database, params),
            kwargs={"max_age_s": settings.scores_cache_seconds, "poll_s": poll_s, "stop": stop},
            name="logicrm-scores",
        ),
    ]
    for loop in loops:
        loop.start()
    try:
        # The main thread only waits. Python runs signal handlers in the main thread alone, between
        # bytecodes: had it refreshed the scores, a SIGTERM arriving while its SQLite write waited for an
        # import's lock would be recorded only once the import had committed, too late to give it back.
        while not stop.wait(poll_s):
            if not all(loop.is_alive() for loop in loops):
                raise RuntimeError("a worker loop ended on its own: see the log above")
    finally:
        stop.set()
        for loop in loops:
            loop.join()
