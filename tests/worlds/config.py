"""Parameters of a synthetic world: its size, span, true churn drivers and contagion couplings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Drivers:
    """The true driver weights: each latent factor's share of the average spontaneous churn hazard.

    The shares need not sum to 1; they are normalised. `sharpness` is how strongly a factor's level
    moves its hazard: hazard ∝ exp(-sharpness · level), so 0 makes a factor carry no information.
    """

    baseline: float = 0.15  # static frailty: industry, tier, acquisition channel and an unobserved part
    satisfaction: float = 0.30  # deciding departments' satisfaction (surveys, likelihood to recommend)
    service: float = 0.20  # service experienced (on time, in full, damage, claims, complaints)
    relationship: float = 0.10  # relationship strength (visits and calls)
    business: float = 0.15  # the customer's own business (shipment volume)
    contract: float = 0.10  # shippers: contract ending, weighed by the relationship (renewals)
    sharpness: float = 1.8

    def shares(self) -> dict[str, float]:
        raw = {name: getattr(self, name) for name in (*FACTORS, "baseline", "contract")}
        if min(raw.values()) < 0 or sum(raw.values()) <= 0:
            raise ValueError(f"driver shares must be ≥ 0 and not all 0: {raw}")
        total = sum(raw.values())
        return {name: value / total for name, value in raw.items()}


FACTORS = ("satisfaction", "service", "relationship", "business")  # the latent factors, in chain-kind order

DRIVERS = {
    "balanced": Drivers(),
    # Surveys carry the information; behaviour and service are weak.
    "satisfaction": Drivers(
        baseline=0.2, satisfaction=0.6, service=0.05, relationship=0.05, business=0.05, contract=0.05
    ),
    # Operations carry it: on-time, damage, complaints.
    "service": Drivers(
        baseline=0.2, satisfaction=0.05, service=0.6, relationship=0.05, business=0.05, contract=0.05
    ),
    # Behaviour carries it: volume and contact; surveys are noise.
    "behaviour": Drivers(
        baseline=0.2, satisfaction=0.0, service=0.05, relationship=0.25, business=0.4, contract=0.1
    ),
}


@dataclass(frozen=True)
class Signals:
    """How strongly each latent factor shows in the records it drives, per unit of its level: larger
    loadings make a world easier to read; 0 hides a factor from its records."""

    volume: float = 0.5  # log shipment rate per business level, at each end of a lane
    late: float = 1.2  # logit of a late delivery per service level, at each end of a lane
    damage: float = 0.6  # logit of damage per service level, at each end
    complaints: float = 1.2  # log complaint rate per service level
    survey: float = 1.2  # scale points of perception − expectation per satisfaction level
    survey_noise: float = 0.5  # scale points of noise on each answer
    silence: float = 0.3  # logit of answering a survey per satisfaction level (unhappy go quiet)
    recommend: float = 1.5  # likelihood-to-recommend points per satisfaction level
    contact: float = 1.0  # log rate of visits and calls per relationship level


@dataclass(frozen=True)
class Contagion:
    """Independent-cascade couplings along lanes: when an account churns, each partner that depends on
    it decides to leave with probability coupling × dependency share within `window_days`."""

    down: float = 0.0  # a shipper's churn → its consignees
    up: float = 0.0  # a consignee's churn → its shippers
    window_days: int = 90

    def __post_init__(self):
        if not (0 <= self.down <= 1 and 0 <= self.up <= 1) or self.window_days < 1:
            raise ValueError(f"couplings must be in [0, 1] and the window ≥ 1 day: {self}")


CONTAGION = {
    "none": Contagion(),
    "weak": Contagion(down=0.2, up=0.15),
    "strong": Contagion(down=0.6, up=0.5),  # DESIGN §4.7's default couplings
}


@dataclass(frozen=True)
class WorldConfig:
    """Everything that shapes a world; the same config always gives the same world."""

    seed: int = 0
    accounts: int = 1000  # accounts at the start of the history; arrivals keep the population near it
    today: dt.date = dt.date(2026, 6, 30)  # the last day of the history
    years: float = 3.0  # span of the exported history, ending at `today`
    burn_in_days: int = 240  # simulated before the history starts (so it starts in a steady state)
    shipper_share: float = 0.33  # of accounts: shippers only
    distributor_share: float = 0.03  # of accounts: both roles; the rest are consignees
    arrivals_per_year: float | None = None  # new accounts a year as a share of `accounts`; None: ≈ churn
    annual_hazard: float = 0.32  # average spontaneous decisions to leave per account-year
    frailty_sd: float = 0.3  # log-sd of the unobserved part of the static frailty (baseline hazard)
    drivers: Drivers = field(default_factory=Drivers)
    signals: Signals = field(default_factory=Signals)
    contagion: Contagion = field(default_factory=Contagion)
    half_life_days: tuple[int, int, int, int] = (365, 300, 365, 450)  # of each factor in FACTORS
    contract_window_days: int = 90  # before a shipper's contract end, when the contract hazard acts
    dependency_maturity_days: int = 365  # a pre-existing account depends on a new partner only after this
    fade_days: tuple[int, int] = (21, 75)  # range of the wind-down between deciding and churning
    fade_start: float = 0.5  # share of its volume a leaving account ships from the day it decides …
    fade_floor: float = 0.25  # … falling to this share on its last day
    churn_gap_days: int = 90  # the churn definition: a shipper with no shipment for this many days
    lane_shipments_per_month: float = 5.0  # median base rate of a lane
    shipper_min_shipments_per_month: float = 12.0  # floor of a shipper's base outbound rate

    def __post_init__(self):
        if self.accounts < 20:
            raise ValueError("a world needs at least 20 accounts")
        if not 0 < self.fade_days[0] <= self.fade_days[1] < self.churn_gap_days:
            raise ValueError("fade days must be positive and shorter than the churn gap")

    @property
    def span_days(self) -> int:
        return round(self.years * 365.25)

    @property
    def start(self) -> dt.date:
        """The first day of the exported history."""
        return self.today - dt.timedelta(days=self.span_days)


def world_config(*, contagion: str = "none", drivers: str = "balanced", **overrides) -> WorldConfig:
    """A config from the named presets (CONTAGION, DRIVERS) and any field overrides."""
    return replace(WorldConfig(), contagion=CONTAGION[contagion], drivers=DRIVERS[drivers], **overrides)
