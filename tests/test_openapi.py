"""The OpenAPI document, the offline docs page, and unknown ids on every documented item path."""

from __future__ import annotations

import json
import re

EXPECTED_PATHS = {
    "/customers",
    "/customers/{customer_id}",
    "/customers/{customer_id}/restore",
    "/customers/{customer_id}/merge",
    "/customers/{customer_id}/history",
    "/customers/{customer_id}/shipper",
    "/customers/{customer_id}/consignee",
    *(
        f"/{kind}"
        for kind in ("departments", "contacts", "surveys", "interactions", "tickets", "opportunities")
    ),
    *(
        f"/{kind}/{{record_id}}"
        for kind in ("departments", "contacts", "surveys", "interactions", "tickets", "opportunities")
    ),
    "/shippers",
    "/shippers/{customer_id}/consignees",
    "/consignees",
    "/consignees/{customer_id}/shippers",
    "/links",
    "/links/{link_id}",
    "/shipments",
    "/shipments/{shipment_id}",
    "/users",
    "/users/{user_id}",
    "/users/{user_id}/keys",
    "/api-keys/{key_id}/revoke",
}


def test_openapi_document_lists_the_paths(app):
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    spec = json.loads(response.data)
    assert spec["openapi"].startswith("3.") and spec["info"]["title"] == "LogiCRM API"
    assert {path.removeprefix("/api/v1") for path in spec["paths"]} >= EXPECTED_PATHS
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    operations = [
        op for item in spec["paths"].values() for method, op in item.items() if method != "parameters"
    ]
    assert all(op.get("summary") for op in operations), [
        op.get("operationId") for op in operations if not op.get("summary")
    ]


def test_docs_page_works_offline(app):
    client = app.test_client()
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.get_data(as_text=True))
    assert {asset.rsplit("/", 1)[-1] for asset in assets} >= {"swagger-ui-bundle.js", "swagger-ui.css"}
    for asset in assets:
        assert asset.startswith("/api/v1/"), asset  # served by the app, not a CDN
        served = client.get(asset)
        assert served.status_code == 200 and len(served.data) > 1000, asset


def test_unknown_ids_answer_404_everywhere(api, actors):
    spec = api.get("/openapi.json").json
    bodies = {"post": {}, "put": {}, "patch": {}}
    existing = api.post("/customers", json={"name": "Existing"}).json["id"]
    failures = []
    for path, item in spec["paths"].items():
        if "{" not in path or "{kind}" in path:  # kinds are names, tested with their routes
            continue
        concrete = re.sub(r"\{[a-z_]+\}", "999999", path.removeprefix("/api/v1"))
        for method in item:
            if method == "parameters":
                continue
            body = {"source_id": existing} if path.endswith("/merge") else bodies.get(method)
            response = api.request(method.upper(), concrete, json=body, headers={"If-Match": "*"})
            if response.status_code != 404 or "not found" not in response.json["message"]:
                failures.append((method, concrete, response.status_code))
    assert failures == []
    assert api.get(f"/customers/{existing}").json["version"] == 1
