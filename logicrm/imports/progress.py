"""A running import's progress, published where other processes can read it while its transaction is
still open: the job row on PostgreSQL, a small file beside the spooled upload on SQLite."""

from __future__ import annotations

import contextlib
import glob
import json
import os
import time

from sqlalchemy import update

from logicrm.db import Database
from logicrm.imports.models import ImportJob, ImportState


class Progress:
    """Publish a running import's progress where other processes can read it.

    The import's own transaction cannot carry it (nobody sees it before commit), and on SQLite no
    other connection may write while the import holds the write lock, so there it goes to a small
    file beside the spooled upload instead of the job row.
    """

    interval_s = 1.0
    # A finished import leaves its file: a poll that read the job row as running just before the end
    # (its snapshot predates the final commit) must still find the progress, or it would see it go back
    # to zero. Files this old are gone by then and are swept when the next import starts.
    kept_s = 3600.0

    def __init__(self, database: Database, spool_dir: str, job_id: int, attempt: int):
        self.database, self.job_id, self.attempt = database, job_id, attempt
        self.path = progress_path(spool_dir, job_id)
        self._last = 0.0
        _sweep_progress(spool_dir, older_than=time.time() - self.kept_s)

    def __call__(self, rows: int, bytes_done: int, *, final: bool = False) -> None:
        now = time.monotonic()
        if now - self._last < self.interval_s and not final:
            return
        self._last = now
        if self.database.engine.dialect.name == "sqlite":
            temporary = f"{self.path}.tmp"
            with open(temporary, "w") as handle:
                json.dump({"rows_done": rows, "bytes_done": bytes_done}, handle)
            os.replace(temporary, self.path)
            return
        with self.database.engine.connect() as connection:
            connection.execute(
                update(ImportJob)
                .where(ImportJob.id == self.job_id, ImportJob.attempts == self.attempt)
                .values(rows_done=rows, bytes_done=bytes_done)
            )
            connection.commit()


def progress_path(spool_dir: str, job_id: int) -> str:
    """Where a running job's progress is published on SQLite (see Progress)."""
    return os.path.join(spool_dir, f"{job_id}.progress.json")


def _sweep_progress(spool_dir: str, *, older_than: float) -> None:
    for path in glob.glob(os.path.join(spool_dir, "*.progress.json")):
        with contextlib.suppress(FileNotFoundError):
            if os.path.getmtime(path) < older_than:
                os.remove(path)


def live_progress(*, job: ImportJob, spool_dir: str) -> dict:
    """Return rows_done and bytes_done of a job, live from the progress file while it runs on SQLite."""
    progress = {"rows_done": job.rows_done, "bytes_done": job.bytes_done}
    if job.state == ImportState.RUNNING:
        try:
            with open(progress_path(spool_dir, job.id)) as handle:
                progress.update(json.load(handle))
        except (FileNotFoundError, ValueError):
            pass
    return progress
