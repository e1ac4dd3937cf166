"""The outbox: `enqueue` writes deliveries in the alert's transaction, `flush` sends them.

Nothing is lost when the SMTP server or a webhook receiver is down: a delivery stays pending, is retried
with exponential backoff and full jitter, and is dead-lettered after `delivery_max_attempts` (visible and
retryable through the API). A refusal that repeating cannot change (an SMTP 5xx reply, HTTP 410 Gone, a
receiver that was deleted) dead-letters the delivery at once. Delivery is at least once; every delivery
carries an id that is stable across retries (the email Message-ID, the webhook-id header; see messages)
so receivers can make it exactly once.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from logicrm.config import Settings
from logicrm.db import Database, utcnow
from logicrm.errors import Conflict, NotFound
from logicrm.outbox import messages, receivers, smtp, webhooks
from logicrm.outbox.messages import Notice
from logicrm.outbox.models import Channel, Delivery, DeliveryStatus, Failure, WebhookReceiver

# A claimed delivery is leased for this long plus one send timeout per delivery in the batch, so another
# flusher skips it while it is being sent but picks it up if this process dies mid-flush.
LEASE_MARGIN_S = 60
CLAIM_BATCH = 20  # deliveries claimed (and leased) at a time, so a lease stays short
ERROR_MAX_CHARS = 1000
ID_CHUNK = 500


# Enqueue -----------------------------------------------------------------------------------------------


def enqueue(session: Session, *, run_id: int | None, notices: Sequence[Notice], settings: Settings) -> int:
    """Write the deliveries announcing `notices` in the caller's transaction (no commit); return how many.

    One digest per recipient (opened and worsened alerts), an immediate email per opened or worsened alert
    to each recipient who wants its severity at once (and to every recipient of a VIP high-severity one),
    and one webhook per notice per active receiver. Deliveries whose id already exists are skipped, so
    enqueueing the same run twice writes nothing new.
    """
    batch = messages.batch_name(run_id)
    now = utcnow()
    active = session.scalars(receivers.list_statement(active=True)).all()
    emails = [
        *messages.digests(notices, batch=batch, run_id=run_id, settings=settings),
        *messages.immediate_alerts(notices, batch=batch, settings=settings),
    ]
    rows = [
        *(_email(email, now=now) for email in emails),
        *(
            _webhook(
                receiver,
                message_id=messages.webhook_id(notice, batch=batch, receiver_id=receiver.id),
                body=messages.event_body(notice, run_id=run_id, settings=settings, now=now),
                kind="alert",
                alert_id=notice.alert_id,
                now=now,
            )
            for notice in notices
            for receiver in active
        ),
    ]
    return _add_new(session, rows)


def enqueue_emails(session: Session, *, emails: Sequence[messages.Email]) -> int:
    """Write email deliveries in the caller's transaction (no commit), skipping ids already queued."""
    now = utcnow()
    return _add_new(session, [_email(email, now=now) for email in emails])


def _add_new(session: Session, rows: list[Delivery]) -> int:
    ids = [row.message_id for row in rows]
    existing: set[str] = set()
    for start in range(0, len(ids), ID_CHUNK):
        chunk = ids[start : start + ID_CHUNK]
        existing.update(session.scalars(select(Delivery.message_id).where(Delivery.message_id.in_(chunk))))
    new = list({row.message_id: row for row in rows if row.message_id not in existing}.values())
    session.add_all(new)
    session.flush()
    return len(new)


def enqueue_test(session: Session, *, receiver: WebhookReceiver, settings: Settings) -> Delivery:
    """Queue a `webhook.test` event to one receiver (sent by the next flush)."""
    now = utcnow()
    delivery = _webhook(
        receiver,
        message_id=messages.webhook_test_id(receiver.id),
        body=messages.webhook_test_body(receiver_id=receiver.id, settings=settings, now=now),
        kind="test",
        now=now,
    )
    session.add(delivery)
    session.flush()
    return delivery


def _email(email: messages.Email, *, now: dt.datetime) -> Delivery:
    return Delivery(
        message_id=email.message_id,
        kind=email.kind,
        channel=Channel.EMAIL,
        alert_id=email.alert_id,
        recipient=email.recipient,
        subject=email.subject,
        payload=email.payload,
        next_attempt_at=now,
        created_at=now,
    )


def _webhook(
    receiver: WebhookReceiver,
    *,
    message_id: str,
    body: dict,
    kind: str,
    alert_id: int | None = None,
    now: dt.datetime,
) -> Delivery:
    return Delivery(
        message_id=message_id,
        kind=kind,
        channel=Channel.WEBHOOK,
        alert_id=alert_id,
        receiver_id=receiver.id,
        recipient=receiver.url,
        subject=body["type"],
        payload=body,
        next_attempt_at=now,
        created_at=now,
    )


# Queries and API actions ---------------------------------------------------------------------------------


def list_statement(
    *,
    status: DeliveryStatus | None = None,
    channel: Channel | None = None,
    kind: str | None = None,
    alert_id: int | None = None,
    receiver_id: int | None = None,
) -> Select:
    """Return the statement listing deliveries, newest first, filtered (the caller paginates)."""
    statement = select(Delivery).order_by(Delivery.id.desc())
    for column, value in (
        (Delivery.status, status),
        (Delivery.channel, channel),
        (Delivery.kind, kind),
        (Delivery.alert_id, alert_id),
        (Delivery.receiver_id, receiver_id),
    ):
        if value is not None:
            statement = statement.where(column == value)
    return statement


def get(session: Session, *, delivery_id: int) -> Delivery:
    """Return one delivery or raise NotFound."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound(f"delivery {delivery_id} not found")
    return delivery


def retry(session: Session, *, delivery_id: int, now: dt.datetime | None = None) -> Delivery:
    """Put a dead-lettered delivery back in the queue, due now, with a fresh set of attempts."""
    delivery = get(session, delivery_id=delivery_id)
    if delivery.status != DeliveryStatus.DEAD:
        raise Conflict(f"delivery {delivery_id} is {delivery.status}; only dead deliveries can be retried")
    delivery.status = DeliveryStatus.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = now or utcnow()
    session.flush()
    return delivery


# Flush -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Claim:
    """What one claimed delivery needs to be sent, read in the claim transaction (no ORM object outlives it)."""

    id: int
    message_id: str
    channel: Channel
    recipient: str
    subject: str | None
    payload: dict
    attempts: int
    receiver_url: str | None = None
    receiver_secret: str | None = None
    receiver_active: bool = False


def backoff_delay(attempt: int, *, base_s: float, max_s: float, rng: random.Random | None = None) -> float:
    """Return the wait before retry number `attempt` (1-based): full jitter over min(max, base * 2^(n-1))."""
    ceiling = min(max_s, base_s * 2 ** max(attempt - 1, 0))
    return (rng or random).uniform(0, ceiling)


def flush(
    database: Database, settings: Settings, *, now: dt.datetime | None = None, limit: int = 100
) -> dict[str, int]:
    """Send up to `limit` due deliveries; return counts {"sent", "failed", "dead"}. Tests pass `now`.

    Works in batches of CLAIM_BATCH: claim them in a short write transaction (leasing them so parallel
    flushers skip them), send with no transaction open, record each result in its own short transaction.
    """
    # Real time is read afresh for every batch and result: a lease must start when its batch is claimed.
    clock = utcnow if now is None else lambda: now
    counts = {"sent": 0, "failed": 0, "dead": 0}
    remaining = limit
    while remaining > 0:
        batch = min(CLAIM_BATCH, remaining)
        claims = _claim(database, settings, now=clock(), limit=batch)
        for claim, failure in _send_all(claims, settings):
            counts[_record(database, settings, claim, failure, now=clock())] += 1
        remaining -= len(claims)
        if len(claims) < batch:  # nothing more is due
            break
    return counts


def _claim(database: Database, settings: Settings, *, now: dt.datetime, limit: int) -> list[_Claim]:
    with database.session_scope() as session:
        statement = (
            select(Delivery)
            .where(Delivery.status == DeliveryStatus.PENDING, Delivery.next_attempt_at <= now)
            .order_by(Delivery.next_attempt_at, Delivery.id)
            .limit(limit)
        )
        if database.engine.dialect.name == "postgresql":
            # SQLite needs nothing: BEGIN IMMEDIATE already makes claims one at a time.
            statement = statement.with_for_update(skip_locked=True)
        rows = session.scalars(statement).all()
        if not rows:
            return []
        timeout = max(settings.smtp_timeout_s, settings.webhook_timeout_s)
        lease_until = now + dt.timedelta(seconds=LEASE_MARGIN_S + timeout * len(rows))
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_([row.id for row in rows]))
            .values(attempts=Delivery.attempts + 1, next_attempt_at=lease_until)
            .execution_options(synchronize_session=False)
        )
        receiver_ids = {row.receiver_id for row in rows if row.receiver_id is not None}
        receivers_by_id = {
            receiver.id: receiver
            for receiver in session.scalars(
                select(WebhookReceiver).where(WebhookReceiver.id.in_(receiver_ids))
            )
        }
        claims = []
        for row in rows:
            receiver = receivers_by_id.get(row.receiver_id)
            claims.append(
                _Claim(
                    id=row.id,
                    message_id=row.message_id,
                    channel=row.channel,
                    recipient=row.recipient,
                    subject=row.subject,
                    payload=dict(row.payload),
                    attempts=row.attempts + 1,
                    receiver_url=receiver.url if receiver else None,
                    receiver_secret=receiver.secret if receiver else None,
                    receiver_active=bool(receiver and receiver.active),
                )
            )
    # Emails first, over one SMTP connection that is closed before the webhooks go out.
    return sorted(claims, key=lambda claim: claim.channel != Channel.EMAIL)


def _record(database: Database, settings: Settings, claim: _Claim, failure: Failure | None, *, now) -> str:
    mine = (Delivery.id == claim.id, Delivery.status == DeliveryStatus.PENDING)
    with database.session_scope() as session:
        if failure is None:
            session.execute(update(Delivery).where(*mine).values(status=DeliveryStatus.SENT, sent_at=now))
            return "sent"
        # Only the flusher holding the current lease records a failure (attempts changes on every claim).
        mine = (*mine, Delivery.attempts == claim.attempts)
        error = failure.reason[:ERROR_MAX_CHARS]
        if failure.permanent or claim.attempts >= settings.delivery_max_attempts:
            session.execute(
                update(Delivery).where(*mine).values(status=DeliveryStatus.DEAD, last_error=error)
            )
            return "dead"
        delay = backoff_delay(
            claim.attempts, base_s=settings.delivery_backoff_base_s, max_s=settings.delivery_backoff_max_s
        )
        session.execute(
            update(Delivery)
            .where(*mine)
            .values(last_error=error, next_attempt_at=now + dt.timedelta(seconds=delay))
        )
        return "failed"


def _send_all(claims: Sequence[_Claim], settings: Settings) -> Iterator[tuple[_Claim, Failure | None]]:
    """Send each claim; yield it with None on success or why it failed."""
    with smtp.Mailer(settings) as mailer:
        for claim in claims:
            try:
                if claim.channel == Channel.EMAIL:
                    failure = mailer.send(
                        message_id=claim.message_id,
                        recipient=claim.recipient,
                        subject=claim.subject,
                        text=claim.payload.get("text", ""),
                    )
                else:
                    mailer.close()
                    failure = _send_webhook(claim, settings)
            except Exception as unexpected:  # one bad delivery must not strand the rest of the batch
                failure = Failure.of("unexpected error", unexpected)
            yield claim, failure


def _send_webhook(claim: _Claim, settings: Settings) -> Failure | None:
    if claim.receiver_url is None or claim.receiver_secret is None:
        return Failure("receiver no longer exists", permanent=True)
    if not claim.receiver_active:
        return Failure("receiver is inactive")
    return webhooks.send(
        claim.receiver_url,
        secret=claim.receiver_secret,
        message_id=claim.message_id,
        payload=claim.payload,
        settings=settings,
    )
