"""HTTP routes for opportunities."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from logicrm.api import Blueprint, current_user, expected_version, page_of, paginate, session, with_etag
from logicrm.config import parse_stage_probabilities
from logicrm.customers import records
from logicrm.customers.schemas import ByCustomerArgs
from logicrm.db import utcnow
from logicrm.sales import pipeline
from logicrm.sales import service as sales
from logicrm.sales.schemas import OpportunityIn, OpportunityOut, PipelineOut
from logicrm.sales.service import OPPORTUNITIES
from logicrm.schemas import patch_schema

blp = Blueprint(
    "opportunities",
    __name__,
    url_prefix="/opportunities",
    description="Sales funnel: new business, cross-sell, up-sell, renewals.",
)


def _probabilities() -> dict[str, float]:
    return parse_stage_probabilities(current_app.config["LOGICRM"].stage_probabilities)


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
        """Create an opportunity; its probability follows its stage unless given."""
        created = sales.create(
            session(), user=current_user(), data=opportunity_in, probabilities=_probabilities()
        )
        return with_etag(created, 201)


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
        """Update some fields of an opportunity (If-Match required); a new stage starts a new stay."""
        opportunity = records.get(
            session(), user=current_user(), kind=OPPORTUNITIES, record_id=opportunity_id
        )
        expected_version(opportunity)
        return with_etag(
            sales.update(
                session(), user=current_user(), opportunity=opportunity, changes=changes,
                probabilities=_probabilities(),
            )
        )  # fmt: skip

    @blp.response(204)
    def delete(self, opportunity_id):
        """Delete an opportunity (If-Match required)."""
        opportunity = records.get(
            session(), user=current_user(), kind=OPPORTUNITIES, record_id=opportunity_id
        )
        expected_version(opportunity)
        records.delete(session(), user=current_user(), kind=OPPORTUNITIES, record=opportunity)


@blp.route("/pipeline")
class Pipeline(MethodView):
    @blp.response(200, PipelineOut)
    def get(self):
        """The pipeline of your customers' deals: by stage and owner, the weighted forecast by month, win
        rates and cycle times, stalled deals."""
        stalled_days = current_app.config["LOGICRM"].stalled_deal_days
        return pipeline.report(session(), user=current_user(), now=utcnow(), stalled_days=stalled_days)


blueprints = (blp,)
