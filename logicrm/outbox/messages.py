"""What the deliveries say: the digest and VIP alert emails, the webhook event bodies, their ids and links.

Pure: plain notices and settings in, plain text and JSON-ready dicts out; the service stores them.

Message ids, where <batch> is "run<run_id>" (or "adhoc<random>" when there is no run) and <to> is
sha256(recipient email)[:12]:
    digest email      <digest-<batch>-<to>@logicrm>
    immediate email   <alert-<alert_id>-<event>-<batch>-<to>@logicrm>
    escalation email  <escalation-<ticket_id>-<step>-<to>@logicrm>
    webhook           msg_alert-<alert_id>-<event>-<batch>-to-<receiver_id>
    test webhook      msg_test-<random>-to-<receiver_id>

Links point at the web pages (account, alerts, service desk) under `public_url`, where the same app serves
them; webhooks carry the API's links too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from logicrm.config import Settings
from logicrm.network import drivers

EVENTS = ("opened", "worsened", "resolved")
DIGEST_EVENTS = ("opened", "worsened")
MODES = ("immediate", "digest")  # how a recipient hears of a notice (those who chose "off" are not one)
SEVERITY_RANK = {"high": 0, "medium": 1, "low": 2}
TOP_DRIVERS = 3
MESSAGE_ID_DOMAIN = "logicrm"


@dataclass(frozen=True)
class Recipient:
    """Someone an alert reaches by email: how (immediate or digest, by their preference for its severity)
    and its risk drivers as they may read them (a partner they may not see reads as "another shipper")."""

    email: str
    mode: str
    drivers: Sequence[Mapping] = ()

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {self.mode!r}")


@dataclass(frozen=True)
class Notice:
    """One alert event to announce: what a health run hands to `service.enqueue`."""

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
    measure: str = ""  # what the value means, in words (health.measures.measure)
    # risk drivers as rendered by logicrm.network.drivers for the webhooks (every partner named, with its id)
    drivers: Sequence[Mapping] = ()
    recipients: Sequence[Recipient] = ()
    details: Mapping = field(default_factory=dict)

    def __post_init__(self):
        if self.event not in EVENTS:
            raise ValueError(f"event must be one of {EVENTS}, not {self.event!r}")


@dataclass(frozen=True)
class EscalationNotice:
    """A ticket escalated one step of its handling plan: whom to tell and what."""

    ticket_id: int
    step: int
    customer_id: int
    customer_name: str
    tier: str
    kind: str
    severity: str
    subject: str
    escalate_to: str
    recipients: Sequence[str]  # emails
    opened_at: dt.datetime
    resolution_due_at: dt.datetime
    customer_message: str


@dataclass(frozen=True)
class Email:
    """One email to queue: its stable Message-ID, recipient, subject and stored payload {"text", ...}."""

    message_id: str
    kind: str  # digest | alert | escalation
    recipient: str
    subject: str
    payload: dict
    alert_id: int | None = None  # the alert an immediate email announces


def batch_name(run_id: int | None) -> str:
    """Return the part of the message ids that names the health run (or a fresh ad-hoc batch)."""
    return f"run{run_id}" if run_id is not None else f"adhoc{secrets.token_hex(6)}"


# Paths of the web pages messages link to (logicrm.web serves them; tests/web/test_links.py checks they resolve).
WEB_ALERTS = "/alerts"
WEB_ACCOUNT = "/accounts/{customer_id}"
WEB_SERVICE_DESK = "/service-desk"


def links(settings: Settings, customer_id: int | None = None) -> dict:
    """Return the links a message points to: the alerts page and the account's page for people, and
    the same in the API for programs (the web pages are served by the same app, under `public_url`)."""
    base = settings.public_url.rstrip("/")
    found = {"alerts": f"{base}{WEB_ALERTS}", "api_alerts": f"{base}/api/v1/alerts"}
    if customer_id is not None:
        found["account"] = base + WEB_ACCOUNT.format(customer_id=customer_id)
        found["api_customer_health"] = f"{base}/api/v1/customers/{customer_id}/health"
    return found


def _to(email: str) -> str:
    return hashlib.sha256(email.encode()).hexdigest()[:12]


# Emails ------------------------------------------------------------------------------------------------


def digests(
    notices: Sequence[Notice], *, batch: str, run_id: int | None, settings: Settings
) -> Iterator[Email]:
    """Yield one digest per recipient, announcing the opened and worsened alerts that reach them."""
    by_recipient: dict[str, list[tuple[Notice, Recipient]]] = defaultdict(list)
    for notice in notices:
        if notice.event in DIGEST_EVENTS:
            for recipient in notice.recipients:
                by_recipient[recipient.email.strip().lower()].append((notice, recipient))
    for email, reached in sorted(by_recipient.items()):
        accounts = len({notice.customer_id for notice, _recipient in reached})
        opened = sum(notice.event == "opened" for notice, _recipient in reached)
        subject = (
            f"LogiCRM: {len(reached)} churn-risk alert{'s' * (len(reached) != 1)} on {accounts} "
            f"account{'s' * (accounts != 1)} ({opened} new, {len(reached) - opened} worsened)"
        )
        yield Email(
            message_id=_email_id(f"digest-{batch}-{_to(email)}"),
            kind="digest",
            recipient=email,
            subject=subject,
            payload={
                "text": _digest_text(reached, run_id=run_id, settings=settings),
                "alert_ids": [notice.alert_id for notice, _recipient in reached],
            },
        )


def immediate_alerts(notices: Sequence[Notice], *, batch: str, settings: Settings) -> Iterator[Email]:
    """Yield an email at once for each opened or worsened alert to each recipient who wants its severity
    immediately, and for a high-severity alert on a VIP to every recipient."""
    for notice in notices:
        if notice.event not in DIGEST_EVENTS:
            continue
        vip_high = notice.tier == "vip" and notice.severity == "high"
        for recipient in notice.recipients:
            if recipient.mode == "immediate" or vip_high:
                yield _immediate(notice, recipient, batch=batch, settings=settings)


def _immediate(notice: Notice, recipient: Recipient, *, batch: str, settings: Settings) -> Email:
    verb = "new" if notice.event == "opened" else "worsened"
    vip = str(notice.tier) == "vip"
    account = "the VIP account" if vip else f"the {notice.tier} account"
    text = "\n".join(
        [
            f"A {verb} {notice.severity}-severity alert on {account} {notice.customer_name} "
            f"(customer {notice.customer_id}):",
            "",
            f"  Rule:     {notice.rule}",
            f"  Severity: {notice.severity}",
            *([f"  Measure:  {notice.measure}"] if notice.measure else []),
            f"  {notice.message}",
            *_drivers_lines(recipient, "  Top drivers: "),
            "",
            f"Open the account: {links(settings, notice.customer_id)['account']}",
            "",
            "--",
            "LogiCRM",
        ]
    )
    email = recipient.email.strip().lower()
    return Email(
        message_id=_email_id(f"alert-{notice.alert_id}-{notice.event}-{batch}-{_to(email)}"),
        kind="alert",
        recipient=email,
        subject=f"[LogiCRM] {'VIP alert' if vip else 'Alert'} ({verb}): {notice.customer_name}: {notice.rule}"[
            :300
        ],
        payload={"text": text + "\n"},
        alert_id=notice.alert_id,
    )


def escalation_emails(escalation: EscalationNotice, *, settings: Settings) -> Iterator[Email]:
    """Yield the email telling each person a ticket was escalated to them."""
    base = settings.public_url.rstrip("/")
    for email in dict.fromkeys(e.strip().lower() for e in escalation.recipients):
        text = "\n".join(
            [
                f"Ticket #{escalation.ticket_id} of {escalation.customer_name} ({str(escalation.tier).upper()}, "
                f"customer {escalation.customer_id}) is escalated to you "
                f"({escalation.escalate_to.replace('_', ' ')}, step {escalation.step + 1} of its handling plan).",
                "",
                f"  Subject:    {escalation.subject}",
                f"  Kind:       {escalation.kind}, {escalation.severity} severity",
                f"  Opened:     {escalation.opened_at:%Y-%m-%d %H:%M} UTC",
                f"  Resolve by: {escalation.resolution_due_at:%Y-%m-%d %H:%M} UTC",
                f"  The customer is told: {escalation.customer_message}",
                "",
                f"Open the service desk: {base}{WEB_SERVICE_DESK}",
                f"The ticket in the API: {base}/api/v1/tickets/{escalation.ticket_id}",
                "",
                "--",
                "LogiCRM",
            ]
        )
        yield Email(
            message_id=_email_id(f"escalation-{escalation.ticket_id}-{escalation.step}-{_to(email)}"),
            kind="escalation",
            recipient=email,
            subject=f"[LogiCRM] Escalated: ticket #{escalation.ticket_id} of {escalation.customer_name}: "
            f"{escalation.subject}"[:300],
            payload={"text": text + "\n", "ticket_id": escalation.ticket_id, "step": escalation.step},
        )


def _email_id(local: str) -> str:
    return f"<{local}@{MESSAGE_ID_DOMAIN}>"


def _order(notice: Notice) -> tuple:
    return SEVERITY_RANK.get(notice.severity, 9), notice.customer_name, notice.rule


def _drivers_lines(recipient: Recipient, prefix: str) -> list[str]:
    """One line naming the recipient's view of the top drivers, or none for an alert that has no drivers."""
    summary = drivers.summary(recipient.drivers, top=TOP_DRIVERS)
    return [f"{prefix}{summary}"] if summary else []


def _digest_text(
    reached: Sequence[tuple[Notice, Recipient]], *, run_id: int | None, settings: Settings
) -> str:
    source = f"Health run #{run_id}" if run_id is not None else "A health check"
    opened = sum(notice.event == "opened" for notice, _recipient in reached)
    lines = [
        "Hello,",
        "",
        f"{source} raised {opened} new and {len(reached) - opened} worsened churn-risk alert(s) on your accounts.",
        "",
    ]
    by_customer: dict[int, list[tuple[Notice, Recipient]]] = defaultdict(list)
    for notice, recipient in sorted(reached, key=lambda pair: _order(pair[0])):
        by_customer[notice.customer_id].append((notice, recipient))
    for customer_id, alerts in by_customer.items():
        first = alerts[0][0]
        lines.append(f"{first.customer_name} ({str(first.tier).upper()}, customer {customer_id})")
        for notice, recipient in alerts:
            lines += [
                f"  [{str(notice.severity).upper()}] {notice.rule} ({notice.event}): {notice.message}",
                *_drivers_lines(recipient, "      top drivers: "),
            ]
        lines += [f"  {links(settings, customer_id)['account']}", ""]
    lines += ["--", f"LogiCRM. All alerts: {links(settings)['alerts']}"]
    return "\n".join(lines) + "\n"


# Webhooks ----------------------------------------------------------------------------------------------


def webhook_id(notice: Notice, *, batch: str, receiver_id: int) -> str:
    """Return the webhook-id announcing `notice` to one receiver."""
    return f"msg_alert-{notice.alert_id}-{notice.event}-{batch}-to-{receiver_id}"


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
            "measure": notice.measure,
            "drivers": [dict(driver) for driver in notice.drivers],
            "details": json.loads(json.dumps(dict(notice.details), default=str)),
            "links": links(settings, notice.customer_id),
        },
    }


def webhook_test_id(receiver_id: int) -> str:
    """Return a fresh webhook-id for a test event to one receiver."""
    return f"msg_test-{secrets.token_hex(8)}-to-{receiver_id}"


def webhook_test_body(*, receiver_id: int, settings: Settings, now: dt.datetime) -> dict:
    """Return the JSON body of a `webhook.test` event."""
    return {
        "type": "webhook.test",
        "timestamp": now.isoformat(),
        "data": {"receiver_id": receiver_id, "message": "LogiCRM test event", "links": links(settings)},
    }
