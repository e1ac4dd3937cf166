"""The service desk: complaints, claims, requests and the other cases of a logistics provider, with their
service-level due times, who handles them, and their timeline."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from logicrm import bounds
from logicrm.db import MONEY, Base, enum_type, new_external_ref, utcnow, within


class TicketKind(enum.StrEnum):
    COMPLAINT = "complaint"
    CLAIM = "claim"  # money asked for goods damaged or lost
    REQUEST = "request"
    DELAY = "delay"  # a shipment late or stuck
    DAMAGE = "damage"  # goods damaged in transit or handling
    LOSS = "loss"  # goods missing
    BILLING = "billing"  # an invoice disputed
    DOCUMENTATION = "documentation"  # customs papers, proofs of delivery, certificates


class Severity(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class TicketStatus(enum.StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN_STATUSES = (TicketStatus.OPEN, TicketStatus.IN_PROGRESS)


class Priority(enum.StrEnum):
    """How the desk ranks its work; by default from the account's tier and the severity."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class RootCause(enum.StrEnum):
    """Why it happened, as the closing agent found it."""

    CARRIER_DELAY = "carrier_delay"
    HANDLING_DAMAGE = "handling_damage"
    PACKAGING = "packaging"
    ROUTING_ERROR = "routing_error"
    CAPACITY_SHORTAGE = "capacity_shortage"
    DOCUMENTATION_ERROR = "documentation_error"
    BILLING_ERROR = "billing_error"
    SYSTEM_ERROR = "system_error"
    CUSTOMER_SIDE = "customer_side"
    FORCE_MAJEURE = "force_majeure"
    NO_FAULT_FOUND = "no_fault_found"
    OTHER = "other"


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        within(bounds.MONEY, "claim_amount"),
        within(bounds.MONEY, "compensation_amount"),
        Index("ix_tickets_status_first_response_due", "status", "first_response_due_at"),
        Index("ix_tickets_status_resolution_due", "status", "resolution_due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    external_ref: Mapped[str | None] = mapped_column(String(64), unique=True, default=new_external_ref)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    link_id: Mapped[int | None] = mapped_column(ForeignKey("links.id", ondelete="SET NULL"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    kind: Mapped[TicketKind] = mapped_column(enum_type(TicketKind))
    severity: Mapped[Severity] = mapped_column(enum_type(Severity), default=Severity.MEDIUM)
    priority: Mapped[Priority] = mapped_column(enum_type(Priority), default=Priority.NORMAL)
    subject: Mapped[str] = mapped_column(String(300))
    opened_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    first_response_at: Mapped[dt.datetime | None]
    resolved_at: Mapped[dt.datetime | None]
    # from the account's tier SLA in the rulebook version `sla_version`, when the ticket was opened
    first_response_due_at: Mapped[dt.datetime | None]
    resolution_due_at: Mapped[dt.datetime | None]
    sla_version: Mapped[int | None]
    status: Mapped[TicketStatus] = mapped_column(
        enum_type(TicketStatus), default=TicketStatus.OPEN, index=True
    )
    claim_amount: Mapped[float | None] = mapped_column(MONEY)
    root_cause: Mapped[RootCause | None] = mapped_column(enum_type(RootCause))
    resolution: Mapped[str | None] = mapped_column(Text)
    compensation_amount: Mapped[float | None] = mapped_column(MONEY)
    escalation_level: Mapped[int] = mapped_column(default=0)  # handling-plan steps taken so far
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class TicketEventKind(enum.StrEnum):
    OPENED = "opened"
    NOTE = "note"  # internal
    REPLY = "reply"  # told the customer (the first one is the first response)
    STATUS = "status"
    ASSIGNED = "assigned"
    PRIORITY = "priority"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    CALLBACK = "callback"


class TicketEvent(Base):
    """One entry of a ticket's timeline; an escalation step is taken once per ticket (unique)."""

    __tablename__ = "ticket_events"
    __table_args__ = (
        UniqueConstraint("ticket_id", "escalation_step"),
        Index("ix_ticket_events_ticket_at", "ticket_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    kind: Mapped[TicketEventKind] = mapped_column(enum_type(TicketEventKind))
    text: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    escalation_step: Mapped[int | None]
