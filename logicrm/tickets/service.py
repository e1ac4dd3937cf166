"""Tickets: complaints, claims and requests, as customer records (customers.records does the rest)."""

from __future__ import annotations

from logicrm.customers.records import RecordKind
from logicrm.tickets.models import Ticket

TICKETS = RecordKind(
    Ticket,
    "ticket",
    audited=True,
    not_before={"first_response_at": "opened_at", "resolved_at": "opened_at"},
)
