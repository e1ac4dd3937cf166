"""Hostile and malformed input through the shared plumbing (logicrm/api.py): a 4xx naming the problem, never a
500. The tables walk the OpenAPI document, so a route is covered the day it is added."""

from __future__ import annotations

import io
import json
import re

import pytest

from logicrm import bounds
from tests import factories
from tests.openapi_doc import Operation, error_at, fields, mismatches, nest, operations, resolve

UNSTORABLE_TEXT = ["a\x00b", "\ud800"]  # PostgreSQL text refuses NUL; a lone surrogate is not UTF-8
OVERFLOWING_TIMES = ["0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00"]


@pytest.fixture
def spec(app) -> dict:
    return app.test_client().get("/api/v1/openapi.json").json


def send(
    api, method: str, path: str, *, data=None, content_type="application/json", headers=None, query=None
):
    """Send raw bytes (e.g. JSON with NaN or escaped surrogates, which a JSON encoder refuses to write)."""
    headers = {"Authorization": f"Bearer {api.key}", "If-Match": "*", **(headers or {})}
    if content_type:
        headers["Content-Type"] = content_type
    return api.client.open(f"/api/v1{path}", method=method, data=data, headers=headers, query_string=query)


def documented(spec: dict, op: Operation, response, *, explicitly: bool = True) -> list[str]:
    """Say how an answer departs from the document: its status must be listed and its body match."""
    responses = op.doc["responses"]
    status = str(response.status_code)
    if explicitly and status not in responses:
        return [f"{op}: {status} is not documented"]
    schema = resolve(spec, responses.get(status, responses["default"]))["content"]["application/json"]
    return mismatches(spec, schema["schema"], response.json)


def bad_values(prop: dict, *, typed: bool = True) -> list:
    """Values a field must refuse, from what its documentation allows. A query string is text, so only `typed`
    (JSON) input must refuse a number or boolean written as text."""
    kind, values = prop.get("type"), []
    if kind == "integer":
        values += [prop["maximum"] + 1, 2**63, 1.5] + (["12", True] if typed else [])
    if kind == "number":
        values += [float("nan"), float("inf"), float("-inf"), 1e308] + (["1.5", True] if typed else [])
    if kind == "boolean" and typed:
        values += [0, "true"]  # JSON types are strict: marshmallow alone would read both as booleans
    if kind == "array" and prop["items"].get("type") == "integer":
        values += [[2**63]] + ([["1"]] if typed else [])
    if kind == "string" or "enum" in prop:
        values += UNSTORABLE_TEXT
    if prop.get("format") == "date-time":
        values += OVERFLOWING_TIMES
    if "maxLength" in prop:
        values.append("x" * (prop["maxLength"] + 1))
    return values


def body_cases(spec: dict) -> list[tuple[Operation, tuple, object]]:
    return [
        (op, path, value)
        for op in operations(spec)
        if op.json_body()
        for path, prop in fields(spec, op.json_body())
        for value in bad_values(resolve(spec, prop))
    ]


def test_every_body_field_refuses_what_it_cannot_hold_naming_the_field(api, spec):
    cases = body_cases(spec)
    assert len(cases) > 400
    failures = []
    for op, path, value in cases:
        response = send(api, op.method.upper(), op.concrete(), data=json.dumps(nest(path, value)))
        reasons = error_at(response.json, "json", path + ((0,) if isinstance(value, list) else ()))
        if response.status_code != 422 or not reasons or documented(spec, op, response):
            failures.append((str(op), path, value, response.status_code, response.json))
    assert failures == []


def test_every_query_parameter_refuses_what_it_cannot_hold_naming_it(api, spec):
    failures = []
    for op in operations(spec):
        for parameter in op.query():
            for value in bad_values(resolve(spec, parameter["schema"]), typed=False):
                if value == "\ud800":
                    continue  # a query string is decoded with replacement characters: no surrogate survives
                query = {parameter["name"]: str(value)}
                response = send(api, op.method.upper(), op.concrete(), data="{}", query=query)
                reasons = error_at(response.json, "query", (parameter["name"],))
                if response.status_code != 422 or not reasons or documented(spec, op, response):
                    failures.append((str(op), parameter["name"], value, response.status_code, response.json))
    assert failures == []


@pytest.mark.parametrize("value", [0, bounds.ID_MAX + 1, 2**63, 10**30])
def test_path_ids_out_of_range_answer_404_like_missing_records(api, spec, value):
    failures = []
    for op in operations(spec):
        if not any(p["schema"]["type"] == "integer" for p in op.path_parameters):
            continue
        data = "{}" if op.json_body() else None
        response = send(
            api, op.method.upper(), op.concrete(**{p["name"]: value for p in op.path_parameters}), data=data
        )
        if response.status_code != 404 or documented(spec, op, response):
            failures.append((str(op), response.status_code, response.json))
    assert failures == []


MALFORMED_BODIES = [
    pytest.param(b'{"name": "x"}', "text/plain", 415, id="not-json-content-type"),
    pytest.param(None, None, 415, id="no-body"),
    pytest.param(b"", "application/json", 400, id="empty"),
    pytest.param(b'{"name": ', "application/json", 400, id="truncated"),
    pytest.param(b"\xff\xfe{}", "application/json", 400, id="not-utf-8"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, "application/json", 400, id="nested-100000-deep"),
    pytest.param(b'{"id": ' + b"9" * 5_000 + b"}", "application/json", 400, id="a-5000-digit-integer"),
    pytest.param(b"[{}]", "application/json", 422, id="a-list"),
    pytest.param(b'"customer"', "application/json", 422, id="a-bare-string"),
    pytest.param(b"null", "application/json", 422, id="null"),
    pytest.param(b"1e999", "application/json", 422, id="infinity"),
]


@pytest.mark.parametrize(("data", "content_type", "status"), MALFORMED_BODIES)
def test_malformed_json_bodies_answer_4xx_everywhere(api, spec, data, content_type, status):
    failures = []
    for op in operations(spec):
        if op.json_body():
            response = send(api, op.method.upper(), op.concrete(), data=data, content_type=content_type)
            if response.status_code != status or documented(spec, op, response):
                failures.append((str(op), response.status_code, response.json))
    assert failures == []


def test_a_json_body_over_the_limit_answers_413_naming_it_while_uploads_keep_theirs(app, api):
    app.config["LOGICRM"] = app.config["LOGICRM"].replace(json_max_body_bytes=1_000)
    body = {"name": "Acme", "industry": "x" * 100, "region": "y" * 100, "shipper": {"services": ["z"] * 200}}
    response = api.post("/customers", json=body)
    assert response.status_code == 413, response.json
    assert "1,000 bytes (json_max_body_bytes)" in response.json["message"]
    assert api.get("/customers").json["meta"]["total"] == 0
    csv = "external_ref,name\n" + "".join(f"C{n},Customer {n}\n" for n in range(200))
    upload = api.client.post(
        "/api/v1/imports/customers",
        data={"file": (io.BytesIO(csv.encode()), "customers.csv")},
        headers={"Authorization": f"Bearer {api.key}"},
    )
    assert len(csv) > 3_000 and upload.status_code == 201, upload.json
    assert api.get("/customers").json["meta"]["total"] == 200


def test_the_default_json_limit_refuses_a_body_one_byte_over(app, api):
    limit = app.config["LOGICRM"].json_max_body_bytes
    padding = limit - len('{"name": ""}') + 1
    response = send(api, "POST", "/customers", data=json.dumps({"name": "x" * padding}))
    assert response.status_code == 413 and "json_max_body_bytes" in response.json["message"]


def test_a_10000_row_bulk_shipment_post_at_its_longest_fits_the_json_limit(app, api):
    lane = factories.link(api, factories.customer(api), factories.customer(api, roles=("consignee",)))
    rows = [
        {
            "link_id": lane["id"],
            "external_ref": f"{n:064d}",
            "shipped_at": "2026-05-17T08:30:00.123456+08:00",
            "promised_at": "2026-05-19T18:00:00.123456+08:00",
            "delivered_at": "2026-05-19T16:42:00.123456+08:00",
            "in_full": False,
            "damaged": False,
            "claim_amount": 1234567.89,
            "revenue": 9999999.99,
            "cost": 8888888.88,
        }
        for n in range(app.config["LOGICRM"].bulk_shipments_max)
    ]
    body = json.dumps({"shipments": rows}, indent=2)  # pretty-printed, as a person's script might send it
    assert len(body) < app.config["LOGICRM"].json_max_body_bytes
    response = send(api, "POST", "/shipments", data=body)
    assert response.status_code == 201 and response.json["created"] == len(rows), response.json


@pytest.mark.parametrize(
    "authorization",
    [
        "",
        "Bearer",
        "Bearer    ",
        "Basic YWRtaW46YWRtaW4=",
        "Bearer lcrm_\x00_x",
        "Bearer lcrm_\x00abcdef1234_x",
        "Bearer lcrm_é_x",
        "Bearer lcrm__",
        "Bearer " + "lcrm_" + "a" * 10_000,
        "Bearer lcrm_000000000000_" + "\x7f" * 10,
        "Bearer a b c",
    ],
)
def test_malformed_authorization_headers_answer_401(api, authorization):
    response = api.as_(None).get("/customers", headers={"Authorization": authorization})
    assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"


def test_the_bearer_scheme_is_case_insensitive(api):
    response = api.as_(None).get("/customers", headers={"Authorization": f"bearer {api.key}"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/customers?q=%ff%fe", 200),  # decoded with replacement characters: a name that matches nothing
        ("/customers?%ff=1", 422),
        ("/customers/%ff", 404),
        ("/exports/%ff%fe", 404),
        ("/customers?page=%00", 422),
        ("/customers?page=1%00", 422),
    ],
)
def test_undecodable_or_nul_bytes_in_urls_answer_4xx(api, path, status):
    response = api.client.get(f"/api/v1{path}", headers={"Authorization": f"Bearer {api.key}"})
    assert response.status_code == status, response.json


def _methods_of(spec: dict, path: str) -> set[str]:
    """The methods the document lists for any template matching a concrete path."""
    found = set()
    for template, item in spec["paths"].items():
        types = {p["name"]: p["schema"]["type"] for p in item.get("parameters", [])}
        pattern = re.sub(
            r"\{(\w+)\}",
            lambda m, types=types: r"\d+" if types[m.group(1)] == "integer" else "[^/]+",
            template,
        )
        if re.fullmatch(pattern, f"/api/v1{path}"):
            found |= {method.upper() for method in item if method != "parameters"}
    return found


def test_methods_not_allowed_answer_405_with_allow(api, spec):
    failures = []
    for template in spec["paths"]:
        path = Operation("get", template.removeprefix("/api/v1"), {}, ()).concrete(kind="customers")
        allowed = _methods_of(spec, path)
        for method in {"GET", "POST", "PUT", "PATCH", "DELETE"} - allowed:
            response = send(api, method, path, data="{}")
            expected = allowed | {"OPTIONS"} | ({"HEAD"} if "GET" in allowed else set())
            shown = {m.strip() for m in response.headers.get("Allow", "").split(",") if m.strip()}
            if response.status_code != 405 or shown != expected or not response.json.get("message"):
                failures.append((method, path, response.status_code, shown))
    assert failures == []


def test_answers_never_carry_nan_or_infinity(app):
    # A NaN that escaped the scoring core fails loudly instead of reaching a client as invalid JSON.
    with app.app_context(), pytest.raises(ValueError, match="not JSON compliant"):
        app.json.response({"network_risk": float("nan")})


def test_an_upload_whose_file_name_cannot_be_stored_is_refused_naming_it(api):
    response = api.client.post(
        "/api/v1/imports/customers",
        data={"file": (io.BytesIO(b"external_ref,name\nC1,Acme\n"), "customers\x00.csv")},
        headers={"Authorization": f"Bearer {api.key}"},
    )
    assert response.status_code == 422 and error_at(response.json, "form", ("file",)), response.json
    assert api.get("/customers").json["meta"]["total"] == 0
