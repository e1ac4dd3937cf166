"""HTTP routes for opportunities."""

from __future__ import annotations

from flask.views import MethodView

from logicrm.api import Blueprint, current_user, expected_version, page_of, paginate, session, with_etag
from logicrm.customers import records
from logicrm.customers.schemas import ByCustomerArgs
from logicrm.sales.schemas import OpportunityIn, OpportunityOut
from logicrm.sales.service import OPPORTUNITIES
from logicrm.schemas import patch_schema

blp = Blueprint(
    "opportunities",
    __name__,
    url_prefix="/opportunities",
    description="Sales funnel: new business, cross-sell, up-sell, renewals.",
)


@blp.route("")
class Opportunities(MethodView):
    @blp.arguments(ByCustomerArgs, location="query")
    @blp.response(200, page_of(OpportunityOut))
    def get(self, args):
        """List opportunity records of visible customers, optionally of one customer."""
        page, page_size = args.pop("page"), args.pop("page_size")
        statement = records.list_statement(user=current_user(), kind=OPPORTUNITIES, **args)
        return paginate(session(), statement, page=page, page_size=page_size)

    @blp.arguments(OpportunityIn)
    @blp.response(201, OpportunityOut)
    def post(self, opportunity_in):
        """Create a opportunity."""
        return with_etag(
            records.create(session(), user=current_user(), kind=OPPORTUNITIES, data=opportunity_in), 201
        )


@blp.route("/<int:opportunity_id>")
class OpportunityById(MethodView):
    @blp.response(200, OpportunityOut)
    def get(self, opportunity_id):
        """Read one opportunity."""
        return with_etag(
            records.get(session(), user=current_user(), kind=OPPORTUNITIES, record_id=opportunity_id)
        )

    @blp.arguments(patch_schema(OpportunityIn))
    @blp.response(200, OpportunityOut)
    def patch(self, changes, opportunity_id):
        """Update some fields of a opportunity (If-Match required)."""
        opportunity = records.get(
            session(), user=current_user(), kind=OPPORTUNITIES, record_id=opportunity_id
        )
        expected_version(opportunity)
        return with_etag(
            records.update(
                session(), user=current_user(), kind=OPPORTUNITIES, record=opportunity, changes=changes
            )
        )

    @blp.response(204)
    def delete(self, opportunity_id):
        """Delete a opportunity (If-Match required)."""
        opportunity = records.get(
            session(), user=current_user(), kind=OPPORTUNITIES, record_id=opportunity_id
        )
        expected_version(opportunity)
        records.delete(session(), user=current_user(), kind=OPPORTUNITIES, record=opportunity)


blueprints = (blp,)
