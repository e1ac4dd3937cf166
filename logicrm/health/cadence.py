"""Contact cadence per deciding department: when each was last contacted through a kind that counts, and the
task that opens before the cadence runs out (the alert, contact_overdue, comes only once it has).

A department's cadence is the rulebook's for the account's tier, or its own where the rulebook names the
department. A contact counts for the department it was logged with and only if its kind counts (a visit,
a call; not a newsletter email). An account with no deciding department is held to the cadence as a
whole, by any contact that counts.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from logicrm.customers import teams
from logicrm.health.rules import ContactFact
from logicrm.relations.models import Interaction
from logicrm.rulebook.document import Rulebook
from logicrm.tasks import service as tasks
from logicrm.tasks.models import TaskKind, TaskSource

VERBS = {"visit": "Visit", "call": "Call"}
DAY_S = 86_400


@dataclass(frozen=True)
class Due:
    """A deciding department (or the account as a whole: department None) and when it is due for contact."""

    customer_id: int
    department_id: int | None
    department: str | None
    last_contact: dt.datetime | None  # of a kind that counts; None: never
    cadence_days: int

    def due_on(self, today: dt.date) -> dt.date:
        """The day the cadence runs out (today when never contacted)."""
        if self.last_contact is None:
            return today
        return (self.last_contact + dt.timedelta(days=self.cadence_days)).date()

    def fact(self, now: dt.datetime) -> ContactFact:
        days = None if self.last_contact is None else (now - self.last_contact).total_seconds() / DAY_S
        return ContactFact(
            department=self.department or "", days_since_contact=days, cadence_days=self.cadence_days
        )


def dues(session: Session, *, accounts, book: Rulebook, now: dt.datetime) -> dict[int, list[Due]]:
    """Per account (scoring.scores.AccountScores), its deciding departments' cadence, or its own."""
    by_department: dict[tuple[int, int | None], dt.datetime] = {}
    by_account: dict[int, dt.datetime] = {}
    rows = session.execute(
        select(Interaction.customer_id, Interaction.department_id, func.max(Interaction.at))
        .where(Interaction.at <= now, Interaction.kind.in_(sorted(book.cadence.counting_kinds)))
        .group_by(Interaction.customer_id, Interaction.department_id)
    )
    for customer_id, department_id, last in rows:
        by_department[(customer_id, department_id)] = last
        by_account[customer_id] = max(last, by_account.get(customer_id, last))
    found: dict[int, list[Due]] = defaultdict(list)
    for account in accounts:
        deciding = [d for d in account.satisfaction.departments if d.is_decision_maker]
        for department in deciding:
            found[account.customer_id].append(
                Due(
                    customer_id=account.customer_id,
                    department_id=department.department_id,
                    department=department.name,
                    last_contact=by_department.get((account.customer_id, department.department_id)),
                    cadence_days=book.cadence.days_for(account.tier, department.name),
                )
            )
        if not deciding:
            found[account.customer_id].append(
                Due(
                    customer_id=account.customer_id,
                    department_id=None,
                    department=None,
                    last_contact=by_account.get(account.customer_id),
                    cadence_days=book.cadence.days[account.tier],
                )
            )
    return found


def open_tasks(
    session: Session, *, dues: dict[int, list[Due]], accounts, book: Rulebook, now: dt.datetime
) -> int:
    """Open a task for each department whose cadence runs out within the lead time (or already has), once
    per cycle: the key names the day it runs out, which moves on with the next contact that counts."""
    today = now.date()
    lead = dt.timedelta(days=book.cadence.task_lead_days)
    names = {account.customer_id: (account.name, account.tier) for account in accounts}
    due_now = {
        _key(due, today): due for found in dues.values() for due in found if due.due_on(today) - lead <= today
    }
    owners = teams.people(session, customer_ids={due.customer_id for due in due_now.values()})
    owner_of = {key: owners[due.customer_id].get(teams.OWNER) for key, due in due_now.items()}
    taking = tasks.takers(session, pairs={(owner_of[key], due.customer_id) for key, due in due_now.items()})
    specs = []
    for key, due in due_now.items():
        name, tier = names[due.customer_id]
        kind = book.cadence.task_kind[tier]
        whom = f"the head of {due.department} at {name}" if due.department else name
        since = f"last {due.last_contact:%d %b %Y}" if due.last_contact else "never contacted"
        specs.append(
            dict(
                customer_id=due.customer_id,
                kind=TaskKind(kind),
                title=f"{VERBS.get(kind, 'Contact')} {whom}: contact due every {due.cadence_days} days ({since})",
                due_on=due.due_on(today),
                source=TaskSource.CADENCE,
                dedupe_key=key,
                assignee_id=owner_of[key] if (owner_of[key], due.customer_id) in taking else None,
                department_id=due.department_id,
            )
        )
    # most are opened already in this cycle (a nightly run meets them again): open_tasks_once skips them
    return sum(task is not None for task in tasks.open_tasks_once(session, specs=specs, user=None))


def _key(due: Due, today: dt.date) -> str:
    """The dedupe key of a due contact's task: once per account or department and cycle."""
    cycle = due.due_on(today).isoformat() if due.last_contact else "never"
    return f"cadence:{due.customer_id}:{due.department_id or 'account'}:{cycle}"
