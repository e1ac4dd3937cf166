"""Saved what-if scenarios: named sets of changes that planners re-run and compare."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from logicrm.db import Base, utcnow


class Scenario(Base):
    __tablename__ = "what_if_scenarios"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    # the what-if request: {"changes": [...], "threshold": ...} (network.cascade.Change as JSON)
    changes: Mapped[list] = mapped_column(JSON, default=list)
    threshold: Mapped[float | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # the totals of the last run, to compare with a re-run
    last_run_at: Mapped[dt.datetime | None]
    last_totals: Mapped[dict | None] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}
