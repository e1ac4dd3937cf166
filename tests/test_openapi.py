"""The OpenAPI document: its paths, the offline docs page, and that it says what is served (errors, If-Match,\nbounds, nullable fields) for every operation."""

from __future__ import annotations

import io
import json
import re

import pytest

from logicrm import bounds
from logicrm.health import runs
from tests import factories
from tests.openapi_doc import ERROR_SCHEMAS, Operation, fields, mismatches, operations, resolve

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
        f"/{kinds}/{{{kind}_id}}"
        for kinds, kind in (
            ("departments", "department"),
            ("contacts", "contact"),
            ("surveys", "survey"),
            ("interactions", "interaction"),
            ("tickets", "ticket"),
            ("opportunities", "opportunity"),
        )
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
    # a valid body where the operation requires one, so that only the id can be wrong
    required = {
        "/merge": {"source_id": existing},
        "/notes": {"text": "called the customer"},
        "/callback": {"outcome": "settled"},
        "/handover": {},
        "/team": {"members": []},
        "/aliases": {"name": "An alias"},
    }
    failures = []
    for path, item in spec["paths"].items():
        if "{" not in path or "{kind}" in path:  # kinds are names, tested with their routes
            continue
        concrete = re.sub(r"\{[a-z_]+\}", "999999", path.removeprefix("/api/v1"))
        for method in item:
            if method == "parameters":
                continue
            body = next((b for end, b in required.items() if path.endswith(end)), bodies.get(method))
            response = api.request(method.upper(), concrete, json=body, headers={"If-Match": "*"})
            if response.status_code != 404 or "not found" not in response.json["message"]:
                failures.append((method, concrete, response.status_code))
    assert failures == [], failures
    assert api.get(f"/customers/{existing}").json["version"] == 1


# The document must say what the plumbing answers (logicrm/api.py documents it for every route at once).

WRITES = {"post", "put", "patch", "delete"}


@pytest.fixture
def spec(app) -> dict:
    return app.test_client().get("/api/v1/openapi.json").json


def error_schema(spec: dict, response: dict) -> str | None:
    """The $ref of a response's JSON body schema (responses may themselves be $refs to components)."""
    return (
        resolve(spec, response).get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")
    )


# POSTs that compute and write nothing (their view is read_only): no conflict to answer
COMPUTATIONS = {"/network/what-if", "/network/scenarios/{scenario_id}/run", "/network/scenarios/compare"}


def expected_errors(op: Operation) -> set[int]:
    """The error answers the plumbing may give to `op` (see api.Blueprint._prepare_plumbing_doc)."""
    codes = {401, 403}
    if op.path_parameters:
        codes.add(404)
    if op.json_body():
        codes |= {400, 413, 415, 422}
    if op.query():
        codes.add(422)
    if op.method in WRITES and op.template not in COMPUTATIONS:
        codes.add(409)
    return codes


def test_every_operation_documents_the_errors_it_may_answer_with_their_body(spec):
    failures = []
    for op in operations(spec):
        responses = op.doc["responses"]
        for code in expected_errors(op):
            if str(code) not in responses:
                failures.append((str(op), code, "missing"))
            elif error_schema(spec, responses[str(code)]) not in ERROR_SCHEMAS:
                failures.append((str(op), code, "no error body"))
        for code, response in responses.items():
            if code.startswith("4") and error_schema(spec, response) not in ERROR_SCHEMAS:
                failures.append((str(op), code, "no error body"))
        if "requestBody" in op.doc and op.doc["requestBody"].get("required") is not True:
            failures.append((str(op), "requestBody", "not required"))
        if_match = [p for p in op.parameters if p["in"] == "header" and p["name"] == "If-Match"]
        if bool(if_match) != ({"412", "428"} <= responses.keys()):
            failures.append((str(op), "If-Match", "parameter and 412/428 must go together"))
        if if_match and if_match[0]["required"] != (op.method != "put"):
            failures.append((str(op), "If-Match", "required except to create by PUT"))
    assert failures == [], failures


@pytest.mark.parametrize("method", ["post", "patch"])
def test_the_customer_duplicate_409_names_existing_id_and_allow_duplicate(spec, method):
    path = "/api/v1/customers" if method == "post" else "/api/v1/customers/{customer_id}"
    body = resolve(
        spec,
        resolve(spec, spec["paths"][path][method]["responses"]["409"])["content"]["application/json"][
            "schema"
        ],
    )
    assert {"existing_id", "allow_duplicate"} <= body["properties"].keys()


def _request_fields(spec: dict):
    """(operation, where, field path, schema) of every query parameter and JSON body field."""
    for op in operations(spec):
        for parameter in op.query():
            # a parameter's description stands beside its schema
            schema = {**parameter["schema"], "description": parameter.get("description", "")}
            yield op, "query", (parameter["name"],), schema
        if op.json_body():
            for path, prop in fields(spec, op.json_body()):
                yield op, "json", path, prop


def _unbounded(spec: dict, prop: dict) -> list[str]:
    """Say what a request field lacks: a range, a unit or a maximum length (list items included)."""
    prop = resolve(spec, prop)
    kind = prop.get("type")
    if kind == "array":
        return _unbounded(spec, prop["items"])
    if kind in ("integer", "number") and not {"minimum", "maximum"} <= prop.keys():
        return ["no range"]
    if kind == "number" and "≤" not in prop.get("description", ""):
        return ["no unit in the description"]
    if kind == "string" and not ({"enum", "format"} & prop.keys()) and "maxLength" not in prop:
        return ["no maxLength"]
    return []


def test_every_number_and_text_a_client_sends_is_bounded(spec):
    failures = [
        (str(op), where, path, problem)
        for op, where, path, prop in _request_fields(spec)
        for problem in _unbounded(spec, prop)
    ]
    assert failures == [], failures


ID_NAMES = re.compile(
    r"(\w+_)?ids?|center|remove_customers|remove_links|moved_consignees|shipper|consignee|rounds"
)


def _integers(spec: dict):
    """(where, name, schema) of every integer property of every schema and parameter, list items included."""
    for schema_name, schema in spec["components"]["schemas"].items():
        for name, prop in schema.get("properties", {}).items():
            prop = resolve(spec, prop)
            while prop.get("type") == "array":
                prop = resolve(spec, prop["items"])
            yield schema_name, name, prop
    for op in operations(spec):
        for parameter in op.parameters:
            yield str(op), parameter["name"], parameter["schema"]


def test_every_id_and_only_ids_take_the_id_range(spec):
    failures = [
        (where, name)
        for where, name, prop in _integers(spec)
        if prop.get("type") == "integer"
        and bool(ID_NAMES.fullmatch(name))
        != ((prop.get("minimum"), prop.get("maximum")) == (1, bounds.ID_MAX))
    ]
    assert failures == [], failures


@pytest.fixture
def everything(app, api, actors) -> dict:
    """One record of each kind, optional fields left empty; return the value of each path placeholder."""
    hub = factories.customer(api, roles=("shipper", "consignee"), owner_id=actors["am"].user_id)
    other = factories.customer(api, roles=("consignee",))  # hidden from the account manager
    lane = factories.link(api, hub, other)
    shipment = factories.shipments(api, lane, 3)[0]
    department = factories.department(api, hub, is_decision_maker=True)
    contact = factories.contact(api, hub)
    records = {
        "departments": department,
        "contacts": contact,
        "surveys": factories.survey(api, hub, department),
        "interactions": factories.interaction(api, hub),
        "tickets": factories.ticket(api, hub),
        "opportunities": factories.opportunity(api, hub),
        "tasks": factories.task(api, hub),
    }
    alias = api.post(f"/customers/{hub['id']}/aliases", json={"name": "Hub Alias"}).json
    receiver = api.post("/webhooks", json={"url": "https://93.184.215.14/hooks/logicrm"}).json
    delivery = api.post(f"/webhooks/{receiver['id']}/test").json  # queued, not sent
    config = app.config
    runs.run_health(
        app.extensions["logicrm.db"],
        runs.RunConfig(config["LOGICRM"], config["LOGICRM_SCORING"], config["LOGICRM_RULES"]),
    )
    upload = api.client.post(
        "/api/v1/imports/customers",
        data={"file": (io.BytesIO(b"external_ref,name\nX1,\n"), "bad.csv")},
        query_string={"skip_invalid": "true"},
        headers={"Authorization": f"Bearer {api.key}"},
    )
    assert upload.status_code == 201, upload.json
    alerts = api.get("/alerts").json["items"]
    assert alerts, "the health run raised no alert to read"
    scenario = api.post("/network/scenarios", json={"name": "Hub leaves", "remove_customers": [hub["id"]]})
    assert scenario.status_code == 201, scenario.json
    in_force = api.get("/rulebook").json
    saved = api.put("/rulebook", json={"document": in_force["document"]}, headers={"If-Match": "*"})
    assert saved.status_code == 200, saved.json
    return {
        "records": {kind: record["id"] for kind, record in records.items()},
        "customer_id": hub["id"],
        "alias_id": alias["id"],
        "link_id": lane["id"],
        "shipment_id": shipment,
        "user_id": actors["viewer"].user_id,
        "key_id": api.get(f"/users/{actors['viewer'].user_id}/keys").json[0]["id"],
        "alert_id": alerts[0]["id"],
        "receiver_id": receiver["id"],
        "delivery_id": delivery["id"],
        "job_id": upload.json["id"],
        "version_id": saved.json["version"],
        "scenario_id": scenario.json["id"],
    }


def concrete(op: Operation, everything: dict) -> str:
    records = {f"{kind.removesuffix('s').replace('opportunitie', 'opportunity')}_id": record_id
               for kind, record_id in everything["records"].items()}  # fmt: skip
    return op.concrete(**everything, **records, kind="customers")


def test_if_match_is_documented_exactly_where_it_is_required(api, spec, everything):
    writes = [op for op in operations(spec) if op.method in {"put", "patch", "delete"}]
    documented = [op for op in writes if any(p["name"] == "If-Match" for p in op.parameters)]
    assert len(documented) >= 10
    failures = []
    # Refused writes change nothing, so try them first; the others may delete what later ones need.
    # a body the schema accepts where it requires fields, so that only If-Match can be missing
    required = {"/rulebook": {"document": api.get("/rulebook").json["document"]}, "/team": {"members": []}}
    for op in sorted(writes, key=lambda op: op not in documented):
        body = (
            next((b for end, b in required.items() if op.template.endswith(end)), {})
            if op.json_body()
            else None
        )
        response = api.request(op.method.upper(), concrete(op, everything), json=body)
        if (response.status_code == 428) != (op in documented):
            failures.append((str(op), response.status_code, response.json))
    assert failures == [], failures


@pytest.mark.parametrize("role", ["admin", "am", "planner"])
def test_answers_match_the_document(api, actors, spec, everything, role):
    client = api.as_(actors[role])
    failures = []
    for op in operations(spec):
        if op.method != "get" or "application/json" not in op.doc["responses"]["200"].get("content", {}):
            continue
        query = {"center": everything["customer_id"]} if op.template == "/network/graph" else None
        response = client.get(concrete(op, everything), query=query)
        assert response.status_code == 200 or role != "admin", (str(op), response.json)
        documented = op.doc["responses"].get(str(response.status_code), op.doc["responses"]["default"])
        schema = resolve(spec, documented)["content"]["application/json"]["schema"]
        failures += [(str(op), problem) for problem in mismatches(spec, schema, response.json)]
    assert failures == [], failures


def test_error_answers_match_the_document(api, spec):
    customer = api.post("/customers", json={"name": "Acme"}).json["id"]
    answers = [
        (404, "get", "/customers/{customer_id}", api.get(f"/customers/{customer + 1}")),
        (422, "get", "/customers", api.get("/customers", query={"page": 0})),
        (422, "post", "/customers", api.post("/customers", json={})),
        (401, "post", "/customers", api.as_(None).post("/customers", json={})),
        (
            415,
            "post",
            "/customers",
            api.request("POST", "/customers", headers={"Content-Type": "text/plain"}),
        ),
        (428, "patch", "/customers/{customer_id}", api.patch(f"/customers/{customer}", json={})),
        (409, "post", "/customers", api.post("/customers", json={"name": "ACME"})),
    ]
    for status, method, template, response in answers:
        assert response.status_code == status, (template, response.json)
        documented = spec["paths"][f"/api/v1{template}"][method]["responses"][str(status)]
        schema = resolve(spec, documented)["content"]["application/json"]["schema"]
        assert mismatches(spec, schema, response.json) == [], (template, response.json)
    assert answers[-1][-1].json["existing_id"] == customer
