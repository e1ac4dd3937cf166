"""Tickets: what a logistics provider's desk meets — delays (late or stuck shipments), damage reports and
claims for damaged ones, losses for short deliveries, complaints, invoice disputes, missing or wrong
papers, requests — and the story's overdue claims.

Tickets are answered and worked on at the tier's pace, so only recent ones are still open; the overdue
claims of the story are the exception. Each one resolved has a root cause, a resolution and the
compensation its handling plan (the rulebook's default) grants.
"""

from __future__ import annotations

import datetime as dt

from logicrm.customers.models import Tier
from logicrm.demo.draws import poisson, weighted
from logicrm.demo.plan import WINDOW_DAYS, DemoPlan, Lane
from logicrm.rulebook.document import DEFAULTS
from logicrm.tickets.models import RootCause, Severity, TicketKind, TicketStatus

RESPONSE_HOURS = {Tier.VIP: (0.5, 6), Tier.KEY: (1, 18), Tier.STANDARD: (2, 36)}  # first answer to a ticket
RESOLVE_DAYS = {TicketKind.CLAIM: (3, 14), TicketKind.COMPLAINT: (1, 8), TicketKind.REQUEST: (0.2, 4),
                TicketKind.DELAY: (0.5, 4), TicketKind.DAMAGE: (2, 10), TicketKind.LOSS: (2, 12),
                TicketKind.BILLING: (1, 10), TicketKind.DOCUMENTATION: (0.3, 3)}  # fmt: skip
# What a shipment gone wrong turns into, and how often: a damaged one with a claim, one delivered short,
# one delivered late, one still on its way past its promised time.
DAMAGE_TICKETS = {TicketKind.CLAIM: 0.35, TicketKind.DAMAGE: 0.25}  # the rest are written off quietly
SHORT_LOSS_SHARE = 0.08
LATE_COMPLAINT_SHARE, LATE_DELAY_SHARE = 0.015, 0.025
STUCK_DELAY_SHARE = 0.3
# Tickets about the account rather than a shipment, a year by tier.
PER_YEAR = {
    TicketKind.REQUEST: {Tier.VIP: 6, Tier.KEY: 3, Tier.STANDARD: 1},
    TicketKind.BILLING: {Tier.VIP: 2, Tier.KEY: 1, Tier.STANDARD: 0.3},
    TicketKind.DOCUMENTATION: {Tier.VIP: 2, Tier.KEY: 1, Tier.STANDARD: 0.4},
}
SUBJECTS = {
    TicketKind.REQUEST: ("Extra pick-up for a promotion", "Change of delivery address", "CO₂ report for last quarter",
                         "Add a new receiving site", "Copy of proof of delivery", "Update of the rate card"),
    TicketKind.BILLING: ("Invoice {ref}: fuel surcharge disputed", "Invoice {ref} charged twice",
                         "Invoice {ref}: waiting time billed without proof", "Invoice {ref}: rate not as contracted"),
    TicketKind.DOCUMENTATION: ("Proof of delivery missing for {ref}", "Customs declaration {ref} rejected: wrong HS code",
                               "Certificate of origin missing for {ref}", "Temperature log not handed over for {ref}"),
}  # fmt: skip
ROOT_CAUSES = {
    TicketKind.DELAY: {RootCause.CARRIER_DELAY: 5, RootCause.CAPACITY_SHORTAGE: 2, RootCause.ROUTING_ERROR: 1,
                       RootCause.FORCE_MAJEURE: 1, RootCause.CUSTOMER_SIDE: 1},
    TicketKind.COMPLAINT: {RootCause.CARRIER_DELAY: 3, RootCause.CAPACITY_SHORTAGE: 1, RootCause.SYSTEM_ERROR: 1,
                           RootCause.OTHER: 1},
    TicketKind.CLAIM: {RootCause.HANDLING_DAMAGE: 5, RootCause.PACKAGING: 2, RootCause.CUSTOMER_SIDE: 1,
                       RootCause.NO_FAULT_FOUND: 1},
    TicketKind.DAMAGE: {RootCause.HANDLING_DAMAGE: 5, RootCause.PACKAGING: 3, RootCause.NO_FAULT_FOUND: 1},
    TicketKind.LOSS: {RootCause.ROUTING_ERROR: 3, RootCause.SYSTEM_ERROR: 1, RootCause.NO_FAULT_FOUND: 2},
    TicketKind.BILLING: {RootCause.BILLING_ERROR: 3, RootCause.CUSTOMER_SIDE: 2, RootCause.NO_FAULT_FOUND: 1},
    TicketKind.DOCUMENTATION: {RootCause.DOCUMENTATION_ERROR: 4, RootCause.SYSTEM_ERROR: 1,
                               RootCause.CUSTOMER_SIDE: 1},
    TicketKind.REQUEST: {RootCause.OTHER: 1},
}  # fmt: skip
NOT_OURS = {
    RootCause.CUSTOMER_SIDE,
    RootCause.NO_FAULT_FOUND,
    RootCause.FORCE_MAJEURE,
}  # nothing to compensate
RESOLUTIONS = {
    TicketKind.DELAY: "Delivered late; the carrier's slot is rebooked for the lane's next loads",
    TicketKind.COMPLAINT: "Talked it through with the customer; the lane's planning is changed",
    TicketKind.CLAIM: "Damage assessed with the surveyor's report",
    TicketKind.DAMAGE: "Inspected on site; goods repacked or written off",
    TicketKind.LOSS: "Traced through the hubs' scans",
    TicketKind.BILLING: "Invoice checked against the rate card",
    TicketKind.DOCUMENTATION: "Documents corrected and sent to the customer and the authorities",
    TicketKind.REQUEST: "Done as asked",
}


def tickets(plan: DemoPlan) -> None:
    """Tickets about shipments and about the accounts over the window, then the story's overdue claims."""
    _shipment_tickets(plan)
    _account_tickets(plan)
    _overdue_claims(plan)


def _shipment_tickets(plan: DemoPlan) -> None:
    """Claims and damage reports for some damaged shipments, losses for a few short ones, delays and
    complaints for some late ones, delays for some still on their way past their promised time."""
    rng = plan.rng
    for position, row in enumerate(plan.shipments):
        lane_index, _shipped, promised, delivered, in_full, damaged, claim, revenue, _cost = row
        if position in plan.claimed:
            continue
        lane = plan.lanes[lane_index]
        if delivered is None:
            if promised < plan.horizon and rng.random() < STUCK_DELAY_SHARE:
                opened = promised + dt.timedelta(hours=rng.uniform(2, 12))
                _shipment_ticket(plan, lane, TicketKind.DELAY, opened, f"Shipment stuck: due {promised:%d %b %H:%M} "
                                 f"{lane.origin} → {lane.destination}", Severity.MEDIUM, None, revenue)  # fmt: skip
            continue
        draw = rng.random()
        if damaged and claim > 0 and draw < sum(DAMAGE_TICKETS.values()):
            kind = TicketKind.CLAIM if draw < DAMAGE_TICKETS[TicketKind.CLAIM] else TicketKind.DAMAGE
            opened = delivered + dt.timedelta(hours=rng.uniform(6, 72))
            subject = f"Damaged on arrival: {rng.randint(1, 12)} cartons written off"
            severity = Severity.HIGH if claim > 5000 else Severity.MEDIUM
        elif not in_full and draw < SHORT_LOSS_SHARE:
            kind, opened = TicketKind.LOSS, delivered + dt.timedelta(hours=rng.uniform(2, 48))
            subject = f"Delivered short: {rng.randint(1, 6)} pallets missing on arrival in {lane.destination}"
            severity, claim = Severity.HIGH, round(revenue * rng.uniform(0.5, 3), 2)
        elif delivered > promised and draw < LATE_COMPLAINT_SHARE + LATE_DELAY_SHARE:
            kind = TicketKind.COMPLAINT if draw < LATE_COMPLAINT_SHARE else TicketKind.DELAY
            if kind == TicketKind.COMPLAINT:
                opened = delivered + dt.timedelta(hours=rng.uniform(1, 30))
            else:  # asked about while it was late, before it arrived
                opened = promised + dt.timedelta(
                    hours=rng.uniform(0.5, 1) * (delivered - promised).total_seconds() / 3600
                )
            subject = f"Late delivery {lane.origin} → {lane.destination}"
            severity, claim = Severity.HIGH if rng.random() < 0.15 else Severity.MEDIUM, None
        else:
            continue
        _shipment_ticket(plan, lane, kind, opened, subject, severity, claim, revenue)


def _shipment_ticket(
    plan: DemoPlan,
    lane: Lane,
    kind: TicketKind,
    opened: dt.datetime,
    subject: str,
    severity: Severity,
    claim: float | None,
    revenue: float,
) -> None:
    """A ticket about a shipment, from its consignee or (less often) its shipper."""
    company = lane.consignee if plan.rng.random() < 0.6 else lane.shipper
    add_ticket(plan, company, kind, opened=opened, subject=subject, severity=severity, lane=lane, claim=claim,
               freight=revenue)  # fmt: skip


def _account_tickets(plan: DemoPlan) -> None:
    """Requests, invoice disputes and papers at the tier's yearly rate while the company is a customer,
    none from a newcomer."""
    rng = plan.rng
    for company in plan.companies:
        if company.index in plan.newcomers:
            continue
        for kind, rates in PER_YEAR.items():
            for _ in range(poisson(rng, rates[company.tier] * WINDOW_DAYS / 365)):
                opened = plan.horizon - dt.timedelta(days=rng.uniform(0.1, WINDOW_DAYS - 5))
                if not company.active_on(opened.date()):
                    continue
                ref = f"{'INV' if kind == TicketKind.BILLING else 'SHP'}-{rng.randint(100000, 999999)}"
                add_ticket(
                    plan,
                    company.index,
                    kind,
                    opened=opened,
                    subject=rng.choice(SUBJECTS[kind]).format(ref=ref),
                    severity=Severity.LOW if kind == TicketKind.REQUEST else Severity.MEDIUM,
                    freight=round(rng.uniform(300, 6000), 2) if kind == TicketKind.BILLING else None,
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
                **UNSETTLED,
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
    freight: float | None = None,
) -> None:
    """Record a ticket answered and worked on at the usual pace; only recent ones are still open. `freight`
    is what a refund or credit note is a share of (the shipment's revenue, the disputed invoice)."""
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
            **(UNSETTLED if resolved is None else _settled(plan, kind, severity, claim, freight)),
        }
    )


UNSETTLED = {"root_cause": None, "resolution": None, "compensation_amount": None}


def _settled(
    plan: DemoPlan, kind: TicketKind, severity: Severity, claim: float | None, freight: float | None
) -> dict:
    """How a resolved ticket was closed: a root cause, a resolution, and the compensation the default
    handling plan grants when the fault was ours (the claim, or a share of the freight or invoice)."""
    root = weighted(plan.rng, ROOT_CAUSES[kind].items())
    offer = DEFAULTS.plan_for(str(kind), str(severity)).compensation
    base = claim if offer.kind == "claim_amount" else freight
    amount = None
    if root not in NOT_OURS and offer.kind != "none" and base:
        amount = base * (1 if offer.percent is None else offer.percent / 100)
        amount = round(min(amount, offer.max_amount or amount), 2)
    resolution = RESOLUTIONS[kind]
    if amount:
        resolution += f"; {amount:,.2f} compensated"
    elif root in NOT_OURS:
        resolution += "; not our fault, nothing compensated"
    return {"root_cause": root, "resolution": resolution, "compensation_amount": amount}
