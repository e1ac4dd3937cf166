"""Alerts to announce, and helpers that queue, list and drain the deliveries announcing them.

Time is advanced by passing `now` to flush() rather than by sleeping through the backoff.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from logicrm.customers.models import Customer
from logicrm.health.models import Alert, AlertState
from logicrm.outbox import service as outbox
from logicrm.outbox.messages import Notice, Recipient
from logicrm.outbox.models import Delivery, DeliveryStatus
from logicrm.users.models import User

RULE_MESSAGES = {
    "risk_high": "Network risk 0.72 is at or above 0.60",
    "risk_jump": "Network risk rose by 0.21 since the last run",
    "silent_deciding_department": "No contact with the deciding department for 94 days",
    "ticket_past_sla": "Ticket #88 is 3 days past the VIP SLA",
}


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
                    recipients=(Recipient(owner, "digest", described(drivers)),) if owner else (),
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
