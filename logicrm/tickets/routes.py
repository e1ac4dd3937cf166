"""HTTP routes for tickets."""

from __future__ import annotations

from flask.views import MethodView

from logicrm.api import Blueprint, current_user, expected_version, page_of, paginate, session, with_etag
from logicrm.customers import records
from logicrm.customers.schemas import ByCustomerArgs
from logicrm.schemas import patch_schema
from logicrm.tickets.schemas import TicketIn, TicketOut
from logicrm.tickets.service import TICKETS

blp = Blueprint("tickets", __name__, url_prefix="/tickets", description="Complaints, claims and requests.")


@blp.route("")
class Tickets(MethodView):
    @blp.arguments(ByCustomerArgs, location="query")
    @blp.response(200, page_of(TicketOut))
    def get(self, args):
        """List ticket records of visible customers, optionally of one customer."""
        page, page_size = args.pop("page"), args.pop("page_size")
        statement = records.list_statement(user=current_user(), kind=TICKETS, **args)
        return paginate(session(), statement, page=page, page_size=page_size)

    @blp.arguments(TicketIn)
    @blp.response(201, TicketOut)
    def post(self, ticket_in):
        """Create a ticket."""
        return with_etag(records.create(session(), user=current_user(), kind=TICKETS, data=ticket_in), 201)


@blp.route("/<int:ticket_id>")
class TicketById(MethodView):
    @blp.response(200, TicketOut)
    def get(self, ticket_id):
        """Read one ticket."""
        return with_etag(records.get(session(), user=current_user(), kind=TICKETS, record_id=ticket_id))

    @blp.arguments(patch_schema(TicketIn))
    @blp.response(200, TicketOut)
    def patch(self, changes, ticket_id):
        """Update some fields of a ticket (If-Match required)."""
        ticket = records.get(session(), user=current_user(), kind=TICKETS, record_id=ticket_id)
        expected_version(ticket)
        return with_etag(
            records.update(session(), user=current_user(), kind=TICKETS, record=ticket, changes=changes)
        )

    @blp.response(204)
    def delete(self, ticket_id):
        """Delete a ticket (If-Match required)."""
        ticket = records.get(session(), user=current_user(), kind=TICKETS, record_id=ticket_id)
        expected_version(ticket)
        records.delete(session(), user=current_user(), kind=TICKETS, record=ticket)


blueprints = (blp,)
