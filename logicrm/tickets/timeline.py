"""A ticket's timeline: what happened to it and what was said, in order."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from logicrm import db
from logicrm.audit import service as audit
from logicrm.db import utcnow
from logicrm.tickets.models import Ticket, TicketEvent, TicketEventKind
from logicrm.users.models import User


def entry(
    *,
    ticket: Ticket,
    kind: TicketEventKind,
    user: User | None,
    text: str | None = None,
    details: dict | None = None,
    at: dt.datetime | None = None,
) -> dict:
    """The values of a timeline entry of the ticket."""
    return {
        "ticket_id": ticket.id,
        "kind": kind,
        "user_id": user.id if user else None,
        "text": text,
        "details": details or {},
        "at": at or utcnow(),
    }


def add(session: Session, **entry_args) -> TicketEvent:
    """Append an entry (`entry`'s arguments) to the ticket's timeline."""
    event = TicketEvent(**entry(**entry_args))
    session.add(event)
    session.flush()
    return event


def add_many(session: Session, entries: list[dict]) -> None:
    """Append many entries (`entry`'s values) in one bulk insert: no TicketEvent object made for them."""
    db.insert_records(session.connection(), TicketEvent.__table__, entries)


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
