"""Who hears of an account's alerts: owner, team and subscribers by their preferences; managers when no
active owner; never someone deactivated or who does not see the account."""

from __future__ import annotations

from sqlalchemy import event

from logicrm.customers import service as customers
from logicrm.health import subscriptions
from logicrm.users import service as users
from tests import factories


def _reached(db, customer_id: int) -> dict[str, tuple[str, str]]:
    """{user name: (why, mode for high alerts)}."""
    with db.session(write=False) as session:
        found = subscriptions.reached(session, customer_ids=[customer_id])[customer_id]
        return {person.user.name: (person.reason, str(person.modes["high"])) for person in found}


def test_owner_team_and_subscribers_each_once_with_their_modes(api, actors, db):
    customer = factories.customer(api, owner_id=actors["am"].user_id)
    team = {"members": [{"user_id": actors["am2"].user_id, "role": "service_agent"}]}
    assert api.update(f"/customers/{customer['id']}/team", team, method="PUT").status_code == 200
    settings = {"modes": {"high": "immediate"}, "customer_ids": [customer["id"]]}
    assert api.as_(actors["manager"]).put("/me/alert-settings", json=settings).status_code == 200
    assert (
        api.as_(actors["am2"]).put("/me/alert-settings", json={"modes": {"high": "off"}}).status_code == 200
    )
    # the am subscribes to its own account too: it is reached once, as the owner
    assert (
        api.as_(actors["am"]).put("/me/alert-settings", json={"customer_ids": [customer["id"]]}).status_code
        == 200
    )

    assert _reached(db, customer["id"]) == {
        "Am": ("owner", "digest"), "Am2": ("team", "off"), "Manager": ("subscriber", "immediate")
    }  # fmt: skip
    assert api.as_(actors["am2"]).get("/me/alert-settings").json == {
        "modes": {"low": "digest", "medium": "digest", "high": "off"}, "customer_ids": []
    }  # fmt: skip


def test_an_account_without_an_active_owner_reaches_the_managers(api, actors, db):
    unowned = factories.customer(api)
    owned = factories.customer(api, owner_id=actors["am"].user_id)
    assert _reached(db, unowned["id"]) == {"Manager": ("manager", "digest")}
    with db.session_scope() as session:  # deactivated the old way, without a handover
        users.deactivate(session, user=users.get(session, user_id=actors["am"].user_id))
    assert _reached(db, owned["id"]) == {"Manager": ("manager", "digest")}


def test_a_subscription_needs_an_account_the_user_sees(api, actors):
    hidden = factories.customer(api, owner_id=actors["am2"].user_id)
    refused = api.as_(actors["am"]).put("/me/alert-settings", json={"customer_ids": [hidden["id"]]})
    assert refused.status_code == 422
    assert refused.json["errors"]["json"]["customer_ids"] == {"0": [f"unknown customer {hidden['id']}"]}


def test_the_people_of_more_accounts_than_a_statement_takes_parameters(api, actors, db):
    # a health run at 100k accounts asks for tens of thousands at once: PostgreSQL takes at most 65,535
    # parameters per statement, so the ids travel as one array (db.among), not one placeholder each
    customer = factories.customer(api, owner_id=actors["am"].user_id)
    ids = [customer["id"], *range(10**6, 10**6 + 70_000)]
    with db.session(write=False) as session:
        reached = subscriptions.reached(session, customer_ids=ids)
        seen = customers.visible_among(
            session, user=users.get(session, user_id=actors["am2"].user_id), ids=ids
        )
        names = customers.names_for(session, user=users.get(session, user_id=actors["am"].user_id), ids=ids)
    assert len(reached) == len(ids) and [p.user.name for p in reached[customer["id"]]] == ["Am"]
    assert seen == set() and names == {customer["id"]: customer["name"]}


def test_subscribing_checks_a_long_list_of_accounts_in_one_query(api, actors, db):
    # the fuzzer sent thousands of copies of one id: one visibility query each took over a minute
    customer = factories.customer(api, owner_id=actors["am"].user_id)
    statements = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        answer = api.as_(actors["am"]).put(
            "/me/alert-settings", json={"customer_ids": [customer["id"]] * 5000}
        )
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert answer.status_code == 200, answer.json
    assert answer.json["customer_ids"] == [customer["id"]]
    assert sum("FROM customers" in statement for statement in statements) <= 3, len(statements)
    refused = api.as_(actors["am2"]).put("/me/alert-settings", json={"customer_ids": [customer["id"]] * 3})
    assert refused.status_code == 422 and "unknown customer" in str(refused.json)
