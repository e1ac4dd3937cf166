"""The health run: score the portfolio, keep its history, raise alerts and queue their notifications.

Called the same way by the scheduler, the CLI and the API. A run claims its (job, slot) with a unique
JobRun row, so one slot runs once however many processes try; on PostgreSQL an advisory lock also keeps
runs of one job from overlapping. Snapshots, alerts, outbox and the run's success commit together: a run
that fails or is killed leaves no partial snapshots, and the next run marks a dead one failed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import logging
import queue
import threading
import time
import zlib
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping

from sqlalchemy import Select, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from logicrm import processes
from logicrm.config import Settings, parse_stage_probabilities
from logicrm.customers import service as customers
from logicrm.customers import teams
from logicrm.customers.models import TeamRole
from logicrm.db import Database, utcnow
from logicrm.errors import Conflict
from logicrm.health import (
    cadence,
    history,
    kpis,
    measures,
    playbooks,
    renewals,
    rule_params,
    rules,
    subscriptions,
)
from logicrm.health import rulebook as rulebook_edits
from logicrm.health.models import Alert, AlertState, DeliveryMode, HealthSnapshot, JobRun, RunStatus
from logicrm.network import drivers
from logicrm.network.params import ScoringParams
from logicrm.outbox import messages
from logicrm.outbox import service as outbox
from logicrm.outbox.messages import EscalationNotice, Notice, Recipient
from logicrm.rulebook import service as rulebook
from logicrm.rulebook.document import Rulebook
from logicrm.scoring import model as churn_models
from logicrm.scoring import published, queries, reports, revisions, scores
from logicrm.tasks import service as tasks
from logicrm.tickets import escalations

log = logging.getLogger(__name__)

HEALTH_RUN = history.HEALTH_RUN
SLA_CHECK = "sla_check"
TICKET_RULE = "ticket_overdue"  # the only rule the frequent SLA check evaluates
# Both jobs write alerts, so they never overlap either: at most one unresolved alert per (customer, rule)
# means the later of two concurrent runs opening the same alert would fail on the unique index.
EXCLUSIVE_JOBS = (HEALTH_RUN, SLA_CHECK)


class RunInProgress(Conflict):
    """Another run of this job is still going."""


class SlotTaken(Conflict):
    """This (job, slot) already ran or is running."""


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """What a run needs besides the database: settings and both parameter sets."""

    settings: Settings
    scoring: ScoringParams
    rules: rule_params.RuleParams

    @classmethod
    def of_app(cls, config: Mapping) -> RunConfig:
        """The run configuration of an app, from its Flask config."""
        return cls(config["LOGICRM"], config["LOGICRM_SCORING"], config["LOGICRM_RULES"])

    def config_hash(self) -> str:
        """Fingerprint of the scoring and rule parameters in force."""
        joined = f"{self.scoring.config_hash()}:{self.rules.config_hash()}"
        return hashlib.sha256(joined.encode()).hexdigest()[:16]


def run_health(
    database: Database,
    config: RunConfig,
    *,
    slot: str | None = None,
    now: dt.datetime | None = None,
    on_phase: Callable[[str], None] | None = None,
) -> JobRun:
    """Run the full health check for one slot; return the finished JobRun (raises if it failed).

    `on_phase` hears "claimed", "scored", "snapshots_written" and "alerts_written" as the run gets there.
    """
    now = now or utcnow()
    on_phase = on_phase or (lambda _phase: None)
    return _run(
        database,
        config,
        HEALTH_RUN,
        slot or f"manual-{now.isoformat()}",
        now,
        on_phase,
        prepare=lambda reader, timings: _prepare_health(reader, config, now, timings),
        write=lambda session, run, prepared, timings: _write_health(
            session, config, run, prepared, now, timings, on_phase
        ),
    )


def start_in_background(database: Database, config: RunConfig, *, now: dt.datetime | None = None) -> str:
    """Start a full health run in a thread of its own and return its slot once the run has claimed it;
    raise RunInProgress (or SlotTaken) at once instead when it cannot. The run then goes on alone."""
    slot = f"manual-{(now or utcnow()).isoformat()}"
    claimed: queue.Queue = queue.Queue()

    def run() -> None:
        try:
            run_health(
                database, config, slot=slot, on_phase=lambda phase: phase == "claimed" and claimed.put(None)
            )
        except (RunInProgress, SlotTaken) as refused:
            claimed.put(refused)
        except Exception:
            pass  # recorded on the run and logged by run_health

    threading.Thread(target=run, daemon=True, name=f"health-run {slot}").start()
    # the claim (with abandoned-run detection) decides whether the run goes ahead
    refused = claimed.get(timeout=config.settings.sqlite_busy_timeout_ms / 1000 + 10)
    if refused is not None:
        raise refused
    return slot


def run_sla_check(
    database: Database, config: RunConfig, *, slot: str | None = None, now: dt.datetime | None = None
) -> JobRun:
    """Raise or resolve ticket-past-SLA alerts only (cheap; runs every few minutes)."""
    now = now or utcnow()
    return _run(
        database,
        config,
        SLA_CHECK,
        slot or f"manual-{now.isoformat()}",
        now,
        lambda _phase: None,
        prepare=lambda reader, _timings: _prepare_sla(reader, config, now),
        write=lambda session, run, prepared, _timings: _write_sla(session, config, run, prepared, now),
    )


def _run(
    database: Database, config: RunConfig, job: str, slot: str, now: dt.datetime, on_phase, *, prepare, write
) -> JobRun:
    """Claim the slot, load and score in a read session, then write everything in one short transaction.

    Scoring takes no write lock, so on SQLite API writes are not held up by a long run; a run that fails
    or is killed before the final commit leaves nothing behind but its failed JobRun. The run records the
    rulebook version it followed and the fingerprint of the parameters that version put in force.
    """
    with _exclusive(database, job) as holds_lock:
        run_id = _claim(
            database,
            job=job,
            slot=slot,
            now=now,
            holds_lock=holds_lock,
            timeout_s=config.settings.health_run_timeout_s,
        )
        on_phase("claimed")
        timings: dict[str, float] = {}
        try:
            with database.session(write=False) as reader:
                prepared = prepare(reader, timings)
            on_phase("scored")
            with database.session_scope() as session:
                run = session.get(JobRun, run_id)
                counts = write(session, run, prepared, timings)
                if timings:
                    counts["seconds"] = {phase: round(seconds, 4) for phase, seconds in timings.items()}
                run.status, run.finished_at = RunStatus.SUCCEEDED, utcnow()
                run.counts, run.config_hash = counts, prepared.config.config_hash()
                run.rulebook_version = prepared.book.version
        except Exception as error:
            log.exception("%s %s failed", job, slot)
            _finish_failed(database, run_id, f"{type(error).__name__}: {error}")
            raise
    with database.session(write=False) as session:
        return session.get(JobRun, run_id)


@contextlib.contextmanager
def _exclusive(database: Database, job: str):
    """Hold a PostgreSQL advisory lock for the job (yield True), or nothing on SQLite (yield False)."""
    if database.engine.dialect.name != "postgresql":
        yield False
        return
    key = zlib.crc32(f"logicrm:{'alerts' if job in EXCLUSIVE_JOBS else job}".encode())
    with database.engine.connect() as connection:
        if not connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar():
            holder = connection.execute(
                select(JobRun.id, JobRun.job, JobRun.slot)
                .where(JobRun.job.in_(EXCLUSIVE_JOBS), JobRun.status == RunStatus.RUNNING)
                .order_by(JobRun.id.desc())
                .limit(1)
            ).first()
            what = f"{holder.job} {holder.slot} (run {holder.id})" if holder else " or ".join(EXCLUSIVE_JOBS)
            raise RunInProgress(f"{what} is running in another process", run_id=holder.id if holder else None)
        # The lock is the session's, not the transaction's: end the transaction so this connection does
        # not sit idle in one for the whole run (idle_in_transaction_session_timeout would drop the lock).
        connection.commit()
        try:
            yield True
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            connection.commit()


def _claim(
    database: Database, *, job: str, slot: str, now: dt.datetime, holds_lock: bool, timeout_s: int
) -> int:
    """Insert the running JobRun for (job, slot) after failing runs whose process is gone."""
    # Read first: on SQLite a run holds the write lock until it commits, and the write claim below would
    # wait out the busy timeout (then fail) where a read sees the live run or the taken slot at once.
    with database.session(write=False) as session:
        running = session.scalars(
            select(JobRun).where(JobRun.job.in_(EXCLUSIVE_JOBS), JobRun.status == RunStatus.RUNNING)
        ).all()
        for run in running:
            if _abandoned(run, holds_lock=holds_lock, now=now, timeout_s=timeout_s) is None:
                raise RunInProgress(f"{run.job} {run.slot} is running (run {run.id})", run_id=run.id)
        if not running and _slot_taken(session, job, slot):
            raise SlotTaken(f"{job} slot {slot} already ran")
    with database.session_scope() as session:
        for stale in session.scalars(
            select(JobRun).where(JobRun.job.in_(EXCLUSIVE_JOBS), JobRun.status == RunStatus.RUNNING)
        ):
            reason = _abandoned(stale, holds_lock=holds_lock, now=now, timeout_s=timeout_s)
            if reason is None:
                raise RunInProgress(f"{stale.job} {stale.slot} is running (run {stale.id})", run_id=stale.id)
            stale.status, stale.finished_at, stale.error = RunStatus.FAILED, now, reason
        if _slot_taken(session, job, slot):
            session.commit()  # keep the abandoned runs failed: a retry of a dead run's slot gets here
            raise SlotTaken(f"{job} slot {slot} already ran")
        host, pid = processes.here()
        run = JobRun(job=job, slot=slot, started_at=now, host=host, pid=pid)
        session.add(run)
        try:
            session.flush()
        except IntegrityError:
            raise SlotTaken(f"{job} slot {slot} already ran") from None
        return run.id


def _slot_taken(session: Session, job: str, slot: str) -> bool:
    return session.scalar(select(JobRun.id).where(JobRun.job == job, JobRun.slot == slot)) is not None


def _abandoned(run: JobRun, *, holds_lock: bool, now: dt.datetime, timeout_s: int) -> str | None:
    """Say why a 'running' run is dead, or None if it may still be alive."""
    if holds_lock:
        return "abandoned: its process no longer holds the run lock"
    if processes.gone(run.host, run.pid):
        return f"abandoned: process {run.pid} is gone"
    if (now - run.started_at).total_seconds() > timeout_s:
        return f"abandoned: still running after {timeout_s} s"
    return None


def _finish_failed(database: Database, run_id: int, error: str) -> None:
    with database.session_scope() as session:
        run = session.get(JobRun, run_id)
        run.status, run.finished_at, run.error = RunStatus.FAILED, utcnow(), error[:4000]


@dataclasses.dataclass(frozen=True)
class _Prepared:
    """What a run computed before taking the write lock, and the rules it followed."""

    portfolio: scores.PortfolioScores
    findings: list
    book: Rulebook
    config: RunConfig  # with the rule parameters the rulebook puts in force
    dues: dict = dataclasses.field(default_factory=dict)  # cadence per deciding department (health runs)
    kpis: dict | None = None  # the portfolio KPIs a health run stores
    claimed: tuple[int, ...] = ()  # the notes of touched accounts its scores include (revisions.noted)


def _in_force(reader: Session, config: RunConfig) -> tuple[Rulebook, RunConfig]:
    """The rulebook now in force (read afresh by every run: an edit needs no restart) and its parameters."""
    book = rulebook.current(reader)
    return book, dataclasses.replace(config, rules=rulebook_edits.params(book, config.rules))


def _prepare_health(reader: Session, config: RunConfig, now: dt.datetime, timings: dict) -> _Prepared:
    book, config = _in_force(reader, config)
    model, version = churn_models.active(reader, config.scoring)
    claimed = revisions.noted(reader).ids
    portfolio = scores.compute(
        reader, config.scoring, model=model, model_version=version, now=now, timings=timings
    )
    started = time.perf_counter()
    previous = _previous_risks(reader)
    tickets = queries.overdue_ticket_list(reader, now=now)
    accounts = portfolio.accounts.values()
    dues = cadence.dues(reader, accounts=accounts, book=book, now=now)
    sponsored = _sponsored(reader, portfolio)
    secured = renewals.secured(reader, stage=config.settings.renewal_secured_stage)
    facts = _all_facts(
        portfolio, accounts, previous, tickets, dues=dues, sponsored=sponsored, secured=secured, now=now
    )
    findings = rules.evaluate(facts, config.rules, rules=rulebook_edits.enabled_rules(book, rules.RULES))
    timings["rules"] = time.perf_counter() - started
    started = time.perf_counter()
    figures = kpis.compute(reader, at=now, since=kpis.previous_point(reader, at=now))
    timings["kpis"] = time.perf_counter() - started
    return _Prepared(portfolio, findings, book, config, dues, figures, claimed)


def _sponsored(session: Session, portfolio) -> set[int]:
    """The accounts with an active executive sponsor on their team."""
    people = teams.people(session, customer_ids=portfolio.accounts)
    return {customer_id for customer_id, stands in people.items() if TeamRole.EXECUTIVE_SPONSOR in stands}


def _write_health(
    session: Session,
    config: RunConfig,
    run: JobRun,
    prepared: _Prepared,
    now: dt.datetime,
    timings: dict,
    on_phase,
) -> dict:
    started = time.perf_counter()
    portfolio = prepared.portfolio
    version = prepared.book.version
    rows = [
        _snapshot_row(portfolio, account, run.id, now, version) for account in portfolio.accounts.values()
    ]
    if rows:
        session.execute(insert(HealthSnapshot), rows)
    kpis.record(session, at=now, figures=prepared.kpis, run_id=run.id)
    lead = parse_stage_probabilities(config.settings.stage_probabilities)["lead"]
    opened = renewals.open_due(
        session, now=now, lead_days=config.settings.renewal_lead_days, probability=lead
    )
    timings["snapshots"] = time.perf_counter() - started
    on_phase("snapshots_written")
    started = time.perf_counter()
    # the cadence tasks first: a department comes due for a visit before its alert opens
    cadence_tasks = cadence.open_tasks(
        session, dues=prepared.dues, accounts=portfolio.accounts.values(), book=prepared.book, now=now
    )
    counts = _write_alerts(session, prepared.config, run, prepared, evaluated=rules.RULES, now=now)
    timings["alerts_and_outbox"] = time.perf_counter() - started
    on_phase("alerts_written")
    # what the run computed is what the API reads next
    published.publish_if_newer(session, portfolio, claimed=prepared.claimed)
    return {"customers": len(rows), "renewals_opened": opened, **counts, "cadence_tasks": cadence_tasks}


def _prepare_sla(reader: Session, config: RunConfig, now: dt.datetime) -> _Prepared:
    book, config = _in_force(reader, config)
    portfolio = churn_models.current_scores(
        reader,
        config.scoring,
        max_age_s=config.settings.scores_cache_seconds,
        in_request=config.settings.scores_in_request,
    )
    tickets = queries.overdue_ticket_list(reader, now=now)
    late = {t.customer_id for t in tickets}
    accounts = [portfolio.accounts[c] for c in late if c in portfolio.accounts]
    facts = _all_facts(portfolio, accounts, {}, tickets, dues={}, sponsored=set(), secured=set(), now=now)
    enabled = rulebook_edits.enabled_rules(book, {TICKET_RULE})
    return _Prepared(portfolio, rules.evaluate(facts, config.rules, rules=enabled), book, config)


def _write_sla(
    session: Session, config: RunConfig, run: JobRun, prepared: _Prepared, now: dt.datetime
) -> dict:
    """Take the handling-plan steps now due (each once), tell who they reach, then the ticket alerts."""
    taken = escalations.escalate(session, book=prepared.book, now=now)
    emails = [
        email
        for step in taken
        for email in messages.escalation_emails(
            EscalationNotice(
                ticket_id=step.ticket_id,
                step=step.step,
                customer_id=step.customer_id,
                customer_name=step.customer_name,
                tier=step.tier,
                kind=step.kind,
                severity=step.severity,
                subject=step.subject,
                escalate_to=step.escalate_to,
                recipients=[person.email for person in step.recipients],
                opened_at=step.opened_at,
                resolution_due_at=step.resolution_due_at,
                customer_message=step.customer_message,
            ),
            settings=config.settings,
        )
    ]
    escalation_mails = outbox.enqueue_emails(session, emails=emails)
    counts = _write_alerts(session, prepared.config, run, prepared, evaluated={TICKET_RULE}, now=now)
    return {**counts, "escalated": len(taken), "escalation_emails": escalation_mails}


def _previous_risks(session: Session) -> dict[int, float]:
    """Network risk per customer at the last successful health run."""
    last = session.scalar(history.successful_runs(limit=1))
    return {} if last is None else history.risks_at(session, run_id=last)


def _snapshot_row(
    portfolio, account: scores.AccountScores, run_id: int, now: dt.datetime, version: int
) -> dict:
    sat, value = account.satisfaction, account.value
    return {
        "run_id": run_id,
        "rulebook_version": version,
        "customer_id": account.customer_id,
        "taken_at": now,
        # satisfaction on the 0–100 index the live health answer shows (50 = expectations met)
        "satisfaction": reports.index_points(sat.score),
        "two_sided": reports.index_points(account.two_sided),
        "coverage": sat.coverage,
        "loyalty_nps": sat.loyalty.nps,
        "own_risk": account.own.from_evidence,
        "network_risk": account.network_risk,
        "model_version": portfolio.model_version,
        "horizon_days": portfolio.horizon_days,
        "p_alive": account.signals.p_alive,
        "exposure": value.exposure or 0.0,
        "revenue_12m": value.revenue,
        "profit_12m": value.profit,
        "abc_class": value.abc,
        "departments": [
            {
                "id": d.department_id,
                "name": d.name,
                "weight": d.weight,
                "is_decision_maker": d.is_decision_maker,
                "score": reports.index_points(d.score),
                "gap": d.gap,
                "band": d.band,
                "silent": d.silent,
                "no_data": d.no_data,
            }
            for d in sat.departments
        ],
        "drivers": reports.stored_drivers(portfolio, account),
    }


def _all_facts(
    portfolio,
    accounts,
    previous: dict[int, float],
    tickets,
    *,
    dues: dict,
    sponsored: set[int],
    secured: set[int],
    now: dt.datetime,
) -> list:
    """Build the rules' facts for these accounts (portfolio-wide figures computed once); without `dues`
    (the SLA check) the contact, sponsor and renewal facts are left empty, as only the ticket rule is
    evaluated."""
    revenue = float(portfolio.arrays.node_revenue.sum())
    by_customer = defaultdict(list)
    for ticket in tickets:
        by_customer[ticket.customer_id].append(ticket)
    return [
        _facts(
            portfolio,
            a,
            previous,
            by_customer[a.customer_id],
            revenue,
            dues.get(a.customer_id, ()),
            a.customer_id in sponsored,
            a.customer_id in secured,
            now,
        )
        for a in accounts
    ]


def _facts(
    portfolio,
    account: scores.AccountScores,
    previous: dict[int, float],
    tickets,
    portfolio_revenue: float,
    dues,
    sponsored: bool,
    renewal_secured: bool,
    now: dt.datetime,
) -> rules.AccountFacts:
    signals = account.signals
    deciding = [due for due in dues if due.department_id is not None]
    whole = next((due for due in dues if due.department_id is None), None)
    return rules.AccountFacts(
        customer_id=account.customer_id,
        name=account.name,
        tier=account.tier,
        owner_id=account.owner_id,
        horizon_days=portfolio.horizon_days,
        network_risk=account.network_risk,
        previous_network_risk=previous.get(account.customer_id),
        exposure=account.value.exposure or 0.0,
        portfolio_revenue=portfolio_revenue,
        deciding_departments=tuple(
            rules.DepartmentFact(name=d.name, score=d.score, silent=d.silent, gap=d.gap, band=d.band)
            for d in account.satisfaction.departments
            if d.is_decision_maker
        ),
        days_since_contact=whole.fact(now).days_since_contact if whole else None,
        cadence_days=float(whole.cadence_days) if whole else 0.0,
        contacts=tuple(due.fact(now) for due in deciding),
        has_executive_sponsor=sponsored,
        contract_days_left=signals.contract_days_left,
        # the alert clears only once a renewal reaches LOGICRM_RENEWAL_SECURED_STAGE, not when one exists
        renewal_open=renewal_secured,
        overdue_tickets=tuple(
            rules.TicketFact(
                id=t.id,
                subject=t.subject,
                kind=str(t.kind),
                days_open=float(t.days_open),
                sla_days=float(t.sla_days),
            )
            for t in tickets
        ),
        tier_mismatch=account.value.mismatch,
        drivers=tuple(reports.stored_drivers(portfolio, account)),
    )


def _write_alerts(
    session: Session,
    config: RunConfig,
    run: JobRun,
    prepared: _Prepared,
    *,
    evaluated: Collection[str],
    now: dt.datetime,
) -> dict:
    """Open, refresh and resolve alerts from the findings; an opened alert runs its playbook, a resolved one
    closes the tasks it opened; queue notices in the same transaction."""
    portfolio, findings = prepared.portfolio, prepared.findings
    alerts = {a.id: a for a in session.scalars(select(Alert).where(Alert.state != AlertState.RESOLVED))}
    open_alerts = [
        rules.OpenAlert(
            id=a.id,
            customer_id=a.customer_id,
            rule=a.rule,
            state=str(a.state),
            severity=str(a.severity),
            value=a.value,
            notified_value=a.notified_value,
            notified_severity=a.notified_severity and str(a.notified_severity),
        )
        for a in alerts.values()
    ]
    transitions = rules.reconcile(open_alerts, findings, evaluated_rules=evaluated, params=config.rules)
    noticed, opened, resolved = [], [], []
    counts = {"opened": 0, "refreshed": 0, "resolved": 0, "notified": 0}
    version = prepared.book.version
    for transition in transitions:
        finding = transition.finding
        if transition.kind == "open":
            alert = Alert(
                customer_id=finding.customer_id,
                rule=finding.rule,
                severity=finding.severity,
                dedupe_key=f"{finding.customer_id}:{finding.rule}",
                value=finding.value,
                notified_value=finding.value,
                notified_severity=finding.severity,
                message=finding.message,
                details=finding.details,
                first_seen=now,
                last_seen=now,
                rulebook_version=version,
            )
            session.add(alert)  # flushed once below: a flush per alert costs milliseconds each
            opened.append(alert)
            event, counts["opened"] = "opened", counts["opened"] + 1
        elif transition.kind == "refresh":
            alert = alerts[transition.alert_id]
            alert.severity, alert.value, alert.message = finding.severity, finding.value, finding.message
            alert.details, alert.last_seen, alert.rulebook_version = finding.details, now, version
            if transition.reopen:
                alert.state, alert.acknowledged_at, alert.acknowledged_by_id = AlertState.OPEN, None, None
            if transition.notify:
                alert.notified_value, alert.notified_severity = finding.value, finding.severity
            event, counts["refreshed"] = "worsened", counts["refreshed"] + 1
        else:
            alert = alerts[transition.alert_id]
            alert.state, alert.resolved_at, alert.rulebook_version = AlertState.RESOLVED, now, version
            resolved.append(alert.id)
            event, counts["resolved"] = "resolved", counts["resolved"] + 1
        if transition.notify:
            noticed.append((alert, event))
    session.flush()
    # the flush gave the new alerts their ids
    counts["playbook_tasks"] = playbooks.run(
        session, book=prepared.book, opened=opened, accounts=portfolio.accounts, today=now.date()
    )
    counts["tasks_closed"] = tasks.close_for_alerts(session, alert_ids=resolved, user=None)
    notices = _notices(session, portfolio, noticed)
    counts["findings"], counts["notified"] = len(findings), len(notices)
    counts["deliveries"] = outbox.enqueue(session, run_id=run.id, notices=notices, settings=config.settings)
    return counts


def _notices(session: Session, portfolio, noticed: list[tuple[Alert, str]]) -> list[Notice]:
    """Announce alert events: to webhooks with every partner named, and by email to the people each alert
    reaches (health.subscriptions), with the drivers rendered for each (only the partners they may see)."""
    stored = {alert.id: alert.details.get("drivers", []) for alert, _event in noticed}
    partners = set().union(*(drivers.partner_ids(kept) for kept in stored.values()))
    # from the database: a stored driver may name a partner neither live nor departed lately any more
    names = queries.names(session, ids=partners)
    reached = subscriptions.reached(session, customer_ids={alert.customer_id for alert, _event in noticed})
    people = {person.user.id: person.user for found in reached.values() for person in found}
    seen_by = {
        user_id: customers.visible_among(session, user=user, ids=partners) for user_id, user in people.items()
    }
    notices = []
    for alert, event in noticed:
        account = portfolio.accounts.get(alert.customer_id)
        kept = stored[alert.id]
        severity = str(alert.severity)
        recipients = [
            Recipient(
                email=person.user.email,
                mode=str(person.modes[severity]),
                drivers=drivers.describe(kept, names={c: names[c] for c in seen_by[person.user.id]}),
            )
            for person in reached.get(alert.customer_id, [])
            if person.modes[severity] != DeliveryMode.OFF
        ]
        owner = next((p.user for p in reached.get(alert.customer_id, []) if p.reason == "owner"), None)
        notices.append(
            Notice(
                alert_id=alert.id,
                customer_id=alert.customer_id,
                customer_name=account.name if account else str(alert.customer_id),
                tier=account.tier if account else "standard",
                owner_email=owner.email if owner else None,
                rule=alert.rule,
                severity=severity,
                event=event,
                message=alert.message,
                value=alert.value,
                measure=measures.measure(alert.rule, alert.details or {}),
                drivers=drivers.describe(kept, names=names),
                recipients=recipients,
                details=alert.details,
            )
        )
    return notices


def list_statement(*, job=None, slot=None, status=None) -> Select:
    """Select job runs, newest first."""
    statement = select(JobRun)
    for column, value in ((JobRun.job, job), (JobRun.slot, slot), (JobRun.status, status)):
        if value is not None:
            statement = statement.where(column == value)
    return statement.order_by(JobRun.id.desc())
