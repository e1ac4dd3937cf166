"""Alert notifications through the outbox: `enqueue` writes deliveries in the alert's transaction, `flush` sends.

Nothing is lost when the SMTP server or a webhook receiver is down: a delivery stays pending, is retried
with exponential backoff and full jitter, and is dead-lettered after `delivery_max_attempts` (visible and
retryable through the API). A refusal that repeating cannot change (an SMTP 5xx reply, HTTP 410 Gone, a
receiver that was deleted) dead-letters the delivery at once. Delivery is at least once; every delivery
carries an id that is stable across retries (the email Message-ID, the webhook-id header) so receivers
can make it exactly once.

Message ids, where <batch> is "run<run_id>" (or "adhoc<random>" when there is no run):
    digest email      <digest-<batch>-<sha256(owner email)[:12]>@logicrm>
    immediate email   <alert-<alert_id>-<event>-<batch>@logicrm>
    webhook           msg_alert-<alert_id>-<event>-<batch>-to-<receiver_id>
    test webhook      msg_test-<random>-to-<receiver_id>
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import http.client
import json
import random
import secrets
import smtplib
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from http import HTTPStatus
from typing import NamedTuple

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from logicrm.config import Settings
from logicrm.db import Database, utcnow
from logicrm.errors import Conflict, NotFound
from logicrm.network import drivers
from logicrm.outbox import webhooks
from logicrm.outbox.models import Channel, Delivery, DeliveryStatus, WebhookReceiver

EVENTS = ("opened", "worsened", "resolved")
DIGEST_EVENTS = ("opened", "worsened")
SEVERITY_RANK = {"high": 0, "medium": 1, "low": 2}
TOP_DRIVERS = 3
# A claimed delivery is leased for this long plus one send timeout per delivery in the batch, so another
# flusher skips it while it is being sent but picks it up if this process dies mid-flush.
LEASE_MARGIN_S = 60
CLAIM_BATCH = 20  # deliveries claimed (and leased) at a time, so a lease stays short
ERROR_MAX_CHARS = 1000
MESSAGE_ID_DOMAIN = "logicrm"
USER_AGENT = "LogiCRM-Webhooks/1"
ID_CHUNK = 500


@dataclass(frozen=True)
class Notice:
    """One alert event to announce: what checks.py hands to `enqueue`."""

    alert_id: int
    customer_id: int
    customer_name: str
    tier: str
    owner_email: str | None
    rule: str
    severity: str
    event: str  # opened | worsened | resolved
    message: str
    value: float = 0.0
    # risk drivers as rendered by logicrm.network.drivers: for the webhooks (every partner named, with
    # its id) and for the owner's emails (partners the owner may not see read as "another shipper")
    drivers: Sequence[Mapping] = ()
    owner_drivers: Sequence[Mapping] = ()
    details: Mapping = field(default_factory=dict)

    def __post_init__(self):
        if self.event not in EVENTS:
            raise ValueError(f"event must be one of {EVENTS}, not {self.event!r}")


# Enqueue -----------------------------------------------------------------------------------------------


def enqueue(session: Session, *, run_id: int | None, notices: Sequence[Notice], settings: Settings) -> int:
    """Write the deliveries announcing `notices` in the caller's transaction (no commit); return how many.

    One digest per owner (opened and worsened alerts), an immediate email per VIP high-severity opened or
    worsened alert, and one webhook per notice per active receiver. Deliveries whose id already exists are
    skipped, so enqueueing the same run twice writes nothing new.
    """
    batch = f"run{run_id}" if run_id is not None else f"adhoc{secrets.token_hex(6)}"
    now = utcnow()
    receivers = session.scalars(
        select(WebhookReceiver).where(WebhookReceiver.active.is_(True)).order_by(WebhookReceiver.id)
    ).all()
    rows = [
        *_digests(notices, batch=batch, run_id=run_id, settings=settings, now=now),
        *_immediate_emails(notices, batch=batch, settings=settings, now=now),
        *(
            _webhook(notice, receiver, batch=batch, run_id=run_id, settings=settings, now=now)
            for notice in notices
            for receiver in receivers
        ),
    ]
    ids = [row.message_id for row in rows]
    existing: set[str] = set()
    for start in range(0, len(ids), ID_CHUNK):
        chunk = ids[start : start + ID_CHUNK]
        existing.update(session.scalars(select(Delivery.message_id).where(Delivery.message_id.in_(chunk))))
    new = [row for row in rows if row.message_id not in existing]
    session.add_all(new)
    session.flush()
    return len(new)


def enqueue_test(session: Session, *, receiver: WebhookReceiver, settings: Settings) -> Delivery:
    """Queue a `webhook.test` event to one receiver (sent by the next flush)."""
    now = utcnow()
    delivery = Delivery(
        message_id=f"msg_test-{secrets.token_hex(8)}-to-{receiver.id}",
        kind="test",
        channel=Channel.WEBHOOK,
        receiver_id=receiver.id,
        recipient=receiver.url,
        subject="webhook.test",
        payload={
            "type": "webhook.test",
            "timestamp": now.isoformat(),
            "data": {"receiver_id": receiver.id, "message": "LogiCRM test event", "links": _links(settings)},
        },
        next_attempt_at=now,
        created_at=now,
    )
    session.add(delivery)
    session.flush()
    return delivery


def _email_id(local: str) -> str:
    return f"<{local}@{MESSAGE_ID_DOMAIN}>"


def _links(settings: Settings, customer_id: int | None = None) -> dict:
    base = settings.public_url.rstrip("/") + "/api/v1"
    links = {"alerts": f"{base}/alerts"}
    if customer_id is not None:
        links["customer_health"] = f"{base}/customers/{customer_id}/health"
    return links


def _drivers_lines(notice: Notice, prefix: str) -> list[str]:
    """One line naming the owner's view of the top drivers, or none for an alert that has no drivers."""
    summary = drivers.summary(notice.owner_drivers, top=TOP_DRIVERS)
    return [f"{prefix}{summary}"] if summary else []


def _ordered(notices: Sequence[Notice]) -> list[Notice]:
    return sorted(notices, key=lambda n: (SEVERITY_RANK.get(n.severity, 9), n.customer_name, n.rule))


def _digests(notices, *, batch, run_id, settings, now) -> Iterator[Delivery]:
    by_owner: dict[str, list[Notice]] = defaultdict(list)
    for notice in notices:
        if notice.owner_email and notice.event in DIGEST_EVENTS:
            by_owner[notice.owner_email.strip().lower()].append(notice)
    for owner, owned in sorted(by_owner.items()):
        accounts = len({notice.customer_id for notice in owned})
        opened = sum(notice.event == "opened" for notice in owned)
        subject = (
            f"LogiCRM: {len(owned)} churn-risk alert{'s' * (len(owned) != 1)} on {accounts} "
            f"account{'s' * (accounts != 1)} ({opened} new, {len(owned) - opened} worsened)"
        )
        yield Delivery(
            message_id=_email_id(f"digest-{batch}-{hashlib.sha256(owner.encode()).hexdigest()[:12]}"),
            kind="digest",
            channel=Channel.EMAIL,
            recipient=owner,
            subject=subject,
            payload={
                "text": _digest_text(owned, run_id=run_id, settings=settings),
                "alert_ids": [notice.alert_id for notice in owned],
            },
            next_attempt_at=now,
            created_at=now,
        )


def _digest_text(owned: Sequence[Notice], *, run_id: int | None, settings: Settings) -> str:
    source = f"Health run #{run_id}" if run_id is not None else "A health check"
    opened = sum(notice.event == "opened" for notice in owned)
    lines = [
        "Hello,",
        "",
        f"{source} raised {opened} new and {len(owned) - opened} worsened churn-risk alert(s) on your accounts.",
        "",
    ]
    by_customer: dict[int, list[Notice]] = defaultdict(list)
    for notice in _ordered(owned):
        by_customer[notice.customer_id].append(notice)
    for customer_id, alerts in by_customer.items():
        first = alerts[0]
        lines.append(f"{first.customer_name} ({str(first.tier).upper()}, customer {customer_id})")
        for notice in alerts:
            lines += [
                f"  [{str(notice.severity).upper()}] {notice.rule} ({notice.event}): {notice.message}",
                *_drivers_lines(notice, "      top drivers: "),
            ]
        lines += [f"  {_links(settings, customer_id)['customer_health']}", ""]
    lines += ["--", f"LogiCRM. All alerts: {_links(settings)['alerts']}"]
    return "\n".join(lines) + "\n"


def _immediate_emails(notices, *, batch, settings, now) -> Iterator[Delivery]:
    for notice in notices:
        if not (
            notice.owner_email
            and notice.tier == "vip"
            and notice.severity == "high"
            and notice.event in DIGEST_EVENTS
        ):
            continue
        verb = "new" if notice.event == "opened" else "worsened"
        text = "\n".join(
            [
                f"A {verb} high-severity alert on the VIP account {notice.customer_name} "
                f"(customer {notice.customer_id}):",
                "",
                f"  Rule:     {notice.rule}",
                f"  Severity: {notice.severity}",
                f"  Value:    {notice.value:g}",
                f"  {notice.message}",
                *_drivers_lines(notice, "  Top drivers: "),
                "",
                _links(settings, notice.customer_id)["customer_health"],
                "",
                "--",
                "LogiCRM",
            ]
        )
        yield Delivery(
            message_id=_email_id(f"alert-{notice.alert_id}-{notice.event}-{batch}"),
            kind="alert",
            channel=Channel.EMAIL,
            alert_id=notice.alert_id,
            recipient=notice.owner_email.strip().lower(),
            subject=f"[LogiCRM] VIP alert ({verb}): {notice.customer_name}: {notice.rule}"[:300],
            payload={"text": text + "\n"},
            next_attempt_at=now,
            created_at=now,
        )


def _webhook(notice, receiver, *, batch, run_id, settings, now) -> Delivery:
    return Delivery(
        message_id=f"msg_alert-{notice.alert_id}-{notice.event}-{batch}-to-{receiver.id}",
        kind="alert",
        channel=Channel.WEBHOOK,
        alert_id=notice.alert_id,
        receiver_id=receiver.id,
        recipient=receiver.url,
        subject=f"alert.{notice.event}",
        payload=event_body(notice, run_id=run_id, settings=settings, now=now),
        next_attempt_at=now,
        created_at=now,
    )


def event_body(notice: Notice, *, run_id: int | None, settings: Settings, now: dt.datetime) -> dict:
    """Return the JSON body of an alert webhook: {"type": "alert.<event>", "timestamp", "data"}."""
    return {
        "type": f"alert.{notice.event}",
        "timestamp": now.isoformat(),
        "data": {
            "alert_id": notice.alert_id,
            "event": notice.event,
            "run_id": run_id,
            "customer": {
                "id": notice.customer_id,
                "name": notice.customer_name,
                "tier": str(notice.tier),
                "owner_email": notice.owner_email,
            },
            "rule": notice.rule,
            "severity": str(notice.severity),
            "message": notice.message,
            "value": notice.value,
            "drivers": [dict(driver) for driver in notice.drivers],
            "details": json.loads(json.dumps(dict(notice.details), default=str)),
            "links": _links(settings, notice.customer_id),
        },
    }


# Queries and API actions ---------------------------------------------------------------------------------


def list_deliveries(
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


def get_delivery(session: Session, *, delivery_id: int) -> Delivery:
    """Return one delivery or raise NotFound."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound(f"delivery {delivery_id} not found")
    return delivery


def retry(session: Session, *, delivery_id: int, now: dt.datetime | None = None) -> Delivery:
    """Put a dead-lettered delivery back in the queue, due now, with a fresh set of attempts."""
    delivery = get_delivery(session, delivery_id=delivery_id)
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
        receivers = {
            receiver.id: receiver
            for receiver in session.scalars(
                select(WebhookReceiver).where(WebhookReceiver.id.in_(receiver_ids))
            )
        }
        claims = []
        for row in rows:
            receiver = receivers.get(row.receiver_id)
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


class Failure(NamedTuple):
    reason: str
    permanent: bool = False  # retrying cannot help: dead-letter at once


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
    with _Mailer(settings) as mailer:
        for claim in claims:
            try:
                if claim.channel == Channel.EMAIL:
                    failure = mailer.send(claim)
                else:
                    mailer.close()
                    failure = _send_webhook(claim, settings)
            except Exception as unexpected:  # one bad delivery must not strand the rest of the batch
                failure = Failure(f"unexpected error: {_describe(unexpected)}")
            yield claim, failure


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}".strip()


# Email -------------------------------------------------------------------------------------------------


class _Mailer:
    """One SMTP connection for a flush: opened at the first email, reopened once after it breaks."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None
        self.down: str | None = None  # why connecting failed: the rest of this flush fails fast

    def __enter__(self) -> _Mailer:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def send(self, claim: _Claim) -> Failure | None:
        if self.down:
            return self.down
        try:
            if self.smtp is None:
                self.smtp = self._connect()
        except (OSError, smtplib.SMTPException) as error:
            self.down = Failure(
                f"SMTP {self.settings.smtp_host}:{self.settings.smtp_port} unavailable: {_describe(error)}"
            )
            return self.down
        try:
            self.smtp.send_message(self._message(claim))
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _message in error.recipients.values()]
            return Failure(f"SMTP refused: {_describe(error)}", permanent=min(codes) >= 500)
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
            return Failure(f"SMTP refused: {_describe(error)}", permanent=error.smtp_code >= 500)
        except (OSError, smtplib.SMTPException) as error:
            self.close()  # the connection is unusable; the next email reconnects
            return Failure(f"SMTP failed: {_describe(error)}")
        return None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.smtp_security == "ssl":
            smtp = smtplib.SMTP_SSL(
                s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s, context=_tls_context()
            )
        else:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s)
        try:
            smtp.ehlo()
            if s.smtp_security == "starttls":
                smtp.starttls(context=_tls_context())
                smtp.ehlo()
            if s.smtp_username:
                smtp.login(s.smtp_username, s.smtp_password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _message(self, claim: _Claim) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.settings.smtp_from
        message["To"] = claim.recipient
        message["Subject"] = claim.subject or "LogiCRM"
        message["Message-ID"] = claim.message_id
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: keeps auto-replies away
        message.set_content(claim.payload.get("text", ""), charset="utf-8")
        return message

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                self.smtp.close()
            self.smtp = None


# Webhooks ----------------------------------------------------------------------------------------------


def _send_webhook(claim: _Claim, settings: Settings) -> Failure | None:
    if claim.receiver_url is None or claim.receiver_secret is None:
        return Failure("receiver no longer exists", permanent=True)
    if not claim.receiver_active:
        return Failure("receiver is inactive")
    try:
        # Checked again at send time: the name may resolve elsewhere now than when it was registered.
        destination = webhooks.check_destination(claim.receiver_url, settings)
    except webhooks.UnsafeDestination as error:
        return Failure(f"destination refused: {error}")
    body = json.dumps(claim.payload, ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = int(time.time())
    request = urllib.request.Request(
        destination.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "webhook-id": claim.message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": webhooks.sign(
                claim.receiver_secret, message_id=claim.message_id, timestamp=timestamp, body=body
            ),
        },
    )
    try:
        with _opener(destination.address).open(request, timeout=settings.webhook_timeout_s) as response:
            status = response.status
            response.read(4096)
    except urllib.error.HTTPError as error:
        detail = error.read(200).decode("utf-8", "replace").strip()
        reason = f"HTTP {error.code} {error.reason}" + (f": {detail}" if detail else "")
        return Failure(reason, permanent=error.code == HTTPStatus.GONE)  # the receiver says: stop
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        reason = getattr(error, "reason", None)
        return Failure(f"network error: {_describe(reason if isinstance(reason, BaseException) else error)}")
    return None if 200 <= status < 300 else Failure(f"HTTP {status}")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is a failure: following it would skip the destination check."""

    def redirect_request(self, *_args, **_kwargs):
        return None


def _pinned(connection_class, address: str):
    """Return a connection class that connects to `address` whatever the host name now resolves to."""

    class Pinned(connection_class):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._create_connection = lambda target, *rest: socket.create_connection(
                (address, target[1]), *rest
            )

    return Pinned


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """Return the shared client TLS context (loading the CA store takes a quarter of a second)."""
    return ssl.create_default_context()


def _opener(address: str) -> urllib.request.OpenerDirector:
    pinned_http = _pinned(http.client.HTTPConnection, address)
    pinned_https = _pinned(http.client.HTTPSConnection, address)

    class HTTPHandler(urllib.request.HTTPHandler):
        def http_open(self, req):
            return self.do_open(pinned_http, req)

    class HTTPSHandler(urllib.request.HTTPSHandler):
        def https_open(self, req):
            return self.do_open(pinned_https, req, context=_tls_context())

    # No proxies from the environment: the connection must go to the address that was checked.
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}), HTTPHandler(), HTTPSHandler(), _NoRedirect()
    )
