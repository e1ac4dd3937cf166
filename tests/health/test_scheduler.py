"""The scheduler: slots from triggers, the persistent job store across restarts, missed runs, the CLI.

Missed runs are staged the way a stopped scheduler leaves them: the job store holds a next run time in
the past (from days ago), and the scheduler that comes back must run the health run once for the latest
missed occurrence if it is within the grace time, and not at all otherwise.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from apscheduler.events import EVENT_JOB_EXECUTED, EVENT_JOB_MISSED
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select, text

from logicrm.config import Settings
from logicrm.db import utcnow
from logicrm.health import runs, scheduler
from logicrm.health.models import HealthSnapshot, JobRun, RunStatus
from tests.health import test_runs

portfolio = test_runs.portfolio  # the same small network (a fixture)

DAY = dt.timedelta(days=1)
WAIT_S = 60
# The interval jobs' period in these tests (next due in 2029), so only the health run fires while they watch.
RARELY_S = 3650 * 86400


@pytest.fixture
def jobstore(db, monkeypatch):
    """An empty job store table in the test database, dropped afterwards (it is not part of the schema)."""
    drop = text(f"DROP TABLE IF EXISTS {scheduler.JOBSTORE_TABLE}")
    with db.engine.begin() as connection:
        connection.execute(drop)
    monkeypatch.setattr(scheduler, "_context", None)
    yield
    with db.engine.begin() as connection:
        connection.execute(drop)


def _recent_fire(minutes_ago: int = 3) -> dt.datetime:
    """A minute in the recent past, as the daily fire time of a cron made for the test."""
    return (utcnow() - dt.timedelta(minutes=minutes_ago)).replace(second=0, microsecond=0)


def _settings(app, fire: dt.datetime, **changes) -> Settings:
    return app.config["LOGICRM"].replace(
        health_cron=f"{fire.minute} {fire.hour} * * *",
        outbox_interval_s=RARELY_S,
        sla_check_interval_s=RARELY_S,
        **changes,
    )


def _config(app, settings: Settings) -> runs.RunConfig:
    return runs.RunConfig(settings, app.config["LOGICRM_SCORING"], app.config["LOGICRM_RULES"])


def _stop_since(db, config, when: dt.datetime) -> None:
    """Leave the job store as a scheduler stopped long ago does: health_run due at `when`.

    (A plain APScheduler 3 scheduler would lose `when` at shutdown: its loop runs once more and marks the
    due job done; our scheduler does not, see scheduler._Scheduler.)
    """
    stopped = scheduler.create_scheduler(db, config)
    stopped.start(paused=True)
    stopped.modify_job("health_run", next_run_time=when)
    stopped.shutdown()


def _next_run_time(db, config, job_id: str) -> dt.datetime:
    probe = scheduler.create_scheduler(db, config)
    probe.start(paused=True)
    try:
        return probe.get_job(job_id).next_run_time
    finally:
        probe.shutdown()


def _health_runs(db) -> list[JobRun]:
    with db.session(write=False) as session:
        return list(session.scalars(select(JobRun).where(JobRun.job == runs.HEALTH_RUN)))


def _wait_for(condition, timeout_s: float = WAIT_S):
    deadline = time.monotonic() + timeout_s
    while not (result := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
    return result


# Slots -----------------------------------------------------------------------------------------------


def test_the_slot_is_the_latest_fire_time_at_or_before_now():
    settings = Settings(health_cron="0 2 * * *")
    at = lambda text: dt.datetime.fromisoformat(text)  # noqa: E731
    assert scheduler.current_slot("health_run", settings, now=at("2026-05-01T02:00:00+00:00")) == (
        "2026-05-01T02:00:00+00:00"
    )
    # A run the scheduler starts late (a misfire within the grace) still belongs to 02:00.
    assert scheduler.current_slot("health_run", settings, now=at("2026-05-01T07:59:00+00:00")) == (
        "2026-05-01T02:00:00+00:00"
    )
    assert scheduler.current_slot("health_run", settings, now=at("2026-05-01T01:59:59+00:00")) == (
        "2026-04-30T02:00:00+00:00"
    )
    # Weekly: the last Sunday.
    weekly = Settings(health_cron="30 3 * * sun")
    assert scheduler.current_slot("health_run", weekly, now=at("2026-05-01T12:00:00+00:00")) == (
        "2026-04-26T03:30:00+00:00"
    )


def test_slots_are_in_utc_for_a_cron_in_another_time_zone():
    settings = Settings(health_cron="0 2 * * *", scheduler_timezone="Europe/Berlin")
    summer = dt.datetime(2026, 7, 1, 6, 0, tzinfo=dt.UTC)
    winter = dt.datetime(2026, 1, 15, 6, 0, tzinfo=dt.UTC)
    assert scheduler.current_slot("health_run", settings, now=summer) == "2026-07-01T00:00:00+00:00"
    assert scheduler.current_slot("health_run", settings, now=winter) == "2026-01-15T01:00:00+00:00"


def test_interval_slots_sit_on_one_grid_for_every_process():
    now = dt.datetime(2026, 5, 1, 12, 34, 56, tzinfo=dt.UTC)
    # Two schedulers built separately (say, started a minute apart) agree on the slot.
    first, second = Settings(sla_check_interval_s=900), Settings(sla_check_interval_s=900)
    assert scheduler.current_slot("sla_check", first, now=now) == "2026-05-01T12:30:00+00:00"
    assert scheduler.current_slot("sla_check", second, now=now) == scheduler.current_slot(
        "sla_check", first, now=now
    )
    assert scheduler.current_slot("sla_check", first, now=now + dt.timedelta(minutes=1)) == (
        "2026-05-01T12:30:00+00:00"
    )


# The job store across restarts -----------------------------------------------------------------------


def test_jobs_are_named_after_their_functions_with_the_configured_defaults(app, db, jobstore):
    settings = _settings(app, _recent_fire(), scheduler_misfire_grace_s=7200)
    running = scheduler.create_scheduler(db, _config(app, settings))
    running.start(paused=True)
    try:
        jobs = {job.id: job for job in running.get_jobs()}
        assert set(jobs) == {"health_run", "outbox_flush", "sla_check"}
        for job_id, job in jobs.items():
            assert job.func.__name__ == job_id and job.func.__module__ == scheduler.__name__
            assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, 7200)
    finally:
        running.shutdown()


def test_a_restart_keeps_the_stored_next_run_time_unless_the_trigger_changed(app, db, jobstore):
    fire = _recent_fire()
    config = _config(app, _settings(app, fire))
    missed = fire - 2 * DAY
    _stop_since(db, config, missed)

    # What a plain replace_existing=True restart does: the missed run is forgotten.
    plain = BackgroundScheduler(jobstores={"default": scheduler.job_store(config.settings)})
    plain.start(paused=True)
    nightly = scheduler.jobs(config.settings)[0]
    plain.add_job(nightly.func, nightly.trigger, id=nightly.id, replace_existing=True)
    assert plain.get_job("health_run").next_run_time > utcnow()
    plain.shutdown()
    _stop_since(db, config, missed)

    assert _next_run_time(db, config, "health_run") == missed
    assert _next_run_time(db, config, "health_run") == missed  # and it survives a further restart
    changed = _config(app, _settings(app, fire - dt.timedelta(hours=1)))
    assert _next_run_time(db, changed, "health_run") == fire - dt.timedelta(hours=1) + DAY


def test_jobs_no_longer_scheduled_are_removed_from_the_store(app, db, jobstore):
    config = _config(app, _settings(app, _recent_fire()))
    old = BackgroundScheduler(jobstores={"default": scheduler.job_store(config.settings)})
    old.start(paused=True)
    old.add_job(scheduler.health_run, "interval", hours=1, id="nightly_report")
    old.shutdown()

    running = scheduler.create_scheduler(db, config)
    running.start(paused=True)
    try:
        assert {job.id for job in running.get_jobs()} == {"health_run", "outbox_flush", "sla_check"}
    finally:
        running.shutdown()


# Missed runs -----------------------------------------------------------------------------------------


def _watch(running: BackgroundScheduler, mask: int) -> list:
    events: list = []
    lock = threading.Lock()

    def listen(event):
        if event.job_id == "health_run":
            with lock:
                events.append(event)

    running.add_listener(listen, mask)
    return events


def test_a_slot_missed_while_stopped_runs_once_when_the_scheduler_comes_back(app, db, jobstore, portfolio):
    fire = _recent_fire()
    config = _config(app, _settings(app, fire))
    _stop_since(db, config, fire - 3 * DAY)  # down for three nights: four occurrences missed

    running = scheduler.create_scheduler(db, config)
    executed = _watch(running, EVENT_JOB_EXECUTED)
    running.start()
    try:
        _wait_for(lambda: executed)
        time.sleep(1.0)  # room for any further (wrong) run
    finally:
        running.shutdown()

    [run] = _health_runs(db)
    assert run.slot == fire.isoformat() and run.status == RunStatus.SUCCEEDED
    assert len(executed) == 1
    with db.session(write=False) as session:
        assert set(session.scalars(select(HealthSnapshot.run_id))) == {run.id}
    assert _next_run_time(db, config, "health_run") == fire + DAY


def test_a_slot_missed_beyond_the_grace_time_is_skipped(app, db, jobstore, portfolio):
    fire = _recent_fire(minutes_ago=5)
    config = _config(app, _settings(app, fire, scheduler_misfire_grace_s=60))
    _stop_since(db, config, fire - DAY)

    running = scheduler.create_scheduler(db, config)
    missed = _watch(running, EVENT_JOB_MISSED | EVENT_JOB_EXECUTED)
    running.start()
    try:
        _wait_for(lambda: missed)
    finally:
        running.shutdown()

    assert [event.code for event in missed] == [EVENT_JOB_MISSED]
    assert missed[0].scheduled_run_time == fire
    assert _health_runs(db) == []
    assert _next_run_time(db, config, "health_run") == fire + DAY


def test_two_scheduler_processes_started_by_mistake_run_a_missed_slot_once(
    app, db, database_url, jobstore, portfolio, tmp_path
):
    fire = _recent_fire()
    settings = _settings(app, fire)
    config = _config(app, settings)
    env = {
        **os.environ,
        "LOGICRM_DATABASE_URL": database_url,
        "LOGICRM_INSTANCE_PATH": str(tmp_path),
        "LOGICRM_HEALTH_CRON": settings.health_cron,
        "LOGICRM_OUTBOX_INTERVAL_S": str(settings.outbox_interval_s),
        "LOGICRM_SLA_CHECK_INTERVAL_S": str(settings.sla_check_interval_s),
    }
    logs = [tmp_path / f"scheduler{n}.log" for n in range(2)]

    def start(log: Path) -> subprocess.Popen:
        command = [str(Path(sys.executable).with_name("logicrm")), "scheduler"]
        process = subprocess.Popen(command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
        processes.append(process)
        _wait_for(lambda: "Scheduler started" in log.read_text())
        return process

    processes: list[subprocess.Popen] = []
    try:
        _stop_since(db, config, fire - DAY)
        start(logs[0])
        _wait_for(lambda: any(run.status == RunStatus.SUCCEEDED for run in _health_runs(db)))
        # The second finds the job due too, as if it read the store before the first recorded the run.
        _stop_since(db, config, fire - DAY)
        start(logs[1])
        _wait_for(lambda: "skipped" in logs[1].read_text())
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        codes = [process.wait(timeout=WAIT_S) for process in processes]
    output = "\n".join(log.read_text() for log in logs)

    assert codes == [0, 0], output
    [run] = _health_runs(db)
    assert run.slot == fire.isoformat() and run.status == RunStatus.SUCCEEDED, output
    assert f"health_run {run.slot} skipped: health_run slot {run.slot} already ran" in logs[1].read_text()
    assert output.count("SIGTERM received: stopping after the running jobs") == 2
    assert "Traceback" not in output and " ERROR " not in output


# The CLI ---------------------------------------------------------------------------------------------


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=list(args))


def test_scheduler_list_shows_the_jobs_and_their_next_run_times(app, db, cli, jobstore):
    result = cli("scheduler", "list")
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert set(lines) == {"health_run", "outbox_flush", "sla_check"}
    assert 'cron "0 2 * * *" (UTC)' in lines["health_run"]
    next_nightly = (utcnow() + DAY if utcnow().hour >= 2 else utcnow()).replace(
        hour=2, minute=0, second=0, microsecond=0
    )
    assert lines["health_run"].endswith(next_nightly.isoformat())
    assert "every 60 s" in lines["outbox_flush"] and "every 900 s" in lines["sla_check"]

    # A run missed while the scheduler was stopped shows as due.
    _stop_since(db, _config(app, app.config["LOGICRM"]), next_nightly - DAY)
    lines = {line.split()[0]: line for line in cli("scheduler", "list").stdout.splitlines()}
    assert lines["health_run"].endswith(f"{(next_nightly - DAY).isoformat()} (due)")


def test_health_run_prints_the_counts_and_a_slot_runs_once(db, cli, portfolio):
    result = cli("health", "run", "--slot", "2026-05-01T02:00:00+00:00")
    assert result.exit_code == 0, result.output
    [run] = _health_runs(db)
    assert f"health run {run.id} (2026-05-01T02:00:00+00:00) succeeded" in result.stdout
    # One line a count, the values in one column apart from the longest name ("renewals_opened").
    lines = result.stdout.splitlines()[1:]
    pairs = [line.split(maxsplit=1) for line in lines]
    printed = dict(pairs)
    assert printed.pop("seconds").startswith("sql_load ")
    assert printed == {key: str(value) for key, value in run.counts.items() if key != "seconds"}
    assert printed["customers"] == str(portfolio)
    assert len({len(line) - len(value) for line, (_key, value) in zip(lines, pairs, strict=True)}) == 1

    again = cli("health", "run", "--slot", "2026-05-01T02:00:00+00:00")
    assert again.exit_code == 0 and "already ran" in again.stderr and again.stdout == ""
    assert len(_health_runs(db)) == 1

    manual = cli("health", "run")
    assert manual.exit_code == 0 and "manual-" in manual.stdout
    assert len(_health_runs(db)) == 2


def test_outbox_flush_prints_the_counts(cli):
    result = cli("outbox", "flush")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "sent 0, failed 0, dead 0"
