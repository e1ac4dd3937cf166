"""Playbooks: an alert that opens turns into the tasks its rule's playbook lists, each once per alert."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from logicrm import db
from logicrm.customers import teams
from logicrm.health.models import Alert
from logicrm.relations.models import Department
from logicrm.rulebook.document import Rulebook
from logicrm.tasks import service as tasks
from logicrm.tasks.models import TaskKind, TaskSource


def departments_named(details: dict) -> list[str]:
    """The departments an alert names (as plain names or as {"name": …})."""
    named = details.get("departments") or []
    return [item["name"] if isinstance(item, dict) else str(item) for item in named]


def run(session: Session, *, book: Rulebook, opened: list[Alert], accounts: dict, today: dt.date) -> int:
    """Open the playbook tasks of alerts just opened; `accounts` maps customer id to its scores (name, tier).

    Each step goes to the person of its role on the account (else the owner), due its days after today;
    a step for each department opens one task per department the alert names.
    """
    opened = [alert for alert in opened if alert.customer_id in accounts and book.playbooks.get(alert.rule)]
    ids = {alert.customer_id for alert in opened}
    people = teams.people(session, customer_ids=ids)
    department_ids = {
        (customer_id, name.strip().lower()): department_id
        for department_id, customer_id, name in session.execute(
            select(Department.id, Department.customer_id, Department.name).where(
                db.among(session.connection(), Department.customer_id, ids)
            )
        )
    }
    steps = [
        (alert, index, step)
        for alert in opened
        for index, step in enumerate(book.playbooks[alert.rule])
        if step.applies_to(accounts[alert.customer_id].tier)
    ]
    chosen = {
        (alert.id, index): people[alert.customer_id].get(
            step.assignee, people[alert.customer_id].get(teams.OWNER)
        )
        for alert, index, step in steps
    }
    taking = tasks.takers(
        session, pairs={(chosen[alert.id, index], alert.customer_id) for alert, index, _step in steps}
    )
    specs = []
    for alert, index, step in steps:
        account = accounts[alert.customer_id]
        person = chosen[alert.id, index]
        names = departments_named(alert.details or {}) if step.for_each_department else [None]
        for name in names:
            specs.append(
                dict(
                    customer_id=alert.customer_id,
                    kind=TaskKind(step.kind),
                    title=step.title_for(
                        customer=account.name, tier=account.tier, rule=alert.rule, department=name or ""
                    ),
                    due_on=today + dt.timedelta(days=step.due_days),
                    source=TaskSource.PLAYBOOK,
                    dedupe_key=f"alert:{alert.id}:{index}:{name or '-'}"[:200],
                    assignee_id=person if (person, alert.customer_id) in taking else None,
                    alert_id=alert.id,
                    department_id=(
                        department_ids.get((alert.customer_id, name.strip().lower())) if name else None
                    ),
                )
            )
    # one query for the existing keys and one flush, however many alerts opened
    return sum(task is not None for task in tasks.open_tasks_once(session, specs=specs, user=None))
