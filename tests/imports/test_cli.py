"""`logicrm import` in-process through Flask's CLI runner, and killed mid-import in a subprocess."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from logicrm.imports import progress
from logicrm.imports.models import ImportJob
from logicrm.lanes.models import Shipment
from tests.imports.conftest import SHIPMENT_HEADER, count, csv_text, run_import, shipment_rows

LOGICRM = Path(sys.executable).with_name("logicrm")  # the console script of this venv


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=["import", *map(str, args)])


def _read_csv(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def test_one_bad_row_among_10000_is_rejected_with_a_rejects_file_that_re_imports_once_fixed(
    cli, db, lane, tmp_path
):
    rows = shipment_rows(10_000)
    bad = [*rows[4_321]]
    rows[4_321][1] = "LANE-404"  # physical line 4,323
    source, rejects = tmp_path / "shipments.csv", tmp_path / "out" / "rejected.csv"
    rejects.parent.mkdir()
    source.write_text(csv_text(SHIPMENT_HEADER, rows), encoding="utf-8")

    result = cli("shipments", source, "--rejects", rejects)
    assert result.exit_code == 1, result.output
    assert "rejected" in result.stderr and "10,000 rows" in result.stderr
    assert "line 4323, link_ref: no link with external_ref 'LANE-404'" in result.stderr
    assert count(db, Shipment) == 0

    header, *rejected = _read_csv(rejects)
    assert header == [*SHIPMENT_HEADER, "import_errors"]
    assert rejected == [[*rows[4_321], "link_ref: no link with external_ref 'LANE-404'"]]

    # Fix the rejected row in the rejects file (its import_errors column is ignored) ...
    fixed = rejects.with_name("fixed.csv")
    fixed.write_text(csv_text(header, [[*bad, rejected[0][-1]]]), encoding="utf-8")
    # ... and the original: both import cleanly now.
    rows[4_321] = bad
    source.write_text(csv_text(SHIPMENT_HEADER, rows), encoding="utf-8")
    result = cli("shipments", source)
    assert result.exit_code == 0, result.output
    assert "succeeded" in result.stderr and "10,000 created" in result.stderr
    assert count(db, Shipment) == 10_000
    again = cli("shipments", fixed)
    assert again.exit_code == 0, again.output
    assert "0 created, 0 updated, 1 unchanged, 0 invalid" in again.stderr
    assert not Path(f"{source}.rejected.csv").exists()


def test_skip_invalid_writes_the_valid_rows_and_the_rejects_go_beside_the_file(cli, db, lane, tmp_path):
    rows = shipment_rows(50)
    rows[7][5] = "lots"
    rows[30][2] = ""
    source = tmp_path / "s.csv"
    source.write_text(csv_text(SHIPMENT_HEADER, rows))
    result = cli("shipments", source, "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert "48 created, 0 updated, 0 unchanged, 2 invalid" in result.stderr
    with db.session(write=False) as session:
        assert set(session.scalars(select(Shipment.external_ref))) == {
            r[0] for i, r in enumerate(rows) if i not in (7, 30)
        }
    _header, *rejected = _read_csv(Path(f"{source}.rejected.csv"))
    assert [r[0] for r in rejected] == ["SH00007", "SH00030"]
    assert rejected[0][-1] == "cost: 'lots' is not a number" and rejected[1][-1] == "shipped_at: required"


def test_dry_run_writes_nothing(cli, db, lane, tmp_path):
    source = tmp_path / "s.csv"
    source.write_text(csv_text(SHIPMENT_HEADER, shipment_rows(20)))
    result = cli("shipments", source, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "20 created" in result.stderr and "dry run: nothing written" in result.stderr
    assert count(db, Shipment) == 0


def test_date_format_and_timezone_options(cli, db, lane, tmp_path):
    source = tmp_path / "s.csv"
    source.write_text(csv_text(("external_ref", "link_ref", "shipped_at"), [["X", "L1", "01.03.2026 08:00"]]))
    assert cli("shipments", source).exit_code == 1
    result = cli("shipments", source, "--date-format", "%d.%m.%Y", "--timezone", "Asia/Shanghai")
    assert result.exit_code == 0, result.output
    with db.session(write=False) as session:
        assert session.scalar(select(Shipment.shipped_at)).isoformat() == "2026-03-01T00:00:00+00:00"


def test_a_header_error_exits_1_with_the_reason(cli, db, lane, tmp_path):
    source = tmp_path / "s.csv"
    source.write_text(csv_text(("external_ref", "lnk_ref", "shipped_at"), [["X", "L1", "2026-03-01"]]))
    result = cli("shipments", source)
    assert result.exit_code == 1
    assert "unknown column 'lnk_ref' (did you mean 'link_ref'?)" in result.stderr
    assert "missing required column link_ref" in result.stderr
    assert "Traceback" not in result.output


def test_unknown_kind_user_timezone_or_date_format_exit_1_with_a_message(cli, lane, tmp_path):
    source = tmp_path / "s.csv"
    source.write_text(csv_text(SHIPMENT_HEADER, shipment_rows(1)))
    for args, message in (
        (("pallets", source), "no import kind 'pallets'"),
        (("shipments", source, "--user", "nobody@example.com"), "nobody@example.com"),
        (("shipments", source, "--timezone", "Mars/Olympus"), "unknown time zone 'Mars/Olympus'"),
        (("shipments", source, "--date-format", "%d.%m."), "date_format: '%d.%m.': it does not read back"),
    ):
        result = cli(*args)
        assert result.exit_code == 1, (args, result.output)
        assert message in result.stderr and "Traceback" not in result.output


def test_user_option_imports_as_that_account_manager(cli, db, lane, actors, tmp_path):
    source = tmp_path / "s.csv"
    source.write_text(csv_text(SHIPMENT_HEADER, shipment_rows(1)))
    result = cli("shipments", source, "--user", "am@test.example")
    assert result.exit_code == 1  # L1's customers are not am's: the lane looks unknown
    assert "no link with external_ref 'L1'" in result.stderr
    with db.session(write=False) as session:
        assert session.scalar(select(ImportJob.user_id).order_by(ImportJob.id.desc())) == actors["am"].user_id


def _wait_for_rows(db, spool: Path, process, deadline_s: float = 30) -> tuple[int, int]:
    """Wait until the import subprocess reports rows written inside its transaction: (job id, rows)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        assert process.poll() is None, process.communicate()
        with db.session(write=False) as session:
            job = session.scalar(select(ImportJob).order_by(ImportJob.id.desc()))
            if job is not None and job.state == "running":
                rows = progress.live_progress(job=job, spool_dir=str(spool))["rows_done"]
                if rows:
                    return job.id, rows
        time.sleep(0.02)
    pytest.fail("the import reported no progress in time")


@pytest.mark.slow
def test_an_import_killed_midway_leaves_no_partial_rows_and_its_job_shows_interrupted(
    app, db, lane, api, tmp_path
):
    total = 60_000
    source, instance = tmp_path / "big.csv", tmp_path / "instance"
    source.write_text(csv_text(SHIPMENT_HEADER, shipment_rows(total)))
    env = {
        **os.environ,
        "LOGICRM_DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
        "LOGICRM_INSTANCE_PATH": str(instance),
        "LOGICRM_IMPORT_BATCH_ROWS": "500",
    }
    process = subprocess.Popen(
        [str(LOGICRM), "import", "shipments", str(source)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        job_id, rows = _wait_for_rows(db, instance / "imports", process)
        assert 0 < rows < total
        assert count(db, Shipment) == 0  # written, but not committed: nobody else sees them
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=10) == -signal.SIGKILL  # reaped: its pid is gone
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stderr.close()

    assert count(db, Shipment) == 0
    job = api.get(f"/imports/{job_id}")
    assert job.status_code == 200, job.json
    assert job.json["state"] == "failed"
    assert job.json["error"].startswith("interrupted") and "nothing was written" in job.json["error"]
    # The database still takes writes: a small import of other rows succeeds.
    after = run_import(app, "shipments", csv_text(SHIPMENT_HEADER, shipment_rows(5, prefix="AFTER")))
    assert (after.state, after.counts["created"]) == ("succeeded", 5)
    assert count(db, Shipment) == 5
    assert json.dumps(api.get("/imports", query={"state": "running"}).json["items"]) == "[]"


def test_a_date_format_longer_than_a_job_records_exits_1_naming_it(cli, lane, tmp_path):
    source = tmp_path / "s.csv"
    source.write_text(csv_text(SHIPMENT_HEADER, shipment_rows(1)))
    result = cli("shipments", source, "--date-format", "%d.%m.%Y" + " " * 40)
    assert result.exit_code == 1, result.output
    assert "date_format" in result.stderr and "longer than 40 characters" in result.stderr
