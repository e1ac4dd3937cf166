"""HTTP routes of the network intelligence: account health, risk ranking, graph, what-if, hubs, portfolio."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from logicrm import dumping
from logicrm.api import Blueprint, PageArgs, current_user, encoded, encoded_response, page_of, session
from logicrm.customers import service as customers
from logicrm.lanes import service as lanes
from logicrm.network.params import ScoringParams
from logicrm.scoring import derived, reports, scores
from logicrm.scoring import model as churn_models
from logicrm.scoring import scenarios as saved
from logicrm.scoring.schemas import (
    BacktestOut,
    CompareIn,
    CompareOut,
    GraphArgs,
    GraphOut,
    HealthOut,
    HubPage,
    ModelCardOut,
    PortfolioOut,
    RankingArgs,
    RiskPage,
    ScenarioIn,
    ScenarioOut,
    ScenarioRunOut,
    WhatIfIn,
    WhatIfOut,
)
from logicrm.users.models import UserRole

health_blp = Blueprint("health", __name__, url_prefix="/customers", description="Health of one account.")
network_blp = Blueprint(
    "network",
    __name__,
    url_prefix="/network",
    description="Double-churn risk, the customer network and what-if cascades.",
)
portfolio_blp = Blueprint(
    "portfolio", __name__, url_prefix="/portfolio", description="Portfolio value and health."
)
model_blp = Blueprint(
    "model",
    __name__,
    url_prefix="/model",
    description="The churn model: what its probabilities mean, what it learnt and how it fared.",
)


# the answers encoded once per publication (_everyone_sees), dumped as the routes' schemas dump them
_RISK_PAGE, _PORTFOLIO = dumping.dumper(RiskPage()), dumping.dumper(PortfolioOut())


def _params() -> ScoringParams:
    return current_app.config["LOGICRM_SCORING"]


def _scores() -> scores.PortfolioScores:
    settings = current_app.config["LOGICRM"]
    return churn_models.current_scores(
        session(), _params(), max_age_s=settings.scores_cache_seconds, in_request=settings.scores_in_request
    )


def _visible() -> set[int] | None:
    """Customer ids the caller may see; None means all of them."""
    return customers.visible_id_set(session(), user=current_user())


def _everyone_sees(portfolio: scores.PortfolioScores, name: str, args: dict, dump, answer):
    """The answer of a caller who sees every account: the same for all of them until the next publication,
    so it is dumped and encoded once (per publication, arguments and staleness) and sent as it is."""
    key = (name, tuple(sorted(args.items())), portfolio.stale)
    return encoded_response(derived.answer(portfolio, key, lambda: encoded(dump, answer())))


def _page_args(args: dict) -> dict:
    settings = current_app.config["LOGICRM"]
    return {
        **args,
        "page_size": min(args.get("page_size") or settings.page_size_default, settings.page_size_max),
    }


@health_blp.route("/<int:customer_id>/health")
class CustomerHealth(MethodView):
    @health_blp.response(200, HealthOut)
    def get(self, customer_id):
        """Current health of one customer, with the drivers behind it."""
        customers.require_visible(session(), user=current_user(), customer_id=customer_id)
        return reports.health(_scores(), customer_id, visible=_visible())


@network_blp.route("/risk")
class RiskRanking(MethodView):
    @network_blp.arguments(RankingArgs, location="query")
    @network_blp.response(200, RiskPage)
    def get(self, args):
        """Accounts ranked by network (double-churn) risk, each with own risk and top driver."""
        portfolio, visible, args = _scores(), _visible(), _page_args(args)
        if visible is not None:
            return reports.risk_ranking(portfolio, visible=visible, **args)
        return _everyone_sees(
            portfolio, "risk", args, _RISK_PAGE, lambda: reports.risk_ranking(portfolio, visible=None, **args)
        )


@network_blp.route("/hubs")
class Hubs(MethodView):
    @network_blp.arguments(RankingArgs, location="query")
    @network_blp.response(200, HubPage)
    def get(self, args):
        """Accounts ranked by exposure: the revenue, shippers and consignees their loss would take along."""
        return reports.hubs(_scores(), _params(), visible=_visible(), **_page_args(args))


@network_blp.route("/graph")
class NetworkGraph(MethodView):
    @network_blp.arguments(GraphArgs, location="query")
    @network_blp.response(200, GraphOut)
    def get(self, args):
        """The neighbourhood of one account, for drawing: nodes with risk, lanes with volumes and influences."""
        max_nodes = args.pop("max_nodes", None) or current_app.config["LOGICRM"].graph_max_nodes
        return reports.ego_graph(_scores(), visible=_visible(), max_nodes=max_nodes, **args)


@network_blp.route("/what-if")
class WhatIf(MethodView):
    read_only = True  # a computation: planners and viewers may POST it, and it takes no write lock

    @network_blp.arguments(WhatIfIn)
    @network_blp.response(200, WhatIfOut)
    def post(self, what_if_in):
        """What if these customers or lanes go? The cascade by round and the business lost (nothing is written)."""
        return _what_if(what_if_in)


def _what_if(what_if_in: dict) -> dict:
    visible_links = lanes.visible_link_ids(session(), user=current_user())
    return reports.what_if(
        _scores(), _params(), visible=_visible(), visible_links=visible_links, **what_if_in
    )


# planners plan: saving a scenario is the one thing they write
PLANNERS_TOO = frozenset({UserRole.PLANNER})


@network_blp.route("/scenarios")
class Scenarios(MethodView):
    also_written_by = PLANNERS_TOO

    @network_blp.arguments(PageArgs, location="query")
    @network_blp.response(200, page_of(ScenarioOut))
    def get(self, args):
        """Saved what-if scenarios, newest first (an account manager sees those naming only its accounts)."""
        return saved.list_page(session(), user=current_user(), **_page_args(args))

    @network_blp.arguments(ScenarioIn)
    @network_blp.response(201, ScenarioOut)
    def post(self, scenario_in):
        """Save a named what-if for everyone planning; it runs now and keeps its totals to compare."""
        name, description = scenario_in.pop("name"), scenario_in.pop("description")
        answer = _what_if(scenario_in)
        return saved.create(
            session(),
            user=current_user(),
            name=name,
            description=description,
            changes=scenario_in,
            answer=answer,
        )


@network_blp.route("/scenarios/<int:scenario_id>")
class ScenarioById(MethodView):
    also_written_by = PLANNERS_TOO

    @network_blp.response(200, ScenarioOut)
    def get(self, scenario_id):
        """One saved scenario."""
        return saved.get(session(), user=current_user(), scenario_id=scenario_id)

    @network_blp.response(204)
    def delete(self, scenario_id):
        """Delete a saved scenario (its author, a manager or an admin)."""
        saved.delete(
            session(),
            user=current_user(),
            scenario=saved.get(session(), user=current_user(), scenario_id=scenario_id),
        )


@network_blp.route("/scenarios/<int:scenario_id>/run")
class ScenarioRun(MethodView):
    read_only = True

    @network_blp.response(200, ScenarioRunOut)
    def post(self, scenario_id):
        """Re-run a saved scenario against today's data (nothing is written); its saved totals come along."""
        scenario = saved.get(session(), user=current_user(), scenario_id=scenario_id)
        return {**_what_if(saved.what_if_request(scenario)), "scenario": scenario}


@network_blp.route("/scenarios/compare")
class ScenarioComparison(MethodView):
    read_only = True

    @network_blp.arguments(CompareIn)
    @network_blp.response(200, CompareOut)
    def post(self, compare_in):
        """Run two or more saved scenarios against today's data and set their totals side by side."""
        found = saved.get_many(session(), user=current_user(), scenario_ids=compare_in["ids"])
        return saved.compare([(s, _what_if(saved.what_if_request(s))) for s in found], _scores())


@portfolio_blp.route("/summary")
class PortfolioSummary(MethodView):
    @portfolio_blp.response(200, PortfolioOut)
    def get(self):
        """Counts by role, tier and ABC class, the Pareto ratio, distributions and tier mismatches."""
        portfolio, visible = _scores(), _visible()
        if visible is not None:
            return reports.summary(portfolio, visible=visible)
        return _everyone_sees(
            portfolio, "summary", {}, _PORTFOLIO, lambda: reports.summary(portfolio, visible=None)
        )


@model_blp.route("")
class ModelCard(MethodView):
    @model_blp.response(200, ModelCardOut)
    def get(self):
        """The active churn model: target, horizon, data window, evidence, weights in words, back-test."""
        return churn_models.card(session(), _params())


@model_blp.route("/backtest")
class ModelBacktest(MethodView):
    @model_blp.response(200, BacktestOut)
    def get(self):
        """The active model's back-test: metrics and reliability pooled and per monthly origin."""
        return churn_models.backtest_report(session())


blueprints = (health_blp, network_blp, portfolio_blp, model_blp)
