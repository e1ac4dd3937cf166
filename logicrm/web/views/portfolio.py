"""The portfolio: the Pareto curve of profit, ABC classes, tier mismatches, distributions of risk and
satisfaction, and accounts won and lost month by month."""

from __future__ import annotations

import datetime as dt

from flask_babel import format_date
from flask_babel import lazy_gettext as _l

from logicrm.api import session
from logicrm.customers import service as customers
from logicrm.db import utcnow
from logicrm.scoring import reports
from logicrm.web.pages import Page, render, route, user
from logicrm.web.views.common import page_number, page_of, portfolio, visible

MONTHS = 12
MISMATCHES_PAGE = 25  # tier mismatches a page lists (a large portfolio has hundreds)
LABELS = {
    "accounts": _l("accounts"),
    "pareto_x": _l("share of paying accounts, most profitable first (%)"),
    "pareto_y": _l("share of their profit (%)"),
    "won": _l("won"),
    "lost": _l("lost"),
    "counts": _l("accounts"),
}


def _months(today: dt.date) -> list[dt.date]:
    months, month = [], today.replace(day=1)
    for _ in range(MONTHS):
        months.append(month)
        month = (month - dt.timedelta(days=1)).replace(day=1)
    return months[::-1]


@route("/portfolio")
class Portfolio(Page):
    def get(self):
        scored, seen = portfolio(), visible()
        summary = reports.summary(scored, visible=seen)
        curve = reports.pareto_curve(scored, visible=seen)
        lifecycle = customers.monthly_lifecycle(session(), user=user(), months=_months(utcnow().date()))
        for month in lifecycle:
            month["churn_rate"] = (
                month["lost"] / month["active_at_start"] if month["active_at_start"] else None
            )
        return render(
            "portfolio.html",
            summary=summary,
            mismatches=page_of(
                summary["tier_mismatches"], page=page_number("mismatches_page"), size=MISMATCHES_PAGE
            ),
            lifecycle=lifecycle,
            charts=_charts(summary, curve, lifecycle),
        )


def _histogram(rows, label) -> dict:
    return {
        "type": "bar",
        "labels": [row["bucket"] for row in rows],
        "datasets": [{"label": str(label), "data": [row["count"] for row in rows]}],
        "scales": {"y": {"title": {"display": True, "text": str(LABELS["counts"])}, "beginAtZero": True}},
    }


def _charts(summary, curve, lifecycle) -> dict:
    return {
        "pareto": {
            "type": "line",
            "labels": [f"{100 * point['accounts']:.0f}" for point in curve],
            "datasets": [
                {"label": str(LABELS["pareto_y"]), "data": [round(100 * p["profit"], 1) for p in curve]}
            ],
            "scales": {
                "x": {"title": {"display": True, "text": str(LABELS["pareto_x"])}},
                "y": {"min": 0, "max": 100, "title": {"display": True, "text": str(LABELS["pareto_y"])}},
            },
        },
        "risk": _histogram(summary["risk_distribution"], LABELS["accounts"]),
        "satisfaction": _histogram(summary["satisfaction_distribution"], LABELS["accounts"]),
        "lifecycle": {
            "type": "bar",
            "labels": [format_date(m["month"], "MMM y") for m in lifecycle],
            "datasets": [
                {"label": str(LABELS["won"]), "data": [m["won"] for m in lifecycle]},
                {"label": str(LABELS["lost"]), "data": [m["lost"] for m in lifecycle]},
            ],
            "scales": {"y": {"beginAtZero": True, "title": {"display": True, "text": str(LABELS["counts"])}}},
        },
    }
