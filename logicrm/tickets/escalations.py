"""Handling plans at work: the SLA check escalates each open ticket step by step as its resolution time
runs down, each step once however many checks run or race (a step is a unique entry of the timeline)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from logicrm.audit import service as audit
from logicrm.customers import teams
from logicrm.customers.models import Customer
from logicrm.rulebook.document import EscalationStep, Rulebook
from logicrm.tasks import service as tasks
from logicrm.tickets.models import OPEN_STATUSES, Ticket, TicketEvent, TicketEventKind
from logicrm.users.models import User, UserRole

MANAGERS = "managers"


@dataclass(frozen=True)
class Recipient:
    user_id: int
    name: str
    email: str


@dataclass(frozen=True)
class Escalation:
    """One escalation step taken: what the escalation email needs."""

    ticket_id: int
    customer_id: int
    customer_name: str
    tier: str
    kind: str
    severity: str
    subject: str
    step: int
    escalate_to: str
    recipients: tuple[Recipient, ...]
    opened_at: dt.datetime
    resolution_due_at: dt.datetime
    customer_message: str
    reassigned_to: int | None


def step_at(ticket: Ticket, step: EscalationStep) -> dt.datetime:
    """When a step of the ticket's handling plan is due: that share of its resolution time after opening."""
    return ticket.opened_at + step.at_sla_share * (ticket.resolution_due_at - ticket.opened_at)


def escalate(session: Session, *, book: Rulebook, now: dt.datetime) -> list[Escalation]:
    """Take every handling-plan step now due on open tickets, in order, each once."""
    taken = []
    for ticket, customer in session.execute(
        select(Ticket, Customer)
        .join(Customer, Customer.id == Ticket.customer_id)
        .where(
            Ticket.status.in_(OPEN_STATUSES),
            Ticket.resolution_due_at.is_not(None),
            Customer.deleted_at.is_(None),
        )
        .order_by(Ticket.id)
    ).all():
        plan = book.plan_for(str(ticket.kind), str(ticket.severity))
        for index in range(ticket.escalation_level, len(plan.steps)):
            step = plan.steps[index]
            if step_at(ticket, step) > now:
                break
            escalation = _take(session, ticket, customer, index, step, plan.customer_message, now)
            if escalation is not None:
                taken.append(escalation)
    return taken


def _take(session, ticket: Ticket, customer: Customer, index: int, step: EscalationStep, message: str, now):
    recipients = _recipients(session, customer, step.escalate_to)
    reassigned = None
    if step.reassign and recipients and step.escalate_to != MANAGERS:
        person = recipients[0].user_id
        if person != ticket.assignee_id and tasks.takes_tasks(
            session, user_id=person, customer_id=customer.id
        ):
            reassigned = person
    try:
        with session.begin_nested():
            session.add(
                TicketEvent(
                    ticket_id=ticket.id,
                    at=now,
                    kind=TicketEventKind.ESCALATED,
                    escalation_step=index,
                    text=f"escalated to {step.escalate_to.replace('_', ' ')} at {step.at_sla_share:g}× the "
                    f"resolution time: {', '.join(r.name for r in recipients) or 'nobody to escalate to'}",
                    details={
                        "step": index,
                        "escalate_to": step.escalate_to,
                        "recipients": [r.user_id for r in recipients],
                        "reassigned_to": reassigned,
                    },
                )
            )
    except IntegrityError:
        return None  # another check took this step
    changes = {"escalation_level": [ticket.escalation_level, index + 1]}
    ticket.escalation_level = index + 1
    if reassigned is not None:
        changes["assignee_id"] = [ticket.assignee_id, reassigned]
        ticket.assignee_id = reassigned
    session.flush()
    audit.record(
        session,
        user=None,
        entity="ticket",
        entity_id=ticket.id,
        customer_id=customer.id,
        action="escalate",
        changes=changes,
    )
    return Escalation(
        ticket_id=ticket.id,
        customer_id=customer.id,
        customer_name=customer.name,
        tier=str(customer.tier),
        kind=str(ticket.kind),
        severity=str(ticket.severity),
        subject=ticket.subject,
        step=index,
        escalate_to=step.escalate_to,
        recipients=tuple(recipients),
        opened_at=ticket.opened_at,
        resolution_due_at=ticket.resolution_due_at,
        customer_message=message,
        reassigned_to=reassigned,
    )


def _recipients(session: Session, customer: Customer, escalate_to: str) -> list[Recipient]:
    """Who a step reaches: the person holding the role on the account (else its owner), else the managers."""
    person = (
        None
        if escalate_to == MANAGERS
        else teams.person_for(session, customer_id=customer.id, who=escalate_to)
    )
    if person is not None:
        users = [session.get(User, person)]
    else:
        users = session.scalars(
            select(User).where(User.role == UserRole.MANAGER, User.active).order_by(User.id)
        ).all()
    return [Recipient(user.id, user.name, user.email) for user in users]
