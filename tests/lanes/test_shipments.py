"""Shipments through the API: bulk import (all or nothing, idempotent on external_ref), reads, corrections."""

from __future__ import annotations

import pytest

from logicrm import create_app
from tests import factories as f
from tests.conftest import Api
from tests.imports.conftest import SHIPMENT_HEADER, csv_text, shipment_rows, upload


@pytest.fixture
def lane(api):
    return f.link(
        api,
        f.customer(api, "Shipper", roles=("shipper",)),
        f.customer(api, "Consignee", roles=("consignee",)),
    )


def row(link: dict, day: int, **fields) -> dict:
    return {
        "link_id": link["id"],
        "shipped_at": f"2026-04-{day:02d}T08:00:00+00:00",
        "delivered_at": f"2026-04-{day + 1:02d}T08:00:00+00:00",
        "revenue": 100.0,
        "cost": 70.0,
        **fields,
    }


def test_bulk_import_read_filter_correct_delete(api, lane):
    rows = [row(lane, day, external_ref=f"S-{day}") for day in range(1, 11)]
    created = api.post("/shipments", json={"shipments": rows})
    assert created.status_code == 201, created.json
    assert (created.json["created"], created.json["updated"], len(created.json["ids"])) == (10, 0, 10)
    first = api.get(f"/shipments/{created.json['ids'][0]}")
    assert first.status_code == 200 and first.json["external_ref"] == "S-1" and first.json["in_full"] is True
    assert first.json["shipped_at"] == "2026-04-01T08:00:00+00:00"
    for query, expected in (
        ({}, 10),
        ({"link_id": lane["id"]}, 10),
        ({"link_id": 999_999}, 0),
        ({"customer_id": lane["consignee_id"]}, 10),
        ({"shipped_from": "2026-04-03T00:00:00+00:00", "shipped_to": "2026-04-05T00:00:00+00:00"}, 2),
        ({"page_size": 3, "page": 4}, 10),
    ):
        listed = api.get("/shipments", query=query).json
        assert listed["meta"]["total"] == expected, query
    assert [
        s["external_ref"] for s in api.get("/shipments", query={"page_size": 3, "page": 4}).json["items"]
    ] == ["S-10"]
    path = f"/shipments/{created.json['ids'][0]}"
    corrected = api.update(path, {"damaged": True, "claim_amount": 250.0})
    assert corrected.status_code == 200 and (corrected.json["damaged"], corrected.json["claim_amount"]) == (
        True,
        250.0,
    )
    assert api.remove(path).status_code == 204
    assert api.get(path).status_code == 404
    assert api.get("/shipments").json["meta"]["total"] == 9


def test_reposting_known_external_refs_updates_instead_of_duplicating(api, lane):
    first = api.post(
        "/shipments", json={"shipments": [row(lane, 1, external_ref="A"), row(lane, 2, external_ref="B")]}
    )
    again = api.post(
        "/shipments",
        json={
            "shipments": [
                row(lane, 1, external_ref="A", revenue=999.0, damaged=True),
                row(lane, 3, external_ref="C"),
                row(lane, 4),
            ]
        },
    )
    assert again.status_code == 201, again.json
    assert (again.json["created"], again.json["updated"]) == (2, 1)
    assert again.json["ids"][0] == first.json["ids"][0]
    items = api.get("/shipments").json["items"]
    assert [s["external_ref"] for s in items][:3] == ["A", "B", "C"]
    assert items[3]["external_ref"].startswith(
        "lcrm-"
    )  # generated, so the row can be exported and re-imported
    assert (items[0]["revenue"], items[0]["damaged"]) == (999.0, True)


BAD_ROWS = [
    ({"delivered_at": "2026-03-01T08:00:00+00:00"}, "delivered_at"),
    ({"promised_at": "2026-03-01T08:00:00+00:00"}, "promised_at"),
    ({"link_id": 999_999}, "link_id"),
    ({"revenue": -1}, "revenue"),
    ({"shipped_at": "someday"}, "shipped_at"),
    ({"external_ref": "S-1"}, "external_ref"),
    ({"weight_kg": 12}, "weight_kg"),
]


def test_one_bad_row_rejects_the_batch_and_writes_nothing(api, lane):
    for bad, field in BAD_ROWS:
        rows = [row(lane, day, external_ref=f"S-{day}") for day in range(1, 9)]
        rows[5] = {**rows[5], **bad}
        response = api.post("/shipments", json={"shipments": rows})
        assert response.status_code == 422, response.json
        assert list(response.json["errors"]["json"]["shipments"]) == ["5"], response.json
        assert field in response.json["errors"]["json"]["shipments"]["5"], response.json
    assert api.get("/shipments").json["meta"]["total"] == 0


def test_batch_larger_than_the_limit_is_refused(api, actors, database_url, lane):
    small = create_app({"database_url": database_url, "bulk_shipments_max": 5})
    client = Api(small.test_client(), actors["admin"].key)
    too_many = client.post("/shipments", json={"shipments": [row(lane, day) for day in range(1, 7)]})
    assert too_many.status_code == 422 and "at most 5" in too_many.json["errors"]["json"]["shipments"][0]
    assert client.get("/shipments").json["meta"]["total"] == 0
    assert (
        client.post("/shipments", json={"shipments": [row(lane, day) for day in range(1, 6)]}).status_code
        == 201
    )
    assert client.post("/shipments", json={"shipments": []}).status_code == 422
    small.extensions["logicrm.db"].engine.dispose()


def test_corrections_are_validated(api, lane):
    [shipment_id] = f.shipments(api, lane)
    path = f"/shipments/{shipment_id}"
    before = api.get(path).json
    for change, field in (
        ({"delivered_at": "2026-02-01T00:00:00+00:00"}, "delivered_at"),
        ({"shipped_at": "2026-03-05T00:00:00+00:00"}, "delivered_at"),
        ({"link_id": 999_999}, "link_id"),
        ({"cost": -3}, "cost"),
        ({"id": 7}, "id"),
    ):
        response = api.update(path, change)
        assert response.status_code == 422 and field in response.json["errors"]["json"], change
    assert api.get(path).json == before
    f.shipments(api, lane, external_ref="TAKEN")
    taken = api.update(path, {"external_ref": "TAKEN"})
    assert taken.status_code == 409 and "external_ref" in taken.json["errors"]["json"]
    assert api.get(path).json == before


def test_account_manager_sees_shipments_of_its_lanes_only(api, actors):
    am, am2 = actors["am"], actors["am2"]
    mine = f.link(
        api,
        f.customer(api, roles=("shipper",), owner_id=am.user_id),
        f.customer(api, roles=("consignee",), owner_id=am2.user_id),
    )
    hidden = f.link(
        api,
        f.customer(api, roles=("shipper",), owner_id=am2.user_id),
        f.customer(api, roles=("consignee",), owner_id=am2.user_id),
    )
    [visible_id] = f.shipments(api, mine, external_ref="MINE")
    [hidden_id] = f.shipments(api, hidden, external_ref="THEIRS")
    as_am = api.as_(am)
    assert [s["id"] for s in as_am.get("/shipments").json["items"]] == [visible_id]
    assert as_am.get("/shipments", query={"link_id": hidden["id"]}).json["meta"]["total"] == 0
    assert as_am.get(f"/shipments/{hidden_id}").status_code == 404
    etag = {"If-Match": api.get(f"/shipments/{hidden_id}").headers["ETag"]}
    assert as_am.patch(f"/shipments/{hidden_id}", json={"damaged": True}, headers=etag).status_code == 404
    assert as_am.delete(f"/shipments/{hidden_id}", headers=etag).status_code == 404
    onto_hidden = as_am.post("/shipments", json={"shipments": [row(mine, 1), row(hidden, 2)]})
    assert (
        onto_hidden.status_code == 422 and "link_id" in onto_hidden.json["errors"]["json"]["shipments"]["1"]
    )
    # A known external_ref of a shipment the caller cannot see is not the caller's to overwrite.
    hijack = as_am.post("/shipments", json={"shipments": [row(mine, 3, external_ref="THEIRS")]})
    assert hijack.status_code == 422 and "external_ref" in hijack.json["errors"]["json"]["shipments"]["0"]
    assert api.get(f"/shipments/{hidden_id}").json["link_id"] == hidden["id"]
    assert api.get("/shipments").json["meta"]["total"] == 2


def test_planner_reads_shipments_but_nobody_read_only_writes(api, actors, lane):
    [shipment_id] = f.shipments(api, lane)
    for name in ("planner", "viewer"):
        client = api.as_(actors[name])
        assert client.get(f"/shipments/{shipment_id}").status_code == 200
        assert client.get("/shipments").json["meta"]["total"] == 1
        assert client.post("/shipments", json={"shipments": [row(lane, 5)]}).status_code == 403
        assert client.update(f"/shipments/{shipment_id}", {"damaged": True}).status_code == 403
        assert client.remove(f"/shipments/{shipment_id}").status_code == 403
    assert api.get("/shipments").json["meta"]["total"] == 1
    assert api.get(f"/shipments/{shipment_id}").json["damaged"] is False


def test_corrections_and_deletes_go_into_both_ends_history(api, lane):
    other_lane = f.link(
        api, f.customer(api, "Second Shipper", roles=("shipper",)), {"id": lane["consignee_id"]}
    )
    created = api.post("/shipments", json={"shipments": [row(lane, 3, external_ref="S-3")]}).json
    path = f"/shipments/{created['ids'][0]}"
    assert api.update(path, {"damaged": True, "link_id": other_lane["id"]}).status_code == 200
    assert api.remove(path).status_code == 204

    def shipment_events(customer_id: int) -> list[tuple[str, dict]]:
        history = api.get(f"/customers/{customer_id}/history", query={"page_size": 100}).json["items"]
        return [(e["action"], e["changes"]) for e in reversed(history) if e["entity"] == "shipment"]

    correction = ("update", {"damaged": [False, True], "link_id": [lane["id"], other_lane["id"]]})
    # the lane it left, the lane it moved to, and the consignee on both
    assert shipment_events(lane["shipper_id"]) == [correction]
    assert shipment_events(other_lane["shipper_id"])[0] == correction
    consignee = shipment_events(lane["consignee_id"])
    assert [action for action, _changes in consignee] == ["update", "delete"]
    deleted = consignee[1][1]
    assert deleted["external_ref"] == ["S-3", None] and deleted["damaged"] == [True, None]
    assert deleted["shipped_at"] == ["2026-04-03T08:00:00+00:00", None]


def test_a_bulk_repost_records_only_the_rows_it_changed(api, lane):
    rows = [row(lane, day, external_ref=f"S-{day}") for day in (1, 2)]
    assert api.post("/shipments", json={"shipments": rows}).status_code == 201
    rows[1]["revenue"] = 120.0
    again = api.post("/shipments", json={"shipments": rows})
    assert again.status_code == 201 and again.json["updated"] == 2
    for customer_id in (lane["shipper_id"], lane["consignee_id"]):
        history = api.get(f"/customers/{customer_id}/history", query={"page_size": 100}).json["items"]
        events = [(e["entity_id"], e["changes"]) for e in history if e["entity"] == "shipment"]
        assert events == [(again.json["ids"][1], {"revenue": [100.0, 120.0]})]


def test_corrections_and_deletes_need_the_current_etag(api, lane):
    [shipment_id] = f.shipments(api, lane)
    path = f"/shipments/{shipment_id}"
    read = api.get(path)
    assert read.headers["ETag"] == f'"shipment-{shipment_id}-v1"' and read.json["version"] == 1
    missing = api.patch(path, json={"damaged": True})
    assert missing.status_code == 428 and "If-Match" in missing.json["message"]
    assert api.delete(path).status_code == 428
    wrong = api.patch(path, json={"damaged": True}, headers={"If-Match": f'"shipment-{shipment_id}-v9"'})
    assert wrong.status_code == 412
    assert api.get(path).json == read.json  # refused requests changed nothing

    corrected = api.patch(path, json={"damaged": True}, headers={"If-Match": read.headers["ETag"]})
    assert corrected.status_code == 200 and corrected.json["version"] == 2
    assert corrected.headers["ETag"] == f'"shipment-{shipment_id}-v2"' == api.get(path).headers["ETag"]
    # the ETag read before the correction is stale for a second writer
    for method in ("PATCH", "DELETE"):
        body = {"cost": 1.0} if method == "PATCH" else None
        stale = api.request(method, path, json=body, headers={"If-Match": read.headers["ETag"]})
        assert stale.status_code == 412, method
    assert api.get(path).json == corrected.json
    assert api.delete(path, headers={"If-Match": corrected.headers["ETag"]}).status_code == 204
    assert api.get(path).status_code == 404


def test_a_bulk_repost_moves_the_version_of_the_rows_it_updates(api, lane):
    rows = [row(lane, day, external_ref=f"S-{day}") for day in (1, 2)]
    first, second = api.post("/shipments", json={"shipments": rows}).json["ids"]
    assert [s["version"] for s in api.get("/shipments").json["items"]] == [1, 1]
    etag = api.get(f"/shipments/{first}").headers["ETag"]
    again = api.post("/shipments", json={"shipments": [{**rows[0], "revenue": 150.0}, row(lane, 3)]})
    assert again.status_code == 201 and (again.json["created"], again.json["updated"]) == (1, 1)
    assert [s["version"] for s in api.get("/shipments").json["items"]] == [2, 1, 1]
    # a correction based on what was read before the repost would undo it: refused
    stale = api.patch(f"/shipments/{first}", json={"revenue": 100.0}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert api.update(f"/shipments/{first}", {"revenue": 160.0}).json["version"] == 3
    assert api.get(f"/shipments/{second}").json["version"] == 1


def test_shipments_imported_from_csv_start_at_version_one(api):
    imported_lane = f.link(
        api,
        f.customer(api, "CSV Shipper", roles=("shipper",)),
        f.customer(api, "CSV Consignee", roles=("consignee",)),
        external_ref="L1",
    )
    response = upload(api, "shipments", csv_text(SHIPMENT_HEADER, shipment_rows(3)))
    assert response.status_code == 201 and response.json["counts"]["created"] == 3, response.json
    listed = api.get("/shipments", query={"link_id": imported_lane["id"]}).json["items"]
    assert [s["version"] for s in listed] == [1, 1, 1]
    assert api.update(f"/shipments/{listed[0]['id']}", {"damaged": True}).json["version"] == 2


def test_a_csv_reimport_moves_the_version_of_the_shipments_it_changes(api):
    f.link(
        api,
        f.customer(api, "CSV Shipper", roles=("shipper",)),
        f.customer(api, "CSV Consignee", roles=("consignee",)),
        external_ref="L1",
    )
    rows = shipment_rows(2)
    assert upload(api, "shipments", csv_text(SHIPMENT_HEADER, rows)).status_code == 201
    first = api.get("/shipments").json["items"][0]
    rows[0][4] = "999.00"  # revenue
    again = upload(api, "shipments", csv_text(SHIPMENT_HEADER, rows))
    assert again.status_code == 201 and again.json["counts"]["updated"] == 1, again.json
    assert api.get(f"/shipments/{first['id']}").json["version"] == 2
