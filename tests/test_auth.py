"""Bearer-key authentication and role checks, walked over every operation the OpenAPI document lists."""

from __future__ import annotations

import hashlib
import re

from sqlalchemy import select

from logicrm.users.models import ApiKey

WRITES = {"post", "put", "patch", "delete"}


def operations(api) -> list[tuple[str, str]]:
    """(METHOD, path under /api/v1 with ids filled in) for every documented operation."""
    spec = api.get("/openapi.json").json
    found = []
    for path, item in spec["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "1", path.removeprefix("/api/v1"))
        found += [(method.upper(), concrete) for method in item if method in WRITES | {"get"}]
    return found


def test_every_operation_needs_a_valid_key(api, actors):
    ops = operations(api)
    assert len(ops) > 50
    bad_headers = [
        {},
        {"Authorization": "Basic YWRtaW46YWRtaW4="},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer lcrm_000000000000_wrong"},
        {"Authorization": f"Bearer {actors['admin'].key}x"},
    ]
    anonymous = api.as_(None)
    failures = []
    for method, path in ops:
        for headers in bad_headers:
            response = anonymous.request(method, path, json={}, headers=headers)
            if response.status_code != 401 or response.headers.get("WWW-Authenticate") != "Bearer":
                failures.append((method, path, headers, response.status_code))
    assert failures == []


def view_attribute(app, method: str, path: str, name: str, default):
    """An attribute of the view class behind a request: `read_only` (a POST that only computes, e.g.
    what-if, open to read-only roles) or `also_written_by` (roles a view lets write besides the writers)."""
    endpoint, _args = app.url_map.bind("localhost").match(f"/api/v1{path}", method=method)
    return getattr(getattr(app.view_functions[endpoint], "view_class", None), name, default)


def test_read_only_roles_cannot_write_anything(app, api, actors):
    writes = [(method, path) for method, path in operations(api) if method.lower() in WRITES]
    computations = [
        (method, path) for method, path in writes if view_attribute(app, method, path, "read_only", False)
    ]
    failures = []
    for name in ("planner", "viewer"):
        client = api.as_(actors[name])
        for method, path in writes:
            status = client.request(method, path, json={}, headers={"If-Match": "*"}).status_code
            allowed = (method, path) in computations or name in view_attribute(
                app, method, path, "also_written_by", ()
            )
            if (status == 403) == allowed:
                failures.append((name, method, path, status))
    assert failures == []
    assert len(writes) - len(computations) > 30
    assert api.get("/customers").json["meta"]["total"] == 0


def test_revoked_key_is_refused(api, actors):
    assert api.as_(actors["am"]).get("/customers").status_code == 200
    [key] = api.get(f"/users/{actors['am'].user_id}/keys").json
    assert api.post(f"/api-keys/{key['id']}/revoke").status_code == 200
    refused = api.as_(actors["am"]).get("/customers")
    assert refused.status_code == 401 and "revoked" in refused.json["message"]


def test_last_used_at_is_recorded(api, actors):
    def last_used():
        return api.get(f"/users/{actors['planner'].user_id}/keys").json[0]["last_used_at"]

    assert last_used() is None
    assert api.as_(actors["planner"]).get("/links").status_code == 200
    assert last_used() is not None


def test_keys_are_stored_hashed(api, actors, session):
    secret = actors["viewer"].key
    _scheme, prefix, plaintext = secret.split("_", 2)
    rows = session.execute(select(ApiKey.__table__)).mappings().all()
    assert len(rows) == len(actors)
    assert not any(plaintext in str(value) for row in rows for value in row.values())
    [row] = [row for row in rows if row["prefix"] == prefix]
    assert row["secret_hash"] == hashlib.sha256(plaintext.encode()).hexdigest()
