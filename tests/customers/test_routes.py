"""Customers through the API: CRUD, role profiles and views, visibility, lists, concurrency and history."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from tests import factories as f


def test_create_read_update_customer(api, actors):
    created = api.post(
        "/customers",
        json={
            "name": "Acme Foods GmbH",
            "external_ref": "C-1",
            "registration_number": "HRB 1",
            "region": "north",
            "tier": "key",
            "owner_id": actors["am"].user_id,
            "team_ids": [actors["am2"].user_id],
            "shipper": {"services": ["ftl"], "on_time_target": 0.9},
        },
    )
    assert created.status_code == 201, created.json
    body = created.json
    assert body["roles"] == ["shipper"] and body["normalized_name"] == "acme foods"
    assert body["team_ids"] == [actors["am2"].user_id] and body["shipper"]["on_time_target"] == 0.9
    read = api.get(f"/customers/{body['id']}")
    assert read.status_code == 200 and read.json["name"] == "Acme Foods GmbH"
    assert read.headers["ETag"] == created.headers["ETag"]
    updated = api.update(f"/customers/{body['id']}", {"tier": "vip", "team_ids": []})
    assert updated.status_code == 200, updated.json
    assert (updated.json["tier"], updated.json["team_ids"], updated.json["version"]) == ("vip", [], 2)
    assert updated.headers["ETag"] != created.headers["ETag"]
    same_ref = api.post("/customers", json={"name": "Other", "external_ref": "C-1"})
    assert same_ref.status_code == 409 and "external_ref" in same_ref.json["errors"]["json"]


CUSTOMER_INVALID = [
    ("POST", {}, "name"),
    ("POST", {"name": ""}, "name"),
    ("POST", {"name": "X", "tier": "gold"}, "tier"),
    ("POST", {"name": "X", "nickname": "x"}, "nickname"),
    ("POST", {"name": "X", "owner_id": 999_999}, "owner_id"),
    ("POST", {"name": "X", "team_ids": [999_999]}, "team_ids"),
    ("POST", {"name": "X", "referred_by_id": 999_999}, "referred_by_id"),
    ("POST", {"name": "X", "acquired_on": "yesterday"}, "acquired_on"),
    ("POST", {"name": "X", "shipper": {"on_time_target": 1.5}}, "shipper"),
    ("POST", {"name": "X", "consignee": {"colour": "red"}}, "consignee"),
    ("PATCH", {"status": "sleeping"}, "status"),
    ("PATCH", {"name": None}, "name"),
    ("PATCH", {"id": 5}, "id"),
    ("PATCH", {"owner_id": 999_999}, "owner_id"),
    ("PATCH", {"team_ids": [999_999]}, "team_ids"),
    # past PostgreSQL's 65,535 parameters a statement: the ids travel as one array
    ("POST", {"name": "X", "team_ids": list(range(10**6, 10**6 + 70_001))}, "team_ids"),
    ("POST", {"name": "X", "acquired_on": "2026-03-01", "churned_on": "2026-02-01"}, "churned_on"),
    ("PATCH", {"churned_on": "2025-01-31"}, "churned_on"),  # before the stored acquired_on
    ("PATCH", {"acquired_on": "2026-03-01", "churned_on": "2026-02-01"}, "churned_on"),
]


def test_customer_validation_names_the_field_and_writes_nothing(api):
    existing = f.customer(api, "Existing", roles=(), acquired_on="2025-06-01")
    for method, body, field in CUSTOMER_INVALID:
        if method == "POST":
            response = api.post("/customers", json=body)
        else:
            response = api.update(f"/customers/{existing['id']}", body)
        assert response.status_code == 422, (body, response.json)
        assert field in response.json["errors"]["json"], (body, response.json)
    assert api.get("/customers").json["meta"]["total"] == 1
    assert api.get(f"/customers/{existing['id']}").json["version"] == 1
    assert len(api.get(f"/customers/{existing['id']}/history").json["items"]) == 1


def test_many_unknown_team_members_are_named_briefly(api):
    response = api.post("/customers", json={"name": "X", "team_ids": list(range(10**6, 10**6 + 70_001))})
    assert response.status_code == 422
    assert response.json["errors"]["json"]["team_ids"] == [
        f"unknown users {list(range(10**6, 10**6 + 10))} and 69991 more"
    ]


PROFILE_INVALID = [
    ("shipper", {"contract_start": "2026-05-01", "contract_end": "2026-01-01"}, "contract_end"),
    ("shipper", {"services": "ftl"}, "services"),
    ("shipper", {"contracted_annual_value": -1}, "contracted_annual_value"),
    ("consignee", {"sites": [""]}, "sites"),
    ("consignee", {"docks": 3}, "docks"),
]


def test_profile_validation_names_the_field(api):
    customer = f.customer(api, roles=())
    for role, body, field in PROFILE_INVALID:
        response = api.put(f"/customers/{customer['id']}/{role}", json=body)
        assert response.status_code == 422 and field in response.json["errors"]["json"], (body, response.json)
    assert api.get(f"/customers/{customer['id']}").json["roles"] == []


def test_role_profiles_add_replace_remove(api):
    customer = f.customer(api, roles=())
    path = f"/customers/{customer['id']}"
    assert api.get(f"{path}/shipper").status_code == 404
    added = api.put(f"{path}/shipper", json={"contract_start": "2026-01-01", "services": ["ftl"]})
    assert added.status_code == 200 and added.json["services"] == ["ftl"]
    assert api.put(f"{path}/shipper", json={"services": ["air"]}).status_code == 428
    replaced = api.update(f"{path}/shipper", {"services": ["air"]}, method="PUT")
    assert replaced.status_code == 200
    assert replaced.json["services"] == ["air"] and replaced.json["contract_start"] is None
    assert api.put(f"{path}/consignee", json={"sites": ["Pudong DC"]}).status_code == 200
    assert api.get(path).json["roles"] == ["shipper", "consignee"]
    partner = f.customer(api, roles=("consignee",))
    f.link(api, customer, partner)
    refused = api.remove(f"{path}/shipper")
    assert refused.status_code == 409 and "links" in refused.json["message"]
    assert api.remove(f"{path}/consignee").status_code == 204
    assert api.get(path).json["roles"] == ["shipper"]
    assert api.get(f"{path}/consignee").status_code == 404


def test_dual_role_company_is_in_both_views_and_linked_on_both_sides(api):
    distributor = f.customer(api, "Huadong Distribution", roles=("shipper", "consignee"))
    maker = f.customer(api, "Maker", roles=("shipper",))
    shop = f.customer(api, "Shop", roles=("consignee",))
    names = lambda path: [c["name"] for c in api.get(path).json["items"]]  # noqa: E731
    assert names("/shippers") == ["Huadong Distribution", "Maker"]
    assert names("/consignees") == ["Huadong Distribution", "Shop"]
    f.link(api, maker, distributor)
    f.link(api, distributor, shop)
    assert names(f"/shippers/{distributor['id']}/consignees") == ["Shop"]
    assert names(f"/consignees/{distributor['id']}/shippers") == ["Maker"]
    assert names(f"/shippers/{maker['id']}/consignees") == ["Huadong Distribution"]
    assert api.get(f"/shippers/{shop['id']}/consignees").status_code == 404
    assert api.get(f"/consignees/{maker['id']}/shippers").status_code == 404


def test_account_manager_sees_only_owned_and_team_customers(api, actors):
    am, am2 = actors["am"], actors["am2"]
    owned = f.customer(api, "Owned", roles=("shipper",), owner_id=am.user_id)
    on_team = f.customer(api, "On Team", roles=("consignee",), owner_id=am2.user_id, team_ids=[am.user_id])
    foreign = f.customer(api, "Foreign", roles=("shipper", "consignee"), owner_id=am2.user_id)
    foreign_partner = f.customer(api, "Foreign Partner", roles=("consignee",), owner_id=am2.user_id)
    f.link(api, owned, on_team)
    f.link(api, owned, foreign)
    f.link(api, foreign, foreign_partner)
    f.link(api, foreign, on_team)
    as_am = api.as_(am)
    names = lambda path, **q: [c["name"] for c in as_am.get(path, query=q).json["items"]]  # noqa: E731
    assert names("/customers") == ["On Team", "Owned"]
    assert names("/shippers") == ["Owned"]
    assert names("/consignees") == ["On Team"]
    assert names(f"/shippers/{owned['id']}/consignees") == ["On Team"]
    assert names(f"/consignees/{on_team['id']}/shippers") == ["Owned"]
    assert names("/customers", q="Foreign") == []
    assert names("/customers", include_deleted="true", sort="-name") == ["Owned", "On Team"]
    assert as_am.get("/customers").json["meta"]["total"] == 2
    for path in (
        f"/customers/{foreign['id']}",
        f"/customers/{foreign['id']}/history",
        f"/customers/{foreign['id']}/shipper",
        f"/shippers/{foreign['id']}/consignees",
        f"/consignees/{foreign['id']}/shippers",
    ):
        assert as_am.get(path).status_code == 404, path
    assert (
        as_am.patch(
            f"/customers/{foreign['id']}", json={"tier": "vip"}, headers={"If-Match": "*"}
        ).status_code
        == 404
    )
    assert as_am.delete(f"/customers/{foreign['id']}", headers={"If-Match": "*"}).status_code == 404
    assert as_am.get(f"/customers/{on_team['id']}").status_code == 200
    assert as_am.update(f"/customers/{on_team['id']}", {"region": "east"}).status_code == 200
    # A manager sees every account.
    assert api.as_(actors["manager"]).get("/customers").json["meta"]["total"] == 4


def test_account_manager_creates_customers_it_owns(api, actors):
    as_am = api.as_(actors["am"])
    created = as_am.post("/customers", json={"name": "Mine"})
    assert created.status_code == 201 and created.json["owner_id"] == actors["am"].user_id
    assert (
        as_am.post("/customers", json={"name": "Theirs", "owner_id": actors["am2"].user_id}).status_code
        == 403
    )


def test_soft_delete_and_restore(api):
    customer = f.customer(api, "Gone Soon", roles=("shipper",))
    path = f"/customers/{customer['id']}"
    assert api.delete(path).status_code == 428
    assert api.remove(path).status_code == 204
    assert api.get(path).status_code == 404
    assert api.get("/customers").json["items"] == []
    assert api.get("/shippers").json["items"] == []
    deleted = api.get("/customers", query={"include_deleted": "true"}).json["items"]
    assert [c["id"] for c in deleted] == [customer["id"]] and deleted[0]["deleted_at"]
    restored = api.post(f"{path}/restore")
    assert restored.status_code == 200 and restored.json["deleted_at"] is None
    assert api.get(path).status_code == 200
    assert [c["id"] for c in api.get("/shippers").json["items"]] == [customer["id"]]
    actions = [e["action"] for e in api.get(f"{path}/history").json["items"]]
    assert actions[:2] == ["restore", "delete"]


@pytest.fixture
def listed(api, actors):
    """Five customers that differ in every filterable field."""
    rows = [
        ("Acme Logistics GmbH", ("shipper",), "vip", "active", "am", "north", "retail"),
        ("上海华联物流有限公司", ("consignee",), "key", "active", "am2", "east", "retail"),
        ("Beta Freight Ltd", ("shipper", "consignee"), "standard", "prospect", "am", "south", "chemicals"),
        ("北京ＡＢＣ贸易股份有限公司", ("consignee",), "standard", "churned", "am2", "north", "food"),
        ("Zeta Shipping Inc.", ("shipper",), "key", "active", "manager", "west", "food"),
    ]
    return {
        name: f.customer(
            api,
            name,
            roles=roles,
            tier=tier,
            status=status,
            region=region,
            industry=industry,
            owner_id=actors[owner].user_id,
            external_ref=f"EXT-{i}",
        )
        for i, (name, roles, tier, status, owner, region, industry) in enumerate(rows)
    }


FILTERS = [
    ({"role": "shipper"}, ["Acme Logistics GmbH", "Beta Freight Ltd", "Zeta Shipping Inc."]),
    ({"role": "consignee"}, ["Beta Freight Ltd", "上海华联物流有限公司", "北京ＡＢＣ贸易股份有限公司"]),
    ({"tier": "key"}, ["Zeta Shipping Inc.", "上海华联物流有限公司"]),
    ({"status": "prospect"}, ["Beta Freight Ltd"]),
    ({"region": "north"}, ["Acme Logistics GmbH", "北京ＡＢＣ贸易股份有限公司"]),
    ({"industry": "food"}, ["Zeta Shipping Inc.", "北京ＡＢＣ贸易股份有限公司"]),
    ({"region": "north", "status": "active"}, ["Acme Logistics GmbH"]),
    ({"q": "acme"}, ["Acme Logistics GmbH"]),
    ({"q": "ACME  logistics, gmbh"}, ["Acme Logistics GmbH"]),
    ({"q": "ｓｈｉｐｐｉｎｇ"}, ["Zeta Shipping Inc."]),
    ({"q": "华联"}, ["上海华联物流有限公司"]),
    ({"q": "华联物流股份有限公司"}, ["上海华联物流有限公司"]),
    ({"q": "abc贸易"}, ["北京ＡＢＣ贸易股份有限公司"]),
    ({"q": "EXT-2"}, ["Beta Freight Ltd"]),
    ({"q": "nothing like it"}, []),
]


def test_list_filters_and_search(api, listed):
    for query, expected in FILTERS:
        response = api.get("/customers", query=query)
        assert response.status_code == 200, response.json
        assert [c["name"] for c in response.json["items"]] == expected, query
        assert response.json["meta"]["total"] == len(expected), query


def test_list_filter_by_owner(api, actors, listed):
    response = api.get("/customers", query={"owner_id": actors["am"].user_id})
    assert [c["name"] for c in response.json["items"]] == ["Acme Logistics GmbH", "Beta Freight Ltd"]
    shippers = api.get("/shippers", query={"owner_id": actors["am"].user_id, "tier": "vip"})
    assert [c["name"] for c in shippers.json["items"]] == ["Acme Logistics GmbH"]


SORTS = [
    (
        "name",
        [
            "Acme Logistics GmbH",
            "Beta Freight Ltd",
            "Zeta Shipping Inc.",
            "上海华联物流有限公司",
            "北京ＡＢＣ贸易股份有限公司",
        ],
    ),
    (
        "-name",
        [
            "北京ＡＢＣ贸易股份有限公司",
            "上海华联物流有限公司",
            "Zeta Shipping Inc.",
            "Beta Freight Ltd",
            "Acme Logistics GmbH",
        ],
    ),
    (
        "-id",
        [
            "Zeta Shipping Inc.",
            "北京ＡＢＣ贸易股份有限公司",
            "Beta Freight Ltd",
            "上海华联物流有限公司",
            "Acme Logistics GmbH",
        ],
    ),
    (
        "region",
        [
            "上海华联物流有限公司",
            "Acme Logistics GmbH",
            "北京ＡＢＣ贸易股份有限公司",
            "Beta Freight Ltd",
            "Zeta Shipping Inc.",
        ],
    ),
]


def test_list_sort(api, listed):
    for sort, expected in SORTS:
        assert [c["name"] for c in api.get("/customers", query={"sort": sort}).json["items"]] == expected, (
            sort
        )


def test_list_pagination_and_bad_arguments(api, listed):
    pages = [
        api.get("/customers", query={"page": page, "page_size": 2, "sort": "id"}).json for page in (1, 2, 3)
    ]
    assert [p["meta"] for p in pages] == [
        {"total": 5, "page": page, "page_size": 2, "pages": 3} for page in (1, 2, 3)
    ]
    ids = [c["id"] for p in pages for c in p["items"]]
    assert ids == sorted(c["id"] for c in listed.values())
    assert api.get("/customers", query={"page": 9}).json == {
        "items": [],
        "meta": {"total": 5, "page": 9, "page_size": 50, "pages": 1},
    }
    for query, field in (
        ({"sort": "colour"}, "sort"),
        ({"page": 0}, "page"),
        ({"tier": "gold"}, "tier"),
        ({"role": "carrier"}, "role"),
        ({"page_size": "many"}, "page_size"),
    ):
        response = api.get("/customers", query=query)
        assert response.status_code == 422 and field in response.json["errors"]["query"], query


def test_optimistic_concurrency_on_customer(api):
    customer = f.customer(api, "Versioned")
    path = f"/customers/{customer['id']}"
    etag = api.get(path).headers["ETag"]
    assert api.patch(path, json={"region": "east"}).status_code == 428
    first = api.patch(path, json={"region": "east"}, headers={"If-Match": etag})
    assert first.status_code == 200 and first.headers["ETag"] != etag
    stale = api.patch(path, json={"region": "west"}, headers={"If-Match": etag})
    assert stale.status_code == 412, stale.json
    assert api.get(path).json["region"] == "east"
    assert api.delete(path, headers={"If-Match": etag}).status_code == 412
    assert api.get(path).status_code == 200


@pytest.fixture
def records(api, actors):
    """One record of each audited kind, with the path that reads and updates it."""
    shipper = f.customer(api, "History Shipper", roles=("shipper",))
    consignee = f.customer(api, "History Consignee", roles=("consignee",))
    department = f.department(api, shipper)
    return {
        "customer": (shipper, f"/customers/{shipper['id']}", {"region": "south"}, "PATCH"),
        "shipper_profile": (shipper, f"/customers/{shipper['id']}/shipper", {"services": ["air"]}, "PUT"),
        "department": (shipper, f"/departments/{department['id']}", {"decision_weight": 3.0}, "PATCH"),
        "contact": (shipper, f"/contacts/{f.contact(api, shipper)['id']}", {"role": "buyer"}, "PATCH"),
        "link": (shipper, f"/links/{f.link(api, shipper, consignee)['id']}", {"origin": "Bremen"}, "PATCH"),
    }


ENTITIES = ["customer", "shipper_profile", "department", "contact", "link"]


@pytest.mark.parametrize("entity", ENTITIES)
def test_if_match_guards_writes_and_history_records_who_changed_what(api, actors, records, entity):
    customer, path, change, method = records[entity]
    before = api.get(path)
    etag = before.headers["ETag"]
    assert api.request(method, path, json=change).status_code == 428
    assert api.request(method, path, json=change, headers={"If-Match": '"stale-1-v0"'}).status_code == 412
    assert api.get(path).json == before.json
    as_manager = api.as_(actors["manager"])
    done = as_manager.request(method, path, json=change, headers={"If-Match": etag})
    assert done.status_code == 200, done.json
    assert done.headers["ETag"] != etag and done.json["version"] == before.json["version"] + 1
    assert api.request(method, path, json={}, headers={"If-Match": etag}).status_code == 412
    assert api.delete(path, headers={"If-Match": etag}).status_code == 412
    assert api.get(path).json == done.json
    history = api.get(f"/customers/{customer['id']}/history").json["items"]
    latest = history[0]
    assert (latest["entity"], latest["action"], latest["user_id"]) == (
        entity,
        "update",
        actors["manager"].user_id,
    )
    assert latest["changes"] == {field: [before.json[field], value] for field, value in change.items()}
    assert all(e["action"] == "create" for e in history[1:])


def test_tier_and_status_sort_by_rank_and_lifecycle_not_alphabetically(api):
    for name, tier, status in (("Alpha", "standard", "active"), ("Beta", "vip", "churned"),
                               ("Gamma", "key", "prospect")):  # fmt: skip
        f.customer(api, name, tier=tier, status=status)
    names = lambda sort: [c["name"] for c in api.get("/customers", query={"sort": sort}).json["items"]]  # noqa: E731
    assert names("tier") == ["Beta", "Gamma", "Alpha"]  # vip, key, standard
    assert names("-tier") == ["Alpha", "Gamma", "Beta"]
    assert names("status") == ["Gamma", "Alpha", "Beta"]  # prospect, active, churned


def test_reading_a_customer_asks_two_queries(api, db):
    """The key with its user, then the customer with its roles, team and aliases: no session of auth's own,
    no relationship loaded by a query of its own."""
    customer = f.customer(api, roles=("shipper", "consignee"))
    api.post(f"/customers/{customer['id']}/aliases", json={"name": "Another name"})
    assert api.get(f"/customers/{customer['id']}").status_code == 200  # the key's last use is written once
    selects = []

    def count(_conn, _cursor, statement, *_args):
        selects.extend([statement] if statement.lstrip().upper().startswith("SELECT") else [])

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        answer = api.get(f"/customers/{customer['id']}")
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert answer.status_code == 200 and answer.json["aliases"][0]["name"] == "Another name"
    assert answer.json["shipper"] is not None and answer.json["consignee"] is not None
    assert len(selects) == 2, selects


def test_a_page_of_customers_asks_one_query_with_their_roles_team_and_aliases(api, db, actors):
    """The count and the page joined with what each answer shows (one more for the aliases of those having
    any): no query per relationship, and a customer with several team members and aliases is listed once,
    whole."""
    team = [actors["am"].user_id, actors["manager"].user_id]
    for n in range(3):
        customer = f.customer(api, f"Listed {n}", roles=("shipper", "consignee"), team_ids=team)
        for alias in ("First other", "Second other"):
            api.post(f"/customers/{customer['id']}/aliases", json={"name": f"{alias} {n}"})
    f.customer(api, "Unnamed otherwise", roles=("consignee",))
    assert api.get("/customers").status_code == 200  # the key's last use is written once

    def selects_of(query: dict) -> tuple[dict, list[str]]:
        selects = []

        def count(_conn, _cursor, statement, *_args):
            selects.extend([statement] if statement.lstrip().upper().startswith("SELECT") else [])

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            answer = api.get("/customers", query=query)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        assert answer.status_code == 200
        return answer.json, selects

    page, selects = selects_of({"page_size": 2})
    assert page["meta"]["total"] == 3 + 1
    assert [c["name"] for c in page["items"]] == ["Listed 0", "Listed 1"]
    for item in page["items"]:
        assert item["team_ids"] == sorted(team) and len(item["aliases"]) == 2
        assert item["shipper"] is not None and item["consignee"] is not None
        assert item["roles"] == ["shipper", "consignee"]
    assert len(selects) == 4, selects  # the key with its user, the count, the page, the aliases
    page, selects = selects_of({"q": "unnamed"})
    assert [(c["name"], c["aliases"], c["team_ids"], c["roles"], c["shipper"]) for c in page["items"]] == [
        ("Unnamed otherwise", [], [], ["consignee"], None)
    ]
    assert len(selects) == 3, selects  # no aliases listed: none asked for
