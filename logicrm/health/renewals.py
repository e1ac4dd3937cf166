"""Renewals the health run looks after: it opens a renewal deal ahead of each shipper's contract end, and the
contract-expiring alert stays until a renewal of that contract reaches the configured stage."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from logicrm.config import PIPELINE_STAGES
from logicrm.customers.models import Customer
from logicrm.sales.models import (
    CLOSED_STAGES,
    RENEWAL_JOB,
    Opportunity,
    OpportunityKind,
    OpportunityStage,
    OpportunityStageEvent,
)
from logicrm.shippers.models import ShipperProfile

_renewal = and_(
    Opportunity.kind == OpportunityKind.RENEWAL, Opportunity.customer_id == ShipperProfile.customer_id
)
# a renewal of the shipper's present contract: one naming its end, or an open one naming none
_of_this_contract = or_(
    Opportunity.contract_end == ShipperProfile.contract_end,
    and_(Opportunity.contract_end.is_(None), Opportunity.stage.not_in(CLOSED_STAGES)),
)


def open_due(session: Session, *, now: dt.datetime, lead_days: int, probability: float) -> int:
    """Open a renewal deal (stage lead) for each live shipper whose contract ends within `lead_days` and has
    no renewal of that contract yet; return how many were opened."""
    today = now.date()
    due = session.execute(
        select(ShipperProfile.customer_id, ShipperProfile.contract_end, ShipperProfile.contracted_annual_value,
               Customer.owner_id)
        .join(Customer, Customer.id == ShipperProfile.customer_id)
        .where(
            Customer.deleted_at.is_(None),
            ShipperProfile.contract_end >= today,
            ShipperProfile.contract_end <= today + dt.timedelta(days=lead_days),
            ~exists().where(_renewal, _of_this_contract),
        )
        .order_by(ShipperProfile.customer_id)
    ).all()  # fmt: skip
    for row in due:
        session.add(
            Opportunity(
                customer_id=row.customer_id, kind=OpportunityKind.RENEWAL, stage=OpportunityStage.LEAD,
                title=f"Renewal of the contract ending {row.contract_end.isoformat()}",
                value=row.contracted_annual_value or 0, probability=probability, expected_close=row.contract_end,
                owner_id=row.owner_id, contract_end=row.contract_end, source=RENEWAL_JOB, created_at=now,
                stages=[OpportunityStageEvent(stage=OpportunityStage.LEAD, entered_at=now)],
            )
        )  # fmt: skip
    session.flush()
    return len(due)


def secured(session: Session, *, stage: str) -> set[int]:
    """Shippers with a renewal of their present contract at `stage` or later in the funnel (won included)."""
    reached = [*PIPELINE_STAGES[PIPELINE_STAGES.index(stage) :], "won"] if stage != "won" else ["won"]
    return set(
        session.scalars(
            select(ShipperProfile.customer_id).where(
                exists().where(_renewal, _of_this_contract, Opportunity.stage.in_(reached))
            )
        )
    )
