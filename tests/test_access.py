"""What each role may see and write (logicrm/access.py and the services that ask it), end to end.

An account manager ("am") covers a consignee that rides on a shipper of another account manager
("am2"); that shipper also serves a consignee am cannot see. Whatever am reads, the hidden accounts
never appear by name, and a hidden record reads exactly like a missing one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading

import pytest
from sqlalchemy import func, select

from logicrm.customers.models import Customer
from logicrm.db import utcnow
from logicrm.health import runs
from logicrm.outbox.models import Delivery
from tests import factories as f

HIDDEN_NAMES = ("Hidden Shipper", "Hidden Receiver")


@pytest.fixture
def world(api, actors) -> dict:
    am, am2 = actors["am"], actors["am2"]
    hidden_shipper = f.customer(api, "Hidden Shipper", roles=("shipper",), owner_id=am2.user_id, tier="vip")
    hidden_receiver = f.customer(api, "Hidden Receiver", roles=("consignee",), owner_id=am2.user_id)
    mine = f.customer(api, "My Receiver", roles=("consignee",), owner_id=am.user_id, tier="vip")
    my_lane = f.link(api, hidden_shipper, mine)
    hidden_lane = f.link(api, hidden_shipper, hidden_receiver)
    recent = utcnow() - dt.timedelta(days=20)
    for lane in (my_lane, hidden_lane):
        rows = [
            {
                "link_id": lane["id"],
                "shipped_at": (recent + dt.timedelta(days=day)).isoformat(),
                "revenue": 1000,
            }
            for day in range(5)
        ]
        assert api.post("/shipments", json={"shipments": rows}).status_code == 201
    return {"mine": mine, "my_lane": my_lane, "hidden_lane": hidden_lane, "hidden": hidden_shipper,
            "hidden_receiver": hidden_receiver}  # fmt: skip


def assert_no_hidden_names(response) -> None:
    text = response.get_data(as_text=True)
    for name in HIDDEN_NAMES:
        assert name not in text, (name, text[:500])


@pytest.fixture
def health_run(app, db, world):
    """Run the health check with rules that fire on any risk, so alerts carry drivers."""
    rules = dataclasses.replace(app.config["LOGICRM_RULES"], risk_high=0.0001, risk_high_escalate=0.99)
    config = runs.RunConfig(app.config["LOGICRM"], app.config["LOGICRM_SCORING"], rules)
    return runs.run_health(db, config, slot="access-test")


def test_planner_never_sees_contact_personal_data_in_answers_or_history(api, actors):
    customer = f.customer(api, "Contacted Co")
    contact = f.contact(api, customer)
    api.update(f"/contacts/{contact['id']}", {"email": "new.address@example.com", "phone": "+49 40 1234"})
    as_planner = api.as_(actors["planner"])
    answers = [
        as_planner.get(f"/contacts/{contact['id']}"),
        as_planner.get("/contacts"),
        as_planner.get(f"/customers/{customer['id']}/history"),
    ]
    for answer in answers:
        assert answer.status_code == 200
        text = answer.get_data(as_text=True)
        for personal in ("li.wei@example.com", "new.address@example.com", "+86 21 5555 0101", "+49 40 1234"):
            assert personal not in text, (personal, text)
    history = answers[2].json["items"]
    assert {e["entity"] for e in history} >= {"contact"}
    # what the planner may see of the same events is still there
    assert any(e["entity"] == "contact" and "name" in e["changes"] for e in history)
    full = api.get(f"/customers/{customer['id']}/history").get_data(as_text=True)
    assert "new.address@example.com" in full


def test_drivers_name_only_partners_the_reader_may_see(api, actors, db, world, health_run):
    mine = world["mine"]
    as_am = api.as_(actors["am"])
    live = as_am.get(f"/customers/{mine['id']}/health")
    neighbour = [d for d in live.json["drivers"] if d["kind"] == "neighbour"]
    # the hidden shipper reads as "another shipper", with why it is at risk but no name or id
    assert [(d["kind"], d["key"], d["label"].split(" (")[0]) for d in neighbour] == [
        ("neighbour", None, "another shipper")
    ]
    for answer in (
        live,
        as_am.get(f"/customers/{mine['id']}/health/history"),
        as_am.get("/alerts"),
        as_am.get("/network/risk"),
    ):
        assert answer.status_code == 200
        assert_no_hidden_names(answer)
    alert = next(a for a in as_am.get("/alerts").json["items"] if a["rule"] == "risk_high")
    assert "another shipper" in alert["message"]
    hidden = next(d for d in alert["details"]["drivers"] if d["kind"] == "neighbour")
    assert hidden["key"] is None and hidden["label"].startswith("another shipper")
    # Everyone who may see the shipper reads its name and id, from the same stored alert and snapshot.
    admin_alert = next(
        a
        for a in api.get("/alerts", query={"customer_id": mine["id"]}).json["items"]
        if a["rule"] == "risk_high"
    )
    assert "shipper Hidden Shipper" in admin_alert["message"]
    snapshot = api.get(f"/customers/{mine['id']}/health/history").json["items"][0]
    seen = next(d for d in snapshot["drivers"] if d["kind"] == "neighbour")
    assert seen["key"] == world["hidden"]["id"] and seen["label"].startswith("shipper Hidden Shipper")
    # am's emails (digest, VIP mails) never name the hidden shipper; the admin's webhooks would.
    with db.session(write=False) as session:
        mails = [
            d.payload["text"]
            for d in session.scalars(select(Delivery).where(Delivery.recipient == "am@test.example"))
        ]
    assert mails and any("another shipper" in text for text in mails)
    assert not any(name in text for name in HIDDEN_NAMES for text in mails)


def test_network_graph_and_what_if_keep_hidden_lanes_hidden(api, actors, world):
    as_am = api.as_(actors["am"])
    graph = as_am.get("/network/graph", query={"center": world["mine"]["id"], "depth": 3})
    assert graph.status_code == 200
    assert_no_hidden_names(graph)
    lanes = {(e["shipper"], e["consignee"]) for e in graph.json["edges"]}
    assert lanes == {(world["hidden"]["id"], world["mine"]["id"])}
    nodes = {n["id"]: n for n in graph.json["nodes"]}
    assert set(nodes) == {world["mine"]["id"], world["hidden"]["id"]}
    assert nodes[world["hidden"]["id"]] == {"id": world["hidden"]["id"], "hidden": True, "roles": ["shipper"],
                                            "name": None, "tier": None, "satisfaction": None, "risk": None}  # fmt: skip
    full = api.get("/network/graph", query={"center": world["mine"]["id"], "depth": 3}).json
    assert len(full["edges"]) == 2

    hidden, missing = (
        as_am.post("/network/what-if", json={"remove_links": [lane]})
        for lane in (world["hidden_lane"]["id"], 999_999)
    )
    assert hidden.status_code == missing.status_code == 422
    assert hidden.json["errors"] == {"json": {"remove_links": [f"unknown or ended links [{world['hidden_lane']['id']}]"]}}  # fmt: skip
    assert as_am.post("/network/what-if", json={"remove_links": [world["my_lane"]["id"]]}).status_code == 200


def test_errors_never_name_hidden_customers(api, actors, world):
    as_am = api.as_(actors["am"])
    hidden_id = world["hidden"]["id"]
    # referring to a hidden customer reads like referring to a missing one
    hidden, missing = (
        as_am.post("/customers", json={"name": f"Referred {n}", "referred_by_id": ref})
        for n, ref in ((1, hidden_id), (2, 999_999))
    )
    assert hidden.status_code == missing.status_code == 422
    assert hidden.json["errors"]["json"]["referred_by_id"] == [f"unknown customer {hidden_id}"]
    # a department of another customer reads like a missing department
    department = f.department(api, world["hidden"])
    hidden, missing = (
        as_am.post("/contacts", json={"customer_id": world["mine"]["id"], "name": "X", "department_id": ref})
        for ref in (department["id"], 999_999)
    )
    assert hidden.status_code == missing.status_code == 422
    assert hidden.json["message"].replace(str(department["id"]), "N") == missing.json["message"].replace(
        "999999", "N"
    )
    # the duplicate check may say a customer exists, never which
    api.update(f"/customers/{hidden_id}", {"registration_number": "HRB 123"})
    for body in ({"name": "Hidden Shipper"}, {"name": "Renamed", "registration_number": "HRB 123"}):
        duplicate = as_am.post("/customers", json=body)
        assert duplicate.status_code == 409
        assert "ask a manager" in duplicate.json["message"] and "existing_id" not in duplicate.json
        assert_no_hidden_names(duplicate)
    visible_duplicate = api.post("/customers", json={"name": "Hidden Shipper"})
    assert visible_duplicate.status_code == 409 and visible_duplicate.json["existing_id"] == hidden_id


def test_owner_and_team_are_set_by_managers_and_interactions_logged_as_the_caller(api, actors):
    am, am2 = actors["am"], actors["am2"]
    account = f.customer(api, "Covered Co", owner_id=am2.user_id, team_ids=[am.user_id])
    as_member = api.as_(am)
    for change in ({"owner_id": am.user_id}, {"team_ids": [am.user_id, actors["viewer"].user_id]}):
        refused = as_member.update(f"/customers/{account['id']}", change)
        assert refused.status_code == 403, refused.json
        assert list(change) == list(refused.json["errors"]["json"])
    assert as_member.post("/customers", json={"name": "New Co", "team_ids": [am2.user_id]}).status_code == 403
    # unchanged coverage in a larger update is fine
    same = as_member.update(f"/customers/{account['id']}", {"owner_id": am2.user_id, "region": "Bavaria"})
    assert same.status_code == 200, same.json
    assert (
        api.as_(actors["manager"]).update(f"/customers/{account['id']}", {"owner_id": am.user_id}).status_code
        == 200
    )

    in_their_name = {"customer_id": account["id"], "kind": "call", "at": "2026-11-01T09:00:00Z",
                     "summary": "Quarterly call", "user_id": am2.user_id}  # fmt: skip
    refused = as_member.post("/interactions", json=in_their_name)
    assert refused.status_code == 422 and "user_id" in refused.json["errors"]["json"]
    logged = as_member.post("/interactions", json={k: v for k, v in in_their_name.items() if k != "user_id"})
    assert logged.status_code == 201 and logged.json["user_id"] == am.user_id
    assert as_member.update(f"/interactions/{logged.json['id']}", {"user_id": am2.user_id}).status_code == 422
    on_behalf = api.as_(actors["manager"]).post("/interactions", json=in_their_name)
    assert on_behalf.status_code == 201 and on_behalf.json["user_id"] == am2.user_id


def test_parallel_creates_of_the_same_company_make_one_customer(api, app, db):
    barrier = threading.Barrier(8)
    statuses = []

    def create() -> None:
        client = api.as_(None)
        client.key = api.key
        barrier.wait(timeout=30)
        statuses.append(client.post("/customers", json={"name": "Racing Freight GmbH"}).status_code)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [201] + [409] * 7
    with db.session(write=False) as session:
        assert session.scalar(select(func.count()).where(Customer.normalized_name == "racing freight")) == 1
