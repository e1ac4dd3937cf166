"""Users and API keys: administration is for admins only; keys are shown once."""

from __future__ import annotations


def test_create_list_read_update_users(api, actors):
    created = api.post(
        "/users", json={"name": "Zhou Min", "email": "Zhou.Min@Example.COM", "role": "planner"}
    )
    assert created.status_code == 201, created.json
    assert (created.json["email"], created.json["role"], created.json["active"]) == (
        "zhou.min@example.com",
        "planner",
        True,
    )
    user_path = f"/users/{created.json['id']}"
    assert api.get(user_path).json == created.json
    planners = api.get("/users", query={"role": "planner"}).json
    assert [u["email"] for u in planners["items"]] == ["planner@test.example", "zhou.min@example.com"]
    assert api.get("/users").json["meta"]["total"] == len(actors) + 1
    updated = api.patch(user_path, json={"role": "account_manager", "name": "Zhou Min (KA)"})
    assert updated.status_code == 200 and (updated.json["role"], updated.json["name"]) == (
        "account_manager",
        "Zhou Min (KA)",
    )


USER_INVALID = [
    ("POST", {"name": "X", "email": "am@test.example", "role": "viewer"}, 409, "email"),
    ("POST", {"name": "X", "email": "x@example.com", "role": "emperor"}, 422, "role"),
    ("POST", {"name": "X", "email": "not-an-email", "role": "viewer"}, 422, "email"),
    ("POST", {"email": "x@example.com", "role": "viewer"}, 422, "name"),
    (
        "POST",
        {"name": "X", "email": "x@example.com", "role": "viewer", "password": "hunter2"},
        422,
        "password",
    ),
    ("PATCH", {"email": "AM@test.example"}, 409, "email"),
    ("PATCH", {"active": "sometimes"}, 422, "active"),
    ("PATCH", {"id": 1}, 422, "id"),
]


def test_invalid_user_input_names_the_field(api, actors):
    for method, body, status, field in USER_INVALID:
        path = "/users" if method == "POST" else f"/users/{actors['viewer'].user_id}"
        response = api.request(method, path, json=body)
        assert response.status_code == status and field in response.json["errors"]["json"], (
            body,
            response.json,
        )
    assert api.get("/users").json["meta"]["total"] == len(actors)
    assert api.get(f"/users/{actors['viewer'].user_id}").json["email"] == "viewer@test.example"


def test_keys_are_shown_once_work_and_can_be_revoked(api, actors):
    viewer = actors["viewer"].user_id
    created = api.post(f"/users/{viewer}/keys", json={"label": "laptop"})
    assert created.status_code == 201, created.json
    secret = created.json["key"]
    assert secret.startswith(f"lcrm_{created.json['prefix']}_") and created.json["label"] == "laptop"
    keys = api.get(f"/users/{viewer}/keys").json
    assert len(keys) == 2 and all("key" not in k and "secret_hash" not in k for k in keys)
    as_new = api.as_(type(actors["viewer"])(viewer, actors["viewer"].role, secret))
    assert as_new.get("/customers").status_code == 200
    revoked = api.post(f"/api-keys/{created.json['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json["revoked_at"]
    again = api.post(f"/api-keys/{created.json['id']}/revoke")
    assert again.json["revoked_at"] == revoked.json["revoked_at"]
    assert as_new.get("/customers").status_code == 401
    assert api.as_(actors["viewer"]).get("/customers").status_code == 200
    assert api.post(f"/users/{viewer}/keys", json={"label": "x" * 201}).status_code == 422


def test_deactivated_user_loses_access(api, actors):
    assert api.as_(actors["am"]).get("/customers").status_code == 200
    refused = api.patch(f"/users/{actors['am'].user_id}", json={"active": False})
    assert refused.status_code == 409 and "handover" in refused.json["errors"]["json"]["active"][0]
    assert api.as_(actors["am"]).get("/customers").status_code == 200
    handed = api.post(f"/users/{actors['am'].user_id}/handover", json={})  # it covers nothing: no one to name
    assert handed.status_code == 200 and handed.json["deactivated"] is True
    assert api.as_(actors["am"]).get("/customers").status_code == 401
    assert api.patch(f"/users/{actors['am'].user_id}", json={"active": True}).status_code == 200
    assert api.as_(actors["am"]).get("/customers").status_code == 200


def test_only_admins_administer_users_and_keys(api, actors):
    target = actors["viewer"].user_id
    calls = [
        ("GET", "/users", None),
        ("POST", "/users", {"name": "X", "email": "x@example.com", "role": "admin"}),
        ("GET", f"/users/{target}", None),
        ("PATCH", f"/users/{target}", {"role": "admin"}),
        ("GET", f"/users/{target}/keys", None),
        ("POST", f"/users/{target}/keys", {}),
        ("POST", "/api-keys/1/revoke", None),
    ]
    for name in ("manager", "am", "planner", "viewer"):
        client = api.as_(actors[name])
        for method, path, body in calls:
            response = client.request(method, path, json=body)
            assert response.status_code == 403, (name, method, path, response.json)
    assert api.get(f"/users/{target}").json["role"] == "viewer"
    assert api.get("/users").json["meta"]["total"] == len(actors)
    assert len(api.get(f"/users/{target}/keys").json) == 1
