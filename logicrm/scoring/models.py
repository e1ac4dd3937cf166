"""Saved what-if scenarios (named sets of changes that planners re-run and compare) and fitted churn
models (each version with its training window, features, coefficients and back-test), and the scores as
last published for every process to read."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from logicrm.db import Base, utcnow


class Scenario(Base):
    __tablename__ = "what_if_scenarios"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    # the what-if request but its threshold: the fields of POST /network/what-if (WhatIfIn)
    changes: Mapped[dict] = mapped_column(JSON, default=dict)
    threshold: Mapped[float | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # the totals of the last run, to compare with a re-run
    last_run_at: Mapped[dt.datetime | None]
    last_totals: Mapped[dict | None] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class ChurnModelRecord(Base):
    """One fitted churn model (logicrm.network.churn.ChurnModel) and how it fared; one is active."""

    __tablename__ = "churn_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    active: Mapped[bool] = mapped_column(default=False, index=True)
    method: Mapped[str] = mapped_column(String(20))  # prior | learnt
    horizon_days: Mapped[int]
    inactive_days: Mapped[int]
    features: Mapped[list] = mapped_column(JSON)
    means: Mapped[list] = mapped_column(JSON)
    scales: Mapped[list] = mapped_column(JSON)
    coefficients: Mapped[list] = mapped_column(JSON)
    intercept: Mapped[float]
    calibration: Mapped[list] = mapped_column(JSON)
    coupling: Mapped[float]
    network_calibration: Mapped[list] = mapped_column(JSON, default=lambda: [0.0, 1.0])
    events: Mapped[int]
    samples: Mapped[int]
    window_start: Mapped[dt.date | None]
    window_end: Mapped[dt.date | None]
    origins: Mapped[int] = mapped_column(default=0)
    metrics: Mapped[dict] = mapped_column(JSON, default=dict)  # the back-test pooled over its origins
    backtest: Mapped[list] = mapped_column(JSON, default=list)  # per test origin: metrics, reliability
    config_hash: Mapped[str] = mapped_column(String(64))


class PublishedScores(Base):
    """The scored portfolio as one process computed it (logicrm.scoring.published), for all to read.

    Each publication names the one it supersedes (0: none), unique per configuration and code: two
    processes that computed from the same publication publish once. One an incremental refresh made
    names the full publication it holds the changes over (`base_id`).
    """

    __tablename__ = "published_scores"
    __table_args__ = (UniqueConstraint("config_hash", "code_version", "supersedes"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    config_hash: Mapped[str] = mapped_column(String(16))
    code_version: Mapped[str] = mapped_column(String(16))  # published.code_version() of its writer
    supersedes: Mapped[int]
    network_revision: Mapped[int]  # the data revisions (logicrm.scoring.revisions) it was computed at
    scores_revision: Mapped[int]
    model_version: Mapped[int | None]  # the stored churn model used (None: the prior)
    computed_at: Mapped[dt.datetime]  # the moment the scores describe (PortfolioScores.as_of)
    published_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    base_id: Mapped[int | None]  # the full publication `payload` is a delta over (None: this is one)
    payload: Mapped[bytes] = mapped_column(LargeBinary)  # the pickled PortfolioScores, or published.Delta
