"""Tickets imported get the service desk's rules as the API's do: due times, priority, timeline, closing."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import event, select

from logicrm.audit.models import AuditEvent
from logicrm.customers.models import Customer
from logicrm.imports.models import ImportReject
from logicrm.rulebook import service as rulebook
from logicrm.tasks.models import Task, TaskKind, TaskSource
from logicrm.tickets import service as tickets
from logicrm.tickets.models import Priority, RootCause, Ticket, TicketEvent, TicketEventKind
from tests.imports.conftest import csv_text, run_import
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


TICKETS = ("external_ref", "customer_ref", "kind", "subject", "opened_at", "status", "resolved_at")


def _tickets(status: str, resolved_at: str = "") -> str:
    return csv_text(
        TICKETS,
        [
            ["T1", "S1", "claim", "damaged pallet", "2026-03-05T08:00:00Z", status, resolved_at],
            ["T2", "S2", "delay", "late truck", "2026-03-06T08:00:00Z", status, resolved_at],
            ["T3", "S1", "billing", "wrong invoice", "2026-03-07T08:00:00Z", status, resolved_at],
        ],
    )


def test_tickets_an_import_resolves_get_their_callbacks_once_as_the_api_gives_them(app, db, actors):
    _world(app)
    assert run_import(app, "tickets", _tickets("in_progress")).counts["created"] == 3
    with db.session_scope() as session:  # (the file has no columns for them: set as through the API)
        for ticket in session.scalars(select(Ticket)):
            ticket.root_cause, ticket.resolution = RootCause.HANDLING_DAMAGE, "sorted out"
    resolved = run_import(app, "tickets", _tickets("resolved", "2026-03-10T12:00:00Z"))
    assert resolved.counts["updated"] == 3, resolved.counts
    with db.session(write=False) as session:
        by_ref = {t.external_ref: t for t in session.scalars(select(Ticket))}
        names = {c.external_ref: c.name for c in session.scalars(select(Customer))}
        tasks = session.scalars(select(Task).order_by(Task.id)).all()
        ask = " and ask how satisfied they are with how it was handled (1–5)"
        # the claim on a VIP account (due the day after), the delay on a key account (two days); a billing
        # dispute asks no callback; assigned to the ticket's assignee, else the account's owner
        assert [
            (t.ticket_id, t.kind, t.source, t.dedupe_key, t.title, t.due_on, t.assignee_id) for t in tasks
        ] == [
            (by_ref[ref].id, TaskKind.CALLBACK, TaskSource.CALLBACK, f"callback:{by_ref[ref].id}",
             f"Call {names[customer]} back: is '{subject}' settled?{ask}", due, by_ref[ref].assignee_id)
            for ref, customer, subject, due in (
                ("T1", "S1", "damaged pallet", dt.date(2026, 3, 11)),
                ("T2", "S2", "late truck", dt.date(2026, 3, 12)),
            )
        ]  # fmt: skip
        assert by_ref["T1"].assignee_id is not None and by_ref["T2"].assignee_id is None  # (S2 has no owner)
        history = session.scalars(
            select(AuditEvent.entity_id).where(AuditEvent.entity == "task", AuditEvent.action == "create")
        ).all()
        assert sorted(history) == [t.id for t in tasks]
    # reopened and resolved again: each ticket keeps its first callback
    run_import(app, "tickets", _tickets("open"))
    again = run_import(app, "tickets", _tickets("resolved", "2026-03-20T12:00:00Z"))
    assert again.counts["updated"] == 3, again.counts
    with db.session(write=False) as session:
        assert [t.id for t in session.scalars(select(Task).order_by(Task.id))] == [t.id for t in tasks]


def test_the_callbacks_of_a_batch_cost_the_same_statements_however_many_tickets_it_resolves(app, db, actors):
    _world(app)
    refs = [f"T{n}" for n in range(7)]

    def claims(status: str, chosen: list[str]) -> str:
        return csv_text(
            TICKETS,
            [[ref, "S1", "claim", f"claim {ref}", "2026-03-05T08:00:00Z", status, ""] for ref in chosen],
        )

    run_import(app, "tickets", claims("in_progress", refs))
    with db.session_scope() as session:
        for ticket in session.scalars(select(Ticket)):
            ticket.root_cause, ticket.resolution = RootCause.HANDLING_DAMAGE, "sorted out"
    counted = []
    for chosen in (refs[:2], refs[2:]):
        statements = []

        def count(_conn, _cursor, statement, *_args, statements=statements):
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert run_import(app, "tickets", claims("resolved", chosen)).counts["updated"] == len(chosen)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        counted.append(len(statements))
    with db.session(write=False) as session:
        assert len(session.scalars(select(Task).where(Task.kind == TaskKind.CALLBACK)).all()) == len(refs)
    assert counted[0] == counted[1], counted  # 2 and 5 tickets resolved
