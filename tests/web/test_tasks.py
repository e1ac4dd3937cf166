"""The tasks page: the user's own open tasks by when they are due, as GET /api/v1/me/tasks answers them."""

from __future__ import annotations

import datetime as dt

from logicrm.web.views import tasks as tasks_view
from tests import factories


def test_my_tasks_lists_mine_by_due_day_and_nothing_of_anyone_else(api, actors, browse):
    mine = factories.customer(api, name="Acme Freight", owner_id=actors["am"].user_id)
    theirs = factories.customer(api, name="Hidden Haulage", owner_id=actors["am2"].user_id)
    today = dt.datetime.now(dt.UTC).date()
    am, am2 = actors["am"].user_id, actors["am2"].user_id
    factories.task(
        api, mine, title="call the buyer", assignee_id=am, due_on=str(today - dt.timedelta(days=2))
    )
    factories.task(
        api, mine, title="book the QBR", kind="qbr", assignee_id=am, due_on=str(today + dt.timedelta(days=3))
    )
    factories.task(api, mine, title="far away", assignee_id=am, due_on=str(today + dt.timedelta(days=30)))
    factories.task(api, theirs, title="not for you", assignee_id=am2, due_on=str(today))

    page = browse("am@test.example").get("/tasks")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    overdue, coming = text.index('id="tasks-overdue"'), text.index('id="tasks-upcoming"')
    assert overdue < text.index("call the buyer") < text.index('id="tasks-today"')
    assert coming < text.index("book the QBR") and "quarterly business review" in text
    assert "Acme Freight" in text
    assert "far away" not in text and "not for you" not in text and "Hidden Haulage" not in text


def test_each_part_of_the_day_pages_on_the_server(api, actors, browse, monkeypatch):
    monkeypatch.setattr(tasks_view, "TASKS_PAGE", 2)
    mine = factories.customer(api, name="Busy Account", owner_id=actors["am"].user_id)
    today = dt.datetime.now(dt.UTC).date()
    for days in (9, 8, 7):
        factories.task(
            api,
            mine,
            title=f"late by {days}",
            assignee_id=actors["am"].user_id,
            due_on=str(today - dt.timedelta(days)),
        )
    browser = browse("am@test.example")

    first = browser.get("/tasks").get_data(as_text=True)
    assert (
        "Overdue (3)" in first and "late by 9" in first and "late by 8" in first and "late by 7" not in first
    )
    assert "/tasks?overdue_page=2#tasks-overdue" in first
    second = browser.get("/tasks?overdue_page=2").get_data(as_text=True)
    assert "late by 7" in second and "late by 9" not in second
