"""A generated world: every account, lane and record, and the latent history behind them.

Days are integers counted from the first simulated day (`day 0`, the start of the burn-in); the
exported history covers days `first_day` … `last_day` (today). Timestamps are float days. NEVER marks
an event that did not happen.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from tests.worlds.config import WorldConfig

NEVER = 2**30  # a day no event reaches; fits int32 so the oracle's arrays stay small

OWN, CONTAGION = 1, 2  # causes of a decision to leave


@dataclass
class Accounts:
    ref: list[str]
    name: list[str]
    registration: list[str]
    industry: list[str]
    region: list[str]
    city: list[str]
    tier: list[str]
    channel: list[str]
    referred_by: np.ndarray  # account index or -1
    acquired: np.ndarray  # day acquired (may be before day 0)
    born: np.ndarray  # day the account enters the simulation
    is_shipper: np.ndarray
    is_consignee: np.ndarray
    baseline_hazard: np.ndarray  # per day, the static part of the spontaneous hazard
    fade: np.ndarray  # days between deciding to leave and churning
    contract_start: np.ndarray  # shippers: start day of the first contract in the simulation
    contract_term: np.ndarray  # shippers: contract length in days (0: no contract)
    on_time_target: np.ndarray
    annual_value: np.ndarray
    decided: np.ndarray  # day the account decided to leave, or NEVER
    churned: np.ndarray  # day it churned (status churned), or NEVER
    cause: np.ndarray  # OWN, CONTAGION or 0
    source: np.ndarray  # for CONTAGION: the partner whose churn triggered it, else -1

    def __len__(self) -> int:
        return len(self.ref)


@dataclass
class Lanes:
    ref: list[str]
    shipper: np.ndarray
    consignee: np.ndarray
    start: np.ndarray  # day created (and first day of service)
    end: np.ndarray  # day it ended (an end churned), or NEVER
    base_rate: np.ndarray  # shipments a month before latent multipliers
    service_type: list[str]
    transit_days: np.ndarray
    revenue: np.ndarray  # median revenue of a shipment
    cost_ratio: np.ndarray
    rhythm: np.ndarray  # gamma shape of the gaps between shipments (1: Poisson, 4: regular)
    late_bias: np.ndarray
    dependency_down: np.ndarray  # the consignee's dependency share on the shipper
    dependency_up: np.ndarray  # the shipper's dependency share on the consignee
    effective_down: np.ndarray  # first day the shipper's churn can spread to the consignee
    effective_up: np.ndarray  # first day the consignee's churn can spread to the shipper

    def __len__(self) -> int:
        return len(self.ref)


@dataclass
class Chains:
    """The latent factor chains: one per department (satisfaction) and one per account and factor."""

    account: np.ndarray
    kind: np.ndarray  # index into FACTORS
    department: np.ndarray  # department index for satisfaction chains, else -1
    move_rate: np.ndarray  # a of the Ehrenfest chain
    hazard_rate: np.ndarray  # per day, average contribution to the spontaneous hazard
    window_rate: np.ndarray  # per day, extra average contribution inside the contract window
    levels: np.ndarray  # (chains, days) int8 level on each day


@dataclass
class Departments:
    account: np.ndarray
    name: list[str]
    weight: np.ndarray
    deciding: np.ndarray
    chain: np.ndarray
    contacts: list[list[str]]  # contact refs of each department


@dataclass
class Shipments:
    lane: np.ndarray
    shipped: np.ndarray  # float days
    promised: np.ndarray
    delivered: np.ndarray  # NaN while in transit at the end of the history
    in_full: np.ndarray
    damaged: np.ndarray
    claim: np.ndarray
    revenue: np.ndarray
    cost: np.ndarray

    def __len__(self) -> int:
        return len(self.lane)


@dataclass(eq=False)  # compared and hashed by identity (results are cached per world)
class World:
    config: WorldConfig
    base_date: dt.date  # the date of day 0
    accounts: Accounts
    departments: Departments
    contacts: list[dict]  # ref, account, department, name, role, email, phone
    chains: Chains
    lanes: Lanes
    shipments: Shipments
    surveys: list[dict]  # account, department, contact, day, channel, ltr, comment, scores {dim: (e, p, w)}
    interactions: list[dict]  # account, department, day, kind, summary, follow_up (day or None)
    tickets: list[dict]  # account, lane, kind, severity, subject, opened, first_response, resolved, claim
    opportunities: list[dict]  # renewals: account, title, value, stage, probability, created, close
    seconds: float = 0.0  # how long generating took
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def first_day(self) -> int:
        return self.config.burn_in_days

    @property
    def last_day(self) -> int:
        return self.config.burn_in_days + self.config.span_days

    def day(self, date: dt.date) -> int:
        return (date - self.base_date).days

    def date(self, day: int) -> dt.date:
        return self.base_date + dt.timedelta(days=int(day))

    def timestamp(self, day: float) -> dt.datetime:
        return dt.datetime.combine(self.base_date, dt.time(), dt.UTC) + dt.timedelta(days=float(day))

    def exported(self) -> np.ndarray:
        """Whether each account is in the exported history (present on some day of it)."""
        a = self.accounts
        return (a.born <= self.last_day) & (a.churned >= self.first_day)

    @cached_property
    def lanes_of(self) -> list[list[int]]:
        """Lane indices of each account (either end)."""
        result: list[list[int]] = [[] for _ in range(len(self.accounts))]
        for lane, (s, c) in enumerate(zip(self.lanes.shipper, self.lanes.consignee, strict=True)):
            result[s].append(lane)
            result[c].append(lane)
        return result
