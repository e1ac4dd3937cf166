"""My day reads what it needs once, however many accounts it names (no query per row)."""

from __future__ import annotations

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
