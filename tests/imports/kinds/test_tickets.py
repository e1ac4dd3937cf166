"""Tickets imported get the service desk's rules as the API's do: due times, priority, timeline, closing."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from logicrm.customers.models import Customer
from logicrm.imports.models import ImportReject
from logicrm.rulebook import service as rulebook
from logicrm.tickets import service as tickets
from logicrm.tickets.models import Priority, Ticket, TicketEvent, TicketEventKind
from tests.imports.conftest import run_import
from tests.imports.world import WORLD


def _world(app):
    for kind in ("customers", "links"):
        run_import(app, kind, WORLD[kind])


def test_an_imported_ticket_gets_its_due_times_priority_and_opening_on_its_timeline(app, db, actors):
    _world(app)
    assert run_import(app, "tickets", WORLD["tickets"]).counts["created"] == 1
    with db.session(write=False) as session:
        ticket = session.scalars(select(Ticket)).one()
        tier = session.get(Customer, ticket.customer_id).tier
        book = rulebook.current(session)
        events = session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)).all()
        due = (ticket.first_response_due_at, ticket.resolution_due_at)
        assert due == tickets.due_times(
            book, tier=tier, opened_at=dt.datetime(2026, 3, 5, 8, 0, tzinfo=dt.UTC)
        )
        assert ticket.sla_version == book.version
        assert ticket.priority == tickets.default_priority(tier, "high") != Priority.LOW
        assert [event.kind for event in events] == [TicketEventKind.OPENED]


def test_an_imported_ticket_closed_without_root_cause_is_refused_as_the_api_refuses_it(app, db, actors):
    _world(app)
    run_import(app, "tickets", WORLD["tickets"])
    closed = WORLD["tickets"].replace("in_progress", "resolved")
    job = run_import(app, "tickets", closed)
    assert job.state == "rejected", job.counts
    with db.session(write=False) as session:
        reject = session.scalars(
            select(ImportReject).where(ImportReject.job_id == job.id, ImportReject.line == 2)
        ).one()  # (line 1: the header)
        assert reject.errors == [
            {"column": "root_cause", "reason": "root_cause: give the root cause to resolve or close a ticket"}
        ]
        assert str(session.scalars(select(Ticket.status)).one()) == "in_progress"
