"""The outbox against real servers: digests and VIP mails over SMTP, signed webhooks, retries, dead letters.

Time is advanced by passing `now` to flush() rather than by sleeping through the backoff.
"""

from __future__ import annotations

import datetime as dt
import random
import shutil
import threading
from collections import Counter

import pytest
from sqlalchemy import select

from logicrm.customers.models import Customer
from logicrm.db import utcnow
from logicrm.health.models import Alert, AlertState
from logicrm.outbox import receivers, webhooks
from logicrm.outbox import service as outbox
from logicrm.outbox.messages import Notice
from logicrm.outbox.models import Channel, Delivery, DeliveryStatus
from logicrm.users.models import User
from tests.outbox.servers import SmtpServer, WebhookServer, self_signed_certificate

RULE_MESSAGES = {
    "risk_high": "Network risk 0.72 is at or above 0.60",
    "risk_jump": "Network risk rose by 0.21 since the last run",
    "silent_deciding_department": "No contact with the deciding department for 94 days",
    "ticket_past_sla": "Ticket #88 is 3 days past the VIP SLA",
}


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def settings(app, smtp):
    """Settings aimed at the test SMTP server, allowing the loopback webhook receiver."""
    settings = app.config["LOGICRM"].replace(
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_timeout_s=5,
        webhook_timeout_s=5,
        webhook_allow_private=True,
        delivery_backoff_base_s=30,
        delivery_backoff_max_s=600,
        public_url="https://crm.example.com",
    )
    app.config["LOGICRM"] = settings
    return settings


@pytest.fixture
def receiver(db, settings):
    """A running webhook receiver registered as the only active receiver."""
    server = WebhookServer(seed=7).start()
    with db.session_scope() as session:
        server.receiver_id = receivers.create(session, url=server.url, settings=settings)[0].id
        server.secret = receivers.get(session, receiver_id=server.receiver_id).secret
    yield server
    server.stop()


def raise_alerts(db, specs) -> list[Notice]:
    """Create customers and alerts for (customer name, tier, owner email, rule, severity, event, drivers)."""
    notices = []
    with db.session_scope() as session:
        owners = dict(session.execute(select(User.email, User.id)).all())
        customers: dict[str, Customer] = {}
        for name, tier, owner, rule, severity, event, drivers in specs:
            if name not in customers:
                customers[name] = Customer(
                    name=name, normalized_name=name.lower(), tier=tier, owner_id=owners.get(owner)
                )
                session.add(customers[name])
                session.flush()
            customer = customers[name]
            alert = Alert(
                customer_id=customer.id,
                rule=rule,
                severity=severity,
                state=AlertState.RESOLVED if event == "resolved" else AlertState.OPEN,
                dedupe_key=f"{customer.id}:{rule}",
                value=0.72,
                message=RULE_MESSAGES[rule],
                details={"threshold": 0.6},
            )
            session.add(alert)
            session.flush()
            notices.append(
                Notice(
                    alert_id=alert.id,
                    customer_id=customer.id,
                    customer_name=name,
                    tier=tier,
                    owner_email=owner,
                    rule=rule,
                    severity=severity,
                    event=event,
                    message=alert.message,
                    value=alert.value,
                    drivers=described(drivers),
                    owner_drivers=described(drivers),
                    details=alert.details,
                )
            )
    return notices


def described(drivers) -> list[dict]:
    """Drivers (label, share) as logicrm.network.drivers renders them."""
    return [{"kind": "own", "key": None, "label": label, "share": share} for label, share in drivers]


def enqueue(db, settings, notices, *, run_id=1) -> int:
    with db.session_scope() as session:
        return outbox.enqueue(session, run_id=run_id, notices=notices, settings=settings)


def deliveries(db, **where) -> list[Delivery]:
    with db.session(write=False) as session:
        statement = select(Delivery).filter_by(**where).order_by(Delivery.id)
        return session.scalars(statement).all()


def drain(db, settings, *, now, rounds=30, **kw) -> dt.datetime:
    """Flush again and again, jumping past the longest backoff each time, until nothing is pending."""
    for _ in range(rounds):
        outbox.flush(db, settings, now=now, **kw)
        if not deliveries(db, status=DeliveryStatus.PENDING):
            return now
        now += dt.timedelta(seconds=settings.delivery_backoff_max_s + 1)
    raise AssertionError("deliveries still pending")


PORTFOLIO = [
    # name, tier, owner, rule, severity, event, drivers
    ("上海远东物流有限公司", "vip", "am@test.example", "risk_high", "high", "opened",
     [("late deliveries on Hamburg → Shanghai", 0.45), ("consignee dissatisfied", 0.3), ("claims", 0.15), ("price", 0.1)]),
    ("上海远东物流有限公司", "vip", "am@test.example", "ticket_past_sla", "medium", "opened",
     [("open claim ticket", 1.0)]),
    ("Nordic Cold Chain AB", "key", "am@test.example", "risk_jump", "medium", "worsened",
     [("damaged pallets", 0.6)]),
    ("Nordic Cold Chain AB", "key", "am@test.example", "silent_deciding_department", "low", "resolved",
     [("no visits", 1.0)]),
    ("Delta Freight GmbH", "standard", "am2@test.example", "risk_high", "high", "opened",
     [("volume down 40%", 0.8)]),
    ("Orphan Trading Ltd", "standard", None, "risk_jump", "medium", "opened", [("late", 1.0)]),
]  # fmt: skip


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
        "https://crm.example.com/api/v1/customers/",
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
    assert vip["Message-ID"] == f"<alert-{notices[0].alert_id}-opened-run42@logicrm>"
    assert am_digest["Message-ID"].startswith("<digest-run42-")
    for message in smtp.messages:
        assert message["From"] == settings.smtp_from and message["Date"] and message["Auto-Submitted"]
    assert all(d.status == DeliveryStatus.SENT and d.sent_at and d.attempts == 1 for d in stored.values())


def test_smtp_down_loses_nothing_and_mails_arrive_after_it_is_back(actors, db, settings, smtp):
    notices = raise_alerts(db, PORTFOLIO)
    assert enqueue(db, settings, notices) == 3
    smtp.stop()
    now = utcnow()
    assert outbox.flush(db, settings, now=now) == {"sent": 0, "failed": 3, "dead": 0}
    waiting = deliveries(db)
    assert all(d.status == DeliveryStatus.PENDING and d.attempts == 1 for d in waiting)
    assert all("unavailable" in d.last_error and d.next_attempt_at > now for d in waiting)
    assert outbox.flush(db, settings, now=now) == {"sent": 0, "failed": 0, "dead": 0}  # backing off

    smtp.start()
    later = now + dt.timedelta(seconds=settings.delivery_backoff_max_s + 1)
    assert outbox.flush(db, settings, now=later) == {"sent": 3, "failed": 0, "dead": 0}
    assert sorted(m["Message-ID"] for m in smtp.messages) == sorted(d.message_id for d in waiting)
    assert all(d.status == DeliveryStatus.SENT and d.attempts == 2 for d in deliveries(db))


def test_flaky_receiver_gets_every_alert_at_least_once_and_dedupes_to_exactly_once(
    actors, db, settings, receiver
):
    settings = settings.replace(delivery_max_attempts=30)
    receiver.fail_rate = 0.3
    specs = [
        (f"Account {i}", "standard", None, rule, "medium", event, [("late", 1.0)])
        for i in range(8)
        for rule, event in [
            ("risk_high", "opened"),
            ("risk_jump", "worsened"),
            ("ticket_past_sla", "resolved"),
        ]
    ]
    notices = raise_alerts(db, specs)
    assert enqueue(db, settings, notices, run_id=5) == len(notices)  # owners unknown: webhooks only
    drain(db, settings, now=utcnow())

    sent = deliveries(db)
    assert all(d.status == DeliveryStatus.SENT for d in sent)
    assert receiver.rejected == []  # every signature verified
    assert receiver.requests > len(sent)  # failures happened and were retried...
    assert max(receiver.delivery_counts.values()) > 1  # ...some after the receiver had processed them
    assert set(receiver.events) == {d.message_id for d in sent}  # deduplicated: exactly once each
    got = {(e["data"]["alert_id"], e["type"]) for e in receiver.events.values()}
    assert got == {(n.alert_id, f"alert.{n.event}") for n in notices}
    event = receiver.events[f"msg_alert-{notices[0].alert_id}-opened-run5-to-{receiver.receiver_id}"]
    assert event["data"]["customer"] == {"id": notices[0].customer_id, "name": "Account 0", "tier": "standard", "owner_email": None}  # fmt: skip
    assert event["data"]["drivers"] == [{"kind": "own", "key": None, "label": "late", "share": 1.0}]
    assert dt.datetime.fromisoformat(event["timestamp"]).tzinfo is not None


def test_dead_letter_after_max_attempts_then_retry(actors, db, settings, receiver):
    settings = settings.replace(delivery_max_attempts=3)
    receiver.fail_rate = 1.0
    notices = raise_alerts(db, PORTFOLIO[4:5])
    enqueue(db, settings, notices)
    now = utcnow()
    outcomes = []
    for _ in range(4):
        outcomes.append(outbox.flush(db, settings, now=now))
        now += dt.timedelta(seconds=settings.delivery_backoff_max_s + 1)
    assert [o["failed"] for o in outcomes] == [1, 1, 0, 0] and [o["dead"] for o in outcomes] == [0, 0, 1, 0]
    (dead,) = deliveries(db, channel=Channel.WEBHOOK)
    assert dead.status == DeliveryStatus.DEAD and dead.attempts == 3
    assert dead.last_error.startswith("HTTP 500")

    with db.session_scope() as session:
        outbox.retry(session, delivery_id=dead.id, now=now)
    receiver.fail_rate = 0.0
    assert outbox.flush(db, settings, now=now)["sent"] >= 1
    assert deliveries(db, id=dead.id)[0].status == DeliveryStatus.SENT
    assert receiver.delivery_counts[dead.message_id] >= 1


def test_a_mailbox_refused_for_good_is_dead_at_once_and_a_busy_one_is_retried(actors, db, settings, smtp):
    notices = raise_alerts(db, PORTFOLIO)
    enqueue(db, settings, notices)
    smtp.refuse["am@test.example"] = "550 5.1.1 mailbox unavailable"
    smtp.refuse["am2@test.example"] = "451 4.3.0 try again later"
    counts = outbox.flush(db, settings)
    emails = deliveries(db, channel=Channel.EMAIL)
    refused = [d for d in emails if d.recipient == "am@test.example"]  # a digest and a VIP mail
    busy = [d for d in emails if d.recipient == "am2@test.example"]
    assert len(refused) == 2 and len(busy) == 1
    assert all(d.status == DeliveryStatus.DEAD and d.attempts == 1 and "550" in d.last_error for d in refused)
    assert all(d.status == DeliveryStatus.PENDING and d.attempts == 1 and "451" in d.last_error for d in busy)
    assert (counts["dead"], counts["failed"]) == (2, 1)


def test_a_receiver_answering_410_gone_is_not_retried(actors, db, settings, receiver):
    receiver.gone = True
    enqueue(db, settings, raise_alerts(db, PORTFOLIO[4:5]))
    assert outbox.flush(db, settings)["dead"] == 1
    (dead,) = deliveries(db, channel=Channel.WEBHOOK)
    assert (dead.status, dead.attempts) == (DeliveryStatus.DEAD, 1) and dead.last_error.startswith("HTTP 410")
    later = utcnow() + dt.timedelta(seconds=settings.delivery_backoff_max_s + 1)
    assert outbox.flush(db, settings, now=later) == {"sent": 0, "failed": 0, "dead": 0}
    assert receiver.requests == 1


def test_parallel_flushers_never_send_the_same_delivery_twice(actors, db, settings, receiver):
    specs = [(f"Account {i}", "standard", None, "risk_high", "high", "opened", []) for i in range(40)]
    enqueue(db, settings, raise_alerts(db, specs))
    now = utcnow()
    start = threading.Barrier(3)
    errors = []

    def flusher():
        try:
            start.wait()
            while sum(outbox.flush(db, settings, now=now, limit=4).values()):
                pass
        except Exception as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=flusher) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert Counter(receiver.delivery_counts.values()) == {1: 40}
    assert all(d.status == DeliveryStatus.SENT and d.attempts == 1 for d in deliveries(db))


def test_destination_is_checked_again_at_send_time(actors, db, settings, receiver):
    enqueue(db, settings, raise_alerts(db, PORTFOLIO[4:5]))
    strict = settings.replace(webhook_allow_private=False)
    assert outbox.flush(db, strict)["failed"] == 1
    (refused,) = deliveries(db, channel=Channel.WEBHOOK)
    assert refused.last_error == "destination refused: host 127.0.0.1 resolves to loopback address 127.0.0.1"
    assert receiver.requests == 0


def test_inactive_receivers_get_nothing_new(actors, db, settings, receiver):
    with db.session_scope() as session:
        receivers.get(session, receiver_id=receiver.receiver_id).active = False
    assert enqueue(db, settings, raise_alerts(db, PORTFOLIO[5:])) == 0


def test_backoff_is_exponential_full_jitter_and_capped():
    rng = random.Random(1)
    for attempt in range(1, 12):
        ceiling = min(600, 30 * 2 ** (attempt - 1))
        delays = [outbox.backoff_delay(attempt, base_s=30, max_s=600, rng=rng) for _ in range(400)]
        assert min(delays) >= 0 and max(delays) <= ceiling
        assert 0.4 * ceiling < sum(delays) / len(delays) < 0.6 * ceiling


def test_notice_rejects_unknown_events():
    with pytest.raises(ValueError, match="event"):
        Notice(1, 1, "X", "vip", None, "risk_high", "high", "reopened", "m")


@pytest.mark.skipif(not shutil.which("openssl"), reason="needs the openssl CLI to make a certificate")
def test_https_receivers_must_present_a_trusted_certificate(actors, db, settings, tmp_path, monkeypatch):
    cert, key = self_signed_certificate(tmp_path)
    server = WebhookServer(tls=(cert, key)).start()
    try:
        with db.session_scope() as session:
            _receiver, server.secret = receivers.create(session, url=server.url, settings=settings)
        enqueue(db, settings, raise_alerts(db, PORTFOLIO[4:5]))
        webhooks.tls_context.cache_clear()
        assert outbox.flush(db, settings)["failed"] == 1  # an untrusted certificate is refused
        (refused,) = deliveries(db, channel=Channel.WEBHOOK)
        assert "CERTIFICATE_VERIFY_FAILED" in refused.last_error and server.requests == 0

        monkeypatch.setenv("SSL_CERT_FILE", cert)  # now trust it, as a private CA would be
        webhooks.tls_context.cache_clear()
        later = utcnow() + dt.timedelta(seconds=settings.delivery_backoff_max_s + 1)
        assert outbox.flush(db, settings, now=later)["sent"] == 1
        assert list(server.events) == [refused.message_id] and server.rejected == []
    finally:
        webhooks.tls_context.cache_clear()
        server.stop()
