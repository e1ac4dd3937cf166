"""HTTP routes for alerts, health-check runs and each customer's health history."""

from __future__ import annotations

import dataclasses

from flask import current_app
from flask.views import MethodView

from logicrm.api import (
    Blueprint,
    PageArgs,
    current_user,
    etag_of,
    expected_version,
    page_of,
    paginate,
    require_role,
    session,
)
from logicrm.customers import service as customers
from logicrm.health import alerts, history, kpis, rulebook, runs, subscriptions
from logicrm.health.rules import RULES
from logicrm.health.schemas import (
    AlertListArgs,
    AlertOut,
    AlertSettingsIn,
    AlertSettingsOut,
    HistoryArgs,
    HistoryPage,
    KpiArgs,
    KpiSeriesOut,
    RulebookDocumentIn,
    RulebookIn,
    RulebookOut,
    RulebookPatchIn,
    RunListArgs,
    RunOut,
)
from logicrm.rulebook import service as rulebooks
from logicrm.users.models import UserRole

alerts_blp = Blueprint("alerts", __name__, url_prefix="/alerts", description="Churn-risk alerts.")
runs_blp = Blueprint(
    "health-checks",
    __name__,
    url_prefix="/health-checks",
    description="Scheduled health runs: list them, or trigger one now.",
)
history_blp = Blueprint(
    "health-history", __name__, url_prefix="/customers", description="A customer's health over time."
)
rulebook_blp = Blueprint(
    "rulebook",
    __name__,
    url_prefix="/rulebook",
    description="Alert thresholds and severities, playbooks, ticket SLAs and handling plans, contact cadences: "
    "read by everyone, edited by admins, versioned.",
)
settings_blp = Blueprint(
    "alert-settings", __name__, url_prefix="/me", description="How the caller hears of alerts."
)

kpis_blp = Blueprint(
    "portfolio-kpis", __name__, url_prefix="/portfolio", description="Portfolio KPIs over time."
)
# portfolio-wide figures include accounts an account manager does not see
KPI_READERS = (UserRole.ADMIN, UserRole.MANAGER, UserRole.PLANNER, UserRole.VIEWER)


def run_config() -> runs.RunConfig:
    """The settings and parameters a run uses, from the app's configuration."""
    return runs.RunConfig.of_app(current_app.config)


@alerts_blp.route("")
class Alerts(MethodView):
    @alerts_blp.arguments(AlertListArgs, location="query")
    @alerts_blp.response(200, page_of(AlertOut))
    def get(self, args):
        """List alerts on your accounts, newest first."""
        page, page_size = args.pop("page"), args.pop("page_size")
        found = paginate(
            session(),
            alerts.list_statement(session(), user=current_user(), **args),
            page=page,
            page_size=page_size,
        )
        return {**found, "items": alerts.present(session(), user=current_user(), alerts=found["items"])}


@alerts_blp.route("/<int:alert_id>/acknowledge")
class AcknowledgeAlert(MethodView):
    @alerts_blp.response(200, AlertOut)
    def post(self, alert_id):
        """Acknowledge an alert: no more notifications unless it worsens."""
        alert = alerts.get(session(), user=current_user(), alert_id=alert_id)
        alerts.acknowledge(session(), user=current_user(), alert=alert)
        return alerts.present(session(), user=current_user(), alerts=[alert])[0]


@alerts_blp.route("/<int:alert_id>/resolve")
class ResolveAlert(MethodView):
    @alerts_blp.response(200, AlertOut)
    def post(self, alert_id):
        """Resolve an alert by hand (a persisting condition opens a new one at the next run)."""
        alert = alerts.get(session(), user=current_user(), alert_id=alert_id)
        alerts.resolve(session(), user=current_user(), alert=alert)
        return alerts.present(session(), user=current_user(), alerts=[alert])[0]


@runs_blp.route("/runs")
class Runs(MethodView):
    @runs_blp.arguments(RunListArgs, location="query")
    @runs_blp.response(200, page_of(RunOut))
    def get(self, args):
        """List health-check runs, newest first, with counts and seconds per phase."""
        page, page_size = args.pop("page"), args.pop("page_size")
        return paginate(session(), runs.list_statement(**args), page=page, page_size=page_size)

    @runs_blp.response(202, RunOut)
    @runs_blp.alt_response(409, description="a health run is in progress")
    def post(self):
        """Start a full health run now (admin, manager); poll GET /runs?slot=… for its outcome."""
        require_role(UserRole.ADMIN, UserRole.MANAGER)
        slot = runs.start_in_background(current_app.extensions["logicrm.db"], run_config())
        return session().scalar(runs.list_statement(job=runs.HEALTH_RUN, slot=slot))


@history_blp.route("/<int:customer_id>/health/history")
class HealthHistory(MethodView):
    @history_blp.arguments(HistoryArgs, location="query")
    @history_blp.response(200, HistoryPage)
    def get(self, args, customer_id):
        """The customer's snapshots from past health runs, newest first, with the trend over the range."""
        customers.require_visible(session(), user=current_user(), customer_id=customer_id)
        span = {"start": args.pop("start", None), "end": args.pop("end", None)}
        found = paginate(session(), history.list_statement(customer_id=customer_id, **span), **args)
        items = history.present(session(), user=current_user(), snapshots=found["items"])
        return {**found, "items": items, "trend": history.trend(session(), customer_id=customer_id, **span)}


@kpis_blp.route("/kpis")
class PortfolioKpis(MethodView):
    @kpis_blp.arguments(KpiArgs, location="query")
    @kpis_blp.response(200, KpiSeriesOut)
    def get(self, args):
        """Retention, churn, concentration, acquisition, lifetime value and lifecycle stages as stored by
        each health run (and replayed for past months), oldest first. Not for account managers."""
        require_role(*KPI_READERS)
        return kpis.series(session(), **args)


def _answer(found: rulebook.Rulebook) -> tuple:
    return {**dataclasses.asdict(found), "rules": RULES}, 200, {"ETag": etag_of(found)}


@rulebook_blp.route("")
class Rulebook(MethodView):
    @rulebook_blp.response(200, RulebookOut)
    def get(self):
        """The rulebook in force (version 0 until an admin saves one), with its ETag."""
        return _answer(rulebook.current(session(), base=current_app.config["LOGICRM_RULES"]))

    @rulebook_blp.arguments(RulebookIn)
    @rulebook_blp.response(200, RulebookOut)
    def put(self, rulebook_in):
        """Save a whole new version (admin; If-Match: the ETag of the version in force); in force at once."""
        require_role(UserRole.ADMIN)
        base = current_app.config["LOGICRM_RULES"]
        expected_version(rulebook.current(session(), base=base))
        return _answer(rulebook.save(session(), user=current_user(), base=base, **rulebook_in))

    @rulebook_blp.arguments(RulebookPatchIn)
    @rulebook_blp.response(200, RulebookOut)
    def patch(self, patch_in):
        """Change part of the rulebook with a JSON merge patch of its document, saved as a new version (admin;
        If-Match required)."""
        require_role(UserRole.ADMIN)
        base = current_app.config["LOGICRM_RULES"]
        expected_version(rulebook.current(session(), base=base))
        return _answer(
            rulebook.patch(
                session(),
                user=current_user(),
                changes=patch_in["document"],
                note=patch_in["note"],
                base=base,
                schema=RulebookDocumentIn(),
            )
        )


@rulebook_blp.route("/versions")
class RulebookVersions(MethodView):
    @rulebook_blp.arguments(PageArgs, location="query")
    @rulebook_blp.response(200, page_of(RulebookOut))
    def get(self, args):
        """The saved versions, newest first."""
        found = paginate(session(), rulebooks.list_statement(), **args)
        base = current_app.config["LOGICRM_RULES"]
        books = [rulebooks.get(session(), version=row.version) for row in found["items"]]
        return {
            **found,
            "items": [
                {**dataclasses.asdict(rulebook.present(session(), book=book, base=base)), "rules": RULES}
                for book in books
            ],
        }


@rulebook_blp.route("/versions/<int:version_id>")
class RulebookVersion(MethodView):
    @rulebook_blp.response(200, RulebookOut)
    def get(self, version_id):
        """One saved version."""
        book = rulebooks.get(session(), version=version_id)
        found = rulebook.present(session(), book=book, base=current_app.config["LOGICRM_RULES"])
        return {**dataclasses.asdict(found), "rules": RULES}


@settings_blp.route("/alert-settings")
class MyAlertSettings(MethodView):
    @settings_blp.response(200, AlertSettingsOut)
    def get(self):
        """How you hear of alerts: per severity immediate, digest or off; the accounts you follow."""
        return subscriptions.settings_of(session(), user=current_user())

    @settings_blp.arguments(AlertSettingsIn)
    @settings_blp.response(200, AlertSettingsOut)
    def put(self, settings_in):
        """Set how you hear of alerts (severities left out keep theirs) and the accounts you follow."""
        return subscriptions.replace(session(), user=current_user(), **settings_in)


blueprints = (alerts_blp, runs_blp, history_blp, kpis_blp, rulebook_blp, settings_blp)
