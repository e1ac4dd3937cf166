"""Simulate a world day by day: latent chains, decisions to leave, churn and its cascade, arrivals;
then draw the observable records (shipments, surveys, tickets, interactions) from the latent history.

See the package docstring (tests/worlds/__init__.py) for the model.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections import defaultdict

import numpy as np

from tests.worlds import latent, names
from tests.worlds.config import FACTORS, WorldConfig
from tests.worlds.world import (
    CONTAGION,
    NEVER,
    OWN,
    Accounts,
    Chains,
    Departments,
    Lanes,
    Shipments,
    World,
)

SATISFACTION, SERVICE, RELATIONSHIP, BUSINESS = range(len(FACTORS))
SHIPPER, CONSIGNEE, DISTRIBUTOR = range(3)

# Departments each role may have: (name, decision weight, probability it is a decision maker).
# The first is always present and always decides.
DEPARTMENTS = {
    SHIPPER: [("logistics", 3.0, 1.0), ("procurement", 2.0, 1.0), ("finance", 1.0, 0.3), ("sales", 1.0, 0.0),
              ("quality", 1.0, 0.0), ("customer service", 1.0, 0.0)],
    CONSIGNEE: [("warehouse", 3.0, 1.0), ("procurement", 2.0, 1.0), ("finance", 1.0, 0.3),
                ("quality", 1.0, 0.0), ("store operations", 1.0, 0.0)],
    DISTRIBUTOR: [("logistics", 3.0, 1.0), ("warehouse", 2.0, 1.0), ("procurement", 2.0, 1.0),
                  ("finance", 1.0, 0.3), ("sales", 1.0, 0.0)],
}  # fmt: skip
DIMENSIONS = ("timeliness", "reliability", "responsiveness", "attitude", "competence", "capacity", "handover",
              "improvement")  # fmt: skip
OPERATIONAL = {"timeliness", "reliability", "handover"}  # dimensions that also reflect the service factor
SERVICE_TYPES = (("ftl", 0.5, (1, 2)), ("ltl", 0.3, (2, 3)), ("parcel", 0.08, (1, 2)), ("rail", 0.05, (8, 14)),
                 ("air", 0.04, (1, 3)), ("ocean", 0.03, (20, 35)))  # fmt: skip
TIERS = ((1.645, "vip"), (0.674, "key"), (-math.inf, "standard"))  # size z-score thresholds
SURVEY_CADENCE = {"vip": 61, "key": 121, "standard": 243}  # days between survey invitations
CONTACTS_PER_MONTH = {"vip": 2.0, "key": 1.0, "standard": 0.4}
CHANNELS = (("referral", 0.25), ("relationship", 0.25), ("exhibition", 0.15), ("web", 0.15),
            ("directory", 0.1), ("advertising", 0.05), ("other", 0.05))  # fmt: skip
# Log-frailty (the static baseline hazard) by tier and acquisition channel; industries get random ones.
TIER_FRAILTY = {"vip": -0.4, "key": -0.15, "standard": 0.1}
CHANNEL_FRAILTY = {"referral": -0.3, "relationship": -0.15, "exhibition": 0.0, "web": 0.25, "directory": 0.2,
                   "advertising": 0.3, "other": 0.1}  # fmt: skip
MONTH = 30.44
MIN_ACTIVITY = 0.35  # floor of the product of a lane's two business multipliers


def generate(config: WorldConfig) -> World:
    """Generate the world of `config` (deterministic in config.seed)."""
    started = time.perf_counter()
    world = _Simulation(config).run()
    world.seconds = time.perf_counter() - started
    return world


class _Simulation:
    def __init__(self, config: WorldConfig):
        self.config = config
        self.rng = np.random.default_rng(config.seed)
        self.days = config.burn_in_days + config.span_days + 1
        self.base_date = config.today - dt.timedelta(days=self.days - 1)
        self.shares = config.drivers.shares()
        self.phi = latent.phi(config.drivers.sharpness)
        self.daily = config.annual_hazard / 365.25
        industries = names.INDUSTRIES
        effects = np.random.default_rng([config.seed, 1]).normal(0, 0.3, len(industries))
        self.industry_effect = dict(zip(industries, effects - np.log(np.mean(np.exp(effects))), strict=True))

    # ---------------------------------------------------------------------------------- accounts

    def run(self) -> World:
        self._plan_accounts()
        self._plan_chains()
        self._initial_network()
        self._simulate()
        return self._observe()

    def _plan_accounts(self) -> None:
        config, rng = self.config, self.rng
        role_p = [
            config.shipper_share,
            1 - config.shipper_share - config.distributor_share,
            config.distributor_share,
        ]
        roles = list(rng.choice(3, size=config.accounts, p=role_p))
        born = [0] * config.accounts
        # Arrivals come in packages: a new shipper with some new consignees of its own, a new consignee,
        # or a new distributor. Rate: about the churn the world will see, so the population stays level.
        per_year = config.arrivals_per_year
        if per_year is None:
            per_year = 0.75 * config.annual_hazard * (1 + 0.6 * (config.contagion.down + config.contagion.up))
        new_consignees_p = 0.4
        per_package = 1 + role_p[0] * 3 * new_consignees_p
        packages = rng.poisson(per_year * config.accounts / 365.25 / per_package * (self.days - 1))
        self.packages: dict[int, list[list[int]]] = defaultdict(list)
        for day in np.sort(rng.integers(1, self.days, size=packages)):
            kind = int(rng.choice(3, p=role_p))
            members = [len(roles)]
            roles.append(kind)
            if kind == SHIPPER:
                for _ in range(rng.binomial(3, new_consignees_p)):
                    members.append(len(roles))
                    roles.append(CONSIGNEE)
            born += [int(day)] * len(members)
            self.packages[int(day)].append(members)
        self.roles = np.array(roles)
        self.n = n = len(roles)
        self.born = np.array(born)
        self.is_shipper = self.roles != CONSIGNEE
        self.is_consignee = self.roles != SHIPPER

        self.size_z = rng.normal(size=n)
        self.tier = [next(name for threshold, name in TIERS if z >= threshold) for z in self.size_z]
        self.industry = list(rng.choice(names.INDUSTRIES, size=n))
        self.region = list(rng.choice(list(names.REGIONS), size=n))
        channels, weights = zip(*CHANNELS, strict=True)
        self.channel = list(rng.choice(channels, size=n, p=weights))
        # Static frailty: mostly what the customer record shows (industry, tier, how it was won).
        frailty = np.exp(
            np.array([self.industry_effect[name] for name in self.industry])
            + np.array([TIER_FRAILTY[tier] for tier in self.tier])
            + np.array([CHANNEL_FRAILTY[channel] for channel in self.channel])
            + rng.normal(0, config.frailty_sd, size=n)
        )
        self.baseline = self.daily * self.shares["baseline"] * frailty / frailty.mean()
        self.fade = rng.integers(config.fade_days[0], config.fade_days[1] + 1, size=n)
        term = rng.choice([365, 730, 1095], p=[0.4, 0.4, 0.2], size=n) * self.is_shipper
        # Initial shippers are somewhere in their current contract; arrivals start one on arrival.
        self.contract_start = np.where(self.born == 0, -(rng.random(n) * term).astype(int), self.born)
        self.term = term
        self.acquired = np.where(
            self.born == 0, np.minimum(self.contract_start, 0) - rng.integers(0, 6 * 365, size=n), self.born
        )
        self.decided = np.full(n, NEVER)
        self.churned = np.full(n, NEVER)
        self.cause = np.zeros(n, dtype=np.int8)
        self.source = np.full(n, -1)
        self.trigger = np.full(n, NEVER)
        self.trigger_source = np.full(n, -1)
        self.referred_by = np.full(n, -1)

    def _plan_chains(self) -> None:
        """Departments (each with a satisfaction chain) and the per-account factor chains."""
        config, rng = self.config, self.rng
        departments = {"account": [], "name": [], "weight": [], "deciding": []}
        chains = {"account": [], "kind": [], "department": [], "hazard": [], "window": []}
        satisfaction = self.daily * self.shares["satisfaction"]
        for account in range(self.n):
            pool = DEPARTMENTS[int(self.roles[account])]
            count = min(len(pool), 2 + rng.binomial(3, 0.4))
            chosen = [
                pool[0],
                *(pool[i] for i in sorted(rng.choice(np.arange(1, len(pool)), count - 1, False))),
            ]
            deciding = [rng.random() < p for _, _, p in chosen]
            weights = [w for (_, w, _), d in zip(chosen, deciding, strict=True) if d]
            for (name, weight, _), decides in zip(chosen, deciding, strict=True):
                chains["account"].append(account)
                chains["kind"].append(SATISFACTION)
                chains["department"].append(len(departments["name"]))
                chains["hazard"].append(satisfaction * weight / sum(weights) if decides else 0.0)
                chains["window"].append(0.0)
                departments["account"].append(account)
                departments["name"].append(name)
                departments["weight"].append(weight)
                departments["deciding"].append(decides)
            for kind in (SERVICE, RELATIONSHIP, BUSINESS):
                chains["account"].append(account)
                chains["kind"].append(kind)
                chains["department"].append(-1)
                chains["hazard"].append(self.daily * self.shares[FACTORS[kind]])
                # A shipper's contract hazard acts before each contract end, weighed by the relationship;
                # scaled so that over a whole term it averages its share of the hazard.
                window = 0.0
                if kind == RELATIONSHIP and self.term[account]:
                    window = (
                        self.daily
                        * self.shares["contract"]
                        * self.term[account]
                        / config.contract_window_days
                    )
                chains["window"].append(window)
        self.departments = {
            key: np.array(value) if key != "name" else value for key, value in departments.items()
        }
        kind = np.array(chains["kind"])
        move = np.array([latent.step_probability(days) for days in config.half_life_days])
        self.chains = Chains(
            account=np.array(chains["account"]),
            kind=kind,
            department=np.array(chains["department"]),
            move_rate=move[kind],
            hazard_rate=np.array(chains["hazard"]),
            window_rate=np.array(chains["window"]),
            levels=np.zeros((len(kind), self.days), dtype=np.int8),
        )
        self.factor_chain = np.zeros((len(FACTORS), self.n), dtype=int)
        for factor in (SERVICE, RELATIONSHIP, BUSINESS):
            members = np.flatnonzero(kind == factor)
            self.factor_chain[factor, self.chains.account[members]] = members

    # ---------------------------------------------------------------------------------- network

    def _initial_network(self) -> None:
        rng = self.rng
        self.lanes: dict[str, list] = defaultdict(list)
        self.active: list[set[int]] = [set() for _ in range(self.n)]  # active lanes of each account
        self.pairs: set[tuple[int, int]] = set()
        initial = self.born == 0
        shippers = np.flatnonzero(initial & (self.roles == SHIPPER))
        distributors = np.flatnonzero(initial & (self.roles == DISTRIBUTOR))
        consignees = np.flatnonzero(initial & (self.roles == CONSIGNEE))
        popularity = np.exp(0.8 * rng.normal(size=self.n))  # some consignees receive from many shippers
        planned = []
        senders = np.concatenate([shippers, distributors])
        for consignee in consignees:  # every consignee has at least one shipper
            planned.append((int(rng.choice(senders)), int(consignee)))
        for distributor in distributors:
            for shipper in rng.choice(
                shippers, size=min(len(shippers), 1 + rng.binomial(2, 0.4)), replace=False
            ):
                planned.append((int(shipper), int(distributor)))
        for shipper in senders:
            extra = rng.poisson(1.6 if self.roles[shipper] == SHIPPER else 2.5)
            if extra:
                p = popularity[consignees] / popularity[consignees].sum()
                for consignee in rng.choice(consignees, size=min(extra, len(consignees)), replace=False, p=p):
                    planned.append((int(shipper), int(consignee)))
        for shipper, consignee in planned:
            if (shipper, consignee) not in self.pairs:
                self._add_lane(shipper, consignee, 0, mature=True)
        for shipper in senders:
            if not any(self.lanes["shipper"][lane] == shipper for lane in self.active[shipper]):
                # A shipper (or distributor) nobody was assigned to gets one consignee.
                self._add_lane(int(shipper), int(rng.choice(consignees)), 0, mature=True)
            self._ensure_floor(int(shipper))
        # Dependency shares of the initial network: each lane's share of the dependent's base volume.
        lanes = self.lanes
        rate = np.array(lanes["base_rate"])
        outbound = np.bincount(lanes["shipper"], weights=rate, minlength=self.n)
        inbound = np.bincount(lanes["consignee"], weights=rate, minlength=self.n)
        lanes["dependency_down"] = list(rate / inbound[lanes["consignee"]])
        lanes["dependency_up"] = list(rate / outbound[lanes["shipper"]])

    def _add_lane(
        self,
        shipper: int,
        consignee: int,
        day: int,
        *,
        mature: bool = False,
        founding: tuple[int, ...] = (),
        minimum_rate: float = 0.0,
    ) -> int:
        """A new lane; its dependency shares are its share of each end's base volume today.

        A pre-existing end depends on the new partner only after the maturity delay; an account
        arriving with the lane (`founding`) depends on it at once; the initial network is mature.
        """
        rng, lanes = self.rng, self.lanes
        lane = len(lanes["shipper"])
        # Bigger shippers (higher tiers) run busier lanes.
        spread = 0.4 * self.size_z[shipper] + 0.6 * rng.normal()
        rate = max(float(self.config.lane_shipments_per_month * math.exp(spread)), minimum_rate)
        outbound = sum(
            lanes["base_rate"][other] for other in self.active[shipper] if lanes["shipper"][other] == shipper
        )
        inbound = sum(
            lanes["base_rate"][other]
            for other in self.active[consignee]
            if lanes["consignee"][other] == consignee
        )
        maturity = self.config.dependency_maturity_days
        types, weights, transits = zip(*SERVICE_TYPES, strict=True)
        kind = int(rng.choice(len(types), p=weights))
        lanes["shipper"].append(shipper)
        lanes["consignee"].append(consignee)
        lanes["start"].append(day)
        lanes["end"].append(NEVER)
        lanes["base_rate"].append(rate)
        lanes["service_type"].append(types[kind])
        lanes["transit_days"].append(int(rng.integers(transits[kind][0], transits[kind][1] + 1)))
        lanes["revenue"].append(float(np.round(900 * math.exp(0.5 * rng.normal()), 2)))
        lanes["cost_ratio"].append(float(rng.uniform(0.72, 0.95)))
        lanes["rhythm"].append(float(rng.choice([1.0, 2.0, 4.0])))
        lanes["late_bias"].append(float(rng.normal(0, 0.3)))
        lanes["dependency_down"].append(rate / (inbound + rate))
        lanes["dependency_up"].append(rate / (outbound + rate))
        lanes["effective_down"].append(-NEVER if mature or consignee in founding else day + maturity)
        lanes["effective_up"].append(-NEVER if mature or shipper in founding else day + maturity)
        self.active[shipper].add(lane)
        self.active[consignee].add(lane)
        self.pairs.add((shipper, consignee))
        return lane

    def _ensure_floor(self, shipper: int) -> None:
        """Scale a shipper's lanes up to the floor of its outbound rate, so a living shipper never goes
        quiet for the churn gap by chance (the churn definition would read that as churn)."""
        lanes = self.lanes["base_rate"]
        outbound = [lane for lane in self.active[shipper] if self.lanes["shipper"][lane] == shipper]
        total = sum(lanes[lane] for lane in outbound)
        floor = self.config.shipper_min_shipments_per_month
        if 0 < total < floor:
            for lane in outbound:
                lanes[lane] *= floor / total

    def _partner(self, role_shipper: bool, day: int, exclude: int) -> int | None:
        """A random active account of the role (a shipper or a consignee) to link to."""
        alive = (self.born <= day) & (self.churned > day) & (self.decided > day)
        candidates = np.flatnonzero(alive & (self.is_shipper if role_shipper else self.is_consignee))
        candidates = candidates[candidates != exclude]
        if not len(candidates):
            return None
        weights = np.exp(0.5 * self.size_z[candidates])
        return int(self.rng.choice(candidates, p=weights / weights.sum()))

    # ---------------------------------------------------------------------------------- simulation

    def _simulate(self) -> None:
        config, rng, chains = self.config, self.rng, self.chains
        levels = latent.stationary_levels(rng, len(chains.kind))
        chains.levels[:, 0] = levels
        window_chains = np.flatnonzero(chains.window_rate > 0)
        window_accounts = chains.account[window_chains]
        contract_end = self.contract_start + self.term
        churn_on: dict[int, list[int]] = defaultdict(list)
        for day in range(self.days):
            if day:
                levels = latent.step(rng, levels, chains.move_rate)
                chains.levels[:, day] = levels
            hazard_chain = chains.hazard_rate * self.phi[levels]
            in_window = (contract_end[window_accounts] - day) % self.term[
                window_accounts
            ] < config.contract_window_days
            hazard_chain[window_chains] += (
                in_window * chains.window_rate[window_chains] * self.phi[levels[window_chains]]
            )
            hazard = self.baseline + np.bincount(chains.account, weights=hazard_chain, minlength=self.n)
            candidates = (self.born <= day) & (self.decided == NEVER)
            own = rng.random(self.n) < -np.expm1(-hazard)
            triggered = self.trigger == day
            for account in np.flatnonzero(candidates & (own | triggered)):
                self.decided[account] = day
                self.churned[account] = day + self.fade[account]
                churn_on[day + int(self.fade[account])].append(int(account))
                if triggered[account]:
                    self.cause[account], self.source[account] = CONTAGION, self.trigger_source[account]
                else:
                    self.cause[account] = OWN
            for account in churn_on.pop(day, []):
                self._churn(account, day)
            for members in self.packages.get(day, []):
                self._arrive(members, day)

    def _churn(self, account: int, day: int) -> None:
        """End the account's lanes; each dependent partner may be triggered; orphans get a new lane."""
        lanes, contagion = self.lanes, self.config.contagion
        partners = []
        for lane in sorted(self.active[account]):
            shipper, consignee = lanes["shipper"][lane], lanes["consignee"][lane]
            downstream = shipper == account
            partner = consignee if downstream else shipper
            lanes["end"][lane] = day
            self.active[partner].discard(lane)
            partners.append(partner)
            coupling = contagion.down if downstream else contagion.up
            share = lanes["dependency_down" if downstream else "dependency_up"][lane]
            effective = lanes["effective_down" if downstream else "effective_up"][lane]
            probability = min(coupling * share, 0.999)
            if probability <= 0 or effective > day or self.decided[partner] != NEVER:
                continue
            # Constant hazard over the window with total probability `probability` of firing.
            delay = self.rng.exponential(contagion.window_days / -math.log1p(-probability))
            if delay <= contagion.window_days:
                trigger = day + max(1, math.ceil(delay))
                if trigger < self.trigger[partner]:
                    self.trigger[partner], self.trigger_source[partner] = trigger, account
        self.active[account] = set()
        floor = self.config.shipper_min_shipments_per_month
        for partner in partners:
            if self.decided[partner] != NEVER:
                continue
            if self.is_shipper[partner]:
                # A shipper whose outbound falls below the floor wins a consignee that makes up for it
                # (both pre-existing: the dependency in each direction matures later).
                outbound = [lane for lane in self.active[partner] if lanes["shipper"][lane] == partner]
                shortfall = floor - sum(lanes["base_rate"][lane] for lane in outbound)
                other = self._partner(False, day, partner) if shortfall > 0 else None
                if other is not None and (partner, other) not in self.pairs:
                    self._add_lane(partner, other, day, minimum_rate=shortfall)
            elif not any(lanes["consignee"][lane] == partner for lane in self.active[partner]):
                # A consignee left with no shipper is served for a new one at once.
                other = self._partner(True, day, partner)
                if other is not None and (other, partner) not in self.pairs:
                    self._add_lane(other, partner, day)

    def _arrive(self, members: list[int], day: int) -> None:
        rng = self.rng
        head = members[0]
        role = self.roles[head]
        founding = tuple(members)
        if role == SHIPPER:
            for consignee in members[1:]:
                self._add_lane(head, consignee, day, founding=founding)
            for _ in range(rng.binomial(3, 0.5) if len(members) > 1 else 1 + rng.binomial(2, 0.5)):
                other = self._partner(False, day, head)
                if other is not None and (head, other) not in self.pairs:
                    self._add_lane(head, other, day, founding=founding)
            self._ensure_floor(head)
        if role in (CONSIGNEE, DISTRIBUTOR):
            for _ in range(1 + rng.binomial(1, 0.3)):
                other = self._partner(True, day, head)
                if other is not None and (other, head) not in self.pairs:
                    self._add_lane(other, head, day, founding=founding)
        if role == DISTRIBUTOR:
            for _ in range(1 + rng.binomial(3, 0.5)):
                other = self._partner(False, day, head)
                if other is not None and (head, other) not in self.pairs:
                    self._add_lane(head, other, day, founding=founding)
            self._ensure_floor(head)
        for account in members:
            if self.channel[account] == "referral":
                referrer = self._partner(bool(rng.random() < 0.5), day, account)
                self.referred_by[account] = -1 if referrer is None else referrer

    # ---------------------------------------------------------------------------------- observation

    def _observe(self) -> World:
        rng = self.rng
        for account in np.flatnonzero((self.born == 0) & (np.array(self.channel) == "referral")):
            others = np.flatnonzero(self.born == 0)
            self.referred_by[account] = int(rng.choice(others[others != account]))
        lanes = Lanes(
            ref=[f"LNK-{i + 1:06d}" for i in range(len(self.lanes["shipper"]))],
            **{
                key: (np.array(value) if key != "service_type" else value)
                for key, value in self.lanes.items()
            },
        )
        departments = Departments(
            account=self.departments["account"],
            name=self.departments["name"],
            weight=self.departments["weight"],
            deciding=self.departments["deciding"],
            chain=np.flatnonzero(self.chains.kind == SATISFACTION),
            contacts=[[] for _ in self.departments["name"]],
        )
        accounts = self._accounts(lanes)
        world = World(
            config=self.config,
            base_date=self.base_date,
            accounts=accounts,
            departments=departments,
            contacts=[],
            chains=self.chains,
            lanes=lanes,
            shipments=self._shipments(lanes),
            surveys=[],
            interactions=[],
            tickets=[],
            opportunities=[],
        )
        _Records(world, rng, self).draw()
        return world

    def _accounts(self, lanes: Lanes) -> Accounts:
        rng, n = self.rng, self.n
        prefix = np.where(self.roles == SHIPPER, "SHP", np.where(self.roles == CONSIGNEE, "CNS", "DST"))
        annual = np.bincount(lanes.shipper, weights=lanes.base_rate * lanes.revenue * 12, minlength=n)
        company = [names.company(rng, self.industry[i], self.region[i]) for i in range(n)]
        return Accounts(
            ref=[f"{prefix[i]}-{i + 1:05d}" for i in range(n)],
            name=company,
            registration=[f"REG-{self.config.seed % 1000:03d}-{i + 1:07d}" for i in range(n)],
            industry=self.industry,
            region=self.region,
            city=[str(rng.choice(names.REGIONS[region])) for region in self.region],
            tier=self.tier,
            channel=self.channel,
            referred_by=self.referred_by,
            acquired=self.acquired,
            born=self.born,
            is_shipper=self.is_shipper,
            is_consignee=self.is_consignee,
            baseline_hazard=self.baseline,
            fade=self.fade,
            contract_start=self.contract_start,
            contract_term=self.term,
            on_time_target=rng.choice([0.9, 0.92, 0.95, 0.97, 0.98], size=n) * self.is_shipper,
            annual_value=np.round(annual, -3),
            decided=self.decided,
            churned=self.churned,
            cause=self.cause,
            source=self.source,
        )

    def fade_factor(self, account: int, days: np.ndarray) -> np.ndarray:
        """Share of its volume an account keeps on each day: 1 until it decides, then at once
        fade_start, falling to fade_floor on its last day, 0 once churned."""
        decided, churned = self.decided[account], self.churned[account]
        if decided == NEVER:
            return np.ones(len(days))
        start, floor = self.config.fade_start, self.config.fade_floor
        progress = (days - decided) / max(churned - decided - 1, 1)
        return np.where(
            days < decided, 1.0, np.where(days < churned, start - (start - floor) * progress, 0.0)
        )

    def _shipments(self, lanes: Lanes) -> Shipments:
        """Each lane ships by a renewal process in operational time: gamma gaps (its rhythm) against
        the cumulated daily intensity (base rate × both ends' business × their fades × weekday and
        season)."""
        rng, chains = self.rng, self.chains
        days = np.arange(self.days)
        weekday = np.array([(self.base_date + dt.timedelta(days=int(d))).weekday() for d in days[:7]])
        week = np.where(weekday < 5, 1.2, np.where(weekday == 5, 0.35, 0.05))
        calendar = np.resize(week / week.mean(), self.days)
        day_of_year = np.array(
            [(self.base_date + dt.timedelta(days=int(d))).timetuple().tm_yday for d in days]
        )
        calendar *= 1 + 0.12 * np.sin(2 * np.pi * (day_of_year - 80) / 365.25)
        business = latent.multiplier(self.config.signals.volume)[
            chains.levels[self.factor_chain[BUSINESS]]
        ]  # (accounts, days)
        parts: dict[str, list[np.ndarray]] = defaultdict(list)
        for lane in range(len(lanes)):
            shipper, consignee = lanes.shipper[lane], lanes.consignee[lane]
            first, last = lanes.start[lane], min(lanes.end[lane], self.days)
            if last <= first:
                continue
            span = days[first:last]
            # Business moves volume, but never below a third of normal: a living shipper at the volume
            # floor must not fall silent for the churn gap by chance.
            activity = np.maximum(
                business[shipper, first:last] * business[consignee, first:last], MIN_ACTIVITY
            )
            intensity = (lanes.base_rate[lane] / MONTH * calendar[first:last] * activity
                         * self.fade_factor(shipper, span) * self.fade_factor(consignee, span))  # fmt: skip
            cumulative = np.cumsum(intensity)
            total = cumulative[-1]
            shape = lanes.rhythm[lane]
            count = int(total * 1.3 + 5 * math.sqrt(total + 1) + 5)
            gaps = rng.gamma(shape, 1 / shape, size=count)
            gaps[0] *= rng.random()
            events = np.cumsum(gaps)
            events = events[events < total]
            index = np.searchsorted(cumulative, events, side="right")
            before = np.where(index > 0, cumulative[np.maximum(index - 1, 0)], 0.0)
            fraction = (events - before) / intensity[index]
            parts["lane"].append(np.full(len(events), lane))
            parts["shipped"].append(first + index + 0.25 + 0.5 * fraction)  # between 06:00 and 18:00
        lane = np.concatenate(parts["lane"]) if parts["lane"] else np.zeros(0, dtype=int)
        shipped = np.concatenate(parts["shipped"]) if parts["shipped"] else np.zeros(0)
        order = np.lexsort((shipped, lane))
        lane, shipped = lane[order], shipped[order]
        day = shipped.astype(int)
        quality = latent.X[chains.levels[self.factor_chain[SERVICE]]]  # (accounts, days)
        q_shipper, q_consignee = quality[lanes.shipper[lane], day], quality[lanes.consignee[lane], day]
        q_ends = q_shipper + q_consignee
        late = rng.random(len(lane)) < _logistic(
            _logit(0.05) - self.config.signals.late * q_ends + lanes.late_bias[lane]
        )
        promised = np.floor(shipped) + lanes.transit_days[lane] + 0.7  # 16:48 on the promised day
        delivered = np.where(
            late,
            promised + rng.exponential(0.8, len(lane)) + 0.02,
            np.maximum(promised - rng.uniform(0, 0.4, len(lane)), shipped + 0.05),
        )
        delivered[delivered > self.days] = np.nan  # still in transit at the end of the history
        damaged = rng.random(len(lane)) < _logistic(_logit(0.01) - self.config.signals.damage * q_ends)
        revenue = np.round(lanes.revenue[lane] * np.exp(0.15 * rng.normal(size=len(lane))), 2)
        claim = np.where(
            damaged & (rng.random(len(lane)) < 0.6),
            np.round(revenue * rng.uniform(0.2, 1.5, len(lane)), 2),
            0.0,
        )
        return Shipments(
            lane=lane,
            shipped=shipped,
            promised=promised,
            delivered=delivered,
            in_full=rng.random(len(lane)) >= _logistic(_logit(0.025) - 0.5 * q_shipper),
            damaged=damaged,
            claim=claim,
            revenue=revenue,
            cost=np.round(revenue * lanes.cost_ratio[lane] * np.exp(0.05 * rng.normal(size=len(lane))), 2),
        )


class _Records:
    """Surveys, interactions, tickets, contacts and renewal opportunities drawn from the latent history."""

    def __init__(self, world: World, rng: np.random.Generator, simulation: _Simulation):
        self.world, self.rng, self.sim = world, rng, simulation
        self.days = simulation.days
        self.departments_of: dict[int, list[int]] = defaultdict(list)
        for index, account in enumerate(world.departments.account):
            self.departments_of[int(account)].append(index)

    def draw(self) -> None:
        self._contacts()
        self._surveys()
        self._interactions()
        self._tickets()
        self._renewals()

    def _active_days(self, account: int) -> tuple[int, int]:
        accounts = self.world.accounts
        return int(accounts.born[account]), int(min(accounts.churned[account], self.days))

    def _levels(self, factor: int) -> np.ndarray:
        """(accounts, days) unit-variance levels of a per-account factor."""
        return latent.X[self.world.chains.levels[self.sim.factor_chain[factor]]]

    def _contacts(self) -> None:
        world, rng = self.world, self.rng
        departments, accounts = world.departments, world.accounts
        repeat = 1 + (rng.random(len(departments.name)) < 0.3)
        owners = np.repeat(np.arange(len(departments.name)), repeat)
        regions = [accounts.region[departments.account[d]] for d in owners]
        people = names.people(rng, regions)
        phones = rng.integers([30, 10, 100000], [90, 99, 999999], size=(len(owners), 3))
        for serial, (department, person, phone) in enumerate(zip(owners, people, phones, strict=True)):
            ref = f"CT-{serial + 1:06d}"
            account = int(departments.account[department])
            world.contacts.append({
                "ref": ref, "account": account, "department": int(department), "name": person,
                "role": names.role(departments.name[department]),
                "email": names.email(person, accounts.ref[account], serial),
                "phone": "+{} {} {}".format(*phone),
            })  # fmt: skip
            departments.contacts[department].append(ref)

    def _surveys(self) -> None:
        """Each account invites all its departments at its tier's cadence; a department answers with a
        probability that falls with its satisfaction (unhappy departments go quiet)."""
        world, rng, signals = self.world, self.rng, self.sim.config.signals
        departments, chains, accounts = world.departments, world.chains, world.accounts
        count = len(departments.name)
        expectations = np.clip(rng.normal(5.5, 0.6, size=(count, len(DIMENSIONS))), 3, 7)
        importance = rng.integers(1, 4, size=(count, len(DIMENSIONS))).astype(float)
        bias = rng.normal(0, 0.4, size=(count, len(DIMENSIONS)))
        asked = np.zeros((len(accounts), len(DIMENSIONS)), dtype=bool)  # each account's questionnaire
        asked[:, :3] = True
        invitations = []  # (department, day)
        for account, members in self.departments_of.items():
            first, last = self._active_days(account)
            cadence = SURVEY_CADENCE[accounts.tier[account]]
            asked[account, rng.choice(np.arange(3, len(DIMENSIONS)), rng.integers(1, 4), replace=False)] = (
                True
            )
            for invited in range(first + int(rng.integers(0, cadence)), last, cadence):
                invitations += [(department, invited) for department in members]
        department, invited = np.array(invitations, dtype=int).reshape(-1, 2).T
        account = departments.account[department]
        day = invited + rng.integers(0, 15, size=len(department))
        last = np.minimum(accounts.churned[account], self.days)
        x = latent.X[chains.levels[departments.chain[department], np.minimum(day, self.days - 1)]]
        answers = (day < last) & (rng.random(len(department)) < _logistic(0.5 + signals.silence * x))
        department, account, day, x = department[answers], account[answers], day[answers], x[answers]
        q = self._levels(SERVICE)[account, day]
        shape = (len(department), len(DIMENSIONS))
        expected = np.clip(np.round(expectations[department] + rng.normal(0, 0.35, shape)), 1, 7)
        gap = signals.survey * x[:, None] + bias[department] + rng.normal(0, signals.survey_noise, shape)
        gap += 0.5 * q[:, None] * np.array([dim in OPERATIONAL for dim in DIMENSIONS])
        perceived = np.clip(np.round(expectations[department] + gap), 1, 7)
        ltr = np.clip(np.round(7 + signals.recommend * x + rng.normal(0, 1.2, len(x))), 0, 10).astype(int)
        moment = day + rng.uniform(0.3, 0.7, len(day))
        channel = rng.integers(0, len(names.SURVEY_CHANNELS), len(day))
        comments = names.survey_comments(rng, x)
        pick = rng.integers(0, 2, len(day))  # which of the department's contacts answered
        for i in np.argsort(moment, kind="stable"):
            dims = np.flatnonzero(asked[account[i]])
            contacts = departments.contacts[department[i]]
            world.surveys.append({
                "account": int(account[i]), "department": int(department[i]),
                "contact": contacts[pick[i] % len(contacts)], "day": float(moment[i]),
                "channel": names.SURVEY_CHANNELS[channel[i]], "ltr": int(ltr[i]), "comment": comments[i],
                "scores": {DIMENSIONS[d]: (float(expected[i, d]), float(perceived[i, d]), float(importance[department[i], d]))
                           for d in dims},
            })  # fmt: skip

    def _interactions(self) -> None:
        """Visits and calls at a rate set by the tier and the latent relationship."""
        world, rng = self.world, self.rng
        accounts, departments = world.accounts, world.departments
        relationship = world.chains.levels[self.sim.factor_chain[RELATIONSHIP]]
        contact = latent.multiplier(self.sim.config.signals.contact)
        drawn = []  # (account, department, day)
        for account, members in self.departments_of.items():
            first, last = self._active_days(account)
            if last <= first:
                continue
            rate = (
                CONTACTS_PER_MONTH[accounts.tier[account]]
                / MONTH
                * contact[relationship[account, first:last]]
            )
            days = first + np.repeat(np.arange(last - first), rng.poisson(rate))
            weights = np.where(departments.deciding[members], 3.0, 1.0)
            chosen = rng.choice(members, size=len(days), p=weights / weights.sum())
            drawn += zip([account] * len(days), chosen.tolist(), days.tolist(), strict=True)
        kinds, kind_p = zip(*names.INTERACTION_KINDS, strict=True)
        kind = rng.choice(len(kinds), size=len(drawn), p=kind_p)
        moment = rng.uniform(0.35, 0.7, len(drawn))
        follow = np.where(rng.random(len(drawn)) < 0.6, rng.integers(14, 91, len(drawn)), -1)
        summaries = names.interaction_summaries(rng, [kinds[k] for k in kind])
        for i, (account, department, day) in sorted(
            enumerate(drawn), key=lambda item: item[1][2] + moment[item[0]]
        ):
            world.interactions.append({
                "account": account, "department": department, "day": day + float(moment[i]), "kind": kinds[kind[i]],
                "summary": summaries[i], "follow_up": day + int(follow[i]) if follow[i] >= 0 else None,
            })  # fmt: skip

    def _tickets(self) -> None:
        """Complaints after late deliveries and from poor service, claims for damage, plain requests;
        answered and resolved slower where service is poor."""
        world, rng = self.world, self.rng
        accounts, lanes, shipments = world.accounts, world.lanes, world.shipments
        levels = world.chains.levels[self.sim.factor_chain[SERVICE]]
        quality, complaint = latent.X[levels], latent.multiplier(-self.sim.config.signals.complaints)
        late = np.flatnonzero(shipments.delivered > shipments.promised)
        late = late[rng.random(len(late)) < 0.06]
        by_consignee = rng.random(len(late)) < 0.6
        claims = np.flatnonzero(shipments.claim > 0)
        by_shipper = rng.random(len(claims)) < 0.7
        opened_claim = np.where(
            np.isnan(shipments.delivered[claims]), shipments.promised[claims], shipments.delivered[claims]
        )
        account = [
            np.where(
                by_consignee, lanes.consignee[shipments.lane[late]], lanes.shipper[shipments.lane[late]]
            ),
            np.where(
                by_shipper, lanes.shipper[shipments.lane[claims]], lanes.consignee[shipments.lane[claims]]
            ),
        ]
        lane = [shipments.lane[late], shipments.lane[claims]]
        kind = [np.full(len(late), "complaint"), np.full(len(claims), "claim")]
        opened = [
            shipments.delivered[late] + rng.uniform(0, 2, len(late)),
            opened_claim + rng.uniform(0, 5, len(claims)),
        ]
        claim = [np.zeros(len(late)), shipments.claim[claims]]
        for name, monthly in (("complaint", 0.15), ("request", 0.05)):
            for member in range(len(accounts)):
                first, last = self._active_days(member)
                if last <= first:
                    continue
                rate = np.full(last - first, monthly / MONTH)
                if name == "complaint":  # poor service raises complaints beyond the late deliveries
                    rate *= complaint[levels[member, first:last]]
                days = first + np.repeat(np.arange(last - first), rng.poisson(rate))
                own = np.array(world.lanes_of[member], dtype=int)
                chosen = np.full(len(days), -1)
                if name == "complaint" and len(own):
                    for i, day in enumerate(days):
                        running = own[(lanes.start[own] <= day) & (day < lanes.end[own])]
                        chosen[i] = rng.choice(running) if len(running) else -1
                account.append(np.full(len(days), member))
                lane.append(chosen)
                kind.append(np.full(len(days), name))
                opened.append(days + rng.uniform(0.3, 0.7, len(days)))
                claim.append(np.zeros(len(days)))
        account, lane, kind, opened, claim = map(np.concatenate, (account, lane, kind, opened, claim))
        keep = (accounts.born[account] <= opened) & (
            opened < np.minimum(accounts.churned[account], self.days)
        )
        account, lane, kind, opened, claim = (values[keep] for values in (account, lane, kind, opened, claim))
        order = np.argsort(opened, kind="stable")
        account, lane, kind, opened, claim = (
            values[order] for values in (account, lane, kind, opened, claim)
        )
        q = quality[account, opened.astype(int)]
        response = opened + rng.lognormal(math.log(4 / 24), 0.9, len(opened)) * np.exp(-0.3 * q)
        slower = np.where(kind == "claim", 3.0, 1.0)
        resolved = response + rng.lognormal(math.log(2.5), 0.9, len(opened)) * np.exp(-0.35 * q) * slower
        severity = np.where(
            kind == "claim", np.where(claim > 1000, "high", "medium"),
            np.where(kind == "request", "low", rng.choice(["low", "medium", "high"], len(kind), p=[0.3, 0.5, 0.2])),
        )  # fmt: skip
        subjects = names.ticket_subjects(rng, kind, [lanes.ref[i] if i >= 0 else None for i in lane])
        for i in range(len(opened)):
            world.tickets.append({
                "account": int(account[i]), "lane": int(lane[i]), "kind": str(kind[i]), "severity": str(severity[i]),
                "subject": subjects[i], "opened": float(opened[i]), "first_response": float(response[i]),
                "resolved": float(resolved[i]), "claim": float(claim[i]),
            })  # fmt: skip

    def _renewals(self) -> None:
        """A renewal opportunity opens 150 days before each contract end; it is won when the shipper
        is still there at the end, lost when it left, and otherwise staged by the relationship."""
        world = self.world
        accounts = world.accounts
        relationship = self._levels(RELATIONSHIP)
        today = self.days - 1
        for account in np.flatnonzero(accounts.contract_term > 0):
            term = int(accounts.contract_term[account])
            end = int(accounts.contract_start[account]) + term
            while end - 150 <= today:
                opened = end - 150
                if accounts.born[account] <= opened < accounts.churned[account]:
                    if accounts.churned[account] <= end:
                        stage, probability = "lost", 0.0
                    elif end <= today:
                        stage, probability = "won", 1.0
                    else:
                        x = relationship[account, today]
                        stage, probability = (
                            ("negotiation", 0.7)
                            if x > 0.7
                            else (("proposal", 0.4) if x > -0.3 else ("lead", 0.15))
                        )
                    world.opportunities.append({
                        "account": int(account), "title": f"Contract renewal {world.date(end).year}",
                        "value": float(accounts.annual_value[account] * term / 365), "stage": stage,
                        "probability": probability, "created": opened, "close": end,
                    })  # fmt: skip
                end += term


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def _logistic(x):
    return 1 / (1 + np.exp(-x))
