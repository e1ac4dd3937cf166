"""The account side of each company: its tier and team, a shipper's contract, a consignee's sites."""

from __future__ import annotations

import datetime as dt

from logicrm.customers.models import Tier
from logicrm.demo.plan import Company, DemoPlan

SITE_KINDS = {"retail": "Distribution centre", "FMCG": "Wholesale depot", "automotive": "Assembly plant",
              "electronics": "Factory", "pharma": "GDP warehouse", "chemicals": "Plant", "machinery": "Plant"}  # fmt: skip
RECEIVING_WINDOWS = (
    "Mon–Fri 06:00–14:00",
    "Mon–Sat 05:00–12:00",
    "24/7, slot booking 24 h ahead",
    "Mon–Fri 08:00–16:00",
    "Mon–Fri 07:00–15:00, no deliveries on the last day of the month",
)
REQUIREMENTS = {
    "retail": "Pallets ≤ 1.8 m, SSCC labels, ASN 12 h ahead",
    "FMCG": "Mixed pallets split by SKU, best-before dates on the delivery note",
    "automotive": "JIT call-offs, 30 min slot tolerance, returnable racks back on the same truck",
    "electronics": "ESD-safe packaging, no transshipment, seal numbers checked at the gate",
    "pharma": "GDP compliance, 15–25 °C with temperature log handed over",
    "chemicals": "ADR-certified drivers, safety data sheet with every load",
    "machinery": "Crane unloading booked 48 h ahead, lashing certificates",
}
EXTRA_SERVICES = (
    "warehousing",
    "customs brokerage",
    "value-added services",
    "returns handling",
    "track & trace portal",
)


def tiers(plan: DemoPlan) -> None:
    """Tier by expected yearly revenue: VIP, key, standard (shippers and consignees ranked apart)."""
    for lane in plan.lanes:
        revenue = lane.monthly * 12 * lane.price
        plan.companies[lane.shipper].value += revenue
        plan.companies[lane.consignee].value += revenue
    for group, vip, key in (
        ([c for c in plan.companies if c.is_shipper], 0.15, 0.30),
        ([c for c in plan.companies if c.role == "consignee"], 0.05, 0.15),
    ):
        ranked = sorted(group, key=lambda c: -c.value)
        for rank, company in enumerate(ranked):
            share = rank / len(ranked)
            company.tier = Tier.VIP if share < vip else Tier.KEY if share < vip + key else Tier.STANDARD


def teams(plan: DemoPlan) -> None:
    """Put the manager and a second account manager on VIP accounts, and the latter on half the key ones."""
    for company in plan.companies:
        other = f"am{(company.owner + 1) % 3}"
        if company.tier == Tier.VIP:
            company.team = ("manager", other)
        elif company.tier == Tier.KEY and plan.rng.random() < 0.5:
            company.team = (other,)


def profiles(plan: DemoPlan) -> None:
    """A contract for every shipper; sites, receiving windows and requirements for every consignee."""
    rng = plan.rng
    for company in plan.companies:
        if company.is_shipper:
            _contract(plan, company)
        if company.is_consignee:
            cities = company.profile.pop("site_cities")
            kind = SITE_KINDS.get(company.industry, "Warehouse")
            sites = [f"{kind} {city}" for city in cities]  # the API takes sites as text
            if rng.random() < 0.4:
                sites.append(f"Cross-dock {rng.choice(company.region.cities)}")
            company.profile["sites"] = list(dict.fromkeys(sites))
            company.profile["receiving_windows"] = rng.choice(RECEIVING_WINDOWS)
            company.profile["delivery_requirements"] = REQUIREMENTS.get(company.industry)


def _contract(plan: DemoPlan, company: Company) -> None:
    """The current contract term (ending soon where the story says so), services and annual value."""
    rng = plan.rng
    term = rng.choice((1, 2, 2, 3))
    start = company.acquired_on + dt.timedelta(days=rng.randint(0, 60))
    end = (
        start.replace(year=start.year + term)
        if not (start.month == 2 and start.day == 29)
        else start + dt.timedelta(days=365 * term)
    )
    while end <= plan.today:
        start, end = end, end + dt.timedelta(days=365 * term)
    if company.index in plan.no_renewal or company.index in plan.renewing:
        end = plan.today + dt.timedelta(days=rng.randint(20, 85))
    elif company.index in plan.healthy or company.index in plan.troubled["falling_volume"]:
        while end < plan.today + dt.timedelta(days=200):
            end += dt.timedelta(days=365)
    start = min(start, end - dt.timedelta(days=180))
    own = [lane for lane in plan.lanes if lane.shipper == company.index]
    services = sorted({lane.service.value for lane in own})
    services += rng.sample(EXTRA_SERVICES, rng.randint(0, 2))
    company.profile.update(
        contract_start=start,
        contract_end=end - dt.timedelta(days=1),
        services=services,
        contracted_annual_value=round(
            sum(lane.monthly * 12 * lane.price for lane in own) * rng.uniform(0.85, 1.15), -3
        ),
    )


# ----------------------------------------------------------------------------------------- people
