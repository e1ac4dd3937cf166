"""Every weight, half-life, threshold and coupling of the scores (DESIGN §4), in one frozen record."""

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from logicrm.parameters import EnvParams, param

ENV_PREFIX = "LOGICRM_SCORING_"
TIERS = ("vip", "key", "standard")


@dataclass(frozen=True, slots=True)
class ScoringParams(EnvParams):
    """Scoring configuration; defaults are DESIGN §4's."""

    ENV_PREFIX = ENV_PREFIX

    # §4.1–4.5 satisfaction and loyalty
    half_life_days: float = param(
        90.0, "Half-life of a survey response's weight in satisfaction and loyalty."
    )
    silent_after_days: float = param(
        180.0, "A department with no response for this long is flagged silent; its verdict keeps decaying."
    )
    response_horizon_half_lives: float = param(
        16.0,
        "Survey responses older than this many half-lives weigh nothing (they would weigh under 2^−16) "
        "and are not loaded; a department or account heard from before stays known, at the prior.",
    )
    satisfaction_prior_strength: float = param(
        0.5,
        "Pseudo-responses of the portfolio's prior in a department's satisfaction: "
        "(Σ weight·score + this·prior) / (Σ weight + this).",
    )
    loyalty_prior_strength: float = param(
        3.0, "Pseudo-respondents of the portfolio's NPS in an account's NPS (one answer is no extreme)."
    )
    gap_met_points: float = param(
        0.5, "A gap to expectation within ± this many points (1–7 scale) reads 'met expectations'."
    )
    gap_well_below_points: float = param(
        1.5, "A gap below − this many points (1–7 scale) reads 'well below expectations'."
    )
    weakest_cap: float = param(
        0.25, "Account satisfaction is capped at the weakest deciding department + this."
    )
    beta_two_sided: float = param(0.4, "Weight of the other side's satisfaction in two-sided satisfaction.")
    # §4.6 own churn risk: a probability of churn within horizon_days (logicrm.network.churn)
    horizon_days: int = param(180, "Horizon of every churn probability: churn within this many days.")
    churn_inactive_days: int = param(
        90, "A shipper with no shipment for this many days has churned (as has a customer set to churned)."
    )
    min_churn_events: int = param(
        30, "Below this many churn events in the history, the model runs on its hand-set prior weights."
    )
    prior_base_rate: float = param(
        0.08, "Churn within the horizon of an average account, for the prior when there is no history."
    )
    rate_prior_strength: float = param(
        20.0, "Shipments' worth of portfolio evidence an account's on-time and damage rates are shrunk with."
    )
    min_tenure_days: int = param(90, "An account known for less than this is too new to score on behaviour.")
    contagion_window_days: int = param(
        180, "A partner that churned within this many days still weighs on the accounts it served."
    )
    model_origins: int = param(24, "Monthly origins replayed when the churn model is fitted.")
    satisfaction_drop_days: int = param(90, "Window over which the satisfaction drop is measured.")
    volume_recent_days: int = param(30, "Recent window compared with the trailing monthly mean volume.")
    volume_trend_min_shipments: int = param(
        20, "Below this many shipments in the window, the volume drop is scaled down (it is mostly noise)."
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
            # beyond 10 half-lives a response weighs under 0.1%: dropping it there moves nothing visible
            "response_horizon_half_lives": self.response_horizon_half_lives >= 10,
            # > 0: one answer must never give an extreme, and no data must never divide by zero
            "satisfaction_prior_strength": self.satisfaction_prior_strength > 0,
            "loyalty_prior_strength": self.loyalty_prior_strength > 0,
            "gap_met_points": 0 <= self.gap_met_points <= self.gap_well_below_points,
            "gap_well_below_points": self.gap_met_points <= self.gap_well_below_points <= 6,
            "weakest_cap": self.weakest_cap >= 0,
            "beta_two_sided": 0 <= self.beta_two_sided <= 1,
            "alpha_down": 0 <= self.alpha_down <= 1,
            "alpha_up": 0 <= self.alpha_up <= 1,
            "volume_window_days": self.volume_window_days > 0,
            "volume_recent_days": 0 < self.volume_recent_days <= self.volume_window_days,
            "volume_trend_min_shipments": self.volume_trend_min_shipments >= 1,
            "horizon_days": self.horizon_days > 0,
            "churn_inactive_days": self.churn_inactive_days > 0,
            "min_churn_events": self.min_churn_events >= 1,
            "prior_base_rate": 0 < self.prior_base_rate < 1,
            "rate_prior_strength": self.rate_prior_strength > 0,
            "min_tenure_days": self.min_tenure_days >= 0,
            "contagion_window_days": self.contagion_window_days > 0,
            "model_origins": self.model_origins >= 1,
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
        # every number finite: an infinite weight or a NaN bias would make every risk NaN
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                checks[f.name] = False
        return checks

    def response_horizon_days(self) -> float:
        """Return the age in days beyond which a survey response weighs nothing."""
        return self.response_horizon_half_lives * self.half_life_days

    def cadence_days(self, tier: str) -> int:
        """Return the expected contact cadence of a tier."""
        if tier not in TIERS:
            raise ValueError(f"unknown tier {tier!r}")
        return getattr(self, f"cadence_{tier}_days")


def describe_params() -> list[tuple[str, str, Any, str]]:
    """List (field, environment key, default, description) for every parameter."""
    return ScoringParams.describe()
