"""A ticket's timeline: what happened to it and what was said, in order."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from logicrm.audit import service as audit
from logicrm.db import utcnow
from logicrm.tickets.models import Ticket, TicketEvent, TicketEventKind
from logicrm.users.models import User


def add(
    session: Session,
    *,
    ticket: Ticket,
    kind: TicketEventKind,
    user: User | None,
    text: str | None = None,
    details: dict | None = None,
    at: dt.datetime | None = None,
    flush: bool = True,
) -> TicketEvent:
    """Append an entry to the ticket's timeline (`flush=False`: the caller flushes, once for many)."""
    event = TicketEvent(
        ticket_id=ticket.id,
        kind=kind,
        user_id=user.id if user else None,
        text=text,
        details=details or {},
        at=at or utcnow(),
    )
    session.add(event)
    if flush:
        session.flush()
    return event


def list_statement(*, ticket_id: int) -> Select:
    """Select a ticket's timeline, oldest first."""
    return (
        select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.at, TicketEvent.id)
    )


def note(session: Session, *, user: User, ticket: Ticket, text: str, to_customer: bool) -> TicketEvent:
    """Add a note: internal, or a reply told the customer; the first reply is the ticket's first response."""
    kind = TicketEventKind.REPLY if to_customer else TicketEventKind.NOTE
    event = add(session, ticket=ticket, kind=kind, user=user, text=text)
    if to_customer and ticket.first_response_at is None:
        diff = audit.apply_changes(ticket, {"first_response_at": event.at})
        session.flush()
        audit.record(
            session,
            user=user,
            entity="ticket",
            entity_id=ticket.id,
            customer_id=ticket.customer_id,
            action="update",
            changes=diff,
        )
    return event
