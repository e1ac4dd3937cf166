"""Risk drivers as stored and as read.

Stored drivers carry ids, never names: a snapshot or an alert outlives the visibility of the moment,
and each reader may see other partners. `describe` renders them for one reader from the names that
reader may see; a partner missing from those names reads as "another shipper" with no id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from logicrm.network.risk import Driver

OWN_LABELS = {
    # the churn model's features (logicrm.network.churn.FEATURES)
    "dissatisfaction": "satisfaction below expectations",
    "satisfaction_drop": "satisfaction dropped",
    "weakest_deciding_shortfall": "a deciding department is unhappy",
    "detractors": "detractors (negative NPS)",
    "silent_deciding_department": "a deciding department is silent",
    "no_survey_data": "no survey answers yet",
    "shipping_stopped": "shipments thinning or stopped",
    "volume_drop": "falling volume",
    "volume_shortfall": "shipping well below its usual year",
    "shipment_gap": "no shipment for a long time",
    "inbound_drop": "receiving less than its shippers send elsewhere",
    "inbound_below_declared": "receiving less than its lanes declare",
    "otif_gap": "on-time-in-full below target",
    "claims": "damage and claims",
    "overdue_tickets": "tickets past SLA",
    "contact_overdue": "no contact for too long",
    "contract_ending": "contract ending, no renewal open",
    "too_new": "too new to judge",
    # drivers of snapshots taken before the model (kept readable in history)
    "low_satisfaction": "low satisfaction",
    "low_loyalty": "low loyalty (NPS)",
}
KIND_LABELS = {"baseline": "baseline churn", "other": "other drivers"}
# drivers about the weakest deciding department carry its name
DEPARTMENT_DRIVERS = ("weakest_deciding_shortfall", "low_satisfaction")
NEIGHBOUR = "neighbour"
DEPARTED = "departed"  # a partner that churned lately: its loss weighs on the accounts it served
PARTNERS = (NEIGHBOUR, DEPARTED)


def record(driver: Driver, *, partners: Mapping, weakest_department: str | None) -> dict:
    """Return the stored form of a driver: kind, key (driver name or partner id), share; for a partner its
    roles and its own main driver (`partners` maps id → (roles, cause)); the weakest deciding department's
    name rides along with the drivers about it."""
    stored = {"kind": driver.kind, "key": driver.key, "share": float(driver.share)}
    if driver.kind in PARTNERS:
        roles, cause = partners.get(driver.key, ((), None))
        stored["roles"] = list(roles)
        if cause is not None:
            stored["cause"] = cause
    elif driver.key in DEPARTMENT_DRIVERS and weakest_department is not None:
        stored["department"] = weakest_department
    return stored


def describe(stored: Iterable[Mapping], *, names: Mapping) -> list[dict]:
    """Render stored drivers for one reader; `names` maps the partner ids the reader may see to names."""
    return [_describe(driver, names) for driver in stored]


def _describe(driver: Mapping, names: Mapping) -> dict:
    kind, key = driver["kind"], driver.get("key")
    if kind in PARTNERS:
        role = " and ".join(driver.get("roles") or ()) or "partner"
        why = ", which left" if kind == DEPARTED else ""
        if driver.get("cause"):
            why = f" ({OWN_LABELS.get(driver['cause'], 'other drivers')})"
        if key in names:
            return {"kind": kind, "key": key, "label": f"{role} {names[key]}{why}", "share": driver["share"]}
        return {"kind": kind, "key": None, "label": f"another {role}{why}", "share": driver["share"]}
    label = OWN_LABELS.get(key) or KIND_LABELS.get(kind, "other drivers")
    if driver.get("department"):
        label = f"{label} (weakest deciding: {driver['department']})"
    return {"kind": kind, "key": key, "label": label, "share": driver["share"]}


def partner_ids(stored: Iterable[Mapping]) -> set:
    """Return the partner ids named by stored drivers (what a reader's names must cover)."""
    return {driver["key"] for driver in stored if driver["kind"] in PARTNERS}


def summary(described: Iterable[Mapping], *, top: int = 3) -> str:
    """Say the largest drivers beyond the baseline in one line: "shipper X (0.22), claims (0.15)"."""
    named = [d for d in described if d["kind"] != "baseline"]
    named.sort(key=lambda d: -d["share"])
    return ", ".join(f"{d['label']} ({d['share']:.2f})" for d in named[:top])
