"""`logicrm worker`: one process runs the queued import jobs beside the score refresh, and on SIGTERM
gives an import under way back to the queue, unwritten."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from logicrm.imports import progress
from logicrm.lanes.models import Shipment
from logicrm.scoring.models import PublishedScores
from tests.imports.conftest import (
    SHIPMENT_HEADER,
    count,
    csv_text,
    job_row,
    lane,  # noqa: F401 (the fixture: shipper, consignee and their link)
    queue_import,
    shipment_rows,
    upload,
)

DEADLINE_S = 60


def _wait(condition, worker: subprocess.Popen, log: Path, what: str):
    end = time.monotonic() + DEADLINE_S
    while not (found := condition()):
        assert worker.poll() is None, log.read_text()
        assert time.monotonic() < end, f"{what}: not in time\n{log.read_text()}"
        time.sleep(0.05)
    return found


@pytest.mark.usefixtures("lane")
def test_the_worker_runs_queued_imports_and_gives_one_back_on_sigterm(app, api, db, database_url, tmp_path):
    app.config["LOGICRM"] = app.config["LOGICRM"].replace(jobs_run_by="worker", import_inline_max_bytes=100)
    env = {
        **os.environ,
        "LOGICRM_DATABASE_URL": database_url,
        "LOGICRM_INSTANCE_PATH": str(tmp_path),
        "LOGICRM_IMPORT_BATCH_ROWS": "50",  # many batches: a stop between two comes long before the end
    }
    log = tmp_path / "worker.log"
    command = [str(Path(sys.executable).with_name("logicrm")), "worker", "--poll", "0.2"]
    worker = subprocess.Popen(command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)

    try:
        # below the API's CPU priority: a recompute never slows the reads on a shared host
        lowered = min(19, os.getpriority(os.PRIO_PROCESS, 0) + 10)
        _wait(
            lambda: os.getpriority(os.PRIO_PROCESS, worker.pid) == lowered,
            worker,
            log,
            "its priority lowered",
        )
        small = upload(api, "shipments", csv_text(SHIPMENT_HEADER, shipment_rows(20)))
        assert small.status_code == 202, small.json
        _wait(
            lambda: job_row(db, small.json["id"]).state == "succeeded", worker, log, "the queued upload ran"
        )
        assert count(db, Shipment) == 20
        _wait(lambda: count(db, PublishedScores), worker, log, "the scores were published")  # the other loop

        big = queue_import(app, "shipments", csv_text(SHIPMENT_HEADER, shipment_rows(60_000, prefix="BIG")))
        spool = os.path.dirname(big.spool_path)
        _wait(
            lambda: (
                job_row(db, big.id).state == "running"
                and progress.live_progress(job=job_row(db, big.id), spool_dir=spool)["rows_done"]
            ),
            worker,
            log,
            "the big import started",
        )
    finally:
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=DEADLINE_S)
    assert code == 0, log.read_text()
    assert "Traceback" not in log.read_text() and "worker stopped" in log.read_text()
    given_back = job_row(db, big.id)
    assert (given_back.state, given_back.attempts, given_back.host) == ("queued", 0, None)
    assert count(db, Shipment) == 20 and os.path.exists(big.spool_path)  # for the next worker
