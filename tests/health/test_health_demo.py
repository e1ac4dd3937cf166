"""A health run on the demo network, and the alert / run / history API around it (demo loaded once per backend)."""

from __future__ import annotations

import os
import socket
import time

import pytest
from sqlalchemy import func, select

from logicrm.demo import load_demo
from logicrm.health import runs
from logicrm.health.models import Alert, HealthSnapshot, JobRun
from logicrm.outbox.models import Delivery
from logicrm.scoring import model as churn_models
from tests.conftest import Api, fresh_app

# What the demo made each troubled account suffer, and the rule that must catch it.
EXPECTED_RULE = {
    "unhappy_deciding_department": "department_dissatisfied",
    "overdue_claim": "ticket_overdue",
    "contract_expiring_no_renewal": "contract_expiring",
    "contact_overdue": "contact_overdue",
    "silent_deciding_department": "department_silent",
    "tier_mismatch": "tier_mismatch",
}


@pytest.fixture(scope="module")
def demo(database_url, tmp_path_factory):
    """The demo network with the churn model fitted on its history and one finished health run, as
    scripts/run leaves it."""
    app = fresh_app(database_url, str(tmp_path_factory.mktemp("instance")))
    database = app.extensions["logicrm.db"]
    params = app.config["LOGICRM_SCORING"]
    with database.session_scope() as session:
        summary = load_demo(session, seed=7)
    with database.session_scope() as session:
        churn_models.store(
            session, fitted=churn_models.fit_and_test(session, params), params=params, activate=True
        )
    run = runs.run_health(database, run_config(app), slot="demo-first")
    yield app, summary, run
    database.engine.dispose()


def run_config(app) -> runs.RunConfig:
    return runs.RunConfig(app.config["LOGICRM"], app.config["LOGICRM_SCORING"], app.config["LOGICRM_RULES"])


def alerts_by_customer(app) -> dict[int, set[str]]:
    with app.extensions["logicrm.db"].session() as session:
        rows = session.execute(select(Alert.customer_id, Alert.rule).where(Alert.state != "resolved")).all()
    found: dict[int, set[str]] = {}
    for customer_id, rule in rows:
        found.setdefault(customer_id, set()).add(rule)
    return found


def key_of(demo, role: str) -> str:
    """The API key of the first demo user with this role."""
    from logicrm.users.models import User

    app, summary, _run = demo
    with app.extensions["logicrm.db"].session() as session:
        email = session.scalars(select(User.email).where(User.role == role).order_by(User.id)).first()
    return summary.api_keys[email]


def client(demo, key: str | None = None) -> Api:
    app, summary, _run = demo
    return Api(app.test_client(), key or summary.admin_key)


def test_run_scores_everyone_and_records_its_phases(demo):
    app, _summary, run = demo
    assert run.status == "succeeded" and run.config_hash == run_config(app).config_hash()
    with app.extensions["logicrm.db"].session() as session:
        snapshots = session.scalar(select(func.count()).where(HealthSnapshot.run_id == run.id))
    assert snapshots == run.counts["customers"] > 400
    assert run.counts["renewals_opened"] >= 1  # the demo has contracts ending soon without a renewal
    assert set(run.counts["seconds"]) == {
        "sql_load",
        "graph",
        "scores",
        "snapshots",
        "rules",
        "kpis",
        "alerts_and_outbox",
    }


def test_troubled_accounts_raise_their_alerts_and_healthy_vips_none(demo):
    app, summary, _run = demo
    found = alerts_by_customer(app)
    for category, rule in EXPECTED_RULE.items():
        for customer_id in summary.troubled[category]:
            assert rule in found.get(customer_id, set()), (category, customer_id, found.get(customer_id))
    for customer_id in summary.troubled["unhappy_consignees"]:
        assert found.get(customer_id), customer_id
    assert not any(found.get(customer_id) for customer_id in summary.healthy_vips)


def test_a_falling_shipper_is_judged_likelier_to_leave_and_its_consignees_never_blame_its_volume(demo):
    """The learnt model decides who makes the alert list (the likeliest tenth of each book); what the demo
    guarantees is the direction: the shippers whose volume falls read well above the portfolio's rate,
    for that reason, and their consignees carry it only as "shipper X (...)", never as their own volume."""
    _app, summary, _run = demo
    api = client(demo)
    ranking = api.get("/network/risk", query={"page_size": 500}).json
    mean = sum(row["network_risk"] for row in ranking["items"]) / len(ranking["items"])
    judged = 0
    for shipper in summary.troubled["falling_volume"]:
        health = api.get(f"/customers/{shipper}/health").json
        if health["roles"] != ["shipper"]:
            continue  # a distributor's falling intake is its shippers' behaviour, not its own
        judged += 1
        assert health["network_risk"] > 1.5 * mean, (shipper, health["network_risk"], mean)
        own = [d["key"] for d in health["drivers"] if d["kind"] == "own"]
        assert own and own[0] in {"volume_drop", "shipping_stopped"}, (shipper, health["drivers"])
    assert judged
    for row in ranking["items"]:
        if "shipper" in row["roles"]:
            continue
        health = api.get(f"/customers/{row['id']}/health").json
        assert "volume_drop" not in {d["key"] for d in health["drivers"] if d["kind"] == "own"}, row


def test_digests_queue_one_email_per_manager(demo):
    app, _summary, _run = demo
    with app.extensions["logicrm.db"].session() as session:
        digests = session.scalars(select(Delivery).where(Delivery.kind == "digest")).all()
    owners = {d.recipient for d in digests}
    assert digests and len(owners) == len(digests)
    assert all(d.status == "pending" for d in digests)


def test_second_run_refreshes_without_renotifying_and_the_slot_runs_once(demo):
    app, _summary, _run = demo
    database = app.extensions["logicrm.db"]
    with database.session() as session:
        before = session.scalar(select(func.count()).select_from(Delivery))
        alerts_before = session.scalar(select(func.count()).select_from(Alert))
    again = runs.run_health(database, run_config(app), slot="demo-second")
    assert again.counts["opened"] == 0 and again.counts["notified"] == 0
    assert again.counts["refreshed"] > 0
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Delivery)) == before
        assert session.scalar(select(func.count()).select_from(Alert)) == alerts_before
    with pytest.raises(runs.SlotTaken):
        runs.run_health(database, run_config(app), slot="demo-second")


def test_alert_api_filters_acknowledges_and_resolves(demo):
    api = client(demo)
    page = api.get("/alerts", query={"state": "open", "rule": "ticket_overdue", "page_size": 100}).json
    assert page["items"] and all(
        a["rule"] == "ticket_overdue" and a["state"] == "open" for a in page["items"]
    )
    alert = page["items"][0]
    acknowledged = api.post(f"/alerts/{alert['id']}/acknowledge")
    assert acknowledged.status_code == 200 and acknowledged.json["state"] == "acknowledged"
    assert api.get("/alerts", query={"state": "acknowledged"}).json["meta"]["total"] >= 1
    resolved = api.post(f"/alerts/{alert['id']}/resolve")
    assert resolved.json["state"] == "resolved" and resolved.json["resolved_at"]
    assert api.post(f"/alerts/{alert['id']}/acknowledge").status_code == 409
    assert api.post("/alerts/999999/acknowledge").status_code == 404
    assert api.get("/alerts", query={"severity": "urgent"}).status_code == 422


def test_account_managers_see_only_their_alerts(demo):
    app, summary, _run = demo
    from logicrm.users.models import User

    with app.extensions["logicrm.db"].session() as session:
        managers = session.scalars(select(User).where(User.role == "account_manager")).all()
    for manager in managers:
        api = client(demo, summary.api_keys[manager.email])
        own = {c["id"] for c in api.get("/customers", query={"page_size": 500}).json["items"]}
        alerts = api.get("/alerts", query={"page_size": 500}).json["items"]
        assert {a["customer_id"] for a in alerts} <= own
    admin_alerts = client(demo).get("/alerts", query={"page_size": 500}).json["items"]
    foreign = next(a for a in admin_alerts if a["customer_id"] not in own)
    assert api.post(f"/alerts/{foreign['id']}/acknowledge").status_code == 404


def test_health_history_lists_the_snapshots(demo):
    _app, summary, _run = demo
    api = client(demo)
    customer_id = summary.troubled["overdue_claim"][0]
    history = api.get(f"/customers/{customer_id}/health/history").json
    assert history["meta"]["total"] >= 2
    newest = history["items"][0]
    assert newest["network_risk"] >= newest["own_risk"] and newest["drivers"] and newest["departments"]
    assert api.get("/customers/999999/health/history").status_code == 404


def test_runs_api_lists_and_triggers_a_run(demo):
    app, _summary, _run = demo
    api = client(demo)
    runs = api.get("/health-checks/runs").json
    assert runs["items"][0]["status"] == "succeeded" and runs["items"][0]["counts"]["customers"] > 400
    assert client(demo, key_of(demo, "planner")).post("/health-checks/runs").status_code == 403
    started = api.post("/health-checks/runs")
    assert started.status_code == 202, started.json
    slot = started.json["slot"]
    for _ in range(120):
        found = api.get("/health-checks/runs", query={"slot": slot}).json["items"]
        if found and found[0]["status"] != "running":
            break
        time.sleep(0.5)
    assert found and found[0]["status"] == "succeeded", found
    with app.extensions["logicrm.db"].session() as session:
        assert session.scalar(select(func.count()).select_from(JobRun).where(JobRun.slot == slot)) == 1


def test_trigger_answers_409_while_a_run_is_in_progress(demo):
    app, _summary, _run = demo
    database = app.extensions["logicrm.db"]
    with database.session_scope() as session:
        # a run owned by this very (live) process: nobody may start another or declare it abandoned
        running = JobRun(job=runs.HEALTH_RUN, slot="held-by-test", host=socket.gethostname(), pid=os.getpid())
        session.add(running)
    try:
        # on PostgreSQL a live run also holds the job's advisory lock
        with runs._exclusive(database, runs.HEALTH_RUN):
            response = client(demo).post("/health-checks/runs")
            assert response.status_code == 409 and response.json["run_id"] == running.id
            with pytest.raises(runs.RunInProgress):
                runs.run_health(database, run_config(app), slot="blocked")
    finally:
        with database.session_scope() as session:
            session.delete(session.get(JobRun, running.id))
