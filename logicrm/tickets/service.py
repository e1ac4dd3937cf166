"""Tickets: complaints, claims and requests, as customer records (customers.records does the rest)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from logicrm.customers.records import Checked, RecordKind, Write
from logicrm.errors import field_error
from logicrm.lanes.models import Link
from logicrm.tickets.models import Ticket
from logicrm.users.models import User


def _about_its_own_lane(session: Session, user: User, writes: list[Write]) -> list[Checked]:
    """A ticket about a lane names one of its customer's lanes."""
    merged = [{**(stored or {}), **data} for data, stored in writes]
    wanted = {record["link_id"] for record in merged if record.get("link_id") is not None}
    ends = {
        link_id: (shipper_id, consignee_id)
        for link_id, shipper_id, consignee_id in (
            session.execute(select(Link.id, Link.shipper_id, Link.consignee_id).where(Link.id.in_(wanted)))
            if wanted
            else ()
        )
    }
    results: list[Checked] = []
    for (data, _stored), record in zip(writes, merged, strict=True):
        link_id, customer_id = record.get("link_id"), record.get("customer_id")
        if link_id is not None and customer_id not in ends.get(link_id, ()):
            results.append(
                field_error(
                    "link_id", f"link {link_id} does not exist or does not involve customer {customer_id}"
                )
            )
        else:
            results.append(data)
    return results


TICKETS = RecordKind(
    Ticket,
    "ticket",
    audited=True,
    not_before={"first_response_at": "opened_at", "resolved_at": "opened_at"},
    prepare=_about_its_own_lane,
)
