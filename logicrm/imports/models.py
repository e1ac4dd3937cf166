"""Import jobs and the rows they rejected."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from logicrm.db import Base, enum_type, utcnow


class ImportState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"  # written (or, for a dry run, found valid)
    REJECTED = "rejected"  # invalid rows and not --skip-invalid: nothing written
    FAILED = "failed"  # unreadable file, crash or interruption: nothing written

    @property
    def finished(self) -> bool:
        return self not in (ImportState.QUEUED, ImportState.RUNNING)


class ImportJob(Base):
    __tablename__ = "import_jobs"
    __table_args__ = (Index("ix_import_jobs_state_created", "state", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str] = mapped_column(String(300))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    state: Mapped[ImportState] = mapped_column(enum_type(ImportState), default=ImportState.QUEUED)
    dry_run: Mapped[bool] = mapped_column(default=False)
    skip_invalid: Mapped[bool] = mapped_column(default=False)
    date_format: Mapped[str | None] = mapped_column(String(40))
    timezone: Mapped[str | None] = mapped_column(String(60))  # a worker rebuilds the options from the row
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    # Where a queued upload waits on disk, and who is running it (abandoned-run detection): a worker
    # claims a queued job by setting host, pid and started_at and counting the attempt.
    spool_path: Mapped[str | None] = mapped_column(String(1000))
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None]
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    bytes_total: Mapped[int | None]
    bytes_done: Mapped[int] = mapped_column(default=0)
    rows_done: Mapped[int] = mapped_column(default=0)
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)


class ImportReject(Base):
    """One rejected line of an import: its cells as read, and every problem found in it."""

    __tablename__ = "import_rejects"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("import_jobs.id", ondelete="CASCADE"), index=True)
    line: Mapped[int]
    cells: Mapped[dict] = mapped_column(JSON)  # {"header": [...]} on line 0, else {"values": [...]}
    errors: Mapped[list] = mapped_column(JSON)  # [{"column": ..., "reason": ...}]
