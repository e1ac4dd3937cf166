"""The alerts inbox: alerts on the accounts the user may see, their cause in words; acknowledge, resolve."""

from __future__ import annotations

from flask import request

from logicrm.api import paginate, session
from logicrm.customers import service as customers
from logicrm.health import alerts
from logicrm.health.models import AlertState
from logicrm.health.rules import RULES
from logicrm.tickets.models import Severity
from logicrm.web import words
from logicrm.web.pages import Page, back, htmx, render, route, user
from logicrm.web.views.common import page_number

ACTIONS = {"acknowledge": alerts.acknowledge, "resolve": alerts.resolve}


def rows(found) -> list[dict]:
    """Alerts as the pages show them: the account's name, the cause in words, the main risk drivers."""
    names = customers.names_for(session(), user=user(), ids={a.customer_id for a in found})
    stored = [(a.details or {}).get("drivers") or [] for a in found]
    partners = alerts.partner_names(session(), user=user(), stored=stored)
    return [
        {
            "alert": a,
            "customer_name": names.get(a.customer_id, ""),
            "cause": words.alert_cause(a.rule, a.details or {}) or a.message,
            "causes": words.main_causes(kept, partners),
        }
        for a, kept in zip(found, stored, strict=True)
    ]


def _choice(name: str, allowed) -> str | None:
    value = request.args.get(name) or None
    return value if value in allowed else None


@route("/alerts")
class Alerts(Page):
    def get(self):
        filters = {
            "state": _choice("state", {s.value for s in AlertState}),
            "severity": _choice("severity", {s.value for s in Severity}),
            "rule": _choice("rule", RULES),
        }
        found = paginate(
            session(),
            alerts.list_statement(session(), user=user(), **filters),
            page=page_number(),
            page_size=25,
        )
        return render(
            "alerts.html",
            rows=rows(found["items"]),
            meta=found["meta"],
            filters=filters,
            args={k: v for k, v in filters.items() if v},
            rules=RULES,
        )


@route("/alerts/<int:alert_id>/<any(acknowledge, resolve):action>", methods=["POST"])
class AlertAction(Page):
    def post(self, alert_id, action):
        alert = alerts.get(session(), user=user(), alert_id=alert_id)
        ACTIONS[action](session(), user=user(), alert=alert)
        if htmx():
            return render("_alert.html", row=rows([alert])[0])
        return back("web.Alerts")
