"""A customer's other names: added and removed with their history, searched by `q`, matched by the
duplicate check, kept from a merge."""

from __future__ import annotations

from tests import factories as f


def test_an_alias_is_searched_and_shown_with_the_customer(api):
    customer = f.customer(api, "杭州鲜达超市有限公司", roles=("consignee",))
    f.customer(api, "Unrelated Retail")
    added = api.post(
        f"/customers/{customer['id']}/aliases", json={"name": "Xianda Fresh Markets", "label": "English name"}
    )
    assert added.status_code == 201 and added.headers["ETag"]
    assert added.json["label"] == "English name" and added.json["customer_id"] == customer["id"]
    assert api.get(f"/customers/{customer['id']}").json["aliases"] == [added.json]
    for q in ("xianda fresh", "XIANDA FRESH MARKETS", "hangzhou xianda", "鲜达"):
        found = api.get("/customers", query={"q": q}).json["items"]
        assert [c["id"] for c in found] == [customer["id"]], q
    listed = api.get(f"/customers/{customer['id']}/aliases").json
    assert listed["meta"]["total"] == 1 and listed["items"][0]["name"] == "Xianda Fresh Markets"


def test_an_alias_names_the_company_for_the_duplicate_check(api):
    customer = f.customer(api, "上海鹏达食品有限公司")
    assert (
        api.post(f"/customers/{customer['id']}/aliases", json={"name": "Pengda Foods Europe"}).status_code
        == 201
    )
    refused = api.post("/customers", json={"name": "PENGDA FOODS EUROPE GmbH"})
    assert refused.status_code == 409 and refused.json["existing_id"] == customer["id"]
    assert refused.json["match_score"] == 1.0


def test_an_alias_that_is_a_name_already_is_refused(api):
    customer = f.customer(api, "Alpen Pharma AG")
    other = f.customer(api, "Weser Chemie GmbH")
    own = api.post(f"/customers/{customer['id']}/aliases", json={"name": "ALPEN PHARMA"})
    assert own.status_code == 409 and own.json["errors"]["json"]["name"] == [
        "already a name of this customer"
    ]
    theirs = api.post(f"/customers/{customer['id']}/aliases", json={"name": "Weser Chemie"})
    assert theirs.status_code == 409 and theirs.json["existing_id"] == other["id"]
    insisted = api.post(
        f"/customers/{customer['id']}/aliases",
        json={"name": "Weser Chemie"},
        query={"allow_duplicate": "true"},
    )
    assert insisted.status_code == 201
    twice = api.post(f"/customers/{customer['id']}/aliases", json={"name": "Weser Chemie"})
    assert twice.status_code == 409


def test_removing_an_alias_needs_its_etag_and_is_in_the_history(api):
    customer = f.customer(api, "Delta Zuivel B.V.")
    alias = api.post(f"/customers/{customer['id']}/aliases", json={"name": "Delta Dairy"}).json
    path = f"/customers/{customer['id']}/aliases/{alias['id']}"
    assert api.delete(path).status_code == 428
    assert api.delete(path, headers={"If-Match": '"customeralias-1-v9"'}).status_code == 412
    assert api.remove(path).status_code == 204
    assert api.get(path).status_code == 404
    history = api.get(f"/customers/{customer['id']}/history").json["items"]
    alias_events = [
        (e["action"], e["changes"].get("name")) for e in history if e["entity"] == "customer_alias"
    ]
    assert alias_events == [("delete", ["Delta Dairy", None]), ("create", [None, "Delta Dairy"])]


def test_an_alias_of_another_customer_is_not_found_through_this_one(api, actors):
    mine = f.customer(api.as_(actors["am"]), "Oranje Foods B.V.")
    theirs = f.customer(api.as_(actors["am2"]), "Maas Retail B.V.")
    alias = api.post(f"/customers/{theirs['id']}/aliases", json={"name": "Maas Winkels"}).json
    am = api.as_(actors["am"])
    assert am.get(f"/customers/{mine['id']}/aliases/{alias['id']}").status_code == 404
    assert am.get(f"/customers/{theirs['id']}/aliases").status_code == 404
    assert am.post(f"/customers/{theirs['id']}/aliases", json={"name": "x"}).status_code == 404
    assert am.get("/customers", query={"q": "maas winkels"}).json["items"] == []
    planner = api.as_(actors["planner"])
    assert planner.post(f"/customers/{mine['id']}/aliases", json={"name": "Oranje"}).status_code == 403


def test_a_merge_keeps_the_source_name_as_an_alias(api):
    target = f.customer(api, "Bałtyk Chemia S.A.")
    source = f.customer(api, "Baltyk Chemical Poland")
    api.post(f"/customers/{source['id']}/aliases", json={"name": "Baltic Chem"})
    merged = api.post(f"/customers/{target['id']}/merge", json={"source_id": source["id"]})
    assert merged.status_code == 200, merged.json
    names = {a["name"] for a in merged.json["customer"]["aliases"]}
    assert names == {"Baltyk Chemical Poland", "Baltic Chem"}
    assert [c["id"] for c in api.get("/customers", query={"q": "baltic chem"}).json["items"]] == [
        target["id"]
    ]
    refused = api.post("/customers", json={"name": "Baltyk Chemical Poland"})
    assert refused.status_code == 409 and refused.json["existing_id"] == target["id"]
