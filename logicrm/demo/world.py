"""The companies of the demo network: where they are, what they make, how they were won.

Shippers, distributors (both roles) and consignees are drawn by region and industry; who refers whom is
settled last, once the links say who trades with whom.
"""

from __future__ import annotations

import datetime as dt

from logicrm.customers.models import AcquisitionChannel
from logicrm.demo.draws import weighted
from logicrm.demo.names import CompanyNamer
from logicrm.demo.plan import Company, DemoPlan, Region

# Shape of the network (DESIGN §8: tens of shippers, hundreds of consignees, a few distributors).
# Everyone who was a customer during the two years; about a fifth of them have left by "now" (history.py).
N_SHIPPERS = 34  # shipper role only
N_DISTRIBUTORS = 10  # both roles
N_CONSIGNEES = 466  # consignee role only

REGIONS = (
    Region("China East", ("Shanghai", "Hangzhou", "Ningbo", "Suzhou", "Nanjing"), "asia", "cn", "+86 21", 0.13, 0.22, 0),
    Region("China South", ("Shenzhen", "Guangzhou", "Dongguan", "Xiamen", "Foshan"), "asia", "cn", "+86 755", 0.11, 0.20, 0),
    Region("China North", ("Beijing", "Tianjin", "Qingdao"), "asia", "cn", "+86 10", 0.06, 0.05, 0),
    Region("Germany", ("Hamburg", "Duisburg", "Munich", "Frankfurt", "Stuttgart", "Cologne"), "europe", "de", "+49 40", 0.15, 0.18, 1),
    Region("Benelux", ("Rotterdam", "Antwerp", "Venlo", "Brussels", "Amsterdam"), "europe", "nl", "+31 10", 0.10, 0.06, 1),
    Region("Poland", ("Warsaw", "Poznań", "Łódź", "Wrocław", "Gdańsk"), "europe", "pl", "+48 22", 0.09, 0.06, 1),
    Region("France", ("Lyon", "Paris", "Lille", "Marseille"), "europe", "fr", "+33 4", 0.07, 0.06, 2),
    Region("United Kingdom", ("Felixstowe", "Birmingham", "Manchester", "London"), "europe", "uk", "+44 20", 0.08, 0.04, 2),
    Region("USA West", ("Los Angeles", "Long Beach", "Oakland", "Seattle", "Reno"), "america", "us", "+1 213", 0.11, 0.07, 2),
    Region("USA East", ("Newark", "Savannah", "Atlanta", "Chicago"), "america", "us", "+1 973", 0.10, 0.06, 2),
)  # fmt: skip

SHIPPER_INDUSTRIES = {
    "FMCG": 5,
    "electronics": 5,
    "automotive": 4,
    "pharma": 3,
    "chemicals": 3,
    "fashion": 2,
    "machinery": 2,
}
CONSIGNEE_INDUSTRIES = {
    "retail": 9,
    "FMCG": 3,
    "electronics": 3,
    "automotive": 3,
    "pharma": 2,
    "chemicals": 2,
    "machinery": 2,
}
DISTRIBUTOR_INDUSTRIES = ("FMCG", "electronics", "pharma")

CHANNELS = {
    AcquisitionChannel.RELATIONSHIP: 30,
    AcquisitionChannel.EXHIBITION: 20,
    AcquisitionChannel.REFERRAL: 15,
    AcquisitionChannel.WEB: 15,
    AcquisitionChannel.DIRECTORY: 10,
    AcquisitionChannel.ADVERTISING: 5,
    AcquisitionChannel.OTHER: 5,
}


def companies(plan: DemoPlan) -> None:
    """Draw every company: region, industry, name, size, when and how it was won."""
    rng = plan.rng
    namer = CompanyNamer(rng)
    for role, count in (
        ("shipper", N_SHIPPERS),
        ("distributor", N_DISTRIBUTORS),
        ("consignee", N_CONSIGNEES),
    ):
        for _ in range(count):
            region, industry = _place(plan, role)
            city = rng.choice(region.cities)
            name, domain = namer.company(region, city, industry, role)
            sites = [city]
            if role != "shipper" and rng.random() < 0.3:
                sites.append(rng.choice([c for c in region.cities if c != city]))
            plan.companies.append(
                Company(
                    index=len(plan.companies),
                    role=role,
                    name=name,
                    region=region,
                    city=city,
                    industry=industry,
                    size=rng.lognormvariate(0, 0.9),
                    acquired_on=plan.today - dt.timedelta(days=rng.randint(400, 3650)),
                    channel=weighted(rng, CHANNELS.items()),
                    registration_number=namer.registration(region, city) if rng.random() < 0.88 else None,
                    domain=domain,
                    owner=region.owner,
                    profile={"site_cities": sites},
                )
            )


def _place(plan: DemoPlan, role: str) -> tuple[Region, str]:
    """Draw a region and an industry for a company of this role (distributors are not in America)."""
    rng = plan.rng
    if role == "shipper":
        return weighted(rng, ((r, r.shipper_weight) for r in REGIONS)), weighted(
            rng, SHIPPER_INDUSTRIES.items()
        )
    if role == "distributor":
        region = weighted(rng, ((r, r.consignee_weight) for r in REGIONS if r.continent != "america"))
        return region, rng.choice(DISTRIBUTOR_INDUSTRIES)
    return weighted(rng, ((r, r.consignee_weight) for r in REGIONS)), weighted(
        rng, CONSIGNEE_INDUSTRIES.items()
    )


def referrals(plan: DemoPlan) -> None:
    """Referred companies name an earlier customer: a consignee its shipper, others anyone earlier."""
    rng = plan.rng
    for company in plan.companies:
        if company.channel != AcquisitionChannel.REFERRAL:
            continue
        earlier = [
            p for p in plan.partners[company.index] if plan.companies[p].acquired_on < company.acquired_on
        ]
        if not earlier:
            earlier = [
                c.index for c in plan.companies if c.acquired_on < company.acquired_on and c.is_shipper
            ]
        company.referred_by = rng.choice(sorted(earlier)) if earlier else None
