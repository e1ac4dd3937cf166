"""HTTP routes for tickets: the records, the queue, a ticket's timeline, notes and callback."""

from __future__ import annotations

from flask.views import MethodView

from logicrm.api import (
    Blueprint,
    PageArgs,
    current_user,
    etag_of,
    expected_version,
    page_of,
    paginate,
    session,
)
from logicrm.customers import records
from logicrm.db import utcnow
from logicrm.schemas import patch_schema
from logicrm.tickets import callbacks, timeline
from logicrm.tickets import service as tickets
from logicrm.tickets.schemas import (
    CallbackIn,
    CallbackOut,
    NoteIn,
    QueueArgs,
    TicketEventOut,
    TicketIn,
    TicketListArgs,
    TicketOut,
)

blp = Blueprint(
    "tickets",
    __name__,
    url_prefix="/tickets",
    description="The service desk: complaints, claims, delays, damage, loss, billing, documentation, requests.",
)


def _answer(ticket, status: int = 200):
    """One ticket as answered, with its ETag."""
    return tickets.present(session(), tickets=[ticket], now=utcnow())[0], status, {"ETag": etag_of(ticket)}


def _page(found: dict) -> dict:
    return {**found, "items": tickets.present(session(), tickets=found["items"], now=utcnow())}


def _visible(ticket_id: int):
    return records.get(session(), user=current_user(), kind=tickets.TICKETS, record_id=ticket_id)


@blp.route("")
class Tickets(MethodView):
    @blp.arguments(TicketListArgs, location="query")
    @blp.response(200, page_of(TicketOut))
    def get(self, args):
        """List tickets of visible customers, oldest first."""
        page, page_size = args.pop("page"), args.pop("page_size")
        statement = tickets.list_statement(user=current_user(), now=utcnow(), **args)
        return _page(paginate(session(), statement, page=page, page_size=page_size))

    @blp.arguments(TicketIn)
    @blp.response(201, TicketOut)
    def post(self, ticket_in):
        """Open a ticket: due times from the account's tier SLA, a default assignee and priority."""
        return _answer(
            records.create(session(), user=current_user(), kind=tickets.TICKETS, data=ticket_in), 201
        )


@blp.route("/queue")
class TicketQueue(MethodView):
    @blp.arguments(QueueArgs, location="query")
    @blp.response(200, page_of(TicketOut))
    def get(self, args):
        """The open tickets, the soonest to breach (or longest breached) first; then tier, then priority."""
        page, page_size = args.pop("page"), args.pop("page_size")
        statement = tickets.queue_statement(user=current_user(), now=utcnow(), **args)
        return _page(paginate(session(), statement, page=page, page_size=page_size))


@blp.route("/<int:ticket_id>")
class TicketById(MethodView):
    @blp.response(200, TicketOut)
    def get(self, ticket_id):
        """Read one ticket."""
        return _answer(_visible(ticket_id))

    @blp.arguments(patch_schema(TicketIn))
    @blp.response(200, TicketOut)
    def patch(self, changes, ticket_id):
        """Update a ticket (If-Match required); resolving or closing one takes a root cause and a resolution."""
        ticket = _visible(ticket_id)
        expected_version(ticket)
        return _answer(
            records.update(
                session(), user=current_user(), kind=tickets.TICKETS, record=ticket, changes=changes
            )
        )

    @blp.response(204)
    def delete(self, ticket_id):
        """Delete a ticket (If-Match required)."""
        ticket = _visible(ticket_id)
        expected_version(ticket)
        records.delete(session(), user=current_user(), kind=tickets.TICKETS, record=ticket)


@blp.route("/<int:ticket_id>/timeline")
class TicketTimeline(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(TicketEventOut))
    def get(self, args, ticket_id):
        """The ticket's timeline, oldest first: opened, notes and replies, changes, escalations, callback."""
        _visible(ticket_id)
        return paginate(session(), timeline.list_statement(ticket_id=ticket_id), **args)


@blp.route("/<int:ticket_id>/notes")
class TicketNotes(MethodView):
    @blp.arguments(NoteIn)
    @blp.response(201, TicketEventOut)
    def post(self, note_in, ticket_id):
        """Add an internal note, or a reply told the customer (the first reply is the first response)."""
        ticket = _visible(ticket_id)
        return timeline.note(session(), user=current_user(), ticket=ticket, **note_in)


@blp.route("/<int:ticket_id>/callback")
class TicketCallback(MethodView):
    @blp.arguments(CallbackIn)
    @blp.response(201, CallbackOut)
    def post(self, callback_in, ticket_id):
        """Record the callback after the case: its tasks are done; a satisfaction answer (1–5) is kept as a
        survey response about the ticket."""
        ticket = _visible(ticket_id)
        done = callbacks.record(session(), user=current_user(), ticket=ticket, **callback_in)
        return {
            "task_ids": [task.id for task in done["tasks"]],
            "survey_id": getattr(done["survey"], "id", None),
        }


blueprints = (blp,)
