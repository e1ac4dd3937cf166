"""Sales opportunities: contract renewals, cross- and up-selling, and the newcomers' first deals."""

from __future__ import annotations

import datetime as dt

from logicrm.customers.models import CustomerStatus, Tier
from logicrm.demo.plan import Company, DemoPlan
from logicrm.sales.models import OpportunityKind, OpportunityStage

STAGE_PROBABILITY = {
    OpportunityStage.LEAD: 0.1,
    OpportunityStage.PROPOSAL: 0.3,
    OpportunityStage.NEGOTIATION: 0.6,
    OpportunityStage.TENDER: 0.4,
    OpportunityStage.WON: 1.0,
    OpportunityStage.LOST: 0.0,
}
CROSS_SELL_TITLES = (
    "Warehousing in {city}",
    "Customs brokerage",
    "Value-added services: kitting and labelling",
)
UP_SELL_TITLES = ("Additional lane to {city}", "Air freight for urgent orders", "Peak-season capacity")


def opportunities(plan: DemoPlan) -> None:
    """Renewals of shipper contracts (none where the story says so), other deals, the newcomers' wins."""
    for company in plan.companies:
        if company.is_shipper:
            _renewals(plan, company)
        _deal(plan, company)
    for i in plan.newcomers:
        company = plan.companies[i]
        _add(
            plan,
            company,
            OpportunityKind.NEW,
            OpportunityStage.WON,
            title=f"New consignee {company.city}",
            value=sum((lane.declared or 0) * 12 * lane.price for lane in plan.lanes_of(i)),
            close=company.acquired_on,
        )


def _renewals(plan: DemoPlan, company: Company) -> None:
    """The renewal won for the current term, and one under way when the contract ends within 150 days."""
    profile = company.profile
    value = profile["contracted_annual_value"]
    end = profile["contract_end"]
    if profile["contract_start"] > company.acquired_on + dt.timedelta(days=90):
        _add(
            plan,
            company,
            OpportunityKind.RENEWAL,
            OpportunityStage.WON,
            title=f"Contract renewal {profile['contract_start'].year}",
            value=value * 0.95,
            close=profile["contract_start"] - dt.timedelta(days=14),
        )
    if (
        company.status == CustomerStatus.ACTIVE
        and company.index not in plan.no_renewal
        and end <= plan.today + dt.timedelta(days=150)
    ):
        soon = end <= plan.today + dt.timedelta(days=60)
        _add(
            plan,
            company,
            OpportunityKind.RENEWAL,
            OpportunityStage.NEGOTIATION if soon else OpportunityStage.PROPOSAL,
            title=f"Contract renewal {end.year}",
            value=value,
            close=max(plan.today + dt.timedelta(days=3), end - dt.timedelta(days=10)),
        )


def _deal(plan: DemoPlan, company: Company) -> None:
    """Maybe a cross- or up-selling deal: most likely with shippers, always with the healthy ones."""
    rng = plan.rng
    chance = 0.35 if company.is_shipper else 0.12 if company.tier != Tier.STANDARD else 0.03
    if company.index in plan.healthy and company.is_shipper:
        chance = 1.0
    if company.status != CustomerStatus.ACTIVE or rng.random() >= chance:
        return
    kind = rng.choice((OpportunityKind.CROSS_SELL, OpportunityKind.UP_SELL))
    city = rng.choice(company.region.cities)
    titles = CROSS_SELL_TITLES if kind == OpportunityKind.CROSS_SELL else UP_SELL_TITLES
    title = rng.choice(titles).format(city=city)
    stage = rng.choice(tuple(OpportunityStage))
    if company.index in plan.healthy:
        stage = OpportunityStage.PROPOSAL
    close = (
        plan.today + dt.timedelta(days=rng.randint(20, 200))
        if stage not in (OpportunityStage.WON, OpportunityStage.LOST)
        else max(plan.today - dt.timedelta(days=rng.randint(10, 300)), company.acquired_on)
    )
    value = max(company.value, 20_000) * rng.uniform(0.05, 0.3)
    _add(plan, company, kind, stage, title=title, value=value, close=close)


def _add(
    plan: DemoPlan,
    company: Company,
    kind: OpportunityKind,
    stage: OpportunityStage,
    *,
    title: str,
    value: float,
    close: dt.date,
) -> None:
    plan.opportunities.append(
        {
            "company": company.index,
            "kind": kind,
            "stage": stage,
            "title": title,
            "value": round(value, -2),
            "probability": STAGE_PROBABILITY[stage],
            "expected_close": close,
        }
    )
