"""Records that belong to a customer: departments, contacts, surveys, interactions, tickets, opportunities."""

from __future__ import annotations

import pytest

from tests import factories as f


@pytest.fixture
def world(api, actors):
    """Two customers of different account managers, each with a department, a contact and a lane."""
    mine = f.customer(api, "Mine", roles=("shipper",), owner_id=actors["am"].user_id)
    theirs = f.customer(api, "Theirs", roles=("consignee",), owner_id=actors["am2"].user_id)
    other_shipper = f.customer(api, "Other Shipper", roles=("shipper",), owner_id=actors["am2"].user_id)
    return {
        "mine": mine,
        "theirs": theirs,
        "dept": f.department(api, mine),
        "their_dept": f.department(api, theirs),
        "contact": f.contact(api, mine),
        "their_contact": f.contact(api, theirs),
        "link": f.link(api, mine, theirs),
        "their_link": f.link(api, other_shipper, theirs),
    }


def create_body(kind: str, w: dict, customer: str = "mine") -> dict:
    """A valid creation payload of `kind` for one of the world's customers."""
    cid = w[customer]["id"]
    dept = w["dept" if customer == "mine" else "their_dept"]["id"]
    return {
        "departments": {
            "customer_id": cid,
            "name": "finance",
            "decision_weight": 2,
            "is_decision_maker": True,
        },
        "contacts": {
            "customer_id": cid,
            "name": "Wang Fang",
            "department_id": dept,
            "email": "wf@example.cn",
            "phone": "+86 10 1234",
        },
        "surveys": {
            "customer_id": cid,
            "department_id": dept,
            "collected_at": "2026-05-01T08:00:00+08:00",
            "scale_min": 1,
            "scale_max": 5,
            "likelihood_to_recommend": 9,
            "scores": [
                {"dimension": "timeliness", "importance": 2, "expectation": 4, "perception": 5},
                {"dimension": "reliability", "expectation": 5, "perception": 3},
            ],
        },
        "interactions": {
            "customer_id": cid,
            "department_id": dept,
            "kind": "call",
            "at": "2026-05-02T09:00:00+00:00",
            "summary": "discussed Q3 volumes",
            "next_follow_up": "2026-06-01",
        },
        "tickets": {
            "customer_id": cid,
            "kind": "claim",
            "severity": "high",
            "subject": "damaged pallets",
            "opened_at": "2026-05-03T10:00:00+00:00",
            "claim_amount": 1200.5,
        },
        "opportunities": {
            "customer_id": cid,
            "kind": "up_sell",
            "title": "cold chain",
            "value": 80000,
            "probability": 0.4,
            "expected_close": "2026-09-30",
        },
    }[kind]


PATCHES = {
    "departments": {"decision_weight": 0.5},
    "contacts": {"role": "head of logistics", "phone": None},
    "interactions": {"summary": "rescheduled"},
    "tickets": {
        "status": "resolved",
        "resolved_at": "2026-05-04T10:00:00+00:00",
        "root_cause": "carrier_delay",
        "resolution": "re-delivered the next morning",
    },
    "opportunities": {"stage": "won", "probability": 1.0},
}
KINDS = ["departments", "contacts", "surveys", "interactions", "tickets", "opportunities"]


@pytest.mark.parametrize("kind", KINDS)
def test_create_read_list_update_delete(api, actors, world, kind):
    body = create_body(kind, world)
    created = api.post(f"/{kind}", json=body)
    assert created.status_code == 201, created.json
    path = f"/{kind}/{created.json['id']}"
    read = api.get(path)
    assert read.status_code == 200 and read.headers["ETag"] == created.headers["ETag"]
    assert {k: v for k, v in read.json.items() if k in body and k != "scores"} == {
        k: v for k, v in body.items() if k != "scores" and k != "collected_at"
    } | ({"collected_at": "2026-05-01T00:00:00+00:00"} if kind == "surveys" else {})
    if kind == "surveys":
        assert [(s["dimension"], s["importance"], s["perception"]) for s in read.json["scores"]] == [
            ("timeliness", 2.0, 5.0),
            ("reliability", 1.0, 3.0),
        ]
    if kind == "interactions":
        assert read.json["user_id"] == actors["admin"].user_id
    listed = api.get(f"/{kind}", query={"customer_id": world["mine"]["id"]}).json
    assert created.json["id"] in [r["id"] for r in listed["items"]]
    assert listed["meta"]["total"] == len(listed["items"])
    if kind in PATCHES:
        updated = api.update(path, PATCHES[kind])
        assert updated.status_code == 200, updated.json
        assert {k: updated.json[k] for k in PATCHES[kind]} == PATCHES[kind]
        assert updated.json["version"] == 2 and updated.headers["ETag"] != created.headers["ETag"]
    else:
        assert api.patch(path, json={"comment": "x"}, headers={"If-Match": "*"}).status_code == 405
    assert api.delete(path).status_code == 428
    assert api.remove(path).status_code == 204
    assert api.get(path).status_code == 404
    assert created.json["id"] not in [r["id"] for r in api.get(f"/{kind}").json["items"]]


def invalid_cases(kind: str, w: dict) -> list[tuple[str, dict, str]]:
    """(method, payload, the field errors.json must name): POSTs are whole bodies, PATCHes are changes."""
    base = create_body(kind, w)
    unknown = 999_999
    cases = [
        ("POST", {**base, "colour": "red"}, "colour"),
        ("POST", {**base, "customer_id": unknown}, "customer_id"),
        ("POST", {k: v for k, v in base.items() if k != "customer_id"}, "customer_id"),
    ]
    cases += {
        "departments": [
            ("POST", {**base, "name": ""}, "name"),
            ("POST", {**base, "decision_weight": -1}, "decision_weight"),
            ("PATCH", {"decision_weight": "heavy"}, "decision_weight"),
        ],
        "contacts": [
            ("POST", {**base, "email": "not-an-email"}, "email"),
            ("POST", {**base, "department_id": w["their_dept"]["id"]}, "department_id"),
            ("POST", {**base, "department_id": unknown}, "department_id"),
            ("PATCH", {"department_id": w["their_dept"]["id"]}, "department_id"),
            ("PATCH", {"customer_id": w["theirs"]["id"]}, "department_id"),
        ],
        "surveys": [
            ("POST", {**base, "department_id": w["their_dept"]["id"]}, "department_id"),
            ("POST", {**base, "contact_id": unknown}, "contact_id"),
            ("POST", {**base, "contact_id": w["their_contact"]["id"]}, "contact_id"),
            ("POST", {**base, "scale_max": 1}, "scale_max"),
            ("POST", {**base, "likelihood_to_recommend": 11}, "likelihood_to_recommend"),
            ("POST", {**base, "scores": []}, "scores"),
            (
                "POST",
                {**base, "scores": [{"dimension": "mood", "expectation": 3, "perception": 3}]},
                "scores",
            ),
        ],
        "interactions": [
            ("POST", {**base, "kind": "fax"}, "kind"),
            ("POST", {**base, "user_id": unknown}, "user_id"),
            ("POST", {**base, "department_id": w["their_dept"]["id"]}, "department_id"),
            ("POST", {**base, "at": "soon"}, "at"),
        ],
        "tickets": [
            ("POST", {**base, "resolved_at": "2026-05-01T10:00:00Z"}, "resolved_at"),
            # opened_at defaults to now, so a past resolution without it is out of order too.
            (
                "POST",
                {
                    **{k: v for k, v in base.items() if k != "opened_at"},
                    "resolved_at": "2020-01-01T00:00:00Z",
                },
                "resolved_at",
            ),
            ("POST", {**base, "link_id": unknown}, "link_id"),
            ("POST", {**base, "link_id": w["their_link"]["id"]}, "link_id"),
            ("POST", {**base, "severity": "apocalyptic"}, "severity"),
            ("POST", {**base, "claim_amount": -5}, "claim_amount"),
            ("PATCH", {"resolved_at": "2026-05-01T10:00:00Z"}, "resolved_at"),
            ("PATCH", {"link_id": w["their_link"]["id"]}, "link_id"),
        ],
        "opportunities": [
            ("POST", {**base, "probability": 1.5}, "probability"),
            ("POST", {**base, "stage": "dreaming"}, "stage"),
            ("PATCH", {"value": -1}, "value"),
        ],
    }[kind]
    return cases


@pytest.mark.parametrize("kind", KINDS)
def test_invalid_input_names_the_field_and_writes_nothing(api, world, kind):
    existing = api.post(f"/{kind}", json=create_body(kind, world)).json
    path = f"/{kind}/{existing['id']}"
    before = api.get(path).json
    total = api.get(f"/{kind}").json["meta"]["total"]
    for method, payload, field in invalid_cases(kind, world):
        response = api.post(f"/{kind}", json=payload) if method == "POST" else api.update(path, payload)
        assert response.status_code == 422, (method, payload, response.json)
        assert field in response.json["errors"]["json"], (method, payload, response.json)
    assert api.get(f"/{kind}").json["meta"]["total"] == total
    assert api.get(path).json == before


OFF_SCALE = [
    (
        {"scores": [{"dimension": "timeliness", "expectation": 4, "perception": 8}]},
        ("0", "perception"),
        "1–5",
    ),
    (
        {
            "scores": [
                {"dimension": "timeliness", "expectation": 4, "perception": 4},
                {"dimension": "capacity", "expectation": 0, "perception": 4},
            ]
        },
        ("1", "expectation"),
        "1–5",
    ),
    (
        {
            "scale_min": 0,
            "scale_max": 10,
            "scores": [
                {"dimension": "timeliness", "expectation": 4, "perception": 4},
                {"dimension": "timeliness", "expectation": 4, "perception": 4},
            ],
        },
        ("1", "dimension"),
        "twice",
    ),
]


def test_survey_scores_are_checked_against_the_declared_scale(api, world):
    for change, (index, name), message in OFF_SCALE:
        response = api.post("/surveys", json={**create_body("surveys", world), **change})
        assert response.status_code == 422, response.json
        assert message in response.json["errors"]["json"]["scores"][index][name][0], response.json
    assert api.get("/surveys").json["meta"]["total"] == 0


def test_duplicate_department_name_is_a_conflict(api, world):
    response = api.post("/departments", json={"customer_id": world["mine"]["id"], "name": "logistics"})
    assert response.status_code == 409, response.json
    assert "name" in response.json["errors"]["json"]
    assert api.get("/departments", query={"customer_id": world["mine"]["id"]}).json["meta"]["total"] == 1


def test_account_manager_sees_only_records_of_its_customers(api, actors, world):
    as_am = api.as_(actors["am"])
    for kind in KINDS:
        theirs = api.post(f"/{kind}", json=create_body(kind, world, "theirs")).json
        created = as_am.post(f"/{kind}", json=create_body(kind, world))
        assert created.status_code == 201, (kind, created.json)
        ids = [r["id"] for r in as_am.get(f"/{kind}").json["items"]]
        assert created.json["id"] in ids and theirs["id"] not in ids, kind
        assert as_am.get(f"/{kind}", query={"customer_id": world["theirs"]["id"]}).json["meta"]["total"] == 0
        assert as_am.get(f"/{kind}/{theirs['id']}").status_code == 404, kind
        assert as_am.delete(f"/{kind}/{theirs['id']}", headers={"If-Match": "*"}).status_code == 404, kind
        refused = as_am.post(f"/{kind}", json=create_body(kind, world, "theirs"))
        assert refused.status_code == 422 and "customer_id" in refused.json["errors"]["json"], kind
    assert (
        as_am.patch(
            f"/contacts/{world['their_contact']['id']}", json={"role": "x"}, headers={"If-Match": "*"}
        ).status_code
        == 404
    )
    # The other account manager sees its own.
    assert world["their_contact"]["id"] in [
        c["id"] for c in api.as_(actors["am2"]).get("/contacts").json["items"]
    ]


def test_planner_sees_contacts_without_personal_data_and_cannot_write(api, actors, world):
    as_planner = api.as_(actors["planner"])
    one = as_planner.get(f"/contacts/{world['contact']['id']}")
    assert one.status_code == 200 and one.json["name"] == "Li Wei"
    assert "email" not in one.json and "phone" not in one.json
    listed = as_planner.get("/contacts").json["items"]
    assert len(listed) == 2 and not any("email" in c or "phone" in c for c in listed)
    assert api.get(f"/contacts/{world['contact']['id']}").json["email"] == "li.wei@example.com"
    assert api.as_(actors["viewer"]).get(f"/contacts/{world['contact']['id']}").json["phone"]
    for actor in ("planner", "viewer"):
        client = api.as_(actors[actor])
        for kind in KINDS:
            assert client.post(f"/{kind}", json=create_body(kind, world)).status_code == 403, (actor, kind)
        path = f"/contacts/{world['contact']['id']}"
        assert client.patch(path, json={"role": "x"}, headers={"If-Match": "*"}).status_code == 403
        assert client.delete(path, headers={"If-Match": "*"}).status_code == 403
    assert api.get(f"/contacts/{world['contact']['id']}").json == world["contact"]


def test_records_of_a_deleted_customer_are_hidden(api, world):
    assert api.remove(f"/customers/{world['mine']['id']}").status_code == 204
    assert api.get(f"/contacts/{world['contact']['id']}").status_code == 404
    assert [c["id"] for c in api.get("/contacts").json["items"]] == [world["their_contact"]["id"]]
    assert api.post(f"/customers/{world['mine']['id']}/restore").status_code == 200
    assert api.get(f"/contacts/{world['contact']['id']}").status_code == 200


def test_a_department_is_not_deleted_while_survey_responses_would_go_with_it(api, world):
    dept = world["dept"]
    survey = f.survey(api, world["mine"], dept)
    refused = api.delete(f"/departments/{dept['id']}", headers={"If-Match": "*"})
    assert refused.status_code == 409
    assert f"department {dept['id']}: 1 survey responses would go with it" in refused.json["message"]
    assert api.get(f"/surveys/{survey['id']}").status_code == 200
    assert api.remove(f"/surveys/{survey['id']}").status_code == 204
    assert api.delete(f"/departments/{dept['id']}", headers={"If-Match": "*"}).status_code == 204
    history = api.get(f"/customers/{world['mine']['id']}/history", query={"page_size": 100}).json["items"]
    deleted = {(event["entity"], event["entity_id"]) for event in history if event["action"] == "delete"}
    assert deleted == {("survey", survey["id"]), ("department", dept["id"])}


def test_a_department_or_contact_that_records_refer_to_stays_with_its_customer(api, world):
    dept, other = world["dept"], f.customer(api, "Other", roles=("shipper",))
    contact = f.contact(api, world["mine"], "Wang Fang", department_id=dept["id"])
    f.survey(api, world["mine"], dept, contact_id=contact["id"])
    f.interaction(api, world["mine"], department_id=dept["id"])
    for path, held in (
        (f"/departments/{dept['id']}", "1 contacts, 1 survey responses, 1 interactions refer to it"),
        (f"/contacts/{contact['id']}", "1 survey responses refer to it"),
    ):
        refused = api.update(path, {"customer_id": other["id"]})
        assert refused.status_code == 422, refused.json
        assert held in refused.json["errors"]["json"]["customer_id"][0]
        assert api.get(path).json["customer_id"] == world["mine"]["id"]
    unused = f.department(api, world["mine"], "finance")
    moved = api.update(f"/departments/{unused['id']}", {"customer_id": other["id"]})
    assert moved.status_code == 200 and moved.json["customer_id"] == other["id"]
