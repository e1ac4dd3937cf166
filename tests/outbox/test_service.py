"""The outbox against real servers: nothing lost while a server is down, retries with backoff, dead letters,
at least once to a flaky receiver, and parallel flushers that never send a delivery twice.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections import Counter

from logicrm.db import utcnow
from logicrm.outbox import receivers
from logicrm.outbox import service as outbox
from logicrm.outbox.models import Channel, DeliveryStatus
from tests.outbox.alerts import PORTFOLIO, deliveries, drain, enqueue, raise_alerts


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
