"""The SMTP client against a real server: a refusal for good is final, a busy mailbox is retried."""

from __future__ import annotations

from logicrm.outbox import service as outbox
from logicrm.outbox.models import Channel, DeliveryStatus
from tests.outbox.alerts import PORTFOLIO, deliveries, enqueue, raise_alerts


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
