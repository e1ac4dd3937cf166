def test_walkthrough(api, actors):
    shipper = api.post("/customers", json={"name": "Acme Foods GmbH", "shipper": {"on_time_target": 0.95}})
    assert shipper.status_code == 201, shipper.json
    consignee = api.post("/customers", json={"name": "上海华联超市有限公司", "consignee": {}})
    assert consignee.status_code == 201, consignee.json
    link = api.post(
        "/links",
        json={
            "shipper_id": shipper.json["id"],
            "consignee_id": consignee.json["id"],
            "origin": "Hamburg",
            "destination": "Shanghai",
        },
    )
    assert link.status_code == 201, link.json
    bulk = api.post(
        "/shipments",
        json={
            "shipments": [
                {
                    "link_id": link.json["id"],
                    "shipped_at": "2026-10-01T08:00:00Z",
                    "delivered_at": "2026-10-03T08:00:00Z",
                    "revenue": 1200,
                    "cost": 900,
                }
            ]
        },
    )
    assert bulk.status_code == 201, bulk.json
    listed = api.get(f"/shippers/{shipper.json['id']}/consignees")
    assert [c["name"] for c in listed.json["items"]] == ["上海华联超市有限公司"]
    assert api.get("/customers", query={"q": "华联超市"}).json["meta"]["total"] == 1
    dept = api.post(
        "/departments",
        json={
            "customer_id": consignee.json["id"],
            "name": "logistics",
            "decision_weight": 2,
            "is_decision_maker": True,
        },
    )
    assert dept.status_code == 201, dept.json
    survey = api.post(
        "/surveys",
        json={
            "customer_id": consignee.json["id"],
            "department_id": dept.json["id"],
            "collected_at": "2026-11-01T10:00:00Z",
            "likelihood_to_recommend": 8,
            "scores": [{"dimension": "timeliness", "expectation": 6, "perception": 5}],
        },
    )
    assert survey.status_code == 201, survey.json
    assert api.get("/openapi.json").status_code == 200
    assert api.as_(None).get("/customers").status_code == 401


def test_unknown_query_parameter_is_named(api):
    response = api.get("/customers", query={"teir": "vip"})
    assert response.status_code == 422
    assert "teir" in response.json["errors"]["query"]
