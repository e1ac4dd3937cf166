"""HTTP routes for the service KPIs, as JSON and as CSV."""

from __future__ import annotations

import datetime as dt

from flask.views import MethodView

from logicrm.api import Blueprint, csv_download, require_role, session
from logicrm.db import utcnow
from logicrm.imports.csvfile import write_rows
from logicrm.reports import service as reports
from logicrm.reports.schemas import DEFAULT_DAYS, PeriodArgs, ServiceReportOut
from logicrm.users.models import UserRole

blp = Blueprint(
    "reports",
    __name__,
    url_prefix="/reports",
    description="Service KPIs for supervisors (admins, managers), per agent and per team.",
)


def _period(args: dict) -> reports.Period:
    until = args.get("until") or utcnow().date()
    since = args.get("since") or until - dt.timedelta(days=DEFAULT_DAYS - 1)
    if since > until:
        since = until
    return reports.Period(since=since, until=until)


@blp.route("/service")
class ServiceReport(MethodView):
    @blp.arguments(PeriodArgs, location="query")
    @blp.response(200, ServiceReportOut)
    def get(self, args):
        """Tickets handled, response and resolution times, SLA breaches, callbacks and their satisfaction,
        tasks on time, contacts against cadence: per agent and per team over a period (30 days by default)."""
        require_role(UserRole.ADMIN, UserRole.MANAGER)
        return reports.service_report(session(), period=_period(args))


@blp.route("/service.csv")
class ServiceReportCsv(MethodView):
    @blp.arguments(PeriodArgs, location="query")
    @blp.response(
        200, {"type": "string"}, content_type="text/csv", description="UTF-8 CSV with a byte-order mark"
    )
    def get(self, args):
        """The same KPIs as a CSV file, one row per agent and per team (column `group`)."""
        require_role(UserRole.ADMIN, UserRole.MANAGER)
        db = session()
        report = reports.service_report(db, period=_period(args))
        header = ["group", "user_id", "name", *reports.METRICS]
        rows = (
            [
                group.removesuffix("s"),
                str(row["user_id"]),
                row["name"] or "",
                *(_cell(row[m]) for m in reports.METRICS),
            ]
            for group in ("agents", "teams")
            for row in report[group]
        )
        name = f"service-kpis-{report['since']}-{report['until']}.csv"
        return csv_download(db, write_rows(header, rows), filename=name)


def _cell(value) -> str:
    if value is None:
        return ""
    return f"{value:.4f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


blueprints = (blp,)
