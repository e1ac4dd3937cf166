"""What a stored alert says in words, for emails, webhooks and the web pages: read from the details its
rule stored (logicrm.health.rules), those of older releases included. Pure."""

from collections.abc import Mapping

from logicrm.health.rules import UNDER_SERVED, gap_points


def dissatisfied_gaps(details: Mapping) -> tuple[list[tuple[str, float, str | None]], float]:
    """Read a department_dissatisfied alert's details: (name, gap, band) per department, worst first, and
    the threshold as a gap. Alerts raised before gaps were stored kept only scores, on 0–100 (or, earlier
    still, on 0–1, as their threshold shows), which give the same gaps; their band is None."""
    scale = 1.0 if details["threshold"] <= 1 else 100.0

    def gap(entry: Mapping, key: str, score_key: str) -> float:
        return float(entry[key]) if key in entry else gap_points(entry[score_key] / scale)

    departments = [(x["name"], gap(x, "gap", "score"), x.get("band")) for x in details["departments"]]
    return departments, gap(details, "threshold_gap", "threshold")


def measure(rule: str, details: Mapping) -> str:
    """Say in words what an alert measures and where it stands against its threshold (what a bare value
    could not): for emails and webhooks. Details are those the rule stored; old or foreign ones say less."""
    d = details

    def pct(name: str, places: int = 0) -> str:
        return f"{100 * d[name]:.{places}f}%"

    try:
        # alerts raised before risks had a horizon do not state one
        within = f" within {d['horizon_days']} days" if d.get("horizon_days") else ""
        if rule == "risk_high":
            return (
                f"probability of leaving{within} {pct('network_risk')}, its partners' risk included "
                f"(alert from {pct('threshold')})"
            )
        if rule == "risk_jump":
            return (
                f"probability of leaving{within} up {100 * d['rise']:.0f} percentage points since the last "
                f"health run ({pct('previous_network_risk')} → {pct('network_risk')}; alert from "
                f"{100 * d['threshold']:.0f} points)"
            )
        if rule == "exposure_high":
            return (
                f"losing it would cascade to {d['exposure']:,.0f} a month in revenue, {pct('share', 1)} of the "
                f"portfolio's monthly revenue (alert from {pct('threshold', 1)}); probability of leaving"
                f"{within} {pct('network_risk')}"
            )
        if rule == "department_dissatisfied":
            departments, threshold = dissatisfied_gaps(d)
            name, gap, band = departments[0]
            return (
                f"{name}, the weakest deciding department, {gap:+.1f} points from its expectations"
                f"{f', {band}' if band else ''} (gap on a 1–7 scale, 0 = met; alert below {threshold:+.1f})"
            )
        if rule == "department_silent":
            return f"deciding departments without a recent survey answer: {', '.join(d['departments'])}"
        if rule == "contact_overdue":
            if d["days_since_contact"] is None:
                return f"never contacted; the tier's contact cadence is {d['cadence_days']:.0f} days"
            return (
                f"{d['days_since_contact']:.0f} days since the last contact against a "
                f"{d['cadence_days']:.0f}-day cadence"
            )
        if rule == "contract_expiring":
            left = d["contract_days_left"]
            when = f"ended {-left:.0f} days ago" if left < 0 else f"ends in {left:.0f} days"
            return f"the contract {when} with no renewal open (alert from {d['threshold_days']} days before)"
        if rule == "ticket_overdue":
            worst = d["tickets"][0]
            return (
                f"{len(d['tickets'])} ticket(s) past SLA; the worst open {worst['days_open']:.1f} days, "
                f"{worst['factor']:.1f} times its {worst['sla_days']:g}-day SLA"
            )
        if rule == "tier_mismatch":
            direction = "higher" if d["mismatch"] == UNDER_SERVED else "lower"
            return f"tier {d.get('tier')}, while its value says a {direction} tier"
    except (KeyError, IndexError, TypeError, ValueError):
        pass
    return ""
