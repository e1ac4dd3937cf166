"""Task payloads and a person's day."""

from __future__ import annotations

import marshmallow as ma

from logicrm.api import PageArgs
from logicrm.config import is_time_zone
from logicrm.schemas import Id, WholeNumber, enum_field, long_text
from logicrm.tasks.models import TaskKind, TaskSource, TaskStatus

Length = ma.validate.Length
UPCOMING_DAYS_MAX = 366


class TaskIn(ma.Schema):
    customer_id = Id(required=True)
    department_id = Id(allow_none=True)
    contact_id = Id(allow_none=True)
    ticket_id = Id(allow_none=True)
    alert_id = Id(allow_none=True)
    interaction_id = Id(allow_none=True, metadata={"description": "the contact it follows up"})
    assignee_id = Id(
        allow_none=True,
        metadata={"description": "an active user who covers the account; defaults to the caller"},
    )
    kind = enum_field(TaskKind, required=True)
    title = ma.fields.String(required=True, validate=Length(min=1, max=300))
    notes = long_text(allow_none=True)
    due_on = ma.fields.Date(required=True)
    status = enum_field(TaskStatus, load_default=TaskStatus.OPEN)
    outcome = long_text(allow_none=True, metadata={"description": "how it went (when done)"})


class TaskOut(TaskIn):
    id = Id()
    created_by_id = Id(allow_none=True)
    source = enum_field(
        TaskSource,
        metadata={"description": "manual, or what opened it: follow_up, playbook, cadence, callback"},
    )
    completed_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()
    version = ma.fields.Integer()


class TaskListArgs(PageArgs):
    customer_id = Id()
    assignee_id = Id()
    unassigned = ma.fields.Boolean(load_default=False, metadata={"description": "only tasks nobody holds"})
    status = enum_field(TaskStatus)
    kind = enum_field(TaskKind)
    source = enum_field(TaskSource)
    ticket_id = Id()
    alert_id = Id()
    due_from = ma.fields.Date()
    due_to = ma.fields.Date()


def _time_zone(name: str) -> None:
    if not is_time_zone(name):
        raise ma.ValidationError("not a time zone name of the IANA database, such as UTC or Europe/Berlin")


class DayArgs(ma.Schema):
    time_zone = ma.fields.String(
        load_default="UTC",
        validate=[Length(min=1, max=64), _time_zone],
        metadata={"description": "IANA time zone that decides what today is, e.g. Asia/Shanghai"},
    )
    upcoming_days = WholeNumber(
        load_default=7,
        validate=ma.validate.Range(min=0, max=UPCOMING_DAYS_MAX),
        metadata={"description": "how many days after today 'upcoming' reaches"},
    )


class DayOut(ma.Schema):
    date = ma.fields.Date(metadata={"description": "today, in the time zone asked"})
    overdue = ma.fields.List(ma.fields.Nested(TaskOut), metadata={"description": "due before today"})
    today = ma.fields.List(ma.fields.Nested(TaskOut), metadata={"description": "due today"})
    upcoming = ma.fields.List(ma.fields.Nested(TaskOut), metadata={"description": "due in the next days"})
