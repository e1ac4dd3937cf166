"""The links of the demo network: who ships to whom, on which lanes, and how much.

Shippers reach power-law numbers of consignees, drawn by industry fit and distance; every consignee gets
at least one shipper, and the big, well-connected ones get more. Each link is one lane (a few get a
second, faster one) whose volume is the shipper's volume shared by lane weight.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict

from logicrm.demo.draws import weighted
from logicrm.demo.plan import Company, DemoPlan, Lane
from logicrm.demo.world import N_DISTRIBUTORS
from logicrm.lanes.models import ServiceType

TARGET_SHIPMENTS = 90_000  # expected shipments a year, all lanes running, before seasonality and troubles
MULTI_SHIPPER_LINKS = 70  # at least this many links beyond one shipper per consignee
LINK_CURVE = (80.0, 0.9)  # consignees of the r-th largest shipper ≈ 80 · r^-0.9 (power law)

# Which consignee industries a shipper of an industry serves.
SERVES = {
    "FMCG": {"retail", "FMCG"},
    "electronics": {"retail", "electronics"},
    "automotive": {"automotive", "machinery"},
    "pharma": {"pharma", "retail"},
    "chemicals": {"chemicals", "automotive", "FMCG"},
    "fashion": {"retail"},
    "machinery": {"machinery", "automotive"},
}  # fmt: skip

SERVICE_MIX = {  # (same region, same continent, intercontinental from asia, other intercontinental)
    "same": ((ServiceType.FTL, 0.45), (ServiceType.LTL, 0.35), (ServiceType.PARCEL, 0.2)),
    "continent": ((ServiceType.FTL, 0.55), (ServiceType.LTL, 0.35), (ServiceType.PARCEL, 0.1)),
    "asia-europe": ((ServiceType.OCEAN, 0.6), (ServiceType.RAIL, 0.25), (ServiceType.AIR, 0.15)),
    "intercontinental": ((ServiceType.OCEAN, 0.7), (ServiceType.AIR, 0.3)),
}
# Shipments per unit of lane weight (consolidated modes carry fewer, bigger shipments), base price,
# transit hours (same region, further), lateness range in hours when late.
SERVICE = {
    ServiceType.PARCEL: (3.0, 38.0, (24, 48), (4, 24)),
    ServiceType.LTL: (1.2, 320.0, (48, 96), (4, 30)),
    ServiceType.FTL: (1.0, 1100.0, (24, 72), (3, 36)),
    ServiceType.RAIL: (0.3, 4200.0, (432, 480), (24, 96)),
    ServiceType.OCEAN: (0.25, 3100.0, (456, 816), (24, 168)),
    ServiceType.AIR: (0.5, 2600.0, (72, 120), (12, 48)),
}


def links(plan: DemoPlan) -> None:
    """Give shippers power-law consignee counts; every consignee gets at least one shipper."""
    shippers = [c for c in plan.companies if c.is_shipper]
    consignees = [c for c in plan.companies if c.is_consignee]
    _capacities(plan, shippers, len(consignees))
    for s, c in sorted(_pairs(plan, shippers, consignees)):
        add_lane(plan, plan.companies[s], plan.companies[c])
        if plan.rng.random() < 0.04:  # a second, faster lane for urgent orders
            slow = plan.lanes[-1].service in (ServiceType.OCEAN, ServiceType.RAIL)
            urgent = ServiceType.AIR if slow else ServiceType.PARCEL
            extra = add_lane(plan, plan.companies[s], plan.companies[c], service=urgent)
            extra.weight *= 0.15


def _capacities(plan: DemoPlan, shippers: list[Company], n_consignees: int) -> None:
    """Set how many consignees each shipper reaches: a power law over the pure shippers."""
    rng = plan.rng
    pure = [c for c in shippers if not c.is_consignee]
    order = pure[:]
    rng.shuffle(order)
    scale, exponent = LINK_CURVE
    for rank, company in enumerate(order, 1):
        company.capacity = max(2, round(scale * rank**-exponent * rng.uniform(0.85, 1.15)))
    for company in shippers:
        if company.is_consignee:
            company.capacity = rng.randint(3, 10)
    # enough reach that, once every consignee has a shipper, some dozens get a second one
    while sum(c.capacity for c in shippers) < n_consignees + 2 * N_DISTRIBUTORS + MULTI_SHIPPER_LINKS:
        weighted(rng, ((c, c.capacity) for c in pure)).capacity += 1


def _pairs(plan: DemoPlan, shippers: list[Company], consignees: list[Company]) -> set[tuple[int, int]]:
    """Draw the (shipper, consignee) pairs by fit and remaining capacity; record the partners."""
    rng = plan.rng
    pure = [c for c in shippers if not c.is_consignee]
    fit = {s.index: {c.index: affinity(s, c) for c in consignees} for s in shippers}
    left = {s.index: s.capacity for s in shippers}
    pairs: set[tuple[int, int]] = set()

    def add(s: int, c: int) -> None:
        pairs.add((s, c))
        left[s] -= 1
        plan.partners[s].add(c)
        plan.partners[c].add(s)

    def free(s: int, c: int) -> bool:
        return s != c and (s, c) not in pairs and (c, s) not in pairs

    # distributors buy from one to three manufacturers
    for d in (c for c in consignees if c.is_shipper):
        for _ in range(rng.choice((1, 2, 2, 3))):
            options = [
                (s.index, max(left[s.index], 1) * fit[s.index][d.index])
                for s in pure
                if free(s.index, d.index)
            ]
            add(weighted(rng, options), d.index)
    # every other consignee gets one shipper, drawn by remaining capacity and fit
    single = [c for c in consignees if not c.is_shipper]
    rng.shuffle(single)
    for c in single:
        options = [
            (s.index, max(left[s.index], 0) * fit[s.index][c.index])
            for s in shippers
            if free(s.index, c.index)
        ]
        if not any(w for _, w in options):
            options = [
                (s.index, s.capacity * fit[s.index][c.index]) for s in shippers if free(s.index, c.index)
            ]
        add(weighted(rng, options), c.index)
    # the rest of each shipper's capacity goes to big, well-connected consignees
    degree = defaultdict(int)
    for _, c in pairs:
        degree[c] += 1
    for s in sorted(shippers, key=lambda s: -s.capacity):
        while left[s.index] > 0:
            options = [
                (c.index, fit[s.index][c.index] * c.size * (1 + degree[c.index]))
                for c in consignees
                if free(s.index, c.index)
            ]
            chosen = weighted(rng, options)
            add(s.index, chosen)
            degree[chosen] += 1
    return pairs


def add_lane(
    plan: DemoPlan, shipper: Company, consignee: Company, service: ServiceType | None = None
) -> Lane:
    """Add a lane from the shipper to one of the consignee's sites; its service drawn unless given."""
    rng = plan.rng
    a, b = shipper.region, consignee.region
    if a is b:
        mix, far = "same", False
    elif a.continent == b.continent:
        mix, far = "continent", True
    elif a.continent == "asia" and b.continent == "europe":
        mix, far = "asia-europe", True
    else:
        mix, far = "intercontinental", True
    if service is None:
        options = SERVICE_MIX[mix]
        if shipper.industry == "pharma" and mix in ("asia-europe", "intercontinental"):
            options = (*options, (ServiceType.AIR, 0.4))
        service = weighted(rng, options)
    _per_weight, price, (near_h, far_h), late = SERVICE[service]
    if service == ServiceType.OCEAN:
        transit = 456 if {a.name, b.name} & {"USA West"} and a.continent == "asia" else 792
    else:
        transit = far_h if far else near_h
    origin = shipper.city if rng.random() < 0.7 else rng.choice(a.cities)
    sites = consignee.profile["site_cities"]
    lane = Lane(
        index=len(plan.lanes),
        shipper=shipper.index,
        consignee=consignee.index,
        origin=origin,
        destination=rng.choice(sites),
        service=service,
        asia_origin=a.continent == "asia",
        transit_h=transit * rng.uniform(0.9, 1.1),
        late_h=late,
        price=price
        * (2.0 if far and service in (ServiceType.FTL, ServiceType.LTL) else 1.0)
        * rng.lognormvariate(0, 0.15),
        weight=rng.lognormvariate(0, 0.6) * math.sqrt(consignee.size),
        started_on=max(shipper.acquired_on, consignee.acquired_on) + dt.timedelta(days=rng.randint(0, 90)),
        seed=rng.getrandbits(64),
    )
    plan.lanes.append(lane)
    return lane


def volumes(plan: DemoPlan) -> None:
    """Share each shipper's volume over its lanes; scale the network to the target shipment count."""
    rng = plan.rng
    by_shipper: dict[int, list[Lane]] = defaultdict(list)
    for lane in plan.lanes:
        by_shipper[lane.shipper].append(lane)
    for s, lanes in by_shipper.items():
        volume = plan.companies[s].capacity ** 1.15 * rng.lognormvariate(0, 0.3)
        total = sum(lane.weight for lane in lanes)
        for lane in lanes:
            lane.monthly = volume * lane.weight / total * SERVICE[lane.service][0]
    scale = TARGET_SHIPMENTS / 12 / sum(lane.monthly for lane in plan.lanes)
    for lane in plan.lanes:
        lane.monthly *= scale


def affinity(shipper: Company, consignee: Company) -> float:
    """How likely the shipper serves the consignee: industry fit times closeness."""
    serves = 5.0 if consignee.industry in SERVES[shipper.industry] else 0.15
    a, b = shipper.region, consignee.region
    if a is b:
        place = 4.0
    elif a.continent == b.continent:
        place = 2.5
    elif a.continent == "asia":
        place = 1.6
    else:
        place = 0.4
    return serves * place
