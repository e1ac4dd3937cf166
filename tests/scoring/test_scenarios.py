"""What-if scenarios through the API on the demo world: cuts, pauses, moves, saved, re-run and compared."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from logicrm.lanes.models import Link
from logicrm.network.params import ScoringParams
from tests.scoring.test_routes import admin, as_user, demo, role_email  # noqa: F401  (module fixtures)


@pytest.fixture(scope="module")
def planner(demo):  # noqa: F811
    return as_user(demo, role_email(demo, "planner"))


@pytest.fixture(scope="module")
def world(demo):  # noqa: F811
    """The shipper with most lanes, its busiest lane, and a consignee that only receives."""
    with demo[0].extensions["logicrm.db"].session() as session:
        lanes = dict(session.execute(select(Link.shipper_id, func.count()).group_by(Link.shipper_id)).all())
        shipper = max(lanes, key=lanes.get)
        shippers = set(lanes)
        receivers = set(session.scalars(select(Link.consignee_id)))
    return {"shipper": shipper, "pure_consignee": min(receivers - shippers)}


def totals_add_up(answer):
    rounds = answer["round_outcomes"]
    assert sum(r["revenue_per_month"] for r in rounds) == pytest.approx(
        answer["revenue_per_month_lost"], rel=1e-6
    )
    assert sum(r["margin_per_month"] for r in rounds) == pytest.approx(
        answer["margin_per_month_lost"], rel=1e-6
    )
    assert sum(r["links_cut"] for r in rounds) == answer["links_cut"]
    assert [r["customer_ids"] for r in rounds] == answer["rounds"]
    assert (
        answer["expected_revenue_per_month_lost_after_cascade"]
        == rounds[-1]["expected_revenue_per_month_lost"]
    )


def test_a_planner_cuts_the_biggest_shipper_saves_reruns_and_compares(planner, admin, world):  # noqa: F811
    shipper = world["shipper"]
    cut = {"volume_cuts": [{"shipper_id": shipper, "percent": 30}]}
    answer = planner.post("/network/what-if", json=cut).json
    totals_add_up(answer)
    first = answer["round_outcomes"][0]
    assert first["revenue_per_month"] > 0 and first["links_cut"] == 0  # a cut thins lanes, cuts none
    assert answer["expected_revenue_per_month_lost"] > 0
    assert shipper not in answer["rounds"][0]  # it stays a customer
    whole = admin.post(
        "/network/what-if", json={"volume_cuts": [{"shipper_id": shipper, "percent": 100}]}
    ).json
    assert whole["round_outcomes"][0]["revenue_per_month"] == pytest.approx(first["revenue_per_month"] / 0.3)

    saved = planner.post("/network/scenarios", json={"name": "−30% at our biggest shipper", **cut})
    assert saved.status_code == 201, saved.json
    scenario = saved.json
    assert scenario["last_totals"]["revenue_per_month_lost"] == pytest.approx(
        answer["revenue_per_month_lost"]
    )
    assert scenario["changes"]["volume_cuts"] == cut["volume_cuts"]
    removal = admin.post("/network/scenarios", json={"name": "It leaves", "remove_customers": [shipper]}).json
    listed = [s["id"] for s in admin.get("/network/scenarios").json["items"]]
    assert listed[:2] == [removal["id"], scenario["id"]]  # planners share them, newest first

    rerun = admin.post(f"/network/scenarios/{scenario['id']}/run").json
    assert rerun["scenario"]["id"] == scenario["id"]
    assert rerun["revenue_per_month_lost"] == pytest.approx(answer["revenue_per_month_lost"])
    compared = planner.post("/network/scenarios/compare", json={"ids": [scenario["id"], removal["id"]]}).json
    assert [c["id"] for c in compared["scenarios"]] == [scenario["id"], removal["id"]]
    thin, gone = compared["scenarios"]
    assert thin["revenue_per_month_lost"] == pytest.approx(answer["revenue_per_month_lost"])
    assert gone["revenue_per_month_lost"] > thin["revenue_per_month_lost"]
    assert gone["expected_revenue_per_month_lost"] > thin["expected_revenue_per_month_lost"]
    assert gone["saved_totals"] == removal["last_totals"]
    assert compared["config_hash"] == ScoringParams().config_hash()


def test_lane_changes_have_an_expected_loss(admin, world):  # noqa: F811
    lane = admin.get("/links", query={"shipper_id": world["shipper"], "page_size": 500}).json["items"]
    busiest = max(lane, key=lambda link: link["last_90_days"]["revenue"])["id"]
    removed = admin.post("/network/what-if", json={"remove_links": [busiest]}).json
    totals_add_up(removed)
    assert removed["round_outcomes"][0]["links_cut"] == 1
    assert removed["expected_revenue_per_month_lost"] > 0
    assert removed["expected_revenue_per_month_lost"] <= removed["round_outcomes"][0]["revenue_per_month"]
    paused = admin.post("/network/what-if", json={"paused_lanes": [{"link_id": busiest, "weeks": 4}]}).json
    window = ScoringParams().volume_window_days
    assert paused["round_outcomes"][0]["revenue_per_month"] == pytest.approx(
        removed["round_outcomes"][0]["revenue_per_month"] * 28 / window
    )
    assert paused["round_outcomes"][0]["links_cut"] == 0


def test_a_consignee_moving_away_leaves_with_its_lanes(admin, world):  # noqa: F811
    consignee = world["pure_consignee"]
    moved = admin.post("/network/what-if", json={"moved_consignees": [consignee]}).json
    removed = admin.post("/network/what-if", json={"remove_customers": [consignee]}).json
    totals_add_up(moved)
    assert moved["rounds"][0] == [consignee]
    assert moved["revenue_per_month_lost"] == pytest.approx(removed["revenue_per_month_lost"])
    # the lanes it takes are billed to its shippers: lost for certain, on top of what removal expects
    assert moved["expected_revenue_per_month_lost"] > removed["expected_revenue_per_month_lost"]
    rising = moved["rising_risks"]
    assert rising and all(r["risk_after"] > r["risk_before"] for r in rising)
    rises = [r["risk_after"] - r["risk_before"] for r in rising]
    assert rises == sorted(rises, reverse=True)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"volume_cuts": [{"shipper_id": 1, "percent": 0}]}, "volume_cuts"),
        ({"volume_cuts": [{"shipper_id": 1, "percent": 100.5}]}, "volume_cuts"),
        ({"volume_cuts": [{"shipper_id": 1}]}, "volume_cuts"),
        ({"paused_lanes": [{"link_id": 1, "weeks": 0}]}, "paused_lanes"),
        ({"paused_lanes": [{"link_id": 1, "weeks": 53}]}, "paused_lanes"),
        ({"paused_lanes": [{"link_id": 1, "weeks": 2}, {"link_id": 1, "weeks": 3}]}, "paused_lanes"),
        ({"paused_lanes": [{"link_id": 999_999, "weeks": 2}]}, "paused_lanes"),
        ({"volume_cuts": [{"shipper_id": 999_999, "percent": 10}]}, "volume_cuts"),
        ({"moved_consignees": [999_999]}, "moved_consignees"),
        ({}, "remove_customers"),
    ],
)
def test_bad_changes_name_their_field(admin, body, field):  # noqa: F811
    answer = admin.post("/network/what-if", json=body)
    assert answer.status_code == 422
    assert field in answer.json["errors"]["json"]


def test_changes_must_fit_the_role(admin, world):  # noqa: F811
    not_a_shipper = admin.post(
        "/network/what-if", json={"volume_cuts": [{"shipper_id": world["pure_consignee"], "percent": 10}]}
    )
    assert (
        not_a_shipper.status_code == 422
        and "not shippers" in not_a_shipper.json["errors"]["json"]["volume_cuts"][0]
    )
    pure_shipper = admin.get("/shippers", query={"page_size": 500}).json["items"]
    only_ships = next(s["id"] for s in pure_shipper if "consignee" not in s["roles"])
    not_a_consignee = admin.post("/network/what-if", json={"moved_consignees": [only_ships]})
    assert not_a_consignee.status_code == 422
    assert "not consignees" in not_a_consignee.json["errors"]["json"]["moved_consignees"][0]
    assert (
        admin.post("/network/scenarios", json={"name": "", "remove_customers": [only_ships]}).status_code
        == 422
    )
    assert admin.post("/network/scenarios/compare", json={"ids": [1]}).status_code == 422
    unknown = admin.post("/network/scenarios/compare", json={"ids": [999_998, 999_999]})
    assert unknown.status_code == 422 and "ids" in unknown.json["errors"]["json"]
    assert admin.get("/network/scenarios/999999").status_code == 404
    assert admin.post("/network/scenarios/999999/run").status_code == 404


def test_hidden_accounts_stay_hidden_in_saved_scenarios(demo, admin, planner):  # noqa: F811
    manager = as_user(demo, role_email(demo, "account_manager"))
    own = {
        r["id"]
        for r in manager.get("/network/risk", query={"role": "shipper", "page_size": 500}).json["items"]
    }
    everyone = {
        r["id"] for r in admin.get("/network/risk", query={"role": "shipper", "page_size": 500}).json["items"]
    }
    stranger, mine = min(everyone - own), min(own)
    # a hidden shipper reads exactly as one that does not exist
    hidden = manager.post("/network/what-if", json={"volume_cuts": [{"shipper_id": stranger, "percent": 10}]})
    missing = manager.post("/network/what-if", json={"volume_cuts": [{"shipper_id": 999_999, "percent": 10}]})
    assert hidden.status_code == missing.status_code == 422
    assert hidden.json["errors"]["json"]["volume_cuts"][0].replace(str(stranger), "X") == missing.json[
        "errors"
    ]["json"]["volume_cuts"][0].replace("999999", "X")
    theirs = planner.post(
        "/network/scenarios", json={"name": "Stranger cuts", "remove_customers": [stranger]}
    ).json
    ours = manager.post(
        "/network/scenarios", json={"name": "Mine cuts", "volume_cuts": [{"shipper_id": mine, "percent": 20}]}
    )
    assert ours.status_code == 201
    listed = {s["id"] for s in manager.get("/network/scenarios", query={"page_size": 500}).json["items"]}
    assert ours.json["id"] in listed and theirs["id"] not in listed
    assert manager.get(f"/network/scenarios/{theirs['id']}").status_code == 404
    assert manager.post(f"/network/scenarios/{theirs['id']}/run").status_code == 404
    compare = manager.post("/network/scenarios/compare", json={"ids": [ours.json["id"], theirs["id"]]})
    assert compare.status_code == 422 and str(theirs["id"]) in compare.json["errors"]["json"]["ids"][0]
    # planners share: they see the manager's scenario; only its author or a manager/admin deletes it
    assert planner.get(f"/network/scenarios/{ours.json['id']}").status_code == 200
    assert planner.delete(f"/network/scenarios/{ours.json['id']}").status_code == 403
    viewer = as_user(demo, role_email(demo, "viewer"))
    assert (
        viewer.post("/network/scenarios", json={"name": "No", "remove_customers": [mine]}).status_code == 403
    )
    assert viewer.post(f"/network/scenarios/{theirs['id']}/run").status_code == 200
    assert manager.delete(f"/network/scenarios/{ours.json['id']}").status_code == 204
    assert admin.delete(f"/network/scenarios/{theirs['id']}").status_code == 204
    assert admin.get(f"/network/scenarios/{theirs['id']}").status_code == 404
