"""Lanes (shipper → consignee links) through the API."""

from __future__ import annotations

import pytest

from tests import factories as f


@pytest.fixture
def ends(api):
    return {
        "shipper": f.customer(api, "Shipper", roles=("shipper",)),
        "consignee": f.customer(api, "Consignee", roles=("consignee",)),
        "other_consignee": f.customer(api, "Other Consignee", roles=("consignee",)),
        "neither": f.customer(api, "No Role", roles=()),
    }


def test_create_read_list_update_delete(api, ends):
    body = {
        "shipper_id": ends["shipper"]["id"],
        "consignee_id": ends["consignee"]["id"],
        "origin": "Suzhou",
        "destination": "Chengdu",
        "service_type": "ltl",
        "declared_monthly_volume": 40,
        "started_on": "2026-01-01",
    }
    created = api.post("/links", json=body)
    assert created.status_code == 201, created.json
    assert {k: created.json[k] for k in body} == body and created.json["status"] == "active"
    path = f"/links/{created.json['id']}"
    assert api.get(path).headers["ETag"] == created.headers["ETag"]
    second = f.link(api, ends["shipper"], ends["other_consignee"], status="paused")
    for query, expected in (
        ({}, 2),
        ({"customer_id": ends["consignee"]["id"]}, 1),
        ({"shipper_id": ends["shipper"]["id"]}, 2),
        ({"status": "paused"}, 1),
        ({"consignee_id": ends["other_consignee"]["id"]}, 1),
    ):
        listed = api.get("/links", query=query).json
        assert listed["meta"]["total"] == expected == len(listed["items"]), query
    updated = api.update(path, {"status": "ended", "ended_on": "2026-06-30"})
    assert updated.status_code == 200 and (updated.json["status"], updated.json["version"]) == ("ended", 2)
    f.shipments(api, second, 2)
    assert api.delete(f"/links/{second['id']}").status_code == 428
    assert api.remove(f"/links/{second['id']}").status_code == 204
    assert api.get(f"/links/{second['id']}").status_code == 404
    assert api.get("/shipments").json["meta"]["total"] == 0
    assert [
        entry["action"]
        for entry in api.get(f"/customers/{ends['other_consignee']['id']}/history").json["items"]
    ][:2] == ["delete", "create"]


def test_link_ends_must_hold_their_roles(api, ends):
    cases = [
        (ends["neither"], ends["consignee"], "shipper_id", "has no shipper role"),
        (ends["shipper"], ends["neither"], "consignee_id", "has no consignee role"),
        (ends["consignee"], ends["shipper"], "shipper_id", "has no shipper role"),
        (ends["shipper"], ends["shipper"], "consignee_id", "must differ"),
        ({"id": 999_999}, ends["consignee"], "shipper_id", "unknown customer"),
    ]
    for shipper, consignee, field, reason in cases:
        response = api.post(
            "/links",
            json={
                "shipper_id": shipper["id"],
                "consignee_id": consignee["id"],
                "origin": "A",
                "destination": "B",
            },
        )
        assert response.status_code == 422, response.json
        assert reason in response.json["errors"]["json"][field][0], response.json
    # Nothing linked and no role added behind the caller's back.
    assert api.get("/links").json["meta"]["total"] == 0
    assert api.get(f"/customers/{ends['neither']['id']}").json["roles"] == []
    assert api.get(f"/customers/{ends['consignee']['id']}").json["roles"] == ["consignee"]


def test_invalid_link_payloads_name_the_field(api, ends):
    link = f.link(api, ends["shipper"], ends["consignee"])
    path = f"/links/{link['id']}"
    base = {
        "shipper_id": ends["shipper"]["id"],
        "consignee_id": ends["consignee"]["id"],
        "origin": "A",
        "destination": "B",
    }
    for body, field in (
        ({**base, "origin": ""}, "origin"),
        ({**base, "service_type": "teleport"}, "service_type"),
        ({**base, "declared_monthly_volume": -1}, "declared_monthly_volume"),
        ({**base, "started_on": "2026-02-01", "ended_on": "2026-01-01"}, "ended_on"),
        ({**base, "carrier": "DHL"}, "carrier"),
        ({"origin": "A"}, "shipper_id"),
    ):
        response = api.post("/links", json=body)
        assert response.status_code == 422 and field in response.json["errors"]["json"], body
    for change, field in (
        ({"consignee_id": ends["shipper"]["id"]}, "consignee_id"),
        ({"consignee_id": ends["neither"]["id"]}, "consignee_id"),
        ({"shipper_id": ends["other_consignee"]["id"]}, "shipper_id"),
        ({"started_on": "2026-02-01", "ended_on": "2026-01-01"}, "ended_on"),
        ({"status": "gone"}, "status"),
    ):
        response = api.update(path, change)
        assert response.status_code == 422 and field in response.json["errors"]["json"], change
    assert api.get(path).json == link


def test_ended_before_started_is_checked_against_the_stored_start(api, ends):
    link = f.link(api, ends["shipper"], ends["consignee"], started_on="2026-03-01")
    response = api.update(f"/links/{link['id']}", {"ended_on": "2026-02-01"})
    assert response.status_code == 422 and "ended_on" in response.json["errors"]["json"]


def test_account_manager_sees_lanes_with_one_of_its_customers(api, actors):
    am, am2 = actors["am"], actors["am2"]
    mine = f.customer(api, "Mine", roles=("shipper",), owner_id=am.user_id)
    theirs = f.customer(api, "Theirs", roles=("shipper", "consignee"), owner_id=am2.user_id)
    their_partner = f.customer(api, "Their Partner", roles=("consignee",), owner_id=am2.user_id)
    shared = f.link(api, mine, theirs)
    hidden = f.link(api, theirs, their_partner)
    as_am = api.as_(am)
    assert [link["id"] for link in as_am.get("/links").json["items"]] == [shared["id"]]
    assert as_am.get("/links", query={"customer_id": theirs["id"]}).json["meta"]["total"] == 1
    assert as_am.get(f"/links/{shared['id']}").status_code == 200
    assert as_am.get(f"/links/{hidden['id']}").status_code == 404
    assert (
        as_am.patch(f"/links/{hidden['id']}", json={"origin": "X"}, headers={"If-Match": "*"}).status_code
        == 404
    )
    assert as_am.delete(f"/links/{hidden['id']}", headers={"If-Match": "*"}).status_code == 404
    # An account manager links its own customers, not two of somebody else's.
    refused = as_am.post(
        "/links",
        json={
            "shipper_id": theirs["id"],
            "consignee_id": their_partner["id"],
            "origin": "A",
            "destination": "B",
        },
    )
    assert refused.status_code == 422 and "shipper_id" in refused.json["errors"]["json"]
    # A customer it cannot see reads exactly like one that does not exist, even as the far end.
    to_hidden, to_missing = (
        as_am.post(
            "/links", json={"shipper_id": mine["id"], "consignee_id": end, "origin": "A", "destination": "B"}
        )
        for end in (their_partner["id"], 999_999)
    )
    assert to_hidden.status_code == to_missing.status_code == 422
    assert to_hidden.json["errors"]["json"]["consignee_id"] == [f"unknown customer {their_partner['id']}"]
    assert to_missing.json["errors"]["json"]["consignee_id"] == ["unknown customer 999999"]
    assert "Their Partner" not in to_hidden.get_data(as_text=True)
    assert api.get("/links").json["meta"]["total"] == 2


def test_a_lane_is_written_by_its_shippers_team_and_read_from_either_end(api, actors):
    am, am2 = actors["am"], actors["am2"]
    shipper = f.customer(api, "Payer", roles=("shipper",), owner_id=am.user_id)
    consignee = f.customer(api, "Receiver", roles=("consignee",), owner_id=am2.user_id)
    other = f.customer(api, "Second Receiver", roles=("consignee",), owner_id=am.user_id)
    lane = f.link(api, shipper, consignee)
    shipments = api.post(
        "/shipments", json={"shipments": [{"link_id": lane["id"], "shipped_at": "2026-10-01T08:00:00Z"}]}
    )
    shipment_id = shipments.json["ids"][0]
    as_receiver = api.as_(am2)
    assert as_receiver.get(f"/links/{lane['id']}").status_code == 200
    assert as_receiver.get(f"/shipments/{shipment_id}").status_code == 200
    for refused in (
        as_receiver.update(f"/links/{lane['id']}", {"origin": "Elsewhere"}),
        as_receiver.remove(f"/links/{lane['id']}"),
        as_receiver.patch(f"/shipments/{shipment_id}", json={"revenue": 1}, headers={"If-Match": "*"}),
        as_receiver.delete(f"/shipments/{shipment_id}", headers={"If-Match": "*"}),
        as_receiver.post(
            "/shipments", json={"shipments": [{"link_id": lane["id"], "shipped_at": "2026-10-02T08:00:00Z"}]}
        ),
    ):
        assert refused.status_code in (403, 422), refused.json
        assert "shipper's account team" in refused.get_data(as_text=True)
    assert api.get(f"/links/{lane['id']}").json["origin"] == lane["origin"]

    # The payer's manager re-points the lane to its own consignee: both the old and the new end record it.
    moved = api.as_(am).update(f"/links/{lane['id']}", {"consignee_id": other["id"]})
    assert moved.status_code == 200, moved.json
    for end in (shipper, consignee, other):
        events = api.get(f"/customers/{end['id']}/history").json["items"]
        assert any(e["entity"] == "link" and e["action"] == "update" for e in events), end["name"]


def test_planner_and_viewer_read_lanes_but_cannot_write(api, actors, ends):
    link = f.link(api, ends["shipper"], ends["consignee"])
    for name in ("planner", "viewer"):
        client = api.as_(actors[name])
        assert client.get(f"/links/{link['id']}").json == link
        assert client.get("/links").json["meta"]["total"] == 1
        assert (
            client.post(
                "/links",
                json={
                    "shipper_id": ends["shipper"]["id"],
                    "consignee_id": ends["other_consignee"]["id"],
                    "origin": "A",
                    "destination": "B",
                },
            ).status_code
            == 403
        )
        assert (
            client.patch(f"/links/{link['id']}", json={"origin": "X"}, headers={"If-Match": "*"}).status_code
            == 403
        )
        assert client.delete(f"/links/{link['id']}", headers={"If-Match": "*"}).status_code == 403
    listed = api.get("/links").json["items"]
    assert [{key: value for key, value in item.items() if key != "last_90_days"} for item in listed] == [link]
