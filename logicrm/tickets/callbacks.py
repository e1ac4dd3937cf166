"""The callback after a closed case: a task to call the customer back, and what the call found — done,
with the customer's one-question satisfaction answer kept as a survey response about the ticket."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from logicrm import db
from logicrm.customers import records, teams
from logicrm.customers.models import Customer
from logicrm.db import utcnow
from logicrm.errors import field_error
from logicrm.relations.models import Contact, Dimension
from logicrm.relations.service import SURVEYS
from logicrm.rulebook import service as rulebook
from logicrm.tasks import service as tasks
from logicrm.tasks.models import Task, TaskKind, TaskSource, TaskStatus
from logicrm.tickets import timeline
from logicrm.tickets.models import Ticket, TicketEventKind
from logicrm.users.models import User

SURVEY_SCALE = (1, 5)
SURVEY_DIMENSION = Dimension.RESPONSIVENESS  # how the case was handled
SURVEY_CHANNEL = "callback"


def schedule(session: Session, *, user: User | None, ticket: Ticket) -> Task | None:
    """Open the callback task of a ticket just resolved or closed, when the rulebook asks one for its kind
    (once per ticket: a ticket reopened and closed again keeps its first callback); it is due the
    rulebook's days after the ticket was resolved."""
    (task_id,) = schedule_many(session, user=user, tickets=[ticket])
    return None if task_id is None else session.get(Task, task_id)


def schedule_many(session: Session, *, user: User | None, tickets: list) -> list[int | None]:
    """`schedule` for each ticket (an object or row with the ticket's columns), in order, in a few queries
    however many: the new callback task's id for each, None where none is opened."""
    callback = rulebook.current(session).callback
    asked = [ticket for ticket in tickets if str(ticket.kind) in callback.kinds]
    if not asked:
        return [None] * len(tickets)
    accounts = {
        customer_id: (name, str(tier))
        for customer_id, name, tier in session.execute(
            select(Customer.id, Customer.name, Customer.tier).where(
                db.among(session.connection(), Customer.id, {t.customer_id for t in asked})
            )
        )
    }
    takers = tasks.takers(session, pairs=[(t.assignee_id, t.customer_id) for t in asked])
    stands = teams.people(
        session, customer_ids={t.customer_id for t in asked if (t.assignee_id, t.customer_id) not in takers}
    )
    contacts = {
        contact_id: (name, department_id)
        for contact_id, name, department_id in session.execute(
            select(Contact.id, Contact.name, Contact.department_id).where(
                db.among(session.connection(), Contact.id, {t.contact_id for t in asked if t.contact_id})
            )
        )
    }
    ask = " and ask how satisfied they are with how it was handled (1–5)" if callback.survey else ""
    specs = []
    for ticket in asked:
        name, tier = accounts[ticket.customer_id]
        assignee = ticket.assignee_id
        if (assignee, ticket.customer_id) not in takers:
            assignee = stands[ticket.customer_id].get(teams.OWNER)
        contact = contacts.get(ticket.contact_id)
        specs.append(
            dict(
                customer_id=ticket.customer_id,
                kind=TaskKind.CALLBACK,
                title=f"Call {contact[0] if contact else name} back: is '{ticket.subject}' settled?{ask}",
                due_on=(ticket.resolved_at or utcnow()).date() + dt.timedelta(days=callback.due_days[tier]),
                source=TaskSource.CALLBACK,
                dedupe_key=f"callback:{ticket.id}",
                assignee_id=assignee,
                ticket_id=ticket.id,
                contact_id=ticket.contact_id,
                department_id=contact[1] if contact else None,
            )
        )
    opened = iter(tasks.open_tasks_once(session, specs=specs, user=user))
    return [next(opened) if str(ticket.kind) in callback.kinds else None for ticket in tickets]


def record(
    session: Session,
    *,
    user: User,
    ticket: Ticket,
    outcome: str,
    satisfaction: int | None,
    department_id: int | None,
    contact_id: int | None,
    comment: str | None,
) -> dict:
    """Record the callback: its open tasks are done with the outcome; a satisfaction answer becomes a
    survey response of the department (given, else the task's or the contact's) about the ticket."""
    open_callbacks = tasks.open_tasks(session, Task.ticket_id == ticket.id, Task.kind == TaskKind.CALLBACK)
    tasks.close(session, tasks=open_callbacks, status=TaskStatus.DONE, outcome=outcome, user=user)
    contact_id = contact_id or ticket.contact_id
    survey = None
    if satisfaction is not None:
        department_id = department_id or next(
            (t.department_id for t in open_callbacks if t.department_id), None
        )
        if department_id is None and contact_id is not None:
            contact = session.get(Contact, contact_id)
            department_id = (
                contact.department_id if contact and contact.customer_id == ticket.customer_id else None
            )
        if department_id is None:
            raise field_error("department_id", "name the department that answered the satisfaction question")
        survey = records.create(
            session,
            user=user,
            kind=SURVEYS,
            data={
                "customer_id": ticket.customer_id,
                "department_id": department_id,
                "contact_id": contact_id,
                "ticket_id": ticket.id,
                "collected_at": utcnow(),
                "channel": SURVEY_CHANNEL,
                "scale_min": SURVEY_SCALE[0],
                "scale_max": SURVEY_SCALE[1],
                "comment": comment,
                "scores": [
                    {
                        "dimension": SURVEY_DIMENSION,
                        "importance": 1.0,
                        "expectation": rulebook.current(session).callback.expectation,
                        "perception": float(satisfaction),
                    }
                ],
            },
        )
    timeline.add(
        session,
        ticket=ticket,
        kind=TicketEventKind.CALLBACK,
        user=user,
        text=outcome,
        details={
            "satisfaction": satisfaction,
            "survey_id": survey.id if survey else None,
            "tasks": [task.id for task in open_callbacks],
        },
    )
    return {"tasks": open_callbacks, "survey": survey}
