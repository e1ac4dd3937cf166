"""HTTP routes for tasks and a person's day."""

from __future__ import annotations

import zoneinfo

from flask.views import MethodView

from logicrm.api import Blueprint, current_user, expected_version, page_of, paginate, session, with_etag
from logicrm.customers import records
from logicrm.db import utcnow
from logicrm.schemas import patch_schema
from logicrm.tasks import service as tasks
from logicrm.tasks.schemas import DayArgs, DayOut, TaskIn, TaskListArgs, TaskOut

blp = Blueprint(
    "tasks", __name__, url_prefix="/tasks", description="Calls, visits, callbacks and renewals to do."
)
me_blp = Blueprint("my-tasks", __name__, url_prefix="/me", description="The caller's own work.")


@blp.route("")
class Tasks(MethodView):
    @blp.arguments(TaskListArgs, location="query")
    @blp.response(200, page_of(TaskOut))
    def get(self, args):
        """List tasks on visible accounts, soonest due first."""
        page, page_size = args.pop("page"), args.pop("page_size")
        statement = tasks.list_statement(user=current_user(), **args)
        return paginate(session(), statement, page=page, page_size=page_size)

    @blp.arguments(TaskIn)
    @blp.response(201, TaskOut)
    def post(self, task_in):
        """Create a task (assigned to the caller unless given)."""
        return with_etag(records.create(session(), user=current_user(), kind=tasks.TASKS, data=task_in), 201)


@blp.route("/<int:task_id>")
class TaskById(MethodView):
    @blp.response(200, TaskOut)
    def get(self, task_id):
        """Read one task."""
        return with_etag(records.get(session(), user=current_user(), kind=tasks.TASKS, record_id=task_id))

    @blp.arguments(patch_schema(TaskIn))
    @blp.response(200, TaskOut)
    def patch(self, changes, task_id):
        """Change a task; set status done (or not_needed) with an outcome to close it (If-Match required)."""
        task = records.get(session(), user=current_user(), kind=tasks.TASKS, record_id=task_id)
        expected_version(task)
        return with_etag(
            records.update(session(), user=current_user(), kind=tasks.TASKS, record=task, changes=changes)
        )

    @blp.response(204)
    def delete(self, task_id):
        """Delete a task (If-Match required)."""
        task = records.get(session(), user=current_user(), kind=tasks.TASKS, record_id=task_id)
        expected_version(task)
        records.delete(session(), user=current_user(), kind=tasks.TASKS, record=task)


@me_blp.route("/tasks")
class MyTasks(MethodView):
    @me_blp.arguments(DayArgs, location="query")
    @me_blp.response(200, DayOut)
    def get(self, args):
        """Your day: your open tasks overdue, due today and due in the next days (today in your time zone)."""
        today = utcnow().astimezone(zoneinfo.ZoneInfo(args["time_zone"])).date()
        day = tasks.day(session(), user=current_user(), today=today, upcoming_days=args["upcoming_days"])
        return {"date": today, **day}


blueprints = (blp, me_blp)
