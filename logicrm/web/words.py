"""Scores and alerts in the reader's language: risk drivers and each alert rule's cause, from what the
scores and alerts store (ids and figures), never from English text made for emails."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from logicrm.health import measures
from logicrm.network import drivers, satisfaction
from logicrm.relations.models import Dimension
from logicrm.web.format import percent, points

# every driver network.drivers.OWN_LABELS names (the churn model's features, and older snapshots' drivers)
OWN_DRIVERS = {
    "dissatisfaction": _l("satisfaction below expectations"),
    "satisfaction_drop": _l("satisfaction dropped"),
    "weakest_deciding_shortfall": _l("a deciding department is unhappy"),
    "detractors": _l("detractors (negative NPS)"),
    "silent_deciding_department": _l("a deciding department is silent"),
    "no_survey_data": _l("no survey answers yet"),
    "shipping_stopped": _l("shipments thinning or stopped"),
    "volume_drop": _l("falling volume"),
    "volume_shortfall": _l("shipping well below its usual year"),
    "shipment_gap": _l("no shipment for a long time"),
    "inbound_drop": _l("receiving less than its shippers send elsewhere"),
    "inbound_below_declared": _l("receiving less than its lanes declare"),
    "otif_gap": _l("on-time-in-full below target"),
    "claims": _l("damage and claims"),
    "overdue_tickets": _l("tickets past SLA"),
    "contact_overdue": _l("no contact for too long"),
    "contract_ending": _l("contract ending, no renewal open"),
    "too_new": _l("too new to judge"),
    "low_satisfaction": _l("low satisfaction"),
    "low_loyalty": _l("low loyalty (NPS)"),
}


def horizon_days(scores) -> int | None:
    """The days a churn probability looks ahead, if the scores (a health answer, an account's scores or an
    alert's details) state them: scoring answers `horizon_days` from its rewrite on, earlier scores do not."""
    found = (
        scores.get("horizon_days") if isinstance(scores, Mapping) else getattr(scores, "horizon_days", None)
    )
    return found if isinstance(found, int) and found > 0 else None


# the bands of a gap to expectation, as logicrm.network.satisfaction names them
SATISFACTION_BANDS = {
    satisfaction.WELL_BELOW: _l("well below expectations"),
    satisfaction.BELOW: _l("below expectations"),
    satisfaction.MET: _l("met expectations"),
    satisfaction.ABOVE: _l("above expectations"),
}
OTHER_DRIVERS = {"baseline": _l("baseline churn"), "other": _l("other drivers")}
ROLES = {"shipper": _l("shipper"), "consignee": _l("consignee"), "partner": _l("partner")}
RULES = {
    "risk_high": _l("Network risk is high"),
    "risk_jump": _l("Network risk jumped"),
    "exposure_high": _l("Much revenue depends on it"),
    "department_dissatisfied": _l("A deciding department is dissatisfied"),
    "department_silent": _l("A deciding department is silent"),
    "contact_overdue": _l("Contact overdue"),
    "contract_expiring": _l("Contract expiring"),
    "ticket_overdue": _l("Ticket past SLA"),
    "tier_mismatch": _l("Tier does not match value"),
}


DIMENSION_ORDER = tuple(str(d) for d in Dimension)
DIMENSIONS = {
    "timeliness": _l("timeliness"),
    "reliability": _l("reliability"),
    "responsiveness": _l("responsiveness"),
    "attitude": _l("attitude"),
    "competence": _l("competence"),
    "capacity": _l("capacity"),
    "handover": _l("handover"),
    "improvement": _l("improvement"),
}
TREND_LABELS = {
    "risk": _l("network risk (%)"),
    "satisfaction": _l("satisfaction (0–100)"),
    "axis": _l("per cent / points of 100"),
}


def driver_text(driver: Mapping, names: Mapping[int, str]) -> str:
    """Name one stored driver for the reader; a partner it may not see reads as "another shipper"."""
    kind, key = driver["kind"], driver.get("key")
    if kind == drivers.NEIGHBOUR:
        role = " + ".join(str(ROLES.get(r, r)) for r in driver.get("roles") or ("partner",))
        if key in names:
            return gettext("%(role)s %(name)s", role=role, name=names[key])
        return gettext("another %(role)s", role=role)
    label = str(OWN_DRIVERS.get(key) or OTHER_DRIVERS.get(kind, OTHER_DRIVERS["other"]))
    if driver.get("department"):
        return gettext(
            "%(label)s (weakest deciding: %(department)s)", label=label, department=driver["department"]
        )
    return label


def main_causes(stored: list[Mapping], names: Mapping[int, str], *, top: int = 3) -> list[dict]:
    """The largest drivers beyond the baseline, largest first: text and share of the risk."""
    named = sorted((d for d in stored if d["kind"] != "baseline"), key=lambda d: -d["share"])
    return [{"text": driver_text(d, names), "share": d["share"]} for d in named[:top]]


def alert_cause(rule: str, details: Mapping) -> str | None:
    """Say an alert's cause with its figures, in the reader's language; None when the details do not
    hold what the rule stores (the alert's own message then stands in)."""
    d = details
    try:
        if rule == "risk_high" and horizon_days(d):
            return gettext(
                "Probability of leaving within %(days)s days: %(risk)s, counting its partners' risk (alert from %(threshold)s).",
                days=horizon_days(d),
                risk=percent(d["network_risk"]),
                threshold=percent(d["threshold"]),
            )
        if rule == "risk_high":
            return gettext(
                "Network risk %(risk)s: the probability of losing the account, counting its partners' risk (alert from %(threshold)s).",
                risk=percent(d["network_risk"]),
                threshold=percent(d["threshold"]),
            )
        if rule == "risk_jump" and horizon_days(d):
            return gettext(
                "Probability of leaving within %(days)s days rose %(rise)s since the last health run, from %(before)s to %(after)s.",
                days=horizon_days(d),
                rise=points(d["rise"]),
                before=percent(d["previous_network_risk"]),
                after=percent(d["network_risk"]),
            )
        if rule == "risk_jump":
            return gettext(
                "Network risk rose %(rise)s since the last health run, from %(before)s to %(after)s.",
                rise=points(d["rise"]),
                before=percent(d["previous_network_risk"]),
                after=percent(d["network_risk"]),
            )
        if rule == "exposure_high" and horizon_days(d):
            return gettext(
                "Losing it would take %(share)s of the portfolio's monthly revenue with it, and its probability of leaving within %(days)s days is %(risk)s.",
                share=percent(d["share"]),
                days=horizon_days(d),
                risk=percent(d["network_risk"]),
            )
        if rule == "exposure_high":
            return gettext(
                "Losing it would take %(share)s of the portfolio's monthly revenue with it, and its network risk is %(risk)s.",
                share=percent(d["share"]),
                risk=percent(d["network_risk"]),
            )
        if rule == "department_dissatisfied":
            departments, threshold = measures.dissatisfied_gaps(d)
            return gettext(
                "Deciding department short of expectations: %(departments)s (gap on a 1–7 scale, 0 = met; alert below %(threshold)s).",
                departments=", ".join(_gap_text(name, gap, band) for name, gap, band in departments),
                threshold=f"{threshold:+.1f}",
            )
        if rule == "department_silent":
            return gettext(
                "No recent survey answer from the deciding department(s): %(departments)s.",
                departments=", ".join(d["departments"]),
            )
        if rule == "contact_overdue":
            if d["days_since_contact"] is None:
                return gettext(
                    "Never contacted; the tier expects contact every %(days)d days.", days=d["cadence_days"]
                )
            return gettext(
                "Last contact %(ago)d days ago; the tier expects contact every %(days)d days.",
                ago=d["days_since_contact"],
                days=d["cadence_days"],
            )
        if rule == "contract_expiring":
            left = d["contract_days_left"]
            if left < 0:
                return gettext("The contract ended %(days)d days ago and no renewal is open.", days=-left)
            return gettext("The contract ends in %(days)d days and no renewal is open.", days=left)
        if rule == "ticket_overdue":
            worst = d["tickets"][0]
            return gettext(
                "%(count)d ticket(s) past SLA; the worst, “%(subject)s”, open %(days).1f days against a %(sla)g-day SLA.",
                count=len(d["tickets"]),
                subject=worst["subject"],
                days=worst["days_open"],
                sla=worst["sla_days"],
            )
        if rule == "tier_mismatch":
            if d["mismatch"] == "under_served":
                return gettext("Its value says a higher tier than it has (under-served).")
            return gettext("Its value says a lower tier than it has (over-served).")
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    return None


def _gap_text(name: str, gap: float, band: str | None) -> str:
    if band in SATISFACTION_BANDS:
        return gettext(
            "%(name)s %(gap)s, %(band)s", name=name, gap=f"{gap:+.1f}", band=SATISFACTION_BANDS[band]
        )
    return f"{name} {gap:+.1f}"


def rule_name(rule: str) -> str:
    return str(RULES.get(rule, rule))
