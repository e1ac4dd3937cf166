"""Complaints, claims and requests: the service desk."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from logicrm import bounds
from logicrm.db import MONEY, Base, enum_type, new_external_ref, utcnow, within


class TicketKind(enum.StrEnum):
    COMPLAINT = "complaint"
    CLAIM = "claim"
    REQUEST = "request"


class Severity(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class TicketStatus(enum.StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (within(bounds.MONEY, "claim_amount"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_ref: Mapped[str | None] = mapped_column(String(64), unique=True, default=new_external_ref)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    link_id: Mapped[int | None] = mapped_column(ForeignKey("links.id", ondelete="SET NULL"), index=True)
    kind: Mapped[TicketKind] = mapped_column(enum_type(TicketKind))
    severity: Mapped[Severity] = mapped_column(enum_type(Severity), default=Severity.MEDIUM)
    subject: Mapped[str] = mapped_column(String(300))
    opened_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    first_response_at: Mapped[dt.datetime | None]
    resolved_at: Mapped[dt.datetime | None]
    status: Mapped[TicketStatus] = mapped_column(
        enum_type(TicketStatus), default=TicketStatus.OPEN, index=True
    )
    claim_amount: Mapped[float | None] = mapped_column(MONEY)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}
