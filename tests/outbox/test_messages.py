"""What the deliveries say: the digest and VIP email texts, the webhook bodies and the message ids, exactly,
and the digests and VIP emails as they arrive over SMTP."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from logicrm.config import Settings
from logicrm.outbox import messages
from logicrm.outbox import service as outbox
from logicrm.outbox.messages import Email, Notice, Recipient
from logicrm.outbox.models import Channel, DeliveryStatus
from tests.outbox.alerts import PORTFOLIO, deliveries, enqueue, raise_alerts

SETTINGS = Settings(public_url="https://crm.example.com/")
NOW = dt.datetime(2024, 5, 1, 2, 0, tzinfo=dt.UTC)
DRIVERS = [
    {"kind": "own", "key": None, "label": "late deliveries", "share": 0.5},
    {"kind": "partner", "key": 7, "label": "Delta Freight GmbH", "share": 0.25},
    {"kind": "own", "key": None, "label": "claims", "share": 0.15},
    {"kind": "own", "key": None, "label": "price", "share": 0.1},
]
# the owner may not see the partner: its emails name it as drivers.describe does for them
OWNER_DRIVERS = [DRIVERS[0], {**DRIVERS[1], "label": "another shipper"}, *DRIVERS[2:]]


def notice(
    alert_id, customer_id, name, tier, owner, rule, severity, event, owner_drivers=(), **more
) -> Notice:
    """A notice reaching only its owner, by digest."""
    recipients = (Recipient(owner, "digest", owner_drivers),) if owner else ()
    return Notice(
        alert_id,
        customer_id,
        name,
        tier,
        owner,
        rule,
        severity,
        event,
        f"{rule} fired",
        0.72,
        recipients=recipients,
        **more,
    )


NOTICES = [
    notice(11, 1, "Nordic Cold Chain AB", "key", "am@example.com", "risk_jump", "medium", "worsened"),
    notice(
        10, 2, "上海远东物流", "vip", " AM@Example.com ", "risk_high", "high", "opened",
        drivers=DRIVERS, owner_drivers=OWNER_DRIVERS, details={"threshold": 0.6, "at": dt.date(2024, 5, 1)},
        measure="network risk 72%: the probability of losing the account",
    ),
    notice(12, 1, "Nordic Cold Chain AB", "key", "am@example.com", "contact_overdue", "low", "resolved"),
    notice(13, 3, "Orphan Ltd", "standard", None, "risk_high", "high", "opened"),
]  # fmt: skip


def test_one_digest_per_owner_with_exactly_this_text():
    assert list(messages.digests(NOTICES, batch="run42", run_id=42, settings=SETTINGS)) == [
        Email(
            message_id="<digest-run42-6889fa42d49d@logicrm>",  # sha256("am@example.com")[:12]
            kind="digest",
            recipient="am@example.com",
            subject="LogiCRM: 2 churn-risk alerts on 2 accounts (1 new, 1 worsened)",
            payload={
                "text": (
                    "Hello,\n"
                    "\n"
                    "Health run #42 raised 1 new and 1 worsened churn-risk alert(s) on your accounts.\n"
                    "\n"
                    "上海远东物流 (VIP, customer 2)\n"
                    "  [HIGH] risk_high (opened): risk_high fired\n"
                    "      top drivers: late deliveries (0.50), another shipper (0.25), claims (0.15)\n"
                    "  https://crm.example.com/accounts/2\n"
                    "\n"
                    "Nordic Cold Chain AB (KEY, customer 1)\n"
                    "  [MEDIUM] risk_jump (worsened): risk_jump fired\n"
                    "  https://crm.example.com/accounts/1\n"
                    "\n"
                    "--\n"
                    "LogiCRM. All alerts: https://crm.example.com/alerts\n"
                ),
                "alert_ids": [11, 10],
            },
        )
    ]
    text = next(messages.digests(NOTICES[:1], batch="adhoc1", run_id=None, settings=SETTINGS)).payload["text"]
    assert "A health check raised 0 new and 1 worsened" in text


def test_immediate_vip_email_with_exactly_this_text():
    assert list(messages.immediate_alerts(NOTICES, batch="run42", settings=SETTINGS)) == [
        Email(
            message_id="<alert-10-opened-run42-6889fa42d49d@logicrm>",
            kind="alert",
            recipient="am@example.com",
            subject="[LogiCRM] VIP alert (new): 上海远东物流: risk_high",
            payload={
                "text": (
                    "A new high-severity alert on the VIP account 上海远东物流 (customer 2):\n"
                    "\n"
                    "  Rule:     risk_high\n"
                    "  Severity: high\n"
                    "  Measure:  network risk 72%: the probability of losing the account\n"
                    "  risk_high fired\n"
                    "  Top drivers: late deliveries (0.50), another shipper (0.25), claims (0.15)\n"
                    "\n"
                    "Open the account: https://crm.example.com/accounts/2\n"
                    "\n"
                    "--\n"
                    "LogiCRM\n"
                )
            },
            alert_id=10,
        )
    ]


def test_webhook_bodies_name_every_partner_and_ids_are_stable():
    assert messages.event_body(NOTICES[1], run_id=42, settings=SETTINGS, now=NOW) == {
        "type": "alert.opened",
        "timestamp": "2024-05-01T02:00:00+00:00",
        "data": {
            "alert_id": 10,
            "event": "opened",
            "run_id": 42,
            "customer": {"id": 2, "name": "上海远东物流", "tier": "vip", "owner_email": " AM@Example.com "},
            "rule": "risk_high",
            "severity": "high",
            "message": "risk_high fired",
            "value": 0.72,
            "measure": "network risk 72%: the probability of losing the account",
            "drivers": DRIVERS,
            "details": {"threshold": 0.6, "at": "2024-05-01"},
            "links": {
                "alerts": "https://crm.example.com/alerts",
                "api_alerts": "https://crm.example.com/api/v1/alerts",
                "account": "https://crm.example.com/accounts/2",
                "api_customer_health": "https://crm.example.com/api/v1/customers/2/health",
            },
        },
    }
    assert messages.webhook_id(NOTICES[1], batch="run42", receiver_id=3) == "msg_alert-10-opened-run42-to-3"
    assert messages.batch_name(42) == "run42"
    assert re.fullmatch(r"adhoc[0-9a-f]{12}", messages.batch_name(None))
    assert re.fullmatch(r"msg_test-[0-9a-f]{16}-to-3", messages.webhook_test_id(3))
    assert messages.webhook_test_body(receiver_id=3, settings=SETTINGS, now=NOW) == {
        "type": "webhook.test",
        "timestamp": "2024-05-01T02:00:00+00:00",
        "data": {
            "receiver_id": 3,
            "message": "LogiCRM test event",
            "links": {
                "alerts": "https://crm.example.com/alerts",
                "api_alerts": "https://crm.example.com/api/v1/alerts",
            },
        },
    }


def test_one_digest_per_owner_naming_accounts_rules_and_drivers_plus_immediate_vip_mail(
    actors, db, settings, smtp
):
    notices = raise_alerts(db, PORTFOLIO)
    assert enqueue(db, settings, notices, run_id=42) == 3
    assert enqueue(db, settings, notices, run_id=42) == 0  # the same run again writes nothing new
    assert outbox.flush(db, settings) == {"sent": 3, "failed": 0, "dead": 0}

    am_digest, vip = sorted(smtp.to("am@test.example"), key=lambda m: "VIP" in m["Subject"])
    body = am_digest.get_content()
    assert am_digest["Subject"] == "LogiCRM: 3 churn-risk alerts on 2 accounts (2 new, 1 worsened)"
    for text in [
        "上海远东物流有限公司 (VIP",
        "Nordic Cold Chain AB (KEY",
        "[HIGH] risk_high (opened): Network risk 0.72 is at or above 0.60",
        "[MEDIUM] risk_jump (worsened)",
        "ticket_past_sla",
        "late deliveries on Hamburg → Shanghai (0.45), consignee dissatisfied (0.30), claims (0.15)",
        "https://crm.example.com/accounts/",
    ]:
        assert text in body, (text, body)
    assert "price" not in body  # top drivers only
    assert "silent_deciding_department" not in body  # resolved alerts stay out of digests
    assert body.index("risk_high") < body.index("risk_jump")  # worst first

    am2_digest = smtp.to("am2@test.example")[0]
    assert "Delta Freight GmbH" in am2_digest.get_content()
    assert "上海远东物流有限公司" not in am2_digest.get_content()

    assert vip["Subject"] == "[LogiCRM] VIP alert (new): 上海远东物流有限公司: risk_high"
    assert "late deliveries on Hamburg → Shanghai (0.45)" in vip.get_content()

    stored = {d.message_id: d for d in deliveries(db, channel=Channel.EMAIL)}
    assert {m["Message-ID"] for m in smtp.messages} == set(stored)
    assert stored[vip["Message-ID"]].alert_id == notices[0].alert_id
    assert vip["Message-ID"].startswith(f"<alert-{notices[0].alert_id}-opened-run42-")
    assert am_digest["Message-ID"].startswith("<digest-run42-")
    for message in smtp.messages:
        assert message["From"] == settings.smtp_from and message["Date"] and message["Auto-Submitted"]
    assert all(d.status == DeliveryStatus.SENT and d.sent_at and d.attempts == 1 for d in stored.values())


def test_notice_rejects_unknown_events():
    with pytest.raises(ValueError, match="event"):
        Notice(1, 1, "X", "vip", None, "risk_high", "high", "reopened", "m")
