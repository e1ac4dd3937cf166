"""Every weight, half-life, threshold and coupling of the scores (DESIGN §4), in one frozen record."""

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from logicrm.parameters import EnvParams, param

ENV_PREFIX = "LOGICRM_SCORING_"
TIERS = ("vip", "key", "standard")
RISK_WEIGHT_PREFIX = "risk_weight_"


@dataclass(frozen=True, slots=True)
class ScoringParams(EnvParams):
    """Scoring configuration; defaults are DESIGN §4's."""

    ENV_PREFIX = ENV_PREFIX

    # §4.1–4.5 satisfaction and loyalty
    half_life_days: float = param(
        90.0, "Half-life of a survey response's weight in satisfaction and loyalty."
    )
    silent_after_days: float = param(
        180.0, "A department with no response for this long is silent (unknown)."
    )
    weakest_cap: float = param(
        0.25, "Account satisfaction is capped at the weakest deciding department + this."
    )
    beta_two_sided: float = param(0.4, "Weight of the other side's satisfaction in two-sided satisfaction.")
    # §4.6 own churn risk: r0 = logistic(bias + Σ weight·driver)
    risk_bias: float = param(-3.75, "Logistic bias of own churn risk (baseline risk = logistic(bias)).")
    risk_weight_low_satisfaction: float = param(
        6.0, "Weight of the shortfall below satisfied_level, as a share of it."
    )
    risk_weight_satisfaction_drop: float = param(4.0, "Weight of the satisfaction drop over the drop window.")
    risk_weight_low_loyalty: float = param(1.5, "Weight of 1 − loyalty score.")
    risk_weight_volume_drop: float = param(6.0, "Weight of 1 − last 30 days' volume / trailing monthly mean.")
    risk_weight_otif_gap: float = param(10.0, "Weight of the OTIF shortfall below the SLA target.")
    risk_weight_claims: float = param(8.0, "Weight of the share of shipments damaged or claimed.")
    risk_weight_overdue_tickets: float = param(0.8, "Weight of log(1 + number of overdue open tickets).")
    risk_weight_contact_overdue: float = param(1.0, "Weight of the contact overdue ratio (days/cadence − 1).")
    risk_weight_contract_ending: float = param(1.5, "Weight of 'contract ends soon, no renewal open'.")
    risk_weight_silent_deciding_department: float = param(1.0, "Weight of 'a deciding department is silent'.")
    satisfaction_drop_days: int = param(90, "Window over which the satisfaction drop is measured.")
    volume_recent_days: int = param(30, "Recent window compared with the trailing monthly mean volume.")
    volume_trend_min_shipments: int = param(
        20, "Below this many shipments in the window, the volume drop is scaled down (it is mostly noise)."
    )
    satisfied_level: float = param(
        0.55, "Satisfaction at or above this adds no risk (0.5 = expectations exactly met)."
    )
    contact_overdue_cap: float = param(1.0, "The contact overdue driver saturates at this value.")
    cadence_vip_days: int = param(30, "Expected contact cadence of a VIP account.")
    cadence_key_days: int = param(60, "Expected contact cadence of a key account.")
    cadence_standard_days: int = param(120, "Expected contact cadence of a standard account.")
    contract_ending_days: int = param(
        90, "A contract ending within this many days without renewal is a risk."
    )
    # §4.7 network risk
    alpha_down: float = param(
        0.6, "Coupling shipper → consignee: influence = alpha_down · consignee's share."
    )
    alpha_up: float = param(0.5, "Coupling consignee → shipper: influence = alpha_up · shipper's share.")
    volume_window_days: int = param(
        90, "Trailing window of link volumes (declared monthly volume is scaled)."
    )
    propagation_tol: float = param(1e-12, "Message passing stops when no message changes by this much.")
    propagation_max_iter: int = param(10_000, "Message passing gives up after this many sweeps.")
    explain_top: int = param(5, "Number of drivers named in a risk explanation (the rest are 'other').")
    # §4.9 what-if cascade
    cascade_threshold: float = param(0.5, "An account keeping less than this share of its volume is lost.")
    # §4.10 value
    abc_a_cutoff: float = param(0.8, "Class A: customers making the first 80% of positive profit.")
    abc_b_cutoff: float = param(0.95, "Class B: customers making the profit from the A cutoff to 95%.")
    tier_mismatch_steps: int = param(
        2, "Report a tier mismatch when tier and value tier are this many steps apart."
    )

    def _checks(self) -> dict[str, bool]:
        checks = {
            "half_life_days": self.half_life_days > 0,
            "silent_after_days": self.silent_after_days > 0,
            "weakest_cap": self.weakest_cap >= 0,
            "beta_two_sided": 0 <= self.beta_two_sided <= 1,
            "alpha_down": 0 <= self.alpha_down <= 1,
            "alpha_up": 0 <= self.alpha_up <= 1,
            "volume_window_days": self.volume_window_days > 0,
            "volume_recent_days": 0 < self.volume_recent_days <= self.volume_window_days,
            "volume_trend_min_shipments": self.volume_trend_min_shipments >= 1,
            "satisfied_level": 0 < self.satisfied_level <= 1,
            "propagation_tol": self.propagation_tol > 0,
            "propagation_max_iter": self.propagation_max_iter > 0,
            "explain_top": self.explain_top > 0,
            "cascade_threshold": 0 < self.cascade_threshold <= 1,
            "abc_a_cutoff": 0 < self.abc_a_cutoff <= self.abc_b_cutoff,
            "abc_b_cutoff": self.abc_a_cutoff <= self.abc_b_cutoff <= 1,
            "tier_mismatch_steps": 1 <= self.tier_mismatch_steps <= len(TIERS) - 1,
            "contact_overdue_cap": self.contact_overdue_cap > 0,
        }
        checks.update({f"cadence_{tier}_days": self.cadence_days(tier) > 0 for tier in TIERS})
        # drivers only ever add risk: explanations split r0 over positive contributions
        checks.update({f"{RISK_WEIGHT_PREFIX}{k}": w >= 0 for k, w in self.risk_weights().items()})
        # every number finite: an infinite weight or a NaN bias would make every risk NaN
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                checks[f.name] = False
        return checks

    def risk_weights(self) -> dict[str, float]:
        """Return the own-risk weight of each driver, keyed by driver name."""
        return {
            f.name.removeprefix(RISK_WEIGHT_PREFIX): getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name.startswith(RISK_WEIGHT_PREFIX)
        }

    def cadence_days(self, tier: str) -> int:
        """Return the expected contact cadence of a tier."""
        if tier not in TIERS:
            raise ValueError(f"unknown tier {tier!r}")
        return getattr(self, f"cadence_{tier}_days")


def describe_params() -> list[tuple[str, str, Any, str]]:
    """List (field, environment key, default, description) for every parameter."""
    return ScoringParams.describe()
