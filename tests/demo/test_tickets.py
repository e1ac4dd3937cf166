"""Tickets of every kind, a few still open."""

from __future__ import annotations

from sqlalchemy import func, select

from logicrm.tickets.models import Ticket, TicketKind
from tests.demo.conftest import OPEN


def test_tickets_of_every_kind_a_few_open(session):
    assert set(session.scalars(select(Ticket.kind).distinct())) == set(TicketKind)
    assert 0 < session.scalar(select(func.count(Ticket.id)).where(Ticket.status.in_(OPEN))) < 50
