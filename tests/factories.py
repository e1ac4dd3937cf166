"""Build records through the API (as whichever actor the client speaks for); each helper asserts success."""

from __future__ import annotations

import itertools

_serial = itertools.count(1)


def _created(response) -> dict:
    assert response.status_code == 201, response.json
    return response.json


def customer(api, name: str | None = None, *, roles=("shipper",), **fields) -> dict:
    """Create a customer holding `roles` ("shipper", "consignee"); names default to unique ones."""
    body = {"name": name or f"Company {next(_serial)}", **fields}
    body.update({role: body.get(role, {}) for role in roles})
    return _created(api.post("/customers", json=body, query={"allow_duplicate": "true"}))


def link(api, shipper: dict, consignee: dict, **fields) -> dict:
    """Create a lane from `shipper` to `consignee`."""
    body = {
        "shipper_id": shipper["id"],
        "consignee_id": consignee["id"],
        "origin": "Hamburg",
        "destination": "Shanghai",
        **fields,
    }
    return _created(api.post("/links", json=body))


def shipments(api, link_: dict, count: int = 1, **fields) -> list[int]:
    """Import `count` shipments on a lane; return their ids."""
    rows = [
        {
            "link_id": link_["id"],
            "shipped_at": f"2026-03-{day + 1:02d}T08:00:00Z",
            "delivered_at": f"2026-03-{day + 2:02d}T08:00:00Z",
            "revenue": 100,
            "cost": 80,
            **fields,
        }
        for day in range(count)
    ]
    return _created(api.post("/shipments", json={"shipments": rows}))["ids"]


def department(api, customer_: dict, name: str = "logistics", **fields) -> dict:
    return _created(api.post("/departments", json={"customer_id": customer_["id"], "name": name, **fields}))


def contact(api, customer_: dict, name: str = "Li Wei", **fields) -> dict:
    body = {
        "customer_id": customer_["id"],
        "name": name,
        "email": "li.wei@example.com",
        "phone": "+86 21 5555 0101",
        **fields,
    }
    return _created(api.post("/contacts", json=body))


def survey(api, customer_: dict, department_: dict, **fields) -> dict:
    body = {
        "customer_id": customer_["id"],
        "department_id": department_["id"],
        "collected_at": "2026-04-01T10:00:00Z",
        "likelihood_to_recommend": 7,
        "scores": [{"dimension": "timeliness", "expectation": 6, "perception": 5}],
        **fields,
    }
    return _created(api.post("/surveys", json=body))


def interaction(api, customer_: dict, **fields) -> dict:
    body = {
        "customer_id": customer_["id"],
        "kind": "visit",
        "at": "2026-04-02T09:00:00Z",
        "summary": "quarterly review",
        **fields,
    }
    return _created(api.post("/interactions", json=body))


def ticket(api, customer_: dict, **fields) -> dict:
    body = {"customer_id": customer_["id"], "kind": "complaint", "subject": "late delivery", **fields}
    return _created(api.post("/tickets", json=body))


def opportunity(api, customer_: dict, **fields) -> dict:
    body = {
        "customer_id": customer_["id"],
        "kind": "cross_sell",
        "title": "warehousing",
        "value": 50_000,
        **fields,
    }
    return _created(api.post("/opportunities", json=body))


def task(api, customer_: dict, **fields) -> dict:
    body = {
        "customer_id": customer_["id"],
        "kind": "call",
        "title": "call the buyer",
        "due_on": "2026-04-10",
        **fields,
    }
    return _created(api.post("/tasks", json=body))
