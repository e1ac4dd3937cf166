"""Tickets: complaints, claims and requests, as customer records (customers.records does the rest)."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from logicrm.customers.records import RecordKind
from logicrm.errors import field_error
from logicrm.lanes.models import Link
from logicrm.tickets.models import Ticket
from logicrm.users.models import User


def _about_its_own_lane(session: Session, user: User, data: dict, ticket: Ticket | None) -> dict:
    """A ticket about a lane names one of its customer's lanes."""
    customer_id = data.get("customer_id", ticket.customer_id if ticket else None)
    link_id = data.get("link_id", ticket.link_id if ticket else None)
    if link_id is not None:
        own = session.scalar(
            select(Link.id).where(
                Link.id == link_id, or_(Link.shipper_id == customer_id, Link.consignee_id == customer_id)
            )
        )
        if own is None:
            raise field_error(
                "link_id", f"link {link_id} does not exist or does not involve customer {customer_id}"
            )
    return data


TICKETS = RecordKind(
    Ticket,
    "ticket",
    audited=True,
    not_before={"first_response_at": "opened_at", "resolved_at": "opened_at"},
    prepare=_about_its_own_lane,
)
