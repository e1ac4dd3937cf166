"""Health history, alerts, their deliveries (the outbox), job runs and webhook receivers."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from logicrm.db import Base, enum_type, utcnow
from logicrm.tickets.models import Severity


class DeliveryMode(enum.StrEnum):
    """How a person hears of alerts of one severity."""

    IMMEDIATE = "immediate"  # an email at once (and in the run's digest)
    DIGEST = "digest"  # in the digest of the run that raised it
    OFF = "off"


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class AlertState(enum.StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class JobRun(Base):
    """One run of a scheduled job; (job, slot) is unique so a slot runs once however many processes try."""

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job", "slot"), Index("ix_job_runs_job_started", "job", "started_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(40))
    slot: Mapped[str] = mapped_column(String(64))
    status: Mapped[RunStatus] = mapped_column(enum_type(RunStatus), default=RunStatus.RUNNING, index=True)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    host: Mapped[str] = mapped_column(String(255), default="")
    pid: Mapped[int] = mapped_column(default=0)
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    config_hash: Mapped[str | None] = mapped_column(String(16))
    rulebook_version: Mapped[int | None]


class HealthSnapshot(Base):
    """One customer's scores at one health run."""

    __tablename__ = "health_snapshots"
    __table_args__ = (
        UniqueConstraint("run_id", "customer_id"),
        Index("ix_health_snapshots_customer_taken", "customer_id", "taken_at"),
        {"info": {"merge": "keep"}},  # a merged-away customer keeps its own health history
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("job_runs.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    taken_at: Mapped[dt.datetime]
    satisfaction: Mapped[float | None]
    two_sided: Mapped[float | None]
    coverage: Mapped[float]
    loyalty_nps: Mapped[float | None]
    own_risk: Mapped[float]
    network_risk: Mapped[float]
    exposure: Mapped[float]
    revenue_12m: Mapped[float]
    profit_12m: Mapped[float]
    abc_class: Mapped[str] = mapped_column(String(1))
    departments: Mapped[list] = mapped_column(JSON, default=list)
    drivers: Mapped[list] = mapped_column(JSON, default=list)
    # own_risk and network_risk are probabilities of churn within horizon_days, from this model version
    model_version: Mapped[int | None]
    horizon_days: Mapped[int | None]
    p_alive: Mapped[float | None]  # shippers: BG/NBD probability that the shipment rhythm still runs
    rulebook_version: Mapped[int | None]  # the rules the run judged it by


class Alert(Base):
    """A churn-risk alert; at most one unresolved alert per (customer, rule)."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index(
            "uq_alerts_customer_rule_unresolved",
            "customer_id",
            "rule",
            unique=True,
            sqlite_where=text("state <> 'resolved'"),
            postgresql_where=text("state <> 'resolved'"),
        ),
        Index("ix_alerts_state_severity", "state", "severity"),
        {"info": {"merge": "keep"}},  # alerts stay with the account they were raised on
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    rule: Mapped[str] = mapped_column(String(40), index=True)
    severity: Mapped[Severity] = mapped_column(enum_type(Severity))
    state: Mapped[AlertState] = mapped_column(enum_type(AlertState), default=AlertState.OPEN)
    dedupe_key: Mapped[str] = mapped_column(String(100))
    value: Mapped[float] = mapped_column(default=0.0)
    notified_value: Mapped[float | None]
    notified_severity: Mapped[Severity | None] = mapped_column(enum_type(Severity, name="notified_severity"))
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    first_seen: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[dt.datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[dt.datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    resolved_at: Mapped[dt.datetime | None]
    rulebook_version: Mapped[int | None]  # of the run that last raised or refreshed it


class PortfolioKpis(Base):
    """The portfolio's KPIs at one moment: stored by each health run (run_id), or replayed for a past
    date (run_id None)."""

    __tablename__ = "portfolio_kpis"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("job_runs.id", ondelete="CASCADE"), unique=True)
    as_of: Mapped[dt.datetime] = mapped_column(index=True)
    figures: Mapped[dict] = mapped_column(JSON, default=dict)
    config_hash: Mapped[str | None] = mapped_column(String(16))


class AlertPreference(Base):
    """How one person hears of alerts, per severity (no row: the defaults, digest for each)."""

    __tablename__ = "alert_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    low: Mapped[DeliveryMode] = mapped_column(
        enum_type(DeliveryMode, name="low_mode"), default=DeliveryMode.DIGEST
    )
    medium: Mapped[DeliveryMode] = mapped_column(
        enum_type(DeliveryMode, name="medium_mode"), default=DeliveryMode.DIGEST
    )
    high: Mapped[DeliveryMode] = mapped_column(
        enum_type(DeliveryMode, name="high_mode"), default=DeliveryMode.DIGEST
    )


class AlertSubscription(Base):
    """A person who follows an account's alerts without being on its team."""

    __tablename__ = "alert_subscriptions"
    __table_args__ = (UniqueConstraint("customer_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
