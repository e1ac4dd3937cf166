"""The caller's own view, account teams with roles, and handing everything over when someone leaves."""

from __future__ import annotations

from sqlalchemy import String, cast, insert, literal, select

from logicrm.customers.models import Customer, CustomerStatus, Tier
from logicrm.db import utcnow
from tests import factories


def _holdings(client) -> dict:
    """What the caller covers, as it sees it."""
    me = client.get("/me").json
    return {
        "accounts": len(me["accounts"]),
        "team_seats": len(me["teams"]),
        "open_tasks": me["open_tasks"],
        "open_tickets": me["open_tickets"],
        "subscriptions": len(client.get("/me/alert-settings").json["customer_ids"]),
    }


def test_handover_moves_everything_and_loses_nothing(api, actors):
    am, am2 = actors["am"].user_id, actors["am2"].user_id
    owned = [factories.customer(api, owner_id=owner) for owner in (am, am, am2)]
    seated = factories.customer(api, owner_id=am2)
    put = api.update(f"/customers/{seated['id']}/team", {"members": [{"user_id": am, "role": "service_agent"}]},
                     method="PUT")  # fmt: skip
    assert put.status_code == 200, put.json
    for customer in (*owned[:2], seated):
        factories.task(api, customer, assignee_id=am)
        factories.ticket(api, customer, assignee_id=am)
    done = factories.task(api, owned[0], assignee_id=am, status="done", outcome="called")
    settings = {"customer_ids": [owned[0]["id"], seated["id"]]}
    assert api.as_(actors["am"]).put("/me/alert-settings", json=settings).status_code == 200

    refused = api.post(f"/users/{am}/handover", json={})
    assert refused.status_code == 409 and "to_user_id" in refused.json["errors"]["json"]
    before_am2 = _holdings(api.as_(actors["am2"]))

    handed = api.post(f"/users/{am}/handover", json={"to_user_id": am2})
    assert handed.status_code == 200, handed.json
    report = handed.json
    assert report["before"] == {"accounts": 2, "team_seats": 1, "open_tasks": 3, "open_tickets": 3,
                                "subscriptions": 2}  # fmt: skip
    assert report["after"] == dict.fromkeys(report["before"], 0)
    moved = report["moved"]
    assert (moved["accounts"], moved["team_seats"], moved["tasks"], moved["tickets"]) == (2, 1, 3, 3)
    assert moved["tasks_unassigned"] == moved["tickets_unassigned"] == 0
    assert report["deactivated"] is True and api.as_(actors["am"]).get("/me").status_code == 401

    after_am2 = _holdings(api.as_(actors["am2"]))
    assert after_am2["accounts"] == before_am2["accounts"] + 2
    assert after_am2["open_tasks"] == before_am2["open_tasks"] + 3
    assert after_am2["open_tickets"] == before_am2["open_tickets"] + 3
    assert after_am2["subscriptions"] == 2
    # am2 was the owner of `seated`: its service-agent seat is not a second seat of the same person
    assert after_am2["team_seats"] == 0
    team = api.get(f"/customers/{seated['id']}/team").json["members"]
    assert [(m["user_id"], m["role"]) for m in team] == [(am2, "owner")]
    assert api.get(f"/tasks/{done['id']}").json["assignee_id"] == am  # history stays as it was
    for customer in owned[:2]:
        history = api.get(f"/customers/{customer['id']}/history").json["items"]
        assert any(event["action"] == "handover" for event in history), history


def test_handover_to_someone_who_cannot_take_it_is_refused_and_changes_nothing(api, actors):
    am = actors["am"].user_id
    factories.customer(api, owner_id=am)
    for target in (actors["viewer"].user_id, am, 999_999):
        refused = api.post(f"/users/{am}/handover", json={"to_user_id": target})
        assert refused.status_code == 422 and "to_user_id" in refused.json["errors"]["json"], target
    assert _holdings(api.as_(actors["am"]))["accounts"] == 1
    assert api.as_(actors["am"]).get("/me").status_code == 200


def test_me_lists_my_accounts_teams_and_open_work(api, actors):
    am = api.as_(actors["am"])
    mine = factories.customer(api, tier="vip", owner_id=actors["am"].user_id)
    theirs = factories.customer(api, owner_id=actors["am2"].user_id)
    team = {"members": [{"user_id": actors["am"].user_id, "role": "executive_sponsor"}]}
    assert api.update(f"/customers/{theirs['id']}/team", team, method="PUT").status_code == 200
    factories.task(am, mine)
    factories.ticket(am, mine)

    me = am.get("/me").json
    assert me["user"]["id"] == actors["am"].user_id and me["user"]["role"] == "account_manager"
    assert [(a["customer_id"], a["tier"]) for a in me["accounts"]] == [(mine["id"], "vip")]
    assert [(t["customer_id"], t["role"]) for t in me["teams"]] == [(theirs["id"], "executive_sponsor")]
    assert (me["open_tasks"], me["open_tickets"]) == (1, 1)


def test_only_managers_set_a_team_and_members_must_be_active(api, actors):
    customer = factories.customer(api, owner_id=actors["am"].user_id)
    path = f"/customers/{customer['id']}/team"
    body = {"members": [{"user_id": actors["am2"].user_id, "role": "service_agent"}]}
    etag = api.get(path).headers["ETag"]
    refused = api.as_(actors["am"]).put(path, json=body, headers={"If-Match": etag})
    assert refused.status_code == 403
    twice = {"members": body["members"] * 2}
    assert api.update(path, twice, method="PUT").status_code == 422
    assert api.update(path, body, method="PUT").json["members"][1] == {
        "user_id": actors["am2"].user_id,
        "name": "Am2",
        "role": "service_agent",
        "active": True,
    }
    stale = api.put(path, json=body, headers={"If-Match": etag})  # the team changed since that read
    assert stale.status_code == 412


def test_a_user_covering_more_accounts_than_a_statement_takes_parameters(api, actors, db):
    # PostgreSQL takes at most 65,535 parameters a statement: covered accounts travel as one array
    am = actors["am"].user_id
    counter = select(literal(1).label("i")).cte("counter", recursive=True)
    counter = counter.union_all(select(counter.c.i + 1).where(counter.c.i < 70_001))
    name = literal("bulk ").concat(cast(counter.c.i, String))
    columns = {"name": name, "normalized_name": name, "external_ref": name, "owner_id": literal(am),
               "version": literal(1),
               "tier": literal(Tier.STANDARD, Customer.tier.type),
               "status": literal(CustomerStatus.ACTIVE, Customer.status.type),
               "created_at": literal(utcnow(), Customer.created_at.type),
               "updated_at": literal(utcnow(), Customer.updated_at.type)}  # fmt: skip
    with db.session_scope() as session:  # made by the database: 70,001 rows through Python take a minute
        session.execute(insert(Customer).from_select(list(columns), select(*columns.values())))
    mine = api.as_(actors["am"]).get("/me").json
    assert len(mine["accounts"]) == 70_001 and mine["open_alerts"] == 0
