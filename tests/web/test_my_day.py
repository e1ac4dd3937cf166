"""My day reads what it needs once, however many accounts it names (no query per row)."""

from __future__ import annotations

import datetime as dt

from tests import factories
from tests.web.conftest import statements


def test_my_day_runs_as_many_statements_for_twelve_accounts_as_for_one(api, actors, db, browse):
    am = actors["am"].user_id
    factories.customer(api, name="First Account", owner_id=am)
    browser = browse("am@test.example")
    browser.get("/")  # warm: the scores are computed once and cached
    with statements(db.engine) as one:
        first = browser.get("/").get_data(as_text=True)
    for k in range(11):
        factories.customer(api, name=f"More Account {k}", owner_id=am)
    browser.get("/")
    with statements(db.engine) as twelve:
        page = browser.get("/").get_data(as_text=True)
    assert "First Account" in first and page.count("More Account") >= 9  # ten rows at most, all named
    assert len(twelve) == len(one)


def test_my_day_lists_my_tasks_overdue_and_due_today_but_not_later_ones_or_others(api, actors, db, browse):
    am = actors["am"].user_id
    account = factories.customer(api, name="Tasked Account", owner_id=am)
    today = dt.datetime.now(dt.UTC).date()  # the test settings show days in UTC
    for title, due, assignee in (
        ("call the late payer", today - dt.timedelta(days=3), am),
        ("visit finance today", today, am),
        ("review next week", today + dt.timedelta(days=5), am),
        ("someone else's call", today, actors["manager"].user_id),
    ):
        factories.task(api, account, title=title, due_on=due.isoformat(), assignee_id=assignee)
    page = browse("am@test.example").get("/").get_data(as_text=True)
    section = page[page.index('id="tasks-heading"') : page.index('id="tickets-heading"')]
    assert "call the late payer" in section and "visit finance today" in section
    assert "review next week" not in section and "someone else" not in section
    assert "1 overdue, 1 due today" in section and 'href="/tasks"' in section
