"""Tickets of the kinds the demo tells stories with, a few still open."""

from __future__ import annotations

from sqlalchemy import func, select

from logicrm.tickets.models import Ticket, TicketKind
from tests.demo.conftest import OPEN


def test_tickets_of_the_story_kinds_a_few_open(session):
    story = {TicketKind.COMPLAINT, TicketKind.CLAIM, TicketKind.REQUEST}
    assert set(session.scalars(select(Ticket.kind).distinct())) == story
    assert 0 < session.scalar(select(func.count(Ticket.id)).where(Ticket.status.in_(OPEN))) < 50
