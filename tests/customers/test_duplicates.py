"""The duplicate scan: groups of probable duplicates over the whole base, found through blocking keys,
with the customer to keep and the merges to make; only what the caller sees."""

from __future__ import annotations

from sqlalchemy import update

from logicrm.customers import duplicates
from logicrm.customers.models import Customer
from logicrm.customers.names import registration_key
from logicrm.users.models import User
from tests import factories as f


def _insist(api, name: str, **fields) -> dict:
    return f.customer(api, name, **fields)  # the factory sends allow_duplicate=true


def _groups(api, **query) -> list[set[int]]:
    report = api.get("/customers/duplicates", query=query)
    assert report.status_code == 200, report.json
    return [{c["id"] for c in group["customers"]} for group in report.json["groups"]]


def _legacy_registration(db, customer: dict, number: str) -> None:
    """Give a customer a number only a database from before numbers were normalised could hold twice."""
    with db.session_scope() as session:
        session.execute(
            update(Customer)
            .where(Customer.id == customer["id"])
            .values(registration_number=number, registration_key=registration_key(number))
        )


def test_the_scan_groups_duplicates_by_number_name_and_similar_name(api, db):
    nordwind = _insist(api, "Nordwind Logistics GmbH", registration_number="HRB 104233")
    typo = _insist(api, "Nordwind Logistcs", status="prospect")
    cascade = _insist(api, "Cascade Foods Inc.", registration_number="EIN 12-3456789")
    renamed = _insist(api, "Sierra Beverages LLC")
    _legacy_registration(db, renamed, "ein123456789")
    chinese = _insist(api, "杭州鲜达超市有限公司", roles=("consignee",))
    english = _insist(api, "Hangzhou Xianda Supermarket Co., Ltd.", roles=("consignee",))
    _insist(api, "Hanse Food Hamburg GmbH", registration_number="HRB 1 Hamburg")
    _insist(api, "Hanse Foods Hamburg GmbH", registration_number="HRB 2 Hamburg")  # two legal entities
    _insist(api, "Thames Retail Ltd")

    report = api.get("/customers/duplicates").json
    assert report["customers_scanned"] == 9 and report["pairs_compared"] > 0
    groups = {frozenset(c["id"] for c in g["customers"]): g for g in report["groups"]}
    assert set(groups) == {
        frozenset({nordwind["id"], typo["id"]}),
        frozenset({cascade["id"], renamed["id"]}),
        frozenset({chinese["id"], english["id"]}),
    }
    by_number = groups[frozenset({cascade["id"], renamed["id"]})]
    assert by_number["pairs"] == [
        {"a_id": cascade["id"], "b_id": renamed["id"], "score": 1.0, "reason": "registration_number"}
    ]
    similar = groups[frozenset({nordwind["id"], typo["id"]})]
    assert similar["pairs"][0]["reason"] == "similar_name" and 0.9 <= similar["score"] < 1
    # keep the active one with a registration number; merge the other into it
    assert similar["keep_id"] == nordwind["id"]
    assert similar["merges"] == [{"target_id": nordwind["id"], "source_id": typo["id"]}]
    translated = groups[frozenset({chinese["id"], english["id"]})]
    assert translated["keep_id"] == chinese["id"] and translated["score"] == 1.0
    # best groups first
    assert [g["score"] for g in report["groups"]] == sorted(
        (g["score"] for g in report["groups"]), reverse=True
    )


def test_a_suggested_merge_can_be_made_and_the_group_is_gone(api):
    a = _insist(api, "Summit Motors Corp.")
    b = _insist(api, "Summit Motor Corporation")
    group = api.get("/customers/duplicates").json["groups"][0]
    merge = group["merges"][0]
    assert {merge["target_id"], merge["source_id"]} == {a["id"], b["id"]}
    done = api.post(f"/customers/{merge['target_id']}/merge", json={"source_id": merge["source_id"]})
    assert done.status_code == 200
    assert api.get("/customers/duplicates").json["groups"] == []


def test_pairs_chain_into_one_group(api):
    ids = {_insist(api, name)["id"] for name in ("Redwood Pharma Inc", "Redwood Pharma", "Redwod Pharma")}
    assert _groups(api) == [ids]


def test_a_lower_min_score_finds_more(api):
    _insist(api, "Liberty Devices Inc")
    _insist(api, "Liberty Device Shop Inc")
    assert _groups(api) == []
    assert len(_groups(api, min_score=0.75)) == 1
    assert api.get("/customers/duplicates", query={"min_score": 0.2}).status_code == 422


def test_the_account_manager_scans_only_what_it_sees(api, actors):
    am, am2 = api.as_(actors["am"]), api.as_(actors["am2"])
    mine = _insist(am, "Keystone Foods LLC")
    _insist(am2, "Keystone Food LLC")  # hidden twin: never named, never grouped
    twin = _insist(am, "Keystone Foods L.L.C. Atlanta")
    report = am.get("/customers/duplicates", query={"min_score": 0.7}).json
    assert report["customers_scanned"] == 2
    assert [{c["id"] for c in g["customers"]} for g in report["groups"]] == [{mine["id"], twin["id"]}]
    assert len(_groups(api, min_score=0.7)) == 1 and len(_groups(api, min_score=0.7)[0]) == 3


def test_keys_shared_by_too_many_customers_are_skipped(api, db):
    for city in ("Hamburg", "Bremen", "Kiel"):
        _insist(api, f"Elbe Spedition {city}")
    _insist(api, "Elbe Speditoin Kiel")
    with db.session(write=False) as session:
        admin = session.query(User).filter_by(email="admin@test.example").one()
        full = duplicates.scan(session, user=admin)
        blocked = duplicates.scan(session, user=admin, block_max=3)
    assert full["blocks_skipped"] == 0 and len(full["groups"]) == 1
    # "elbe" and "spedit" are shared by all four: too common to compare on; "kiel" still pairs the twins
    assert blocked["blocks_skipped"] == 2 and blocked["pairs_compared"] < full["pairs_compared"]
    assert [len(g["customers"]) for g in blocked["groups"]] == [2]
