"""HTTP routes for growth suggestions."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from logicrm.api import Blueprint, current_user, session, with_etag
from logicrm.config import parse_stage_probabilities
from logicrm.db import utcnow
from logicrm.growth import service as growth
from logicrm.growth.schemas import ConvertIn, SuggestionArgs, SuggestionsOut
from logicrm.sales.schemas import OpportunityOut

blp = Blueprint(
    "growth",
    __name__,
    url_prefix="/growth",
    description="Growth through the network: suggestions with reasons.",
)


@blp.route("/suggestions")
class Suggestions(MethodView):
    @blp.arguments(SuggestionArgs, location="query")
    @blp.response(200, SuggestionsOut)
    def get(self, args):
        """Prospect shippers among your consignees, services peers buy, short wallets and referrers, over the
        12 months up to now."""
        kind = args.pop("kind", None)
        found = growth.suggestions(session(), user=current_user(), now=utcnow(), **args)
        return {"items": [s for s in found if kind is None or s["kind"] == kind]}


@blp.route("/suggestions/convert")
class ConvertSuggestion(MethodView):
    @blp.arguments(ConvertIn)
    @blp.response(201, OpportunityOut)
    def post(self, convert_in):
        """Open the deal a suggestion proposes, in one call."""
        probabilities = parse_stage_probabilities(current_app.config["LOGICRM"].stage_probabilities)
        deal = growth.convert(session(), user=current_user(), data=convert_in, probabilities=probabilities)
        return with_etag(deal, 201)


blueprints = (blp,)
