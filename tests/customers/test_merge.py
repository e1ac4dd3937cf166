"""Merging a duplicate customer into another moves every related record and loses none."""

from __future__ import annotations

from tests import factories as f

KINDS = ("departments", "contacts", "surveys", "interactions", "tickets", "opportunities")


def related_counts(api, *customers) -> dict[str, int]:
    """Count every kind of record attached to `customers` (lanes and shipments by either end)."""
    counts = {
        kind: sum(
            api.get(f"/{kind}", query={"customer_id": c["id"]}).json["meta"]["total"] for c in customers
        )
        for kind in KINDS
    }
    links = {
        link["id"]
        for c in customers
        for link in api.get("/links", query={"customer_id": c["id"]}).json["items"]
    }
    shipments = {
        s["id"]
        for c in customers
        for s in api.get("/shipments", query={"customer_id": c["id"], "page_size": 500}).json["items"]
    }
    return {**counts, "links": len(links), "shipments": len(shipments)}


def test_merge_moves_every_related_record(api, actors):
    target = f.customer(api, "Acme Logistics", roles=("shipper",), owner_id=actors["am"].user_id)
    source = f.customer(
        api,
        "ACME Logistics GmbH",
        roles=("shipper", "consignee"),
        registration_number="HRB 42",
        owner_id=actors["am"].user_id,
        team_ids=[actors["manager"].user_id],
    )
    assert api.update(f"/customers/{source['id']}", {"region": "north"}).status_code == 200
    target_logistics = f.department(api, target, "logistics", decision_weight=1)
    f.department(api, target, "finance")
    source_logistics = f.department(api, source, "logistics", decision_weight=3, is_decision_maker=True)
    source_warehouse = f.department(api, source, "warehouse")
    f.contact(api, target, department_id=target_logistics["id"])
    moved_contact = f.contact(api, source, "Zhang San", department_id=source_logistics["id"])
    f.contact(api, source, "Li Si", department_id=source_warehouse["id"])
    f.survey(api, target, target_logistics)
    moved_survey = f.survey(api, source, source_logistics)
    f.survey(api, source, source_warehouse)
    for customer in (target, source):
        f.interaction(api, customer)
        f.opportunity(api, customer)
    partner_consignee = f.customer(api, "Shop", roles=("consignee",))
    partner_shipper = f.customer(api, "Maker", roles=("shipper",))
    outbound = f.link(api, source, partner_consignee)
    inbound = f.link(api, partner_shipper, source)
    f.link(api, target, partner_consignee)
    f.ticket(api, target)
    f.ticket(api, source, link_id=outbound["id"])
    f.shipments(api, outbound, 3)
    f.shipments(api, inbound, 2, revenue=50)
    before = related_counts(api, target, source)
    assert before == {
        "departments": 4,
        "contacts": 3,
        "surveys": 3,
        "interactions": 2,
        "tickets": 2,
        "opportunities": 2,
        "links": 3,
        "shipments": 5,
    }

    merged = api.post(f"/customers/{target['id']}/merge", json={"source_id": source["id"]})
    assert merged.status_code == 200, merged.json

    assert related_counts(api, target) == {**before, "departments": 3}
    assert related_counts(api, source) == dict.fromkeys(before, 0)
    departments = api.get("/departments", query={"customer_id": target["id"]}).json["items"]
    assert sorted(d["name"] for d in departments) == ["finance", "logistics", "warehouse"]
    logistics = next(d for d in departments if d["name"] == "logistics")
    assert logistics["id"] == target_logistics["id"]
    assert (logistics["decision_weight"], logistics["is_decision_maker"]) == (3, True)
    assert api.get(f"/contacts/{moved_contact['id']}").json["department_id"] == target_logistics["id"]
    assert api.get(f"/surveys/{moved_survey['id']}").json["department_id"] == target_logistics["id"]
    assert api.get(f"/links/{inbound['id']}").json["consignee_id"] == target["id"]

    customer = merged.json["customer"]
    assert customer["roles"] == ["shipper", "consignee"]
    assert customer["team_ids"] == [actors["manager"].user_id]
    assert customer["registration_number"] == "HRB 42"
    assert merged.json["moved"]["links"] == 2 and merged.json["moved"]["contacts"] == 2
    assert api.get(f"/customers/{source['id']}").status_code == 404
    gone = [
        c
        for c in api.get("/customers", query={"include_deleted": "true"}).json["items"]
        if c["id"] == source["id"]
    ]
    assert gone[0]["merged_into_id"] == target["id"] and gone[0]["deleted_at"]
    assert api.post(f"/customers/{source['id']}/restore").status_code == 409

    history = api.get(f"/customers/{target['id']}/history", query={"page_size": 500}).json["items"]
    merge_event = history[0]
    assert (merge_event["action"], merge_event["user_id"]) == ("merge", actors["admin"].user_id)
    assert merge_event["changes"]["merged_customer_id"] == [None, source["id"]]
    source_updates = [e for e in history if e["entity"] == "customer" and e["entity_id"] == source["id"]]
    assert [e["action"] for e in source_updates] == ["update", "create"]
    assert source_updates[0]["changes"] == {"region": [None, "north"]}


def test_merge_refusals(api, actors):
    shipper = f.customer(api, "Acme", roles=("shipper",))
    consignee = f.customer(api, "Acme GmbH", roles=("consignee",))
    f.link(api, shipper, consignee)
    path = f"/customers/{shipper['id']}/merge"
    linked = api.post(path, json={"source_id": consignee["id"]})
    assert linked.status_code == 409 and linked.json["link_ids"], linked.json
    itself = api.post(path, json={"source_id": shipper["id"]})
    assert itself.status_code == 422 and "source_id" in itself.json["errors"]["json"]
    unknown = api.post(path, json={"source_id": 999_999})
    assert unknown.status_code == 404 and "source_id" in unknown.json["errors"]["json"]
    for body, field in (
        ({}, "source_id"),
        ({"source_id": "x"}, "source_id"),
        ({"source_id": 1, "force": True}, "force"),
    ):
        response = api.post(path, json=body)
        assert response.status_code == 422 and field in response.json["errors"]["json"], body
    foreign = f.customer(api, "Foreign", owner_id=actors["am2"].user_id)
    mine = f.customer(api, "Mine", owner_id=actors["am"].user_id)
    hidden = api.as_(actors["am"]).post(f"/customers/{mine['id']}/merge", json={"source_id": foreign["id"]})
    assert hidden.status_code == 404
    assert api.as_(actors["viewer"]).post(path, json={"source_id": mine["id"]}).status_code == 403
    assert api.get("/customers").json["meta"]["total"] == 4
    assert all(c["merged_into_id"] is None for c in api.get("/customers").json["items"])


def test_records_moved_by_a_merge_get_new_etags(api):
    target, source = (
        f.customer(api, "Target", roles=("shipper",)),
        f.customer(api, "Source", roles=("shipper",)),
    )
    partner = f.customer(api, "Partner", roles=("consignee",))
    f.department(api, target, "logistics")
    twin_department = f.department(api, source, "logistics")  # merged into the target's logistics
    edits = {  # path -> a change a client would send with the ETag it read before the merge
        f"/contacts/{f.contact(api, source, department_id=twin_department['id'])['id']}": {"name": "Wu"},
        f"/tickets/{f.ticket(api, source)['id']}": {"subject": "late again"},
        f"/links/{f.link(api, source, partner)['id']}": {"origin": "Ningbo"},
    }
    before = {path: api.get(path).headers["ETag"] for path in edits}
    assert api.post(f"/customers/{target['id']}/merge", json={"source_id": source["id"]}).status_code == 200
    for path, etag in before.items():
        assert api.get(path).headers["ETag"] != etag, path
        stale = api.patch(path, json=edits[path], headers={"If-Match": etag})
        assert stale.status_code == 412, (path, stale.json)
