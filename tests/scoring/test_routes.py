"""Network intelligence through the API, on the demo network (loaded once per backend for this module)."""

from __future__ import annotations

import dataclasses
import math
import time

import pytest
from sqlalchemy import delete, func, select

from logicrm.demo import load_demo
from logicrm.dumping import FLOAT_PLACES
from logicrm.lanes.models import Link
from logicrm.network.params import ScoringParams
from logicrm.scoring import held
from logicrm.scoring.models import PublishedScores
from tests.conftest import Api, fresh_app


@pytest.fixture(scope="module")
def demo(database_url, tmp_path_factory):
    """The demo network in the test database, with the app and the demo's summary."""
    app = fresh_app(database_url, str(tmp_path_factory.mktemp("instance")))
    with app.extensions["logicrm.db"].session_scope() as session:
        summary = load_demo(session, seed=7)
    yield app, summary
    app.extensions["logicrm.db"].engine.dispose()


def as_user(demo, email: str) -> Api:
    app, summary = demo
    return Api(app.test_client(), summary.api_keys[email])


@pytest.fixture(scope="module")
def admin(demo) -> Api:
    return Api(demo[0].test_client(), demo[1].admin_key)


def role_email(demo, role: str) -> str:
    """Return the email of a demo user with this role."""
    from logicrm.users.models import User

    with demo[0].extensions["logicrm.db"].session() as session:
        return session.scalars(select(User.email).where(User.role == role).order_by(User.id)).first()


def test_health_explains_risk_and_reproduces(admin, demo):
    customer_id = demo[1].troubled["overdue_claim"][0]
    health = admin.get(f"/customers/{customer_id}/health").json
    assert health["network_risk"] >= health["own_risk"] > 0
    # each figure is rounded to FLOAT_PLACES decimals, so the sum may be off by half a unit per driver
    rounding = len(health["drivers"]) * 10.0**-FLOAT_PLACES
    assert math.isclose(sum(d["share"] for d in health["drivers"]), health["network_risk"], abs_tol=rounding)
    assert health["config_hash"] == ScoringParams().config_hash()
    assert any(d["key"] == "overdue_tickets" for d in health["drivers"])
    departments = health["satisfaction"]["departments"]
    assert departments and all(
        {"weight", "score", "responses", "last_response", "silent"} <= set(d) for d in departments
    )
    assert all(d["score"] is None for d in departments if d["no_data"])
    assert {"revenue_12m", "cost_12m", "profit_12m", "margin", "abc_class"} <= set(health["value"])


def test_silent_deciding_department_keeps_its_verdict_and_is_flagged(admin, demo):
    customer_id = demo[1].troubled["silent_deciding_department"][0]
    health = admin.get(f"/customers/{customer_id}/health").json
    silent = [d for d in health["satisfaction"]["departments"] if d["silent"] and d["is_decision_maker"]]
    # not heard from for over 180 days: its last verdict still counts, decayed toward the portfolio's
    assert silent and all(d["score"] is not None and not d["no_data"] for d in silent)
    assert all(0 < d["evidence"] < 0.5 for d in silent)  # its last answer is over two half-lives old
    assert health["satisfaction"]["coverage"] == 1
    assert any(d["key"] == "silent_deciding_department" for d in health["drivers"])


def test_unhappy_consignees_pull_down_their_shippers_two_sided_satisfaction(admin, demo):
    shipper_id = demo[1].troubled["unhappy_consignees"][0]
    health = admin.get(f"/customers/{shipper_id}/health").json
    satisfaction = health["satisfaction"]
    assert satisfaction["two_sided"] < satisfaction["overall"]
    consignees = {
        c["id"]
        for c in admin.get(f"/shippers/{shipper_id}/consignees", query={"page_size": 500}).json["items"]
    }
    assert any(d["kind"] == "neighbour" and d["key"] in consignees for d in health["drivers"])


def test_healthy_vips_are_low_risk_and_troubled_rank_higher(admin, demo):
    summary = demo[1]
    ranking = admin.get("/network/risk", query={"page_size": 500}).json
    risk = {row["id"]: row["network_risk"] for row in ranking["items"]}
    assert ranking["meta"]["total"] == len(risk)
    assert list(risk.values()) == sorted(risk.values(), reverse=True)
    healthy = [risk[c] for c in summary.healthy_vips]
    troubled = [risk[c] for c in summary.troubled["unhappy_deciding_department"] if c in risk]
    assert max(healthy) < 0.4
    assert min(troubled) > max(healthy)


def test_risk_ranking_filters(admin):
    rows = admin.get("/network/risk", query={"role": "shipper", "tier": "vip", "page_size": 500}).json[
        "items"
    ]
    assert rows and all("shipper" in r["roles"] and r["tier"] == "vip" for r in rows)


def test_what_if_largest_shipper_loses_sole_dependants_and_keeps_the_others(admin, demo):
    app = demo[0]
    with app.extensions["logicrm.db"].session() as session:
        volumes = dict(session.execute(select(Link.shipper_id, func.count()).group_by(Link.shipper_id)).all())
        largest = max(volumes, key=volumes.get)
        consignees = set(session.scalars(select(Link.consignee_id).where(Link.shipper_id == largest)))
        shippers_of = {
            c: set(session.scalars(select(Link.shipper_id).where(Link.consignee_id == c))) for c in consignees
        }
    result = admin.post("/network/what-if", json={"remove_customers": [largest]}).json
    assert result["rounds"][0] == [largest]
    first_round = set(result["rounds"][1]) if len(result["rounds"]) > 1 else set()
    graph = admin.get("/network/graph", query={"center": largest, "depth": 2}).json
    roles = {n["id"]: n["roles"] for n in graph["nodes"]}
    inbound: dict[int, dict[int, float]] = {}
    for edge in graph["edges"]:
        inbound.setdefault(edge["consignee"], {})[edge["shipper"]] = edge["monthly_volume"]
    # Everything a live pure consignee receives rides on this shipper: it goes with it.
    sole = {
        c
        for c, shippers in shippers_of.items()
        if shippers == {largest} and roles.get(c) == ["consignee"] and inbound[c].get(largest, 0) > 0
    }
    well_served = {
        c
        for c in consignees - sole
        if sum(v for s, v in inbound.get(c, {}).items() if s != largest)
        > sum(inbound.get(c, {}).values()) / 2
    }
    assert sole and sole <= first_round
    assert well_served and not well_served & first_round
    assert result["revenue_per_month_lost"] > 0 and result["links_cut"] >= len(consignees)
    assert result["expected_revenue_per_month_lost"] > 0
    lost = {c["id"]: c for c in result["lost_customers"]}
    assert lost[largest]["round"] == 0 and "shipper" in lost[largest]["roles"]


def test_what_if_validates_input(admin):
    missing = admin.post("/network/what-if", json={}).json
    assert "remove_customers" in missing["errors"]["json"]
    unknown = admin.post("/network/what-if", json={"remove_customers": [999_999]})
    assert unknown.status_code == 422 and "remove_customers" in unknown.json["errors"]["json"]
    bad_threshold = admin.post("/network/what-if", json={"remove_customers": [1], "threshold": 1.5})
    assert "threshold" in bad_threshold.json["errors"]["json"]
    many = list(range(10**6, 10**6 + 70_001))  # named briefly: the first ten and a count
    unknown = admin.post("/network/what-if", json={"remove_customers": many})
    assert unknown.json["errors"]["json"]["remove_customers"] == [
        f"unknown customers {many[:10]} and 69991 more"
    ]


def test_graph_neighbourhood_has_both_influences(admin, demo):
    shipper_id = demo[1].troubled["unhappy_consignees"][0]
    graph = admin.get("/network/graph", query={"center": shipper_id, "depth": 1}).json
    ids = {n["id"] for n in graph["nodes"]}
    consignees = {
        c["id"]
        for c in admin.get(f"/shippers/{shipper_id}/consignees", query={"page_size": 500}).json["items"]
        if c["status"] != "churned"
    }
    lanes = admin.get("/links", query={"shipper_id": shipper_id, "page_size": 500}).json["items"]
    live = {lane["consignee_id"] for lane in lanes if lane["status"] != "ended"} & consignees
    # depth 1: the shipper and exactly the partners it still trades with
    assert ids == {shipper_id} | live
    own_edges = [e for e in graph["edges"] if e["shipper"] == shipper_id]
    assert {e["consignee"] for e in own_edges} <= consignees
    assert all(0 <= e["influence_down"] <= 0.6 and 0 <= e["influence_up"] <= 0.5 for e in graph["edges"])
    # a shipper's up-influences are α↑ times shares of its outbound volume, so they sum to at most α↑
    # (give or take the rounding of each to FLOAT_PLACES decimals)
    assert sum(e["influence_up"] for e in own_edges) <= 0.5 + len(own_edges) * 10.0**-FLOAT_PLACES
    assert admin.get("/network/graph", query={"center": shipper_id, "depth": 4}).status_code == 422
    assert graph["total_nodes"] == len(ids)


def test_graph_answers_at_most_max_nodes_nearest_first(admin, demo):
    shipper_id = demo[1].troubled["unhappy_consignees"][0]
    whole = admin.get("/network/graph", query={"center": shipper_id, "depth": 2}).json
    partners = {n["id"] for n in admin.get("/network/graph", query={"center": shipper_id}).json["nodes"]}
    assert whole["total_nodes"] == len(whole["nodes"]) > len(partners) > 2
    kept = admin.get("/network/graph", query={"center": shipper_id, "depth": 2, "max_nodes": 2}).json
    ids = {n["id"] for n in kept["nodes"]}
    assert len(ids) == 2 and shipper_id in ids and ids <= partners
    assert kept["total_nodes"] == whole["total_nodes"]
    assert all(e["shipper"] in ids and e["consignee"] in ids for e in kept["edges"])
    settings = demo[0].config["LOGICRM"]
    demo[0].config["LOGICRM"] = dataclasses.replace(settings, graph_max_nodes=3)
    try:
        assert len(admin.get("/network/graph", query={"center": shipper_id, "depth": 2}).json["nodes"]) == 3
    finally:
        demo[0].config["LOGICRM"] = settings
    bad = admin.get("/network/graph", query={"center": shipper_id, "max_nodes": 0})
    assert bad.status_code == 422 and "max_nodes" in bad.json["errors"]["query"]


def test_hubs_and_portfolio_summary(admin):
    hubs = admin.get("/network/hubs", query={"page_size": 5}).json
    exposures = [h["exposure"] for h in hubs["items"]]
    assert exposures == sorted(exposures, reverse=True) and exposures[0] > 0
    assert hubs["items"][0]["consignees_lost"] > 0
    summary = admin.get("/portfolio/summary").json
    assert sum(summary["by_tier"].values()) == summary["customers"] == sum(summary["by_abc_class"].values())
    assert 0 < summary["pareto_ratio"] < 0.5
    assert sum(b["count"] for b in summary["risk_distribution"]) == summary["customers"]
    assert summary["tier_mismatches"]


def test_rankings_encoded_once_answer_each_page_and_filter_of_their_own(admin):
    """An everyone-sees ranking is encoded once per publication and arguments: each page and filter is
    still its own slice of the whole ranking, and asking again gives the same bytes."""
    ranked = admin.get("/network/risk", query={"page_size": 500}).json["items"]
    for query in ({"page": 2, "page_size": 3}, {"role": "shipper"}, {"tier": "vip", "page_size": 4}, {}):
        first = admin.get("/network/risk", query=query)
        again = admin.get("/network/risk", query=query)
        assert again.data == first.data and first.headers["Content-Type"] == "application/json"
        page, size = query.get("page", 1), query.get("page_size", 50)
        wanted = [
            r
            for r in ranked
            if ("role" not in query or query["role"] in r["roles"])
            and ("tier" not in query or r["tier"] == query["tier"])
        ][(page - 1) * size : page * size]
        assert first.json["items"] == wanted and first.json["meta"]["page"] == page
    summary = admin.get("/portfolio/summary")
    assert admin.get("/portfolio/summary").data == summary.data


def test_account_manager_sees_own_accounts_but_what_if_spans_the_network(demo, admin):
    manager = as_user(demo, role_email(demo, "account_manager"))
    listed = manager.get("/customers", query={"page_size": 500}).json["items"]
    own = {c["id"] for c in listed if c["status"] != "churned"}  # churned accounts are not scored
    ranked = {r["id"] for r in manager.get("/network/risk", query={"page_size": 500}).json["items"]}
    assert ranked == own
    everyone = {r["id"] for r in admin.get("/network/risk", query={"page_size": 500}).json["items"]}
    stranger = min(everyone - own)
    assert manager.get(f"/customers/{stranger}/health").status_code == 404
    shipper = next(
        r["id"]
        for r in manager.get("/network/risk", query={"role": "shipper", "page_size": 500}).json["items"]
    )
    result = manager.post("/network/what-if", json={"remove_customers": [shipper]}).json
    full = admin.post("/network/what-if", json={"remove_customers": [shipper]}).json
    assert {c["id"] for c in result["lost_customers"]} <= own
    assert len(result["lost_customers"]) + result["hidden_lost_customers"] == len(full["lost_customers"])
    assert result["revenue_per_month_lost"] == full["revenue_per_month_lost"]


def test_planner_may_run_network_endpoints_but_not_write(demo):
    planner = as_user(demo, role_email(demo, "planner"))
    assert planner.get("/network/risk").status_code == 200
    assert planner.get("/portfolio/summary").status_code == 200
    shipper = planner.get("/shippers").json["items"][0]["id"]
    assert planner.post("/network/what-if", json={"remove_customers": [shipper]}).status_code == 200
    assert planner.post("/customers", json={"name": "Nope Ltd"}).status_code == 403


def test_scores_are_cached_until_the_network_changes(admin, demo):
    first = admin.get("/network/risk", query={"page_size": 1}).json["meta"]["as_of"]
    assert admin.get("/network/risk", query={"page_size": 1}).json["meta"]["as_of"] == first
    shipper = next(c for c in demo[1].healthy_vips if "shipper" in admin.get(f"/customers/{c}").json["roles"])
    partners = {
        c["id"] for c in admin.get(f"/shippers/{shipper}/consignees", query={"page_size": 500}).json["items"]
    }
    consignee = next(
        c["id"]
        for c in admin.get("/consignees", query={"page_size": 500}).json["items"]
        if c["id"] not in partners
    )
    link = admin.post(
        "/links",
        json={
            "shipper_id": shipper,
            "consignee_id": consignee,
            "origin": "A",
            "destination": "B",
            "declared_monthly_volume": 40,
        },
    )
    assert link.status_code == 201, link.json
    assert admin.get("/network/risk", query={"page_size": 1}).json["meta"]["as_of"] != first
    graph = admin.get("/network/graph", query={"center": consignee, "depth": 1}).json
    assert any(e["shipper"] == shipper and e["consignee"] == consignee for e in graph["edges"])


def test_what_if_takes_no_write_lock(admin, demo):
    database = demo[0].extensions["logicrm.db"]
    if database.engine.dialect.name != "sqlite":
        pytest.skip("write locks are SQLite's concern")
    shipper = admin.get("/shippers").json["items"][0]["id"]
    assert admin.get("/network/risk").status_code == 200  # the scores are published: nothing to compute
    with database.session() as writer:
        writer.execute(select(func.count()).select_from(Link))  # BEGIN IMMEDIATE: the write lock is held
        started = time.perf_counter()
        response = admin.post("/network/what-if", json={"remove_customers": [shipper]})
        assert response.status_code == 200
        assert time.perf_counter() - started < 5  # a writer would wait out the 30 s busy timeout


def test_a_read_computing_the_scores_does_not_wait_for_another_writer_to_publish_them(admin, demo):
    """With nothing published, a read computes the scores and publishes them in passing; while another
    writer holds SQLite's lock it answers without publishing instead of waiting out the busy timeout."""
    database = demo[0].extensions["logicrm.db"]
    if database.engine.dialect.name != "sqlite":
        pytest.skip("write locks are SQLite's concern")
    with database.session_scope() as session:
        session.execute(delete(PublishedScores))
    held.forget()
    with database.session() as writer:
        writer.execute(select(func.count()).select_from(Link))  # BEGIN IMMEDIATE: the write lock is held
        started = time.perf_counter()
        assert admin.get("/network/risk").status_code == 200
        assert time.perf_counter() - started < 25  # computing takes seconds; the busy timeout is 30 s
    with database.session(write=False) as session:
        assert session.scalar(select(func.count()).select_from(PublishedScores)) == 0
    assert admin.get("/network/risk").status_code == 200  # the lock is free: this read publishes
    with database.session(write=False) as session:
        assert session.scalar(select(func.count()).select_from(PublishedScores)) == 1
