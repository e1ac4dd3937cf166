"""The health run's guarantees with real processes: one run per slot, no partial snapshots, dead runs failed.

Workers are spawned processes on the test database (SQLite file or PostgreSQL), so the slot claim, the
advisory lock and the abandoned-run detection by host and pid are exercised for real.
"""

from __future__ import annotations

import datetime as dt
import math
import multiprocessing
import os
import signal
import socket
import subprocess
import threading
import time

import pytest
from sqlalchemy import func, select

from logicrm.config import Settings
from logicrm.db import Database, make_engine, utcnow
from logicrm.health import runs
from logicrm.health.models import Alert, HealthSnapshot, JobRun, RunStatus
from logicrm.health.rule_params import RuleParams
from logicrm.network.params import ScoringParams
from tests import factories
from tests.racing import race
from tests.scoring import extremes

SPAWN = multiprocessing.get_context("spawn")
WORKER_TIMEOUT_S = 120


@pytest.fixture
def portfolio(api) -> int:
    """A small network (3 shippers, 2 consignees, 6 lanes with shipments); return how many customers."""
    shippers = [factories.customer(api, roles=("shipper",)) for _ in range(3)]
    consignees = [factories.customer(api, roles=("consignee",)) for _ in range(2)]
    for shipper in shippers:
        for consignee in consignees:
            factories.shipments(api, factories.link(api, shipper, consignee), 3)
    return len(shippers) + len(consignees)


@pytest.fixture
def config(app) -> runs.RunConfig:
    settings = app.config["LOGICRM"]
    return runs.RunConfig(settings, app.config["LOGICRM_SCORING"], app.config["LOGICRM_RULES"])


def _open(url: str) -> tuple[Database, runs.RunConfig]:
    """What a worker process builds: its own engine and the default parameters."""
    settings = Settings(database_url=url)
    return Database(make_engine(url)), runs.RunConfig(
        settings, ScoringParams.from_mapping({}), RuleParams.from_mapping({})
    )


def _race_worker(url: str, slot: str, barrier, results) -> None:
    database, config = _open(url)
    barrier.wait(timeout=WORKER_TIMEOUT_S)
    # The winner dawdles after scoring, so the others try while its claim is held.
    dawdle = lambda phase: time.sleep(1.0) if phase == "scored" else None  # noqa: E731
    try:
        run = runs.run_health(database, config, slot=slot, on_phase=dawdle)
        results.put(("ran", run.id))
    except runs.SlotTaken:
        results.put(("taken", None))
    except runs.RunInProgress:
        results.put(("in_progress", None))
    except Exception as error:  # reported to the test rather than lost in the worker
        results.put(("error", repr(error)))
    finally:
        database.engine.dispose()


def _killable_worker(url: str, slot: str, reached) -> None:
    database, config = _open(url)

    def on_phase(phase: str) -> None:
        if phase == "snapshots_written":  # inserted, not committed: now wait to be killed
            reached.set()
            time.sleep(WORKER_TIMEOUT_S)

    runs.run_health(database, config, slot=slot, on_phase=on_phase)


def _runs(db, slot: str | None = None) -> list[JobRun]:
    with db.session(write=False) as session:
        statement = select(JobRun).where(JobRun.job == runs.HEALTH_RUN).order_by(JobRun.id)
        if slot is not None:
            statement = statement.where(JobRun.slot == slot)
        return list(session.scalars(statement))


def _snapshots(db) -> dict[int, int]:
    """{run id: snapshot count}."""
    with db.session(write=False) as session:
        rows = session.execute(
            select(HealthSnapshot.run_id, func.count()).group_by(HealthSnapshot.run_id)
        ).all()
    return dict(rows)


def _run_when_free(db, config, *, slot: str, wait_s: float = 10.0) -> JobRun:
    """Run now; on PostgreSQL a killed worker's lock goes when the server notices the closed connection."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return runs.run_health(db, config, slot=slot)
        except runs.RunInProgress:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_three_processes_racing_for_one_slot_make_exactly_one_run(database_url, db, portfolio):
    slot = "2026-05-01T02:00:00+00:00"
    outcomes = race(_race_worker, (database_url, slot))

    assert sorted(kind for kind, _ in outcomes).count("ran") == 1, outcomes
    assert {kind for kind, _ in outcomes} <= {"ran", "taken", "in_progress"}, outcomes
    [run] = _runs(db, slot)
    assert run.status == RunStatus.SUCCEEDED and run.error is None
    assert run.id == next(run_id for kind, run_id in outcomes if kind == "ran")
    assert run.counts["customers"] == portfolio
    assert _snapshots(db) == {run.id: portfolio}


def test_a_run_killed_halfway_leaves_no_snapshots_and_the_next_run_fails_it(
    database_url, db, config, portfolio
):
    reached = SPAWN.Event()
    worker = SPAWN.Process(target=_killable_worker, args=(database_url, "killed", reached))
    worker.start()
    try:
        assert reached.wait(WORKER_TIMEOUT_S), "the worker never wrote its snapshots"
        [dead] = _runs(db, "killed")
        assert dead.status == RunStatus.RUNNING and dead.pid == worker.pid
        assert _snapshots(db) == {}  # written but not committed
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.join(timeout=WORKER_TIMEOUT_S)
    assert worker.exitcode == -signal.SIGKILL

    assert _snapshots(db) == {}
    run = _run_when_free(db, config, slot="after")
    assert run.status == RunStatus.SUCCEEDED
    [dead] = _runs(db, "killed")
    assert dead.status == RunStatus.FAILED and dead.finished_at is not None
    assert dead.error.startswith("abandoned")
    assert _snapshots(db) == {run.id: portfolio}


def test_a_crash_records_the_error_writes_nothing_and_the_next_run_proceeds(db, config, portfolio):
    def crash(phase: str) -> None:
        if phase == "snapshots_written":
            raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        runs.run_health(db, config, slot="crashed", on_phase=crash)
    [failed] = _runs(db, "crashed")
    assert failed.status == RunStatus.FAILED
    assert failed.error == "RuntimeError: disk on fire" and failed.finished_at is not None
    assert _snapshots(db) == {}

    run = runs.run_health(db, config, slot="next")
    assert run.status == RunStatus.SUCCEEDED
    assert _snapshots(db) == {run.id: portfolio}
    with db.session(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == run.counts["opened"]


def test_a_slot_runs_once(db, config, portfolio):
    first = runs.run_health(db, config, slot="once")
    with pytest.raises(runs.SlotTaken):
        runs.run_health(db, config, slot="once")
    assert [run.id for run in _runs(db)] == [first.id]


def test_retrying_a_dead_runs_slot_is_refused_but_fails_the_dead_run(db, config, portfolio):
    gone = subprocess.Popen(["true"])
    gone.wait()  # a pid on this host with no process behind it
    with db.session_scope() as session:
        session.add(
            JobRun(
                job=runs.HEALTH_RUN,
                slot="dead",
                started_at=utcnow(),
                host=socket.gethostname(),
                pid=gone.pid,
            )
        )

    with pytest.raises(runs.SlotTaken):
        runs.run_health(db, config, slot="dead")
    [dead] = _runs(db, "dead")
    assert dead.status == RunStatus.FAILED and dead.error.startswith("abandoned")
    assert runs.run_health(db, config, slot="later").status == RunStatus.SUCCEEDED


@pytest.mark.parametrize("age_h", [1, 4])
def test_a_run_on_another_host_counts_as_running_until_its_timeout(db, config, portfolio, age_h):
    """Without the advisory lock (SQLite) only the timeout tells; PostgreSQL knows nobody holds the lock."""
    with db.session_scope() as session:
        session.add(
            JobRun(
                job=runs.HEALTH_RUN,
                slot="elsewhere",
                started_at=utcnow() - dt.timedelta(hours=age_h),
                host="another-host.invalid",
                pid=1,
            )
        )
    alive = age_h * 3600 < config.settings.health_run_timeout_s and db.engine.dialect.name == "sqlite"
    if alive:
        with pytest.raises(runs.RunInProgress):
            runs.run_health(db, config, slot="mine")
        assert _runs(db, "elsewhere")[0].status == RunStatus.RUNNING
    else:
        assert runs.run_health(db, config, slot="mine").status == RunStatus.SUCCEEDED
        [other] = _runs(db, "elsewhere")
        assert other.status == RunStatus.FAILED and other.error.startswith("abandoned")


def test_an_sla_check_does_not_overlap_a_health_run(db, config, portfolio):
    """Both write alerts; on SQLite the refusal comes at once rather than after the busy timeout."""
    scored, release, finished = threading.Event(), threading.Event(), []

    def hold(phase: str) -> None:
        if phase == "scored":
            scored.set()
            release.wait(WORKER_TIMEOUT_S)

    worker = threading.Thread(
        target=lambda: finished.append(runs.run_health(db, config, slot="long", on_phase=hold))
    )
    worker.start()
    try:
        assert scored.wait(WORKER_TIMEOUT_S)
        started = time.monotonic()
        with pytest.raises(runs.RunInProgress):
            runs.run_sla_check(db, config, slot="during")
        assert time.monotonic() - started < 5
    finally:
        release.set()
        worker.join(WORKER_TIMEOUT_S)
    assert finished[0].status == RunStatus.SUCCEEDED
    assert runs.run_sla_check(db, config, slot="after").status == RunStatus.SUCCEEDED


def test_a_run_over_issue_10s_extreme_values_succeeds_with_finite_snapshots(app, api, db, config):
    # written past the API and the CHECKs: declared volume 1e307, decision weights 1e308, revenue 1.7e308
    portfolio = extremes.build_portfolio(api)
    extremes.issue_10_examples(db, portfolio)
    result = app.test_cli_runner().invoke(args=["health", "run", "--slot", "today"])
    assert result.exit_code == 0, result.output
    # and as of the day the shipments and surveys are recent, so every value counts
    runs.run_health(db, config, slot="recent", now=extremes.NOW)
    done = _runs(db)
    assert [(r.slot, r.status) for r in done] == [
        ("today", RunStatus.SUCCEEDED),
        ("recent", RunStatus.SUCCEEDED),
    ]
    assert _snapshots(db) == {run.id: len(portfolio.customers) for run in done}
    with db.session(write=False) as session:
        snapshots = session.scalars(select(HealthSnapshot)).all()
        alert_values = session.scalars(select(Alert.value)).all()
    for snapshot in snapshots:
        for index in (snapshot.satisfaction, snapshot.two_sided):  # the 0–100 index the live answer shows
            assert index is None or 0.0 <= index <= 100.0
        assert 0.0 <= snapshot.coverage <= 1.0 and 0.0 <= snapshot.own_risk <= 1.0
        assert snapshot.own_risk - 1e-12 <= snapshot.network_risk <= 1.0
        assert all(math.isfinite(x) for x in (snapshot.exposure, snapshot.revenue_12m, snapshot.profit_12m))
        assert extremes.all_finite(snapshot.departments) and extremes.all_finite(snapshot.drivers)
    assert all(math.isfinite(value) for value in alert_values)
