"""The outbox: every email and webhook an alert causes, kept until delivered or dead, and the webhook receivers."""

from __future__ import annotations

import datetime as dt
import enum
from typing import NamedTuple

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from logicrm.db import Base, enum_type, utcnow


class Channel(enum.StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"


class Failure(NamedTuple):
    """Why one attempt to send a delivery failed, as the SMTP and webhook clients report it."""

    reason: str
    permanent: bool = False  # retrying cannot help: dead-letter at once

    @classmethod
    def of(cls, context: str, error: BaseException, *, permanent: bool = False) -> Failure:
        """Return the failure "<context>: <error type>: <error>"."""
        return cls(f"{context}: {type(error).__name__}: {error}".strip(), permanent)


class Delivery(Base):
    """The outbox: a message written with the alert it announces, sent (and retried) later."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Message-ID / webhook-id: stable across retries so receivers can deduplicate.
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # alert | digest | escalation | test
    channel: Mapped[Channel] = mapped_column(enum_type(Channel))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"), index=True)
    receiver_id: Mapped[int | None] = mapped_column(
        ForeignKey("webhook_receivers.id", ondelete="CASCADE"), index=True
    )
    recipient: Mapped[str] = mapped_column(String(2000))
    subject: Mapped[str | None] = mapped_column(String(300))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[DeliveryStatus] = mapped_column(enum_type(DeliveryStatus), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]


class WebhookReceiver(Base):
    """An endpoint that receives alert events, signed with its own secret."""

    __tablename__ = "webhook_receivers"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
