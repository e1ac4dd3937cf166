"""Tickets: complaints, claims and requests, as customer records (customers.records does the rest), and the
service desk's queue of open tickets by SLA."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from logicrm.customers import service as customers
from logicrm.customers.models import Customer
from logicrm.customers.records import RecordKind
from logicrm.errors import field_error
from logicrm.lanes.models import Link
from logicrm.tickets.models import Ticket, TicketStatus
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


OPEN_STATUSES = (TicketStatus.OPEN, TicketStatus.IN_PROGRESS)


@dataclass(frozen=True)
class QueueItem:
    """An open ticket in the service desk's queue: due when its account's tier SLA runs out."""

    ticket: Ticket
    customer_name: str
    tier: str
    due_at: dt.datetime
    breached: bool


def queue(
    session: Session,
    *,
    user: User,
    sla_days: Mapping[str, float],
    now: dt.datetime,
    customer_ids: Collection[int] | None = None,
    kind: str | None = None,
    tier: str | None = None,
    breached: bool | None = None,
) -> list[QueueItem]:
    """Open tickets on accounts the user may see, soonest due first (breached ones first of all)."""
    statement = (
        select(Ticket, Customer.name, Customer.tier)
        .join(Customer, Customer.id == Ticket.customer_id)
        .where(Ticket.status.in_(OPEN_STATUSES), Ticket.customer_id.in_(customers.visible_ids(user=user)))
    )
    if customer_ids is not None:
        statement = statement.where(Ticket.customer_id.in_(customer_ids))
    if kind is not None:
        statement = statement.where(Ticket.kind == kind)
    if tier is not None:
        statement = statement.where(Customer.tier == tier)
    items = []
    for ticket, name, account_tier in session.execute(statement):
        due = ticket.opened_at + dt.timedelta(days=sla_days[str(account_tier)])
        items.append(QueueItem(ticket, name, str(account_tier), due, due < now))
    if breached is not None:
        items = [item for item in items if item.breached == breached]
    return sorted(items, key=lambda item: (item.due_at, item.ticket.id))
