"""My tasks: the user's open tasks on accounts it sees, overdue, due today and in the coming week, as
GET /api/v1/me/tasks answers them (tasks.day), today counted in the display time zone."""

from __future__ import annotations

from logicrm.api import paginate, session
from logicrm.customers import service as customers
from logicrm.tasks import service as tasks
from logicrm.web.pages import Page, render, route, user
from logicrm.web.views.common import page_number, today

UPCOMING_DAYS = 7
TASKS_PAGE = 50  # tasks a part of the day shows at once (a neglected portfolio has hundreds overdue)


@route("/tasks")
class MyTasks(Page):
    def get(self):
        parts = tasks.day_statements(user=user(), today=(now := today()), upcoming_days=UPCOMING_DAYS)
        pages = {part: page_number(f"{part}_page") for part in parts}
        day = {
            part: paginate(session(), statement, page=pages[part], page_size=TASKS_PAGE)
            for part, statement in parts.items()
        }
        ids = {task.customer_id for found in day.values() for task in found["items"]}
        return render(
            "tasks.html",
            day=day,
            today=now,
            upcoming_days=UPCOMING_DAYS,
            names=customers.names_for(session(), user=user(), ids=ids),
            page_args={f"{part}_page": page for part, page in pages.items() if page > 1},
        )
