"""Running a spooled upload: in the request for a small file, in the background of the process that
received it for one too large for one HTTP request."""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from concurrent.futures import Future, ThreadPoolExecutor

from werkzeug.datastructures import FileStorage

from logicrm.config import Settings
from logicrm.db import Database
from logicrm.imports import service
from logicrm.imports.kinds.base import Kind
from logicrm.imports.models import ImportJob
from logicrm.users.models import User

log = logging.getLogger(__name__)

# One at a time per process: on SQLite imports queue for the write lock anyway, and on PostgreSQL
# a second concurrent million-row import would only halve the speed of the first.
_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="logicrm-import")


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
        submit(database, job_id=job.id, path=path, options=options, spool_dir=spool_dir)
        return job, True
    return run_now(database, job_id=job.id, path=path, options=options, spool_dir=spool_dir), False


def submit(database: Database, *, job_id: int, path: str, options: service.Options, spool_dir: str) -> Future:
    """Run the spooled upload at `path` as job `job_id` in the background; the file is removed afterwards."""
    return _executor.submit(_run, database, job_id, path, options, spool_dir)


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


def _run(
    database: Database, job_id: int, path: str, options: service.Options, spool_dir: str
) -> ImportJob | None:
    try:
        return run_now(database, job_id=job_id, path=path, options=options, spool_dir=spool_dir)
    except Exception:
        log.exception("import job %s failed", job_id)  # execute() has recorded it failed
        return None
