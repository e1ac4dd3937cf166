"""Tasks as customer records (customers.records does visibility, references and history), the tasks the
system opens by itself (once each, by their dedupe key) and closes when their reason goes, and a
person's day.

Who may be assigned: an active user who may write and sees the account (its owner, a member of its team,
or a manager or admin), so an assignee never learns of an account through a task.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from logicrm.audit import service as audit
from logicrm.customers import records
from logicrm.customers import service as customers
from logicrm.db import among, utcnow
from logicrm.errors import field_error
from logicrm.tasks.models import OPEN_STATUSES, Task, TaskKind, TaskSource, TaskStatus
from logicrm.users.models import User, UserRole

WRITERS = (UserRole.ADMIN, UserRole.MANAGER, UserRole.ACCOUNT_MANAGER)
FIELDS = (
    "customer_id",
    "department_id",
    "contact_id",
    "ticket_id",
    "alert_id",
    "interaction_id",
    "assignee_id",
    "kind",
    "title",
    "notes",
    "due_on",
    "status",
    "outcome",
    "source",
)


@records.each
def _prepare(session: Session, user: User, data: dict, task: Mapping | None) -> dict:
    """Check the assignee; a new task is the caller's own unless given; closing stamps completed_at."""
    data = dict(data)
    if task is None:
        data.setdefault("assignee_id", user.id)
        data["created_by_id"] = user.id
    customer_id = data.get("customer_id", task["customer_id"] if task else None)
    if "assignee_id" in data and data["assignee_id"] is not None:
        check_assignee(session, user_id=data["assignee_id"], customer_id=customer_id)
    if "status" in data:
        closing = data["status"] != TaskStatus.OPEN
        was_open = task is None or task["status"] == TaskStatus.OPEN
        if closing and was_open:
            data["completed_at"] = utcnow()
        elif not closing:
            data["completed_at"] = None
    return data


def check_assignee(session: Session, *, user_id: int, customer_id: int) -> None:
    """Refuse an assignee who is unknown, deactivated, may not write, or does not see the account."""
    assignee = session.get(User, user_id)
    if assignee is None or not assignee.active or assignee.role not in WRITERS:
        raise field_error("assignee_id", f"user {user_id} is not an active user who may take tasks")
    if not customers.is_visible(session, user=assignee, customer_id=customer_id, include_deleted=True):
        raise field_error("assignee_id", f"user {user_id} does not cover customer {customer_id}")


def takes_tasks(session: Session, *, user_id: int | None, customer_id: int) -> bool:
    """Tell whether a user may be given a task on the account (see check_assignee)."""
    person = session.get(User, user_id) if user_id is not None else None
    return (
        person is not None
        and person.active
        and person.role in WRITERS
        and customers.is_visible(session, user=person, customer_id=customer_id, include_deleted=True)
    )


TASKS = records.RecordKind(
    Task,
    "task",
    audited=True,
    same_customer={
        "department_id": "departments",
        "contact_id": "contacts",
        "ticket_id": "tickets",
        "alert_id": "alerts",
        "interaction_id": "interactions",
    },
    prepare=_prepare,
)


def list_statement(
    *,
    user: User,
    customer_id: int | None = None,
    assignee_id: int | None = None,
    unassigned: bool = False,
    status: TaskStatus | None = None,
    kind: TaskKind | None = None,
    source: TaskSource | None = None,
    ticket_id: int | None = None,
    alert_id: int | None = None,
    due_from: dt.date | None = None,
    due_to: dt.date | None = None,
) -> Select:
    """Select the tasks on visible accounts, soonest due first, with filters."""
    statement = records.list_statement(user=user, kind=TASKS, customer_id=customer_id).order_by(None)
    for column, value in (
        (Task.assignee_id, assignee_id),
        (Task.status, status),
        (Task.kind, kind),
        (Task.source, source),
        (Task.ticket_id, ticket_id),
        (Task.alert_id, alert_id),
    ):
        if value is not None:
            statement = statement.where(column == value)
    if unassigned:
        statement = statement.where(Task.assignee_id.is_(None))
    if due_from is not None:
        statement = statement.where(Task.due_on >= due_from)
    if due_to is not None:
        statement = statement.where(Task.due_on <= due_to)
    return statement.order_by(Task.due_on, Task.id)


def day_statements(*, user: User, today: dt.date, upcoming_days: int) -> dict[str, Select]:
    """Select a person's open tasks on accounts it sees, soonest due first, by part of the day: overdue,
    due today, and due in the next days."""
    mine = {"user": user, "assignee_id": user.id, "status": TaskStatus.OPEN}
    return {
        "overdue": list_statement(**mine, due_to=today - dt.timedelta(days=1)),
        "today": list_statement(**mine, due_from=today, due_to=today),
        "upcoming": list_statement(
            **mine, due_from=today + dt.timedelta(days=1), due_to=today + dt.timedelta(days=upcoming_days)
        ),
    }


def day(session: Session, *, user: User, today: dt.date, upcoming_days: int) -> dict[str, list[Task]]:
    """A person's open tasks on accounts it sees: overdue, due today, and due in the next days."""
    parts = day_statements(user=user, today=today, upcoming_days=upcoming_days)
    return {part: list(session.scalars(statement)) for part, statement in parts.items()}


# Tasks the system opens and closes -------------------------------------------------------------------


def existing_keys(session: Session, *, keys: Iterable[str]) -> set[str]:
    """Return the dedupe keys among `keys` that a task already holds (open or closed), in one query."""
    return set(
        session.scalars(select(Task.dedupe_key).where(among(session.connection(), Task.dedupe_key, keys)))
    )


def open_task(
    session: Session,
    *,
    customer_id: int,
    kind: TaskKind,
    title: str,
    due_on: dt.date,
    source: TaskSource,
    dedupe_key: str,
    assignee_id: int | None,
    user: User | None = None,
    **links: int | None,
) -> Task | None:
    """Open an automatic task once: None when a task with this dedupe key exists (open or closed).

    `links` name its department, contact, ticket, alert or interaction; `user` is who caused it (None:
    a scheduled job).
    """
    if session.scalar(select(Task.id).where(Task.dedupe_key == dedupe_key)) is not None:
        return None
    task = Task(
        customer_id=customer_id,
        kind=kind,
        title=title[:300],
        due_on=due_on,
        source=source,
        dedupe_key=dedupe_key,
        assignee_id=assignee_id,
        created_by_id=user.id if user else None,
        **links,
    )
    session.add(task)
    session.flush()
    audit.record(
        session,
        user=user,
        entity=TASKS.entity,
        entity_id=task.id,
        customer_id=customer_id,
        action="create",
        changes=audit.snapshot(task, FIELDS),
    )
    return task


def close(
    session: Session, *, tasks: Iterable[Task], status: TaskStatus, outcome: str, user: User | None
) -> int:
    """Close open tasks (done or not needed) with an outcome, recorded in their accounts' history."""
    closed = 0
    now = utcnow()
    for task in tasks:
        if task.status != TaskStatus.OPEN:
            continue
        diff = audit.apply_changes(task, {"status": status, "outcome": outcome, "completed_at": now})
        audit.record(
            session,
            user=user,
            entity=TASKS.entity,
            entity_id=task.id,
            customer_id=task.customer_id,
            action="update",
            changes=diff,
        )
        closed += 1
    session.flush()
    return closed


def open_tasks(session: Session, *where) -> list[Task]:
    """The open tasks meeting the conditions on Task."""
    return list(session.scalars(select(Task).where(Task.status.in_(OPEN_STATUSES), *where).order_by(Task.id)))


def close_for_alerts(session: Session, *, alert_ids: Iterable[int], user: User | None) -> int:
    """Close the open tasks alerts opened, as no longer needed: the alerts resolved."""
    ids = list(alert_ids)
    if not ids:
        return 0
    return close(
        session,
        tasks=open_tasks(session, Task.alert_id.in_(ids)),
        status=TaskStatus.NOT_NEEDED,
        outcome="no longer needed: the alert resolved",
        user=user,
    )


def close_cadence_tasks(
    session: Session, *, customer_id: int, department_id: int | None, interaction_id: int, user: User | None
) -> int:
    """A contact that counts was logged: the cadence task of its department, and the account's own (an
    account with no deciding department), are done."""
    account = Task.department_id.is_(None)
    found = open_tasks(
        session,
        Task.customer_id == customer_id,
        account if department_id is None else or_(Task.department_id == department_id, account),
        Task.source == TaskSource.CADENCE,
    )
    return close(
        session,
        tasks=found,
        status=TaskStatus.DONE,
        outcome=f"contact logged: interaction {interaction_id}",
        user=user,
    )


def reassign_open(session: Session, *, user: User, from_user: User, to_user: User) -> dict[str, int]:
    """Give `to_user` the open tasks of `from_user` (a handover) on the accounts it sees; the others are
    left unassigned for the account's team. Each move is recorded in its account's history."""
    moving = open_tasks(session, Task.assignee_id == from_user.id)
    seen = customers.visible_among(session, user=to_user, ids={task.customer_id for task in moving})
    for task in moving:
        task.assignee_id = to_user.id if task.customer_id in seen else None
        audit.record(
            session,
            user=user,
            entity=TASKS.entity,
            entity_id=task.id,
            customer_id=task.customer_id,
            action="handover",
            changes={"assignee_id": [from_user.id, task.assignee_id]},
        )
    session.flush()
    unassigned = sum(task.assignee_id is None for task in moving)
    return {"tasks": len(moving) - unassigned, "tasks_unassigned": unassigned}


def count_open(session: Session, *, assignee_id: int) -> int:
    """How many open tasks a user holds."""
    return len(open_tasks(session, Task.assignee_id == assignee_id))
