"""The pipeline of the deals a user sees: by stage and owner, the weighted forecast per month, win rates and
cycle times per stage and owner, and the deals stalled in one stage."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from statistics import fmean

from sqlalchemy import select
from sqlalchemy.orm import Session

from logicrm.customers import service as customers
from logicrm.sales.models import (
    CLOSED_STAGES,
    OPEN_STAGES,
    Opportunity,
    OpportunityStage,
    OpportunityStageEvent,
)
from logicrm.users.models import User

DAY = 86_400.0


def _win_rate(won: int, lost: int) -> float | None:
    return won / (won + lost) if won + lost else None


def _days(start: dt.datetime, end: dt.datetime) -> float:
    return (end - start).total_seconds() / DAY


def report(session: Session, *, user: User, now: dt.datetime, stalled_days: int) -> dict:
    """Everything the pipeline view shows, over the opportunities of customers the user sees."""
    visible = Opportunity.customer_id.in_(customers.visible_ids(user=user))
    deals = session.scalars(select(Opportunity).where(visible).order_by(Opportunity.id)).all()
    stays = defaultdict(list)
    for stay in session.scalars(
        select(OpportunityStageEvent)
        .join(Opportunity, Opportunity.id == OpportunityStageEvent.opportunity_id)
        .where(visible)
        .order_by(OpportunityStageEvent.entered_at, OpportunityStageEvent.id)
    ):
        stays[stay.opportunity_id].append(stay)
    open_deals = [deal for deal in deals if deal.stage in OPEN_STAGES]
    return {
        "as_of": now,
        "by_stage": _by_stage(deals, stays, now),
        "by_owner": _by_owner(deals),
        "forecast": _forecast(open_deals),
        "win_rate": _win_rate(*_outcomes(deals)),
        "stalled_days": stalled_days,
        "stalled": _stalled(open_deals, stays, now - dt.timedelta(days=stalled_days), now),
    }


def _outcomes(deals) -> tuple[int, int]:
    return (
        sum(deal.stage == OpportunityStage.WON for deal in deals),
        sum(deal.stage == OpportunityStage.LOST for deal in deals),
    )


def _by_stage(deals, stays, now: dt.datetime) -> list[dict]:
    """Per stage: the deals in it now, and of the closed deals that passed through it, how many were won and
    how long their completed stays in it lasted."""
    rows = []
    for stage in (*OPEN_STAGES, *CLOSED_STAGES):
        here = [deal for deal in deals if deal.stage == stage]
        passed = [deal for deal in deals if any(stay.stage == stage for stay in stays[deal.id])]
        finished = [
            _days(s.entered_at, s.left_at)
            for d in deals
            for s in stays[d.id]
            if s.stage == stage and s.left_at
        ]
        rows.append({
            "stage": str(stage),
            "deals": len(here),
            "value": sum(deal.value for deal in here),
            "weighted_value": sum(deal.value * deal.probability for deal in here),
            "win_rate": _win_rate(*_outcomes(passed)) if stage in OPEN_STAGES else None,
            "average_days": fmean(finished) if finished else None,
        })  # fmt: skip
    return rows


def _by_owner(deals) -> list[dict]:
    owners = defaultdict(list)
    for deal in deals:
        owners[deal.owner_id].append(deal)
    rows = []
    for owner_id, theirs in sorted(owners.items(), key=lambda item: (item[0] is None, item[0] or 0)):
        open_deals = [deal for deal in theirs if deal.stage in OPEN_STAGES]
        won = [deal for deal in theirs if deal.stage == OpportunityStage.WON and deal.closed_on]
        rows.append({
            "owner_id": owner_id,
            "open_deals": len(open_deals),
            "open_value": sum(deal.value for deal in open_deals),
            "weighted_value": sum(deal.value * deal.probability for deal in open_deals),
            "won": sum(deal.stage == OpportunityStage.WON for deal in theirs),
            "lost": sum(deal.stage == OpportunityStage.LOST for deal in theirs),
            "win_rate": _win_rate(*_outcomes(theirs)),
            "average_days_to_win": fmean((deal.closed_on - deal.created_at.date()).days for deal in won) if won else None,
        })  # fmt: skip
    return rows


def _forecast(open_deals) -> list[dict]:
    """Open deals' value × probability by the month they are expected to close (undated ones: month None)."""
    months = defaultdict(lambda: {"deals": 0, "value": 0.0, "weighted_value": 0.0})
    for deal in open_deals:
        month = deal.expected_close.strftime("%Y-%m") if deal.expected_close else None
        months[month]["deals"] += 1
        months[month]["value"] += deal.value
        months[month]["weighted_value"] += deal.value * deal.probability
    return [{"month": month, **months[month]} for month in sorted(months, key=lambda m: (m is None, m or ""))]


def _stalled(open_deals, stays, before: dt.datetime, now: dt.datetime) -> list[dict]:
    """Open deals whose present stage began before `before`, longest stalled first."""
    found = []
    for deal in open_deals:
        current = next((stay for stay in reversed(stays[deal.id]) if stay.left_at is None), None)
        since = current.entered_at if current else deal.created_at
        if since < before:
            found.append({
                "id": deal.id, "customer_id": deal.customer_id, "title": deal.title, "stage": str(deal.stage),
                "owner_id": deal.owner_id, "value": deal.value, "days_in_stage": _days(since, now),
            })  # fmt: skip
    return sorted(found, key=lambda deal: -deal["days_in_stage"])
