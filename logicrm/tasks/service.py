"""Tasks as customer records (customers.records does visibility, references and history), the tasks the
system opens by itself (once each, by their dedupe key) and closes when their reason goes, and a
person's day.

Who may be assigned: an active user who may write and sees the account (its owner, a member of its team,
or a manager or admin), so an assignee never learns of an account through a task.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from logicrm import db
from logicrm.audit import service as audit
from logicrm.customers import records
from logicrm.customers import service as customers
from logicrm.db import utcnow
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
    return (user_id, customer_id) in takers(session, pairs=[(user_id, customer_id)])


def takers(session: Session, *, pairs: Iterable[tuple[int | None, int]]) -> set[tuple[int | None, int]]:
    """The (user id, customer id) pairs among `pairs` whose user may be given a task on the account (see
    check_assignee): a query per user, however many accounts."""
    accounts: dict[int, set[int]] = {}
    for user_id, customer_id in pairs:
        if user_id is not None:
            accounts.setdefault(user_id, set()).add(customer_id)
    found = set()
    for user_id, ids in accounts.items():
        person = session.get(User, user_id)
        if person is not None and person.active and person.role in WRITERS:
            seen = customers.existing(session, user=person, ids=ids, include_deleted=True)
            found.update((user_id, customer_id) for customer_id in seen)
    return found


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
    spec = dict(customer_id=customer_id, kind=kind, title=title, due_on=due_on, source=source,
                dedupe_key=dedupe_key, assignee_id=assignee_id, **links)  # fmt: skip
    (task_id,) = open_tasks_once(session, specs=[spec], user=user)
    return None if task_id is None else session.get(Task, task_id)


def open_tasks_once(session: Session, *, specs: list[dict], user: User | None) -> list[int | None]:
    """Open automatic tasks (open_task's arguments each) in one bulk insert: the new task's id for each,
    None for each whose dedupe key a task already has, or an earlier one of `specs`."""
    taken = set(
        session.scalars(
            select(Task.dedupe_key).where(
                db.among(session.connection(), Task.dedupe_key, {spec["dedupe_key"] for spec in specs})
            )
        )
    )
    fresh: list[dict | None] = []
    for spec in specs:
        if spec["dedupe_key"] in taken:
            fresh.append(None)
            continue
        taken.add(spec["dedupe_key"])
        fresh.append({**spec, "title": spec["title"][:300], "created_by_id": user.id if user else None})
    # pending rows first: insert_records draws ids from what is stored (on SQLite the largest id plus one)
    session.flush()
    stored = iter(
        db.insert_records(session.connection(), Task.__table__, [f for f in fresh if f is not None])
    )
    opened = [None if spec is None else next(stored) for spec in fresh]
    new = [task for task in opened if task is not None]
    audit.record_many(
        session,
        user=user,
        events=[
            (
                TASKS.entity,
                task["id"],
                task["customer_id"],
                "create",
                audit.created({f: task.get(f) for f in FIELDS}),
            )
            for task in new
        ],
    )
    return [None if task is None else task["id"] for task in opened]


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
        tasks=open_tasks(session, db.among(session.connection(), Task.alert_id, ids)),
        status=TaskStatus.NOT_NEEDED,
        outcome="no longer needed: the alert resolved",
        user=user,
    )


def close_cadence_tasks(
    session: Session, *, customer_id: int, department_id: int | None, interaction_id: int, user: User | None
) -> int:
    """A contact that counts was logged: the cadence task of its department, and the account's own (an
    account with no deciding department), are done."""
    return close_cadence_tasks_after(
        session, contacts=[(customer_id, department_id, interaction_id)], user=user
    )


def close_cadence_tasks_after(
    session: Session, *, contacts: list[tuple[int, int | None, int]], user: User | None
) -> int:
    """close_cadence_tasks for each (customer id, department id, interaction id) in turn, in one query."""
    if not contacts:
        return 0
    open_cadence: dict[int, list[Task]] = {}
    for task in open_tasks(
        session,
        db.among(session.connection(), Task.customer_id, {customer_id for customer_id, _d, _i in contacts}),
        Task.source == TaskSource.CADENCE,
    ):
        open_cadence.setdefault(task.customer_id, []).append(task)
    closed = 0
    for customer_id, department_id, interaction_id in contacts:
        found = [
            task
            for task in open_cadence.get(customer_id, ())
            if task.department_id is None
            or (department_id is not None and task.department_id == department_id)
        ]
        if found:  # (a task closed by an earlier contact is skipped by close)
            closed += close(
                session, tasks=found, status=TaskStatus.DONE, outcome=f"contact logged: interaction {interaction_id}",
                user=user,
            )  # fmt: skip
    return closed


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
