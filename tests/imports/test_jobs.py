"""Running queued import jobs: the API queues a large upload for `logicrm worker` (or runs it itself with
jobs_run_by=api), workers racing never run one job twice, and a worker killed mid-import leaves nothing
written and its job runs once more."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from logicrm.config import Settings
from logicrm.db import Database, make_engine
from logicrm.imports import jobs, progress, queue
from logicrm.imports.models import ImportJob
from logicrm.lanes.models import Shipment
from tests.imports.conftest import (
    SHIPMENT_HEADER,
    count,
    csv_text,
    job_row,
    queue_import,
    shipment_rows,
    upload,
)
from tests.racing import race

LOGICRM = Path(sys.executable).with_name("logicrm")  # the console script of this venv
DEADLINE_S = 60


def _shipments(rows: int, prefix: str = "SH") -> str:
    return csv_text(SHIPMENT_HEADER, shipment_rows(rows, prefix=prefix))


def test_with_a_worker_the_api_queues_a_large_upload_and_the_worker_runs_it(app, api, db, lane):
    app.config["LOGICRM"] = app.config["LOGICRM"].replace(jobs_run_by="worker", import_inline_max_bytes=100)
    response = upload(api, "shipments", _shipments(20))
    assert response.status_code == 202, response.json
    time.sleep(0.5)
    waiting = api.get(f"/imports/{response.json['id']}").json
    assert (waiting["state"], waiting["attempts"]) == ("queued", 0)  # the API runs nothing itself
    assert count(db, Shipment) == 0

    assert jobs.drain(db, settings=app.config["LOGICRM"]) == 1
    done = api.get(f"/imports/{response.json['id']}").json
    assert (done["state"], done["attempts"], done["counts"]["created"]) == ("succeeded", 1, 20)
    assert count(db, Shipment) == 20
    assert not os.path.exists(job_row(db, done["id"]).spool_path)  # the upload is gone once run


def test_without_a_worker_the_api_runs_the_jobs_an_api_process_left_queued(app, api, db, lane):
    job = queue_import(app, "shipments", _shipments(20))  # queued by a process that stopped before running it
    end = time.monotonic() + DEADLINE_S
    while (state := api.get(f"/imports/{job.id}").json["state"]) in ("queued", "running"):
        assert time.monotonic() < end, state
        time.sleep(0.02)
    assert (state, job_row(db, job.id).attempts, count(db, Shipment)) == ("succeeded", 1, 20)


def test_a_worker_that_stops_mid_import_gives_the_job_back_unwritten(app, db, lane):
    job = queue_import(app, "shipments", _shipments(30))
    settings = app.config["LOGICRM"].replace(import_batch_rows=10)
    stopping = threading.Event()
    stopping.set()  # seen after the first batch

    released = jobs.run_next(db, settings=settings, stop=stopping)
    assert (released.state, released.attempts, released.host, released.rows_done) == ("queued", 0, None, 0)
    assert count(db, Shipment) == 0 and os.path.exists(job.spool_path)

    done = jobs.run_next(db, settings=settings)
    assert (done.state, done.attempts, done.counts["created"]) == ("succeeded", 1, 30)
    assert count(db, Shipment) == 30 and not os.path.exists(job.spool_path)


def test_a_job_whose_upload_is_gone_fails_saying_so(app, db, lane):
    job = queue_import(app, "shipments", _shipments(3))
    os.remove(job.spool_path)
    failed = jobs.run_next(db, settings=app.config["LOGICRM"])
    assert (failed.state, failed.error) == (
        "failed",
        f"its upload {job.spool_path} is gone; nothing was written",
    )


def _work_until_done(url: str, barrier, results) -> None:
    """A worker in a process of its own: run queued jobs until none is left unfinished."""
    database = Database(make_engine(url))
    settings = Settings(database_url=url, import_batch_rows=50)
    unfinished = ImportJob.state.in_(("queued", "running"))
    ran, deadline = [], time.monotonic() + DEADLINE_S
    barrier.wait(timeout=DEADLINE_S)
    try:
        while time.monotonic() < deadline:
            if (job := jobs.run_next(database, settings=settings)) is not None:
                ran.append(job.id)
            elif not count(database, ImportJob, unfinished):
                break
            else:
                time.sleep(0.005)
        results.put(ran)
    except Exception as error:  # reported to the test rather than lost in the process
        results.put(repr(error))
    finally:
        database.engine.dispose()


def test_workers_racing_for_the_queue_never_run_one_job_twice(database_url, app, db, lane):
    queued = [queue_import(app, "shipments", _shipments(200, prefix=f"J{n}-")).id for n in range(8)]
    outcomes = race(_work_until_done, (database_url,), processes=3)
    assert all(isinstance(ran, list) for ran in outcomes), outcomes
    ran = [job_id for worker in outcomes for job_id in worker]
    assert sorted(ran) == queued, outcomes  # each job run by exactly one worker
    with db.session(write=False) as session:
        finished = session.scalars(
            select(ImportJob).where(ImportJob.id.in_(queued)).order_by(ImportJob.id)
        ).all()
    assert [(job.state, job.attempts, job.counts["created"]) for job in finished] == [
        ("succeeded", 1, 200)
    ] * 8
    assert count(db, Shipment) == 8 * 200


def _start_worker(database_url: str, tmp_path: Path, name: str) -> tuple[subprocess.Popen, Path]:
    env = {
        **os.environ,
        "LOGICRM_DATABASE_URL": database_url,
        "LOGICRM_INSTANCE_PATH": str(tmp_path / name),
        "LOGICRM_IMPORT_BATCH_ROWS": "500",
    }
    log = tmp_path / f"{name}.log"
    worker = subprocess.Popen(
        [str(LOGICRM), "worker", "--poll", "0.1"], env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
    )
    return worker, log


def _wait_for_rows(db, job_id: int, attempt: int, worker: subprocess.Popen, log: Path) -> int:
    """Wait until attempt `attempt` of the job has written rows inside its transaction; return them."""
    end = time.monotonic() + DEADLINE_S
    while time.monotonic() < end:
        assert worker.poll() is None, log.read_text()
        job = job_row(db, job_id)
        if job.state == "running" and job.attempts == attempt and job.pid == worker.pid:
            spool = os.path.dirname(job.spool_path)
            if rows := progress.live_progress(job=job, spool_dir=spool)["rows_done"]:
                return rows
        time.sleep(0.02)
    pytest.fail(f"attempt {attempt} reported no progress in time: {log.read_text()}")


def _kill(worker: subprocess.Popen) -> None:
    worker.send_signal(signal.SIGKILL)
    assert worker.wait(timeout=10) == -signal.SIGKILL  # reaped: its pid is gone


@pytest.mark.slow
def test_a_worker_killed_mid_import_leaves_nothing_written_and_the_job_runs_once_more(
    app, db, lane, database_url, tmp_path
):
    total = 60_000
    job = queue_import(app, "shipments", _shipments(total))
    worker, log = _start_worker(database_url, tmp_path, "killed")
    try:
        assert 0 < _wait_for_rows(db, job.id, 1, worker, log) < total
        assert count(db, Shipment) == 0  # written, but not committed: nobody else sees them
        _kill(worker)
    finally:
        if worker.poll() is None:
            _kill(worker)
    assert count(db, Shipment) == 0

    assert jobs.drain(db, settings=app.config["LOGICRM"]) == 1  # another worker: requeues, claims, runs
    done = job_row(db, job.id)
    assert (done.state, done.attempts, done.rows_done, done.counts["created"]) == (
        "succeeded",
        2,
        total,
        total,
    )
    assert count(db, Shipment) == total  # every row once
    assert not os.path.exists(job.spool_path)


@pytest.mark.slow
def test_a_job_whose_worker_is_killed_twice_fails_with_nothing_written(
    app, api, db, lane, database_url, tmp_path
):
    job = queue_import(app, "shipments", _shipments(60_000))
    for attempt in (1, 2):  # the second worker finds the first one's job, queues it again and claims it
        worker, log = _start_worker(database_url, tmp_path, f"worker-{attempt}")
        try:
            _wait_for_rows(db, job.id, attempt, worker, log)
            _kill(worker)
        finally:
            if worker.poll() is None:
                _kill(worker)
    failed = api.get(f"/imports/{job.id}").json  # reading the job recovers it
    assert (failed["state"], failed["attempts"]) == ("failed", 2)
    assert failed["error"] == (
        f"interrupted on attempt 2 of 2: process {worker.pid} on {job_row(db, job.id).host} stopped; "
        "nothing was written"
    )
    assert count(db, Shipment) == 0 and not os.path.exists(job.spool_path)
    assert queue.claim(db, timeout_s=3600) is None
