"""Opportunities: the sales funnel, as customer records (customers.records does the rest), with the rules of
stages: an open deal's probability comes from the configured stage probabilities unless given, a won deal
has probability 1 and a lost one 0, and every change of stage is kept as a stay (entered, left)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from logicrm.customers import records
from logicrm.customers.models import Customer
from logicrm.customers.records import RecordKind
from logicrm.db import utcnow
from logicrm.errors import field_error
from logicrm.sales.models import CLOSED_STAGES, Opportunity, OpportunityStage, OpportunityStageEvent
from logicrm.users.models import User

OPPORTUNITIES = RecordKind(Opportunity, "opportunity")
CLOSED_PROBABILITY = {OpportunityStage.WON: 1.0, OpportunityStage.LOST: 0.0}


def _settled(
    session: Session, data: dict, record: Opportunity | None, probabilities: dict[str, float]
) -> dict:
    """The payload with its probability, owner and closing day made consistent with its stage."""
    data = dict(data)
    stage = data.get("stage", record.stage if record else OpportunityStage.LEAD)
    entering = record is None or stage != record.stage
    if stage in CLOSED_PROBABILITY:
        fixed = CLOSED_PROBABILITY[stage]
        given = data.get("probability", fixed if entering else record.probability)
        if given != fixed:
            raise field_error("probability", f"a {stage} deal has probability {fixed:g}, not {given:g}")
        data["probability"] = fixed
    elif entering and "probability" not in data:
        data["probability"] = probabilities[str(stage)]
    if entering:
        data["closed_on"] = utcnow().date() if stage in CLOSED_STAGES else None
    if "owner_id" in data and data["owner_id"] is not None and session.get(User, data["owner_id"]) is None:
        raise field_error("owner_id", f"no user {data['owner_id']}")
    if record is None and data.get("owner_id") is None:
        data["owner_id"] = session.scalar(select(Customer.owner_id).where(Customer.id == data["customer_id"]))
    return data


def _enter(session: Session, user: User, opportunity: Opportunity, at: dt.datetime) -> None:
    """Close the deal's current stay and open one in its present stage."""
    for stay in opportunity.stages:
        if stay.left_at is None:
            stay.left_at = at
    opportunity.stages.append(OpportunityStageEvent(stage=opportunity.stage, entered_at=at, user_id=user.id))
    session.flush()


def create(session: Session, *, user: User, data: dict, probabilities: dict[str, float]) -> Opportunity:
    """Create a deal; its first stay starts now."""
    opportunity = records.create(
        session, user=user, kind=OPPORTUNITIES, data=_settled(session, data, None, probabilities)
    )
    _enter(session, user, opportunity, utcnow())
    return opportunity


def update(
    session: Session, *, user: User, opportunity: Opportunity, changes: dict, probabilities: dict[str, float]
) -> Opportunity:
    """Change a deal; a new stage closes the stay in the old one."""
    before = opportunity.stage
    changes = _settled(session, changes, opportunity, probabilities)
    records.update(session, user=user, kind=OPPORTUNITIES, record=opportunity, changes=changes)
    if opportunity.stage != before:
        _enter(session, user, opportunity, utcnow())
    return opportunity
