"""The queue of import jobs: claims, a job whose process died runs once more then fails, and a run whose
attempt was taken over writes nothing."""

from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
import sys

from sqlalchemy import select, update

from logicrm import processes
from logicrm.db import Database, make_engine, utcnow
from logicrm.imports import progress, queue, service
from logicrm.imports.models import ImportJob
from logicrm.lanes.models import Shipment
from tests.imports.conftest import SHIPMENT_HEADER, count, csv_text, job_row, queue_import, shipment_rows
from tests.racing import race

TIMEOUT_S = 3600


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()  # reaped: its pid is gone
    return process.pid


def _set(db, job_id: int, **values) -> None:
    with db.session_scope() as session:
        session.execute(update(ImportJob).where(ImportJob.id == job_id).values(**values))


def _shipments(count_: int, prefix: str = "SH") -> str:
    return csv_text(SHIPMENT_HEADER, shipment_rows(count_, prefix=prefix))


def test_a_claim_takes_the_oldest_queued_job_and_counts_the_attempt(app, db, lane):
    first, second = (
        queue_import(app, "shipments", _shipments(3)),
        queue_import(app, "shipments", _shipments(3)),
    )
    inline = queue_import(app, "shipments", _shipments(3))
    _set(db, inline.id, spool_path=None)  # a job run where its file was taken is nobody else's to run

    claimed = queue.claim(db, timeout_s=TIMEOUT_S)
    assert (claimed.id, claimed.state, claimed.attempts) == (first.id, "running", 1)
    assert (claimed.host, claimed.pid) == processes.here() and claimed.started_at is not None
    following = queue.claim(db, timeout_s=TIMEOUT_S)
    if db.engine.dialect.name == "sqlite":
        assert following is None  # the first holds (or will hold) the write lock: one import at a time
        _set(db, first.id, state="succeeded")
        following = queue.claim(db, timeout_s=TIMEOUT_S)
    assert (following.id, following.attempts) == (second.id, 1)
    assert queue.claim(db, timeout_s=TIMEOUT_S) is None
    assert job_row(db, inline.id).state == "queued"


def test_a_job_whose_process_died_runs_once_more_then_fails(app, db, lane):
    job = queue_import(app, "shipments", _shipments(3))
    queue.claim(db, timeout_s=TIMEOUT_S)
    spool = os.path.dirname(job.spool_path)
    with open(progress.progress_path(spool, job.id), "w") as file:
        file.write('{"rows_done": 2000, "bytes_done": 99}')
    _set(db, job.id, pid=_dead_pid(), rows_done=2000, bytes_done=99)

    assert queue.recover_abandoned(db, timeout_s=TIMEOUT_S) == 1
    requeued = job_row(db, job.id)
    assert (requeued.state, requeued.attempts, requeued.host, requeued.pid) == ("queued", 1, None, None)
    assert (requeued.rows_done, requeued.bytes_done, requeued.error) == (0, 0, None)
    assert not os.path.exists(progress.progress_path(spool, job.id))  # the next attempt starts from zero

    assert queue.claim(db, timeout_s=TIMEOUT_S).attempts == 2
    dead = _dead_pid()
    _set(db, job.id, pid=dead)
    assert queue.recover_abandoned(db, timeout_s=TIMEOUT_S) == 0
    failed = job_row(db, job.id)
    assert failed.state == "failed" and failed.finished_at is not None
    assert failed.error == (
        f"interrupted on attempt 2 of 2: process {dead} on {failed.host} stopped; nothing was written"
    )
    assert not os.path.exists(job.spool_path)  # never run again
    assert queue.claim(db, timeout_s=TIMEOUT_S) is None and count(db, Shipment) == 0


def test_a_run_in_the_process_that_took_the_file_is_failed_when_that_process_dies(app, db, lane):
    job = queue_import(app, "shipments", _shipments(3))
    queue.claim(db, timeout_s=TIMEOUT_S)
    dead = _dead_pid()
    _set(db, job.id, spool_path=None, pid=dead)  # an upload imported within its request, or the CLI's
    assert queue.recover_abandoned(db, timeout_s=TIMEOUT_S) == 0
    failed = job_row(db, job.id)
    assert (failed.state, failed.error) == (
        "failed",
        f"interrupted: process {dead} on {failed.host} stopped; nothing was written",
    )


def test_a_job_claimed_longer_than_the_timeout_runs_again_and_one_never_claimed_fails(app, db, lane):
    slow, waiting = (
        queue_import(app, "shipments", _shipments(3)),
        queue_import(app, "shipments", _shipments(3)),
    )
    fresh = queue_import(app, "shipments", _shipments(3))
    queue.claim(db, timeout_s=TIMEOUT_S)
    long_ago = utcnow() - dt.timedelta(seconds=TIMEOUT_S + 1)
    _set(db, slow.id, host="elsewhere", started_at=long_ago)  # alive for all we know, but too long
    _set(db, waiting.id, created_at=long_ago)

    assert queue.recover_abandoned(db, timeout_s=TIMEOUT_S) == 1
    assert (job_row(db, slow.id).state, job_row(db, slow.id).attempts) == ("queued", 1)
    abandoned = job_row(db, waiting.id)
    assert (abandoned.state, abandoned.error) == (
        "failed",
        f"abandoned: no worker took it within {TIMEOUT_S} s (is `logicrm worker` running?); nothing was written",
    )
    assert not os.path.exists(waiting.spool_path)
    assert job_row(db, fresh.id).state == "queued"


class _TakenOverAtFirstRead(io.BytesIO):
    """A file whose first read lets another attempt take the job over (as if this one were deemed dead)."""

    def __init__(self, data: bytes, take_over):
        super().__init__(data)
        self._take_over = take_over

    def readline(self, *args):
        if self._take_over:
            self._take_over, take_over = None, self._take_over
            take_over()
        return super().readline(*args)


def test_an_attempt_taken_over_while_it_ran_writes_nothing_and_the_new_one_writes_once(app, db, lane):
    data = _shipments(50).encode()
    job = queue_import(app, "shipments", data)
    first = queue.claim(db, timeout_s=TIMEOUT_S)
    settings = app.config["LOGICRM"].replace(import_batch_rows=10)
    options, spool = service.options_of(job=first, settings=settings), os.path.dirname(job.spool_path)

    def take_over():
        _set(db, job.id, **service.REQUEUED)
        assert queue.claim(db, timeout_s=TIMEOUT_S).attempts == 2

    stale = service.execute(
        db, job_id=job.id, stream=_TakenOverAtFirstRead(data, take_over), options=options, spool_dir=spool
    )
    assert (stale.state, stale.attempts, stale.counts) == ("running", 2, {})  # left to the new attempt
    assert count(db, Shipment) == 0

    done = service.execute(db, job_id=job.id, stream=io.BytesIO(data), options=options, spool_dir=spool)
    assert (done.state, done.attempts, done.rows_done, done.counts["created"]) == ("succeeded", 2, 50, 50)
    assert count(db, Shipment) == 50


def test_a_queued_job_keeps_its_options_for_the_worker(app, db, lane):
    job = queue_import(app, "shipments", _shipments(1), timezone="Asia/Shanghai", date_format="%d.%m.%Y")
    options = service.options_of(job=job, settings=app.config["LOGICRM"])
    assert (options.formats.date_format, str(options.formats.timezone)) == ("%d.%m.%Y", "Asia/Shanghai")
    assert options == service.options_from(
        settings=app.config["LOGICRM"], timezone="Asia/Shanghai", date_format="%d.%m.%Y"
    )


def _claim_once(url: str, barrier, results) -> None:
    database = Database(make_engine(url))
    barrier.wait(timeout=60)
    try:
        claimed = queue.claim(database, timeout_s=TIMEOUT_S)
        results.put(claimed and claimed.id)
    except Exception as error:  # reported to the test rather than lost in the process
        results.put(repr(error))
    finally:
        database.engine.dispose()


def test_processes_claiming_at_once_never_take_the_same_job(database_url, app, db, lane):
    queued = [queue_import(app, "shipments", _shipments(1)).id for _ in range(4)]
    claims = race(_claim_once, (database_url,), processes=4)
    taken = [claimed for claimed in claims if claimed is not None]
    assert all(isinstance(claimed, int) for claimed in taken), claims
    assert len(taken) == len(set(taken)) and set(taken) <= set(queued), claims
    if db.engine.dialect.name == "postgresql":
        assert sorted(taken) == queued  # SKIP LOCKED: each passes the others' candidates
    with db.session(write=False) as session:
        attempts = session.scalars(select(ImportJob.attempts).where(ImportJob.id.in_(queued))).all()
    assert sorted(attempts) == sorted([1] * len(taken) + [0] * (len(queued) - len(taken)))
