"""Service KPIs over a period, per agent and per team: what supervisors read.

The period runs from `since` 00:00 UTC to the end of `until` (UTC). An agent is the user a ticket or
task is assigned to; a team is the account's owner with everyone working on the owner's accounts, so a
team's row counts the work on the accounts that person owns, whoever did it.

- tickets handled: resolved in the period; their mean first-response and resolution hours (from opening),
  and the share that missed a due time (first response, or resolution);
- callbacks done: callback tasks done in the period; their satisfaction: the mean answer (1–5) of the
  callback surveys collected in the period about the tickets those callbacks were for;
- tasks done, and the share done by their due day;
- contacts against cadence: contacts that count (the rulebook's kinds) in the period on the accounts the
  person owns, against those the cadence asks for (the period's days over each deciding department's
  cadence, or the account's when it has none), for live accounts not churned.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from logicrm.customers.models import Customer, CustomerStatus
from logicrm.relations.models import Department, Interaction, SurveyResponse, SurveyScore
from logicrm.rulebook import service as rulebook
from logicrm.tasks.models import Task, TaskKind, TaskStatus
from logicrm.tickets.callbacks import SURVEY_CHANNEL
from logicrm.tickets.models import Ticket, TicketStatus
from logicrm.users.models import User

HOURS = 3600.0
METRICS = (
    "tickets_handled", "first_response_hours", "resolution_hours", "sla_breach_rate", "callbacks_done",
    "callback_satisfaction", "tasks_done", "tasks_on_time_rate", "accounts", "contacts", "contacts_expected",
    "contact_ratio",
)  # fmt: skip


@dataclass(frozen=True)
class Period:
    since: dt.date
    until: dt.date

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.since, dt.time(), tzinfo=dt.UTC)

    @property
    def end(self) -> dt.datetime:
        return dt.datetime.combine(self.until + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

    def holds(self, column):
        return and_(column >= self.start, column < self.end)


def service_report(session: Session, *, period: Period) -> dict:
    """The KPIs of every agent and every team over the period."""
    book = rulebook.current(session)
    rows = {"agents": defaultdict(dict), "teams": defaultdict(dict)}
    for group, person in (("agents", None), ("teams", Customer.owner_id)):
        found = rows[group]
        _tickets(session, period, found, person or Ticket.assignee_id)
        _callbacks(session, period, found, person or Task.assignee_id)
        _tasks(session, period, found, person or Task.assignee_id)
    for group in rows.values():
        _contacts(session, period, group, book)
    names = dict(session.execute(select(User.id, User.name)).all())
    return {
        "since": period.since,
        "until": period.until,
        "rulebook_version": book.version,
        **{
            group: [
                {"user_id": user_id, "name": names.get(user_id), **_complete(values)}
                for user_id, values in sorted(found.items())
                if user_id is not None
            ]
            for group, found in rows.items()
        },
    }


def _complete(values: dict) -> dict:
    filled = {metric: values.get(metric) for metric in METRICS}
    for metric in ("tickets_handled", "callbacks_done", "tasks_done", "accounts", "contacts"):
        filled[metric] = filled[metric] or 0
    filled["contacts_expected"] = filled["contacts_expected"] or 0.0
    expected = filled["contacts_expected"]
    filled["contact_ratio"] = filled["contacts"] / expected if expected else None
    return filled


def _tickets(session: Session, period: Period, found: dict, person) -> None:
    answered = func.coalesce(Ticket.first_response_at, Ticket.resolved_at)
    breached = or_(answered > Ticket.first_response_due_at, Ticket.resolved_at > Ticket.resolution_due_at)
    tally: dict = defaultdict(lambda: {"late": 0, "first": [], "resolution": []})
    for user_id, late, opened, first, resolved in session.execute(
        select(
            person,
            func.coalesce(breached, False),
            Ticket.opened_at,
            Ticket.first_response_at,
            Ticket.resolved_at,
        )
        .join(Customer, Customer.id == Ticket.customer_id)
        .where(
            period.holds(Ticket.resolved_at), Ticket.status.in_([TicketStatus.RESOLVED, TicketStatus.CLOSED])
        )
    ):
        mine = tally[user_id]
        mine["late"] += bool(late)
        if first is not None:
            mine["first"].append((first - opened).total_seconds() / HOURS)
        mine["resolution"].append((resolved - opened).total_seconds() / HOURS)
    for user_id, mine in tally.items():
        handled = len(mine["resolution"])
        found[user_id].update(
            tickets_handled=handled,
            first_response_hours=_mean(mine["first"]),
            resolution_hours=_mean(mine["resolution"]),
            sla_breach_rate=mine["late"] / handled,
        )


def _callbacks(session: Session, period: Period, found: dict, person) -> None:
    done = (Task.kind == TaskKind.CALLBACK, Task.status == TaskStatus.DONE)
    for user_id, count in session.execute(
        select(person, func.count())
        .select_from(Task)
        .join(Customer, Customer.id == Task.customer_id)
        .where(*done, period.holds(Task.completed_at))
        .group_by(person)
    ):
        found[user_id]["callbacks_done"] = count
    for user_id, satisfaction in session.execute(
        select(person, func.avg(SurveyScore.perception))
        .select_from(SurveyResponse)
        .join(SurveyScore, SurveyScore.response_id == SurveyResponse.id)
        .join(Task, and_(Task.ticket_id == SurveyResponse.ticket_id, *done))
        .join(Customer, Customer.id == Task.customer_id)
        .where(SurveyResponse.channel == SURVEY_CHANNEL, period.holds(SurveyResponse.collected_at))
        .group_by(person)
    ):
        found[user_id]["callback_satisfaction"] = float(satisfaction)


def _tasks(session: Session, period: Period, found: dict, person) -> None:
    completed = (
        func.date(Task.completed_at)
        if session.get_bind().dialect.name == "sqlite"
        else func.date(func.timezone("UTC", Task.completed_at))
    )
    on_time = completed <= func.date(Task.due_on)
    for user_id, count, timely in session.execute(
        select(person, func.count(), func.sum(case((on_time, 1), else_=0)))
        .select_from(Task)
        .join(Customer, Customer.id == Task.customer_id)
        .where(Task.status == TaskStatus.DONE, period.holds(Task.completed_at))
        .group_by(person)
    ):
        found[user_id].update(tasks_done=count, tasks_on_time_rate=(timely or 0) / count)


def _contacts(session: Session, period: Period, found: dict, book) -> None:
    """Contacts that count on the accounts each person owns, against what the cadence asks."""
    live = (
        Customer.deleted_at.is_(None),
        Customer.status != CustomerStatus.CHURNED,
        Customer.owner_id.is_not(None),
    )
    accounts = session.execute(select(Customer.id, Customer.owner_id, Customer.tier).where(*live)).all()
    deciding = defaultdict(list)
    for customer_id, name in session.execute(
        select(Department.customer_id, Department.name).where(Department.is_decision_maker)
    ):
        deciding[customer_id].append(name)
    for customer_id, owner_id, tier in accounts:
        cadences = [book.cadence.days_for(str(tier), name) for name in deciding[customer_id]] or [
            book.cadence.days[str(tier)]
        ]
        mine = found[owner_id]
        mine["accounts"] = mine.get("accounts", 0) + 1
        mine["contacts_expected"] = mine.get("contacts_expected", 0.0) + sum(
            period.days / c for c in cadences
        )
    for owner_id, count in session.execute(
        select(Customer.owner_id, func.count())
        .select_from(Interaction)
        .join(Customer, Customer.id == Interaction.customer_id)
        .where(*live, period.holds(Interaction.at), Interaction.kind.in_(sorted(book.cadence.counting_kinds)))
        .group_by(Customer.owner_id)
    ):
        found[owner_id]["contacts"] = count


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None
