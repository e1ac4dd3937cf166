"""The scheduler process (`logicrm scheduler`): nightly health run, outbox flush and SLA check.

APScheduler 3 with a persistent job store (table `apscheduler_jobs`, created by the store itself) and the
defaults coalesce=True, max_instances=1, misfire_grace_time=settings.scheduler_misfire_grace_s. A job's id
is its function name; the functions are module-level because the store pickles references to them.

Restarts. APScheduler's `add_job(replace_existing=True)` recomputes the next run time from now, which would
drop a run missed while the scheduler was down. So a job whose trigger is unchanged keeps the next run time
the store had: when it is in the past, APScheduler runs the job once on start (coalesced, however many
occurrences were missed) if the latest missed one is within the grace time, and skips it otherwise.

Slots. APScheduler does not tell a job which fire time it runs for, so a job takes its slot from its own
trigger: the latest fire time at or before now, in UTC ISO format. Every process computes the same slot for
the same occurrence (interval triggers are anchored on a fixed instant for this), so two schedulers started
by mistake claim the same (job, slot) JobRun and only one of them runs it.

The process. APScheduler's loop runs in a thread (a BackgroundScheduler) while the main thread waits for
SIGTERM or SIGINT, then shuts the scheduler down outside the signal handler and lets running jobs finish.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable

from apscheduler.job import Job
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import inspect

from logicrm import processes
from logicrm.config import Settings
from logicrm.db import WRITE_OPTION, Database, make_engine, utcnow
from logicrm.health import runs
from logicrm.outbox import service as outbox

log = logging.getLogger(__name__)

JOBSTORE_TABLE = "apscheduler_jobs"
# Interval jobs fire on a grid anchored here, the same in every process and across restarts.
INTERVAL_ANCHOR = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
SLOT_LOOKBACK_MAX = dt.timedelta(days=800)
OUTBOX_BATCH = 100


@dataclasses.dataclass(frozen=True)
class JobSpec:
    """One scheduled job: its function (whose name is the job id), trigger and a human description."""

    func: Callable[[], None]
    trigger: BaseTrigger
    description: str

    @property
    def id(self) -> str:
        return self.func.__name__


@dataclasses.dataclass(frozen=True)
class JobInfo:
    """What `logicrm scheduler list` shows for one job."""

    id: str
    trigger: str
    next_run_time: dt.datetime | None


@dataclasses.dataclass(frozen=True)
class _Context:
    database: Database
    config: runs.RunConfig


# Jobs run in the scheduler's process, on the database and settings it was created with.
_context: _Context | None = None


# Jobs ------------------------------------------------------------------------------------------------


def health_run() -> None:
    """Run the full health check for the slot now due."""
    _run_slot("health_run", runs.run_health)


def outbox_flush() -> None:
    """Send the due deliveries, batch after batch until a batch is not full."""
    context = _job_context()
    totals = {"sent": 0, "failed": 0, "dead": 0}
    while True:
        counts = outbox.flush(context.database, context.config.settings, limit=OUTBOX_BATCH)
        totals = {key: totals[key] + counts.get(key, 0) for key in totals}
        if sum(counts.values()) < OUTBOX_BATCH:
            break
    if any(totals.values()):
        log.info("outbox_flush: %s", _counts(totals))


def sla_check() -> None:
    """Raise or resolve ticket-past-SLA alerts for the slot now due."""
    _run_slot("sla_check", runs.run_sla_check)


def _run_slot(job: str, run_job) -> None:
    """Run a slotted job for its current slot; another process having it is normal, not an error."""
    context = _job_context()
    slot = current_slot(job, context.config.settings)
    try:
        run = run_job(context.database, context.config, slot=slot)
    except (runs.RunInProgress, runs.SlotTaken) as skipped:
        log.info("%s %s skipped: %s", job, slot, skipped.message)
        return
    log.info("%s %s: run %s %s: %s", job, slot, run.id, run.status, _counts(run.counts))


def _job_context() -> _Context:
    if _context is None:
        raise RuntimeError("scheduled jobs run only in a scheduler built by create_scheduler()")
    return _context


def _counts(counts: dict) -> str:
    return ", ".join(f"{key} {value}" for key, value in counts.items() if not isinstance(value, dict))


# Triggers and slots ----------------------------------------------------------------------------------


def jobs(settings: Settings) -> list[JobSpec]:
    """The scheduled jobs with their triggers, from the settings."""
    zone = settings.scheduler_timezone
    return [
        JobSpec(
            health_run,
            CronTrigger.from_crontab(settings.health_cron, timezone=zone),
            f'cron "{settings.health_cron}" ({zone})',
        ),
        JobSpec(
            outbox_flush,
            IntervalTrigger(seconds=settings.outbox_interval_s, start_date=INTERVAL_ANCHOR, timezone=zone),
            f"every {settings.outbox_interval_s} s",
        ),
        JobSpec(
            sla_check,
            IntervalTrigger(seconds=settings.sla_check_interval_s, start_date=INTERVAL_ANCHOR, timezone=zone),
            f"every {settings.sla_check_interval_s} s",
        ),
    ]


def latest_fire_time(trigger: BaseTrigger, now: dt.datetime) -> dt.datetime | None:
    """Return the trigger's last fire time at or before `now` (None if it never fired in the lookback)."""
    lookback = dt.timedelta(hours=1)
    while lookback <= SLOT_LOOKBACK_MAX:
        latest = None
        fire = trigger.get_next_fire_time(None, now - lookback)
        while fire is not None and fire <= now:
            latest = fire
            fire = trigger.get_next_fire_time(fire, fire)
        if latest is not None:
            return latest
        lookback *= 2
    return None


def current_slot(job_id: str, settings: Settings, *, now: dt.datetime | None = None) -> str | None:
    """The slot a run of `job_id` starting now belongs to: its trigger's latest fire time, UTC ISO."""
    trigger = next(spec.trigger for spec in jobs(settings) if spec.id == job_id)
    fire = latest_fire_time(trigger, now or utcnow())
    return fire.astimezone(dt.UTC).isoformat() if fire else None


# The scheduler ---------------------------------------------------------------------------------------


class _Scheduler(BackgroundScheduler):
    """APScheduler's background scheduler with two hazards of its loop (3.x) removed."""

    def _process_jobs(self):
        if self.state == STATE_STOPPED:
            # shutdown() wakes the loop once more; processing then would advance the next run time of a
            # job due at that moment without running it (its executor is gone): agronholm/apscheduler#285.
            return None
        try:
            return super()._process_jobs()
        except Exception:
            # The store failed where APScheduler does not retry (recording a next run time): its loop
            # would die. A job submitted but not recorded is due again; its slot claim stops a second run.
            log.exception("job store error; trying again in %s s", self.jobstore_retry_interval)
            return self.jobstore_retry_interval


def create_scheduler(database: Database, config: runs.RunConfig) -> BackgroundScheduler:
    """Build the scheduler (not started) with the persistent job store and the jobs.

    A job already in the store with the same trigger keeps its stored next run time (see the module doc);
    jobs in the store that are no longer scheduled are removed.
    """
    global _context
    _context = _Context(database, config)
    settings = config.settings
    store = job_store(settings)
    scheduler = _Scheduler(
        jobstores={"default": store},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": settings.scheduler_misfire_grace_s,
        },
        timezone=settings.scheduler_timezone,
    )
    stored = _stored_jobs(store)
    for spec in jobs(settings):
        previous = stored.pop(spec.id, None)
        scheduler.add_job(
            spec.func,
            spec.trigger,
            id=spec.id,
            name=spec.id,
            replace_existing=True,
            **_kept(previous, spec.trigger),
        )
    for job_id in stored:
        log.info("removing job %s: no longer scheduled", job_id)
        store.remove_job(job_id)
    return scheduler


def list_jobs(settings: Settings, *, now: dt.datetime | None = None) -> list[JobInfo]:
    """Each job with its trigger and the next run time a scheduler started now would use."""
    now = now or utcnow()
    store = job_store(settings)
    try:
        stored = _stored_jobs(store)
    finally:
        store.engine.dispose()
    infos = []
    for spec in jobs(settings):
        kept = _kept(stored.get(spec.id), spec.trigger)
        next_run = kept["next_run_time"] if kept else spec.trigger.get_next_fire_time(None, now)
        infos.append(JobInfo(spec.id, spec.description, next_run))
    return infos


def run(database: Database, config: runs.RunConfig) -> None:
    """Run the scheduler until SIGTERM or SIGINT, then let running jobs finish and return.

    The scheduler's loop runs in a thread and the signal handler only records the signal: stopping from
    inside a handler (or raising there, as with a BlockingScheduler) could interrupt the loop or the job
    store half way, and APScheduler swallows some interruptions or drops a job it could not unpickle.
    """
    with processes.stopped_by_signals() as stop:
        scheduler = create_scheduler(database, config)
        scheduler.start()
        stop.wait()
        log.info("%s received: stopping after the running jobs", stop.signal_name)
        scheduler.shutdown(wait=True)
    log.info("scheduler stopped")


def job_store(settings: Settings) -> SQLAlchemyJobStore:
    """The persistent job store on the app's database."""
    # Its own engine (the store disposes it on shutdown). On SQLite its reads do not take the write lock,
    # so looking for due jobs does not wait for a health run to commit.
    engine = make_engine(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    return SQLAlchemyJobStore(
        engine=engine.execution_options(**{WRITE_OPTION: False}), tablename=JOBSTORE_TABLE
    )


def _stored_jobs(store: SQLAlchemyJobStore) -> dict[str, Job]:
    if not inspect(store.engine).has_table(JOBSTORE_TABLE):
        return {}
    return {job.id: job for job in store.get_all_jobs()}


def _kept(previous: Job | None, trigger: BaseTrigger) -> dict:
    """{"next_run_time": stored one} when the stored job has the same trigger, else {} (recompute)."""
    if previous is None or repr(previous.trigger) != repr(trigger):
        return {}
    return {"next_run_time": previous.next_run_time}
