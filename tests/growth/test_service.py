"""Growth suggestions through the network, with their reasons, and a suggestion turned into a deal."""

from __future__ import annotations

import datetime as dt

import pytest

from tests import factories as f


def _ship(api, link: dict, *revenues: float) -> None:
    at = (dt.datetime.now(dt.UTC) - dt.timedelta(days=10)).isoformat()
    rows = [{"link_id": link["id"], "shipped_at": at, "revenue": revenue, "cost": 0} for revenue in revenues]
    assert api.post("/shipments", json={"shipments": rows}).status_code == 201


@pytest.fixture
def network(api, actors) -> dict:
    am, am2 = actors["am"].user_id, actors["am2"].user_id
    referrer = f.customer(api, "Referrer", roles=(), owner_id=am)
    shipper = f.customer(
        api, "Small Wallet", industry="chemicals", owner_id=am, referred_by_id=referrer["id"],
        shipper={"services": ["ftl"], "contracted_annual_value": 10_000},
    )  # fmt: skip
    for name, services in (
        ("P1", ["ftl", "warehousing"]),
        ("P2", ["warehousing"]),
        ("P3", ["warehousing", "customs"]),
    ):
        f.customer(api, name, industry="chemicals", owner_id=am2, shipper={"services": services})
    consignee = f.customer(api, "Receiver Only", roles=("consignee",), owner_id=am)
    _ship(api, f.link(api, shipper, consignee), 1500, 500)
    hidden = f.customer(api, "Hidden Referral", owner_id=am2, referred_by_id=referrer["id"])
    _ship(api, f.link(api, hidden, consignee), 700)
    return {"referrer": referrer, "shipper": shipper, "consignee": consignee, "hidden": hidden}


def test_suggestions_with_their_reasons(api, actors, network):
    found = api.as_(actors["am"]).get("/growth/suggestions").json["items"]
    shipper, consignee, referrer = (network[k]["id"] for k in ("shipper", "consignee", "referrer"))
    assert [(s["customer_id"], s["kind"], s["service"], s["value"]) for s in found] == [
        (shipper, "share_of_wallet", None, 8000.0),
        (referrer, "referrer", None, 2700.0),
        (consignee, "shipper_role", None, 2700.0),
        (shipper, "service", "warehousing", None),
    ]
    reasons = {s["kind"]: s["reason"] for s in found}
    assert (
        reasons["share_of_wallet"] == "revenue over the last 12 months is 20% of the contracted annual value"
    )
    assert reasons["service"] == "3 of its 3 chemicals peers buy warehousing; it does not"
    # the hidden referral is counted, not named
    assert reasons["referrer"] == "brought Small Wallet and 1 more, worth 2,700 over the last 12 months"
    assert reasons["shipper_role"].startswith("receives 3 shipments a year from 2 shipper(s) on your lanes")
    assert {s["opportunity_kind"] for s in found if s["customer_id"] == shipper} == {"up_sell", "cross_sell"}
    only = api.get("/growth/suggestions", query={"customer_id": shipper, "kind": "service"}).json["items"]
    assert [(s["kind"], s["service"]) for s in only] == [("service", "warehousing")]


def test_a_suggestion_becomes_a_deal_in_one_call(api, actors, network):
    am = api.as_(actors["am"])
    body = {"customer_id": network["shipper"]["id"], "kind": "service", "service": "warehousing",
            "title": "3 of its 3 chemicals peers buy warehousing", "value": 4000}  # fmt: skip
    deal = am.post("/growth/suggestions/convert", json=body)
    assert deal.status_code == 201, deal.json
    assert (deal.json["kind"], deal.json["stage"], deal.json["probability"], deal.json["source"]) == (
        "cross_sell", "lead", 0.1, "growth:service",
    )  # fmt: skip
    assert (deal.json["service_lines"], deal.json["value"], deal.json["owner_id"]) == (
        ["warehousing"], 4000.0, actors["am"].user_id,
    )  # fmt: skip
    hidden = am.post("/growth/suggestions/convert", json={**body, "customer_id": network["hidden"]["id"]})
    missing = am.post("/growth/suggestions/convert", json={**body, "customer_id": 987654})
    assert hidden.status_code == missing.status_code == 422
    assert "customer_id" in hidden.json["errors"]["json"] and "customer_id" in missing.json["errors"]["json"]
