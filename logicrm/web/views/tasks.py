"""My tasks: the user's open tasks on accounts it sees, overdue, due today and in the coming week, as
GET /api/v1/me/tasks answers them (tasks.day), today counted in the display time zone."""

from __future__ import annotations

import zoneinfo

from flask import current_app

from logicrm.api import session
from logicrm.customers import service as customers
from logicrm.db import utcnow
from logicrm.tasks import service as tasks
from logicrm.web.pages import Page, render, route, user

UPCOMING_DAYS = 7


@route("/tasks")
class MyTasks(Page):
    def get(self):
        today = utcnow().astimezone(zoneinfo.ZoneInfo(current_app.config["LOGICRM"].display_timezone)).date()
        day = tasks.day(session(), user=user(), today=today, upcoming_days=UPCOMING_DAYS)
        ids = {task.customer_id for found in day.values() for task in found}
        return render(
            "tasks.html",
            day=day,
            today=today,
            upcoming_days=UPCOMING_DAYS,
            names=customers.names_for(session(), user=user(), ids=ids),
        )
