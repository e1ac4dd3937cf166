"""Running a spooled upload: in the request for a small file; for one too large for one HTTP request, as
a queued job that `logicrm worker` runs (or, with jobs_run_by=api, a thread of the API process)."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor

from werkzeug.datastructures import FileStorage

from logicrm.config import Settings
from logicrm.db import Database
from logicrm.imports import queue, service
from logicrm.imports.kinds.base import Kind
from logicrm.imports.models import ImportJob, ImportState
from logicrm.users.models import User

log = logging.getLogger(__name__)
POLL_S = 1.0

# One at a time per process: on SQLite imports queue for the write lock anyway, and on PostgreSQL
# a second concurrent million-row import would only halve the speed of the first.
_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="logicrm-import")
# The drain submitted last: while it has not started, it will find any job queued before it does.
_submitted: list[Future] = []
_submitting = threading.Lock()


def accept(
    database: Database,
    *,
    upload: FileStorage,
    kind: Kind,
    user: User,
    options: service.Options,
    settings: Settings,
    spool_dir: str,
) -> tuple[ImportJob, bool]:
    """Take an uploaded CSV file: save it to the spool folder and record its job, then import it within
    this request, or queue it when it is larger than import_inline_max_bytes. Return the job (finished,
    or queued) and whether it was queued. The API and the web pages take uploads through here."""
    path = os.path.join(spool_dir, f"upload-{uuid.uuid4().hex}.csv")
    upload.save(path)
    size = os.path.getsize(path)
    queued = size > settings.import_inline_max_bytes
    with database.session_scope() as writer:
        job = service.create(
            writer, kind=kind, filename=upload.filename or "upload.csv", user=user, options=options,
            bytes_total=size, spool_path=path if queued else None,
        )  # fmt: skip
    if queued:
        if settings.jobs_in_api:
            submit(database, settings=settings)
        return job, True
    return run_now(database, job_id=job.id, path=path, options=options, spool_dir=spool_dir), False


def recover(database: Database, *, settings: Settings) -> None:
    """Queue again (once) or fail the jobs whose process died; with jobs_run_by=api, run the queued ones
    here (say, those of an API process that stopped before running them)."""
    requeued = queue.recover_abandoned(database, timeout_s=settings.import_timeout_s)
    if settings.jobs_in_api and (requeued or queue.waiting(database)):
        submit(database, settings=settings)


def submit(database: Database, *, settings: Settings) -> Future:
    """Run the queued jobs in a background thread of this process (jobs_run_by=api)."""
    with _submitting:
        if not _submitted or _submitted[0].running() or _submitted[0].done():
            _submitted[:] = [_executor.submit(_drain_logged, database, settings)]
        return _submitted[0]


def run_now(
    database: Database, *, job_id: int, path: str, options: service.Options, spool_dir: str
) -> ImportJob:
    """Run the spooled upload at `path` as job `job_id` in this thread; the file is removed afterwards."""
    try:
        with open(path, "rb") as stream:
            return service.execute(
                database, job_id=job_id, stream=stream, options=options, spool_dir=spool_dir
            )
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


def run_next(
    database: Database, *, settings: Settings, stop: threading.Event | None = None
) -> ImportJob | None:
    """Claim the oldest queued job and run it; return it finished (queued again if `stop` was set during
    the run), or None when nothing could be claimed."""
    job = queue.claim(database, timeout_s=settings.import_timeout_s)
    if job is None:
        return None
    log.info("import job %s (%s, %s): attempt %s", job.id, job.kind, job.filename, job.attempts)

    def interrupt(_rows: int, _bytes: int) -> None:
        if stop is not None and stop.is_set():
            raise service.Interrupted("the worker is stopping")

    try:
        # the progress file goes beside the upload, where the process that took it reads it
        with open(job.spool_path, "rb") as stream:
            finished = service.execute(
                database, job_id=job.id, stream=stream, options=service.options_of(job=job, settings=settings),
                spool_dir=os.path.dirname(job.spool_path), watch=interrupt,
            )  # fmt: skip
    except FileNotFoundError:
        return service.fail(
            database, job=job, error=f"its upload {job.spool_path} is gone; nothing was written"
        )
    except Exception:
        log.exception("import job %s failed", job.id)  # execute() has recorded it failed
        finished = None
    if finished is None or finished.state != ImportState.QUEUED:
        with contextlib.suppress(FileNotFoundError):
            os.remove(job.spool_path)
    log.info("import job %s: %s", job.id, finished.state if finished else "failed")
    return finished


def drain(database: Database, *, settings: Settings, stop: threading.Event | None = None) -> int:
    """Recover abandoned jobs, then run queued jobs until none can be claimed (or `stop` is set); return
    how many ran."""
    ran = 0
    while not (stop is not None and stop.is_set()):
        queue.recover_abandoned(database, timeout_s=settings.import_timeout_s)
        if run_next(database, settings=settings, stop=stop) is None:
            break
        ran += 1
    return ran


def _drain_logged(database: Database, settings: Settings) -> None:
    try:
        drain(database, settings=settings)
    except Exception:
        log.exception("running the queued import jobs failed")


def run(database: Database, *, settings: Settings, stop: threading.Event, poll_s: float = POLL_S) -> None:
    """Run queued import jobs, polling every `poll_s`, until `stop` is set (`logicrm worker`)."""
    log.info("worker: running queued import jobs every %.1f s", poll_s)
    while not stop.is_set():
        try:
            drain(database, settings=settings, stop=stop)
        except Exception:
            log.exception("running the queued import jobs failed; retrying in %.1f s", poll_s)
        stop.wait(poll_s)
    log.info("worker: import jobs stopped")
