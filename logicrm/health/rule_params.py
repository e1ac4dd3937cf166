"""The alert rules' parameters (LOGICRM_RULES_*): thresholds, escalation points, severities per rule and
tier, and when an alert worsens. Pure, like the rules they configure."""

from dataclasses import dataclass
from typing import Any

from logicrm.parameters import EnvParams, param

ENV_PREFIX = "LOGICRM_RULES_"
SEVERITIES = ("low", "medium", "high")
# the same values as logicrm.network (params.TIERS), restated so that this module needs nothing beyond the
# standard library
TIERS = ("vip", "key", "standard")
SEVERITY_PREFIX = "severity_"
TIER_STEP_PREFIX = "tier_step_"


@dataclass(frozen=True, slots=True)
class RuleParams(EnvParams):
    """Alert rule configuration: thresholds, escalation points, severities and when an alert worsens."""

    ENV_PREFIX = ENV_PREFIX

    # thresholds: when each rule fires
    risk_high: float = param(
        0.3,
        "risk_high fires when the probability of leaving within the model's horizon is at or above this "
        "(and the account is within its manager's capacity, risk_high_capacity).",
    )
    risk_high_capacity: float = param(
        0.1,
        "risk_high fires for at most this share of a manager's accounts, the most likely to leave first "
        "(at least one per manager): an alert list a person can work through.",
    )
    risk_jump: float = param(
        0.15,
        "risk_jump fires when the probability of leaving within the horizon rose at least this since the "
        "last snapshot.",
    )
    exposure_high: float = param(
        0.05,
        "exposure_high fires when the account's cascade exposure is at least this share of the portfolio's monthly revenue.",
    )
    dissatisfied: float = param(
        0.35,
        "A deciding department scoring below this (0–1, 0.5 = expectations met; 0.35 is a gap of −1.8 points "
        "on the 1–7 scale, well below expectations) is dissatisfied.",
    )
    contact_overdue_factor: float = param(
        1.0, "contact_overdue fires when days since last contact exceed the tier cadence × this."
    )
    contract_expiring_days: int = param(
        90, "contract_expiring fires when the contract ends within this many days and no renewal is open."
    )
    # escalation: one severity level up for a large magnitude
    risk_high_escalate: float = param(
        0.5, "A probability of leaving at or above this raises risk_high one level."
    )
    risk_jump_escalate: float = param(0.3, "A rise at least this large raises risk_jump one level.")
    exposure_min_risk: float = param(
        0.15,
        "exposure_high fires only when the account's probability of leaving is at least this: a steady, happy hub is "
        "concentration to plan for, not a churn alert.",
    )
    exposure_high_escalate: float = param(
        0.15, "Exposure at least this share raises exposure_high one level."
    )
    dissatisfied_escalate: float = param(
        0.2, "A deciding department scoring below this raises department_dissatisfied one level."
    )
    contact_overdue_escalate: float = param(
        2.0, "No contact for more than the cadence × this (or never) raises contact_overdue one level."
    )
    contract_expiring_escalate_days: int = param(
        30, "A contract ending within this many days (or already ended) raises contract_expiring one level."
    )
    ticket_overdue_escalate: float = param(
        3.0, "A ticket open more than its SLA × this raises ticket_overdue one level."
    )
    # severity = base of the rule + step of the tier (+ 1 if escalated), clamped to low..high
    severity_risk_high: str = param("medium", "Base severity of risk_high.", choices=SEVERITIES)
    severity_risk_jump: str = param("medium", "Base severity of risk_jump.", choices=SEVERITIES)
    severity_exposure_high: str = param(
        "low",
        "Base severity of exposure_high (what is at stake, not a churn signal by itself).",
        choices=SEVERITIES,
    )
    severity_department_dissatisfied: str = param(
        "medium", "Base severity of department_dissatisfied.", choices=SEVERITIES
    )
    severity_department_silent: str = param("low", "Base severity of department_silent.", choices=SEVERITIES)
    severity_contact_overdue: str = param("low", "Base severity of contact_overdue.", choices=SEVERITIES)
    severity_contract_expiring: str = param(
        "medium", "Base severity of contract_expiring.", choices=SEVERITIES
    )
    severity_ticket_overdue: str = param("medium", "Base severity of ticket_overdue.", choices=SEVERITIES)
    severity_tier_mismatch: str = param(
        "low",
        "Severity of tier_mismatch (over-served); under-served is one level up; the tier step is not applied.",
        choices=SEVERITIES,
    )
    severity_vip_without_sponsor: str = param(
        "medium",
        "Severity of vip_without_sponsor (a VIP account with no executive sponsor on its team).",
        choices=SEVERITIES,
    )
    tier_step_vip: int = param(1, "Severity levels added for a VIP account.")
    tier_step_key: int = param(0, "Severity levels added for a key account.")
    tier_step_standard: int = param(-1, "Severity levels added for a standard account.")
    # worsening: when a refreshed alert notifies again (and an acknowledged one reopens)
    worsen_margin: float = param(
        0.1, "An alert worsens when its value grows by this share of the value last notified."
    )
    worsen_floor: float = param(
        0.01, "…and by at least this much in absolute terms (one point on the 0–1 scales)."
    )

    def _checks(self) -> dict[str, bool]:
        checks = {
            "risk_high": 0 < self.risk_high <= 1,
            "risk_high_capacity": 0 < self.risk_high_capacity <= 1,
            "risk_jump": 0 < self.risk_jump <= 1,
            "exposure_high": 0 < self.exposure_high <= 1,
            "exposure_min_risk": 0 <= self.exposure_min_risk <= 1,
            "dissatisfied": 0 < self.dissatisfied <= 1,
            "contact_overdue_factor": self.contact_overdue_factor > 0,
            "contract_expiring_days": self.contract_expiring_days > 0,
            # an escalation point beyond the scale (e.g. risk 1.1) switches escalation off
            "risk_high_escalate": self.risk_high_escalate >= self.risk_high,
            "risk_jump_escalate": self.risk_jump_escalate >= self.risk_jump,
            "exposure_high_escalate": self.exposure_high_escalate >= self.exposure_high,
            "dissatisfied_escalate": 0 <= self.dissatisfied_escalate <= self.dissatisfied,
            "contact_overdue_escalate": self.contact_overdue_escalate >= self.contact_overdue_factor,
            "contract_expiring_escalate_days": self.contract_expiring_escalate_days
            <= self.contract_expiring_days,
            "ticket_overdue_escalate": self.ticket_overdue_escalate >= 1,
            "worsen_margin": self.worsen_margin >= 0,
            "worsen_floor": self.worsen_floor >= 0,
        }
        checks.update({f"{TIER_STEP_PREFIX}{t}": abs(self.tier_step(t)) < len(SEVERITIES) for t in TIERS})
        return checks

    def base_severity(self, rule: str) -> str:
        """Return a rule's severity before the tier step and escalation."""
        return getattr(self, SEVERITY_PREFIX + rule)

    def tier_step(self, tier: str) -> int:
        """Return the severity levels a tier adds."""
        if tier not in TIERS:
            raise ValueError(f"unknown tier {tier!r}")
        return getattr(self, TIER_STEP_PREFIX + tier)


def describe_params() -> list[tuple[str, str, Any, str]]:
    """List (field, environment key, default, description) for every parameter."""
    return RuleParams.describe()
