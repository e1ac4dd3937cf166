"""The callback after a closed case: a task to call the customer back, and what the call found — done,
with the customer's one-question satisfaction answer kept as a survey response about the ticket."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

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
    book = rulebook.current(session)
    callback = book.callback
    if str(ticket.kind) not in callback.kinds:
        return None
    customer = session.get(Customer, ticket.customer_id)
    assignee = ticket.assignee_id
    if not tasks.takes_tasks(session, user_id=assignee, customer_id=customer.id):
        assignee = teams.person_for(session, customer_id=customer.id, who=teams.OWNER)
    contact = session.get(Contact, ticket.contact_id) if ticket.contact_id else None
    who = contact.name if contact else customer.name
    ask = " and ask how satisfied they are with how it was handled (1–5)" if callback.survey else ""
    return tasks.open_task(
        session,
        customer_id=customer.id,
        kind=TaskKind.CALLBACK,
        title=f"Call {who} back: is '{ticket.subject}' settled?{ask}",
        due_on=(ticket.resolved_at or utcnow()).date()
        + dt.timedelta(days=callback.due_days[str(customer.tier)]),
        source=TaskSource.CALLBACK,
        dedupe_key=f"callback:{ticket.id}",
        assignee_id=assignee,
        user=user,
        ticket_id=ticket.id,
        contact_id=ticket.contact_id,
        department_id=contact.department_id if contact else None,
    )


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
