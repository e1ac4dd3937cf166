"""The queue of spooled import jobs: a worker claims the oldest queued job, and a job whose process died
(or that ran too long) is queued once more, then failed.

A claim is a conditional UPDATE (queued -> running) whose row count decides, so two workers never run the
same job on either backend; on PostgreSQL `FOR UPDATE SKIP LOCKED` lets racing workers pass each other's
candidate instead of waiting for it. An import writes nothing until it commits with its outcome, and it
commits only while its attempt still holds the job (see service.execute): a run killed or taken over
leaves nothing behind, and its rerun writes the rows once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os

from sqlalchemy import select, update

from logicrm import processes
from logicrm.db import Database, utcnow
from logicrm.imports import progress, service
from logicrm.imports.models import ImportJob, ImportState

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 2  # a job whose worker died runs once more; a second death fails it
UNFINISHED = (ImportState.QUEUED, ImportState.RUNNING)


def claim(database: Database, *, timeout_s: int) -> ImportJob | None:
    """Take the oldest queued job for this process (running, its attempt counted) and return it, or None
    when nothing is queued or, on SQLite, a live import holds the write lock (imports there run one at a
    time: waiting for the lock would only block the worker's other work)."""
    if not waiting(database):  # a read: an idle worker's poll never takes the SQLite write lock
        return None
    with database.session(write=False) as reader:
        if database.engine.dialect.name == "sqlite" and any(
            _abandoned(job, now=utcnow(), timeout_s=timeout_s) is None
            for job in reader.scalars(select(ImportJob).where(ImportJob.state == ImportState.RUNNING))
        ):
            return None
    with database.session_scope() as session:
        job_id = session.scalar(_queued().limit(1).with_for_update(skip_locked=True))
        if job_id is None:
            return None
        host, pid = processes.here()
        claimed = session.execute(
            update(ImportJob)
            .where(ImportJob.id == job_id, ImportJob.state == ImportState.QUEUED)
            .values(
                state=ImportState.RUNNING, host=host, pid=pid, started_at=utcnow(),
                attempts=ImportJob.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )  # fmt: skip
        if claimed.rowcount != 1:
            return None
        return session.get(ImportJob, job_id)


def waiting(database: Database) -> bool:
    """Tell whether a job waits in the queue."""
    with database.session(write=False) as reader:
        return reader.scalar(_queued().limit(1)) is not None


def _queued():
    return (
        select(ImportJob.id)
        .where(ImportJob.state == ImportState.QUEUED, ImportJob.spool_path.is_not(None))
        .order_by(ImportJob.created_at, ImportJob.id)
    )


def recover_abandoned(database: Database, *, timeout_s: int) -> int:
    """Queue again (once) the spooled jobs whose process died (this host) or that ran longer than
    `timeout_s`; mark failed the others, and the queued jobs no worker took within `timeout_s`.
    Return how many jobs went back to the queue."""
    now = utcnow()
    # Decide in a read session: on SQLite a writer would wait for the lock a running import holds.
    with database.session(write=False) as reader:
        dead = [
            (job, reason)
            for job in reader.scalars(select(ImportJob).where(ImportJob.state.in_(UNFINISHED)))
            if (reason := _abandoned(job, now=now, timeout_s=timeout_s))
        ]
    if not dead:
        return 0
    requeued, stale = 0, []
    with database.session_scope() as session:
        for job, reason in dead:
            retry = job.state == ImportState.RUNNING and job.spool_path and job.attempts < MAX_ATTEMPTS
            if retry:
                values = service.REQUEUED
            else:
                values = {"state": ImportState.FAILED, "finished_at": now, "error": _failure(job, reason)}
            changed = session.execute(
                update(ImportJob)
                # unchanged since read: not finished, claimed or recovered by another process meanwhile
                .where(
                    ImportJob.id == job.id, ImportJob.state == job.state, ImportJob.attempts == job.attempts
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            ).rowcount
            if not changed:
                continue
            if retry:
                requeued += 1
                log.warning("import job %s queued again after attempt %s: %s", job.id, job.attempts, reason)
            elif job.spool_path:
                stale.append(job.spool_path)  # the upload of a failed job never runs again
            if job.spool_path:
                stale.append(progress.progress_path(os.path.dirname(job.spool_path), job.id))
    for path in stale:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
    return requeued


def _abandoned(job: ImportJob, *, now: dt.datetime, timeout_s: int) -> str | None:
    """Say why an unfinished job will never finish where it is, or None while it may."""
    if job.state == ImportState.QUEUED:
        if (now - job.created_at).total_seconds() > timeout_s:
            return f"no worker took it within {timeout_s} s (is `logicrm worker` running?)"
        return None
    if processes.gone(job.host, job.pid):
        return f"process {job.pid} on {job.host} stopped"
    if (now - (job.started_at or job.created_at)).total_seconds() > timeout_s:
        return f"still running after {timeout_s} s"
    return None


def _failure(job: ImportJob, reason: str) -> str:
    if job.state == ImportState.QUEUED:
        return f"abandoned: {reason}; nothing was written"
    if job.spool_path:
        return f"interrupted on attempt {job.attempts} of {MAX_ATTEMPTS}: {reason}; nothing was written"
    return f"interrupted: {reason}; nothing was written"
