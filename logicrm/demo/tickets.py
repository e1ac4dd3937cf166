"""Tickets: claims for damaged shipments, complaints about late ones, requests, and the overdue claims.

Tickets are answered and worked on at the tier's pace, so only recent ones are still open; the overdue
claims of the story are the exception.
"""

from __future__ import annotations

import datetime as dt

from logicrm.customers.models import Tier
from logicrm.demo.draws import poisson
from logicrm.demo.plan import WINDOW_DAYS, DemoPlan, Lane
from logicrm.tickets.models import Severity, TicketKind, TicketStatus

RESPONSE_HOURS = {Tier.VIP: (0.5, 6), Tier.KEY: (1, 18), Tier.STANDARD: (2, 36)}  # first answer to a ticket
RESOLVE_DAYS = {TicketKind.CLAIM: (3, 14), TicketKind.COMPLAINT: (1, 8), TicketKind.REQUEST: (0.2, 4)}
REQUESTS_PER_YEAR = {Tier.VIP: 6, Tier.KEY: 3, Tier.STANDARD: 1}
REQUEST_SUBJECTS = ("Extra pick-up for a promotion", "Change of delivery address", "CO₂ report for last quarter",
                    "Add a new receiving site", "Copy of proof of delivery", "Update of the rate card")  # fmt: skip


def tickets(plan: DemoPlan) -> None:
    """Tickets about shipments and requests over the window, then the story's overdue claims."""
    _shipment_tickets(plan)
    _requests(plan)
    _overdue_claims(plan)


def _shipment_tickets(plan: DemoPlan) -> None:
    """Claims for some damaged shipments, complaints about a few late ones."""
    rng = plan.rng
    for position, row in enumerate(plan.shipments):
        lane_index, _shipped, promised, delivered, _in_full, damaged, claim, _revenue, _cost = row
        if delivered is None or position in plan.claimed:
            continue
        lane = plan.lanes[lane_index]
        if damaged and claim > 0 and rng.random() < 0.5:
            kind, company = TicketKind.CLAIM, lane.consignee if rng.random() < 0.6 else lane.shipper
            opened = delivered + dt.timedelta(hours=rng.uniform(6, 72))
            subject = f"Damaged on arrival: {rng.randint(1, 12)} cartons written off"
            severity = Severity.HIGH if claim > 5000 else Severity.MEDIUM
        elif delivered > promised and rng.random() < 0.03:
            kind, company = TicketKind.COMPLAINT, lane.consignee if rng.random() < 0.5 else lane.shipper
            opened = delivered + dt.timedelta(hours=rng.uniform(1, 30))
            subject = f"Late delivery {lane.origin} → {lane.destination}"
            severity, claim = Severity.HIGH if rng.random() < 0.15 else Severity.MEDIUM, None
        else:
            continue
        add_ticket(
            plan, company, kind, opened=opened, subject=subject, severity=severity, lane=lane, claim=claim
        )


def _requests(plan: DemoPlan) -> None:
    """Requests at the tier's yearly rate while the company is a customer, none from a newcomer."""
    rng = plan.rng
    for company in plan.companies:
        if company.index in plan.newcomers:
            continue
        for _ in range(poisson(rng, REQUESTS_PER_YEAR[company.tier] * WINDOW_DAYS / 365)):
            opened = plan.horizon - dt.timedelta(days=rng.uniform(0.1, WINDOW_DAYS - 5))
            if not company.active_on(opened.date()):
                continue
            add_ticket(
                plan,
                company.index,
                TicketKind.REQUEST,
                opened=opened,
                subject=rng.choice(REQUEST_SUBJECTS),
                severity=Severity.LOW,
            )


def _overdue_claims(plan: DemoPlan) -> None:
    """The story's claims, open far past any service level."""
    for company, lane, delivered, days, amount in plan.overdue_claims:
        opened = plan.horizon - dt.timedelta(days=days, hours=plan.rng.randint(1, 8))
        slow = days < 40  # the younger one has not even been answered
        plan.tickets.append(
            {
                "company": company,
                "lane": lane,
                "kind": TicketKind.CLAIM,
                "severity": Severity.HIGH,
                "subject": f"Claim: pallets crushed on arrival ({delivered:%d %b}), goods written off",
                "opened_at": opened,
                "first_response_at": None if slow else opened + dt.timedelta(days=5),
                "resolved_at": None,
                "status": TicketStatus.OPEN if slow else TicketStatus.IN_PROGRESS,
                "claim_amount": amount,
            }
        )


def add_ticket(
    plan: DemoPlan,
    company: int,
    kind: TicketKind,
    *,
    opened: dt.datetime,
    subject: str,
    severity: Severity,
    lane: Lane | None = None,
    claim: float | None = None,
) -> None:
    """Record a ticket answered and worked on at the usual pace; only recent ones are still open."""
    rng = plan.rng
    horizon = plan.horizon
    if opened >= horizon:
        return
    healthy = company in plan.healthy
    if healthy and opened > horizon - dt.timedelta(days=7):
        return  # nothing still open on a healthy account
    first = opened + dt.timedelta(hours=rng.uniform(*RESPONSE_HOURS[plan.companies[company].tier]))
    resolved = first + dt.timedelta(days=rng.uniform(*RESOLVE_DAYS[kind]))
    if healthy:
        resolved = min(resolved, horizon - dt.timedelta(hours=1))
    if resolved < horizon:
        status = TicketStatus.CLOSED if resolved < horizon - dt.timedelta(days=14) else TicketStatus.RESOLVED
    elif first < horizon:
        status, resolved = TicketStatus.IN_PROGRESS, None
    else:
        status, first, resolved = TicketStatus.OPEN, None, None
    plan.tickets.append(
        {
            "company": company,
            "lane": lane.index if lane else None,
            "kind": kind,
            "severity": severity,
            "subject": subject,
            "opened_at": opened,
            "first_response_at": first,
            "resolved_at": resolved,
            "status": status,
            "claim_amount": claim,
        }
    )
