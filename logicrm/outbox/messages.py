"""What the deliveries say: the digest and VIP alert emails, the webhook event bodies, their ids and links.

Pure: plain notices and settings in, plain text and JSON-ready dicts out; the service stores them.

Message ids, where <batch> is "run<run_id>" (or "adhoc<random>" when there is no run):
    digest email      <digest-<batch>-<sha256(owner email)[:12]>@logicrm>
    immediate email   <alert-<alert_id>-<event>-<batch>@logicrm>
    webhook           msg_alert-<alert_id>-<event>-<batch>-to-<receiver_id>
    test webhook      msg_test-<random>-to-<receiver_id>
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
SEVERITY_RANK = {"high": 0, "medium": 1, "low": 2}
TOP_DRIVERS = 3
MESSAGE_ID_DOMAIN = "logicrm"


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
    measure: str = ""  # what the value means, in words (health.rules.measure)
    # risk drivers as rendered by logicrm.network.drivers: for the webhooks (every partner named, with
    # its id) and for the owner's emails (partners the owner may not see read as "another shipper")
    drivers: Sequence[Mapping] = ()
    owner_drivers: Sequence[Mapping] = ()
    details: Mapping = field(default_factory=dict)

    def __post_init__(self):
        if self.event not in EVENTS:
            raise ValueError(f"event must be one of {EVENTS}, not {self.event!r}")


@dataclass(frozen=True)
class Email:
    """One email to queue: its stable Message-ID, recipient, subject and stored payload {"text", ...}."""

    message_id: str
    kind: str  # digest | alert
    recipient: str
    subject: str
    payload: dict
    alert_id: int | None = None  # the alert an immediate email announces


def batch_name(run_id: int | None) -> str:
    """Return the part of the message ids that names the health run (or a fresh ad-hoc batch)."""
    return f"run{run_id}" if run_id is not None else f"adhoc{secrets.token_hex(6)}"


# Paths of the web pages messages link to (logicrm.web serves them; tests/web check they resolve).
WEB_ALERTS = "/alerts"
WEB_ACCOUNT = "/accounts/{customer_id}"


def links(settings: Settings, customer_id: int | None = None) -> dict:
    """Return the links a message points to: the alerts page and the account's page for people, and
    the same in the API for programs."""
    base = settings.public_url.rstrip("/")
    found = {"alerts": f"{base}{WEB_ALERTS}", "api_alerts": f"{base}/api/v1/alerts"}
    if customer_id is not None:
        found["account"] = base + WEB_ACCOUNT.format(customer_id=customer_id)
        found["api_customer_health"] = f"{base}/api/v1/customers/{customer_id}/health"
    return found


# Emails ------------------------------------------------------------------------------------------------


def digests(
    notices: Sequence[Notice], *, batch: str, run_id: int | None, settings: Settings
) -> Iterator[Email]:
    """Yield one digest per owner, announcing that owner's opened and worsened alerts."""
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
        yield Email(
            message_id=_email_id(f"digest-{batch}-{hashlib.sha256(owner.encode()).hexdigest()[:12]}"),
            kind="digest",
            recipient=owner,
            subject=subject,
            payload={
                "text": _digest_text(owned, run_id=run_id, settings=settings),
                "alert_ids": [notice.alert_id for notice in owned],
            },
        )


def vip_alerts(notices: Sequence[Notice], *, batch: str, settings: Settings) -> Iterator[Email]:
    """Yield an immediate email to the owner for each opened or worsened high-severity alert on a VIP."""
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
                *([f"  Measure:  {notice.measure}"] if notice.measure else []),
                f"  {notice.message}",
                *_drivers_lines(notice, "  Top drivers: "),
                "",
                f"Open the account: {links(settings, notice.customer_id)['account']}",
                "",
                "--",
                "LogiCRM",
            ]
        )
        yield Email(
            message_id=_email_id(f"alert-{notice.alert_id}-{notice.event}-{batch}"),
            kind="alert",
            recipient=notice.owner_email.strip().lower(),
            subject=f"[LogiCRM] VIP alert ({verb}): {notice.customer_name}: {notice.rule}"[:300],
            payload={"text": text + "\n"},
            alert_id=notice.alert_id,
        )


def _email_id(local: str) -> str:
    return f"<{local}@{MESSAGE_ID_DOMAIN}>"


def _ordered(notices: Sequence[Notice]) -> list[Notice]:
    return sorted(notices, key=lambda n: (SEVERITY_RANK.get(n.severity, 9), n.customer_name, n.rule))


def _drivers_lines(notice: Notice, prefix: str) -> list[str]:
    """One line naming the owner's view of the top drivers, or none for an alert that has no drivers."""
    summary = drivers.summary(notice.owner_drivers, top=TOP_DRIVERS)
    return [f"{prefix}{summary}"] if summary else []


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
