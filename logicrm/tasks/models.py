"""Tasks: what someone on an account's team must do, by when, and how it went."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from logicrm.db import Base, enum_type, utcnow


class TaskKind(enum.StrEnum):
    CALL = "call"
    VISIT = "visit"
    QBR = "qbr"
    CALLBACK = "callback"
    SURVEY = "survey"
    RENEWAL = "renewal"
    FOLLOW_UP = "follow_up"
    REVIEW = "review"


class TaskStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    NOT_NEEDED = "not_needed"  # closed without doing it: the reason went away


class TaskSource(enum.StrEnum):
    """What made the task: a person, an interaction's next follow-up, an alert's playbook, a department's
    contact cadence, a closed ticket's callback."""

    MANUAL = "manual"
    FOLLOW_UP = "follow_up"
    PLAYBOOK = "playbook"
    CADENCE = "cadence"
    CALLBACK = "callback"


OPEN_STATUSES = (TaskStatus.OPEN,)


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_assignee_status_due", "assignee_id", "status", "due_on"),
        Index("ix_tasks_customer_status", "customer_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="SET NULL"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"), index=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"), index=True)
    interaction_id: Mapped[int | None] = mapped_column(
        ForeignKey("interactions.id", ondelete="SET NULL"), index=True
    )
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    kind: Mapped[TaskKind] = mapped_column(enum_type(TaskKind))
    title: Mapped[str] = mapped_column(String(300))
    notes: Mapped[str | None] = mapped_column(Text)
    due_on: Mapped[dt.date]
    status: Mapped[TaskStatus] = mapped_column(enum_type(TaskStatus), default=TaskStatus.OPEN)
    outcome: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[dt.datetime | None]
    source: Mapped[TaskSource] = mapped_column(enum_type(TaskSource), default=TaskSource.MANUAL)
    # what made an automatic task, so that it is made once: "alert:12:0:finance", "interaction:7", …
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}
