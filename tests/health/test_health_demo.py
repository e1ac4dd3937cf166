"""A health run on the demo network, and the alert / run / history API around it (demo loaded once per backend);
the account managers' day and the desk's queue it leaves."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import socket
import time

import pytest
from sqlalchemy import func, select

from logicrm.customers.models import Customer, CustomerStatus
from logicrm.db import utcnow
from logicrm.demo import load_demo
from logicrm.health import runs
from logicrm.health.models import Alert, HealthSnapshot, JobRun
from logicrm.outbox.models import Delivery
from logicrm.relations.models import Department, Interaction
from logicrm.rulebook.document import DEFAULTS
from logicrm.scoring import model as churn_models
from logicrm.tasks.models import Task, TaskKind
from logicrm.tickets.models import Ticket
from logicrm.users.models import User, UserRole
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


def test_risk_alerts_name_the_partner_behind_the_risk_they_pass_on(demo):
    """A risk alert whose risk comes through a partner names that partner and its own cause ("shipper X
    (contract ending, no renewal open)") in its drivers; on the demo, consignees' alerts name their shippers,
    in the message too where the shipper is among the main drivers."""
    api = client(demo)
    alerts = api.get("/alerts", query={"state": "open", "rule": "risk_high", "page_size": 500}).json["items"]
    named_shippers = 0
    for alert in alerts:
        for driver in alert["details"]["drivers"]:
            if driver["kind"] != "neighbour":
                continue
            partner = api.get(f"/customers/{driver['key']}").json
            role = "shipper" if "shipper" in partner["roles"] else "consignee"
            assert driver["label"].startswith(f"{role} {partner['name']}"), driver
            named_shippers += role == "shipper" and driver["label"] in alert["message"]
    assert named_shippers


def test_digests_queue_one_email_per_manager(demo):
    app, _summary, _run = demo
    with app.extensions["logicrm.db"].session() as session:
        digests = session.scalars(select(Delivery).where(Delivery.kind == "digest")).all()
    owners = {d.recipient for d in digests}
    assert digests and len(owners) == len(digests)
    assert all(d.status == "pending" for d in digests)


def test_each_account_managers_day_is_a_believable_day(demo):
    """After the first run, an account manager's /me/tasks holds something overdue, today and upcoming, and
    not a flood: callbacks after cases resolved this week, visits to deciding departments past their
    cadence, the playbooks of this run's alerts, and the follow-ups the latest contacts set; every one
    on a current account of the manager's."""
    app, summary, run = demo
    today = dt.datetime.now(dt.UTC).date()
    with app.extensions["logicrm.db"].session() as reader:
        managers = {
            u.id: u.email for u in reader.scalars(select(User).where(User.role == UserRole.ACCOUNT_MANAGER))
        }
    assert len(managers) == 3
    days = {
        user_id: client(demo, summary.api_keys[email]).get("/me/tasks").json
        for user_id, email in managers.items()
    }
    with app.extensions["logicrm.db"].session() as reader:
        for manager, day in days.items():
            assert day["date"] == today.isoformat()
            assert day["overdue"] and day["today"] and day["upcoming"], (manager, day)
            assert len(day["overdue"]) + len(day["today"]) <= 50, manager
            ids = [task["id"] for bucket in ("overdue", "today", "upcoming") for task in day[bucket]]
            by_source: dict[str, list[Task]] = {}
            for task in reader.scalars(select(Task).where(Task.id.in_(ids))):
                by_source.setdefault(str(task.source), []).append(task)
                assert reader.get(Customer, task.customer_id).status == CustomerStatus.ACTIVE
                assert task.assignee_id == manager
            assert set(by_source) == {"callback", "cadence", "playbook", "follow_up"}, (manager, by_source)
            _check_callbacks(reader, by_source["callback"])
            late_visits = [
                task
                for task in by_source["cadence"]
                if task.kind == TaskKind.VISIT and task.due_on < today and task.department_id is not None
            ]
            assert late_visits, manager
            assert all(reader.get(Department, task.department_id).is_decision_maker for task in late_visits)
            for task in by_source["playbook"]:
                alert = reader.get(Alert, task.alert_id)
                assert alert.customer_id == task.customer_id and alert.first_seen == run.started_at
            _check_follow_ups(reader, by_source["follow_up"])
    assert summary.counts["callback_tasks"] and summary.counts["follow_up_tasks"]


def _check_callbacks(reader, callbacks: list[Task]) -> None:
    """Callbacks of kinds the rulebook calls back, due its days after the case was resolved."""
    for callback in callbacks:
        ticket = reader.get(Ticket, callback.ticket_id)
        assert str(ticket.kind) in DEFAULTS.callback.kinds and ticket.resolved_at is not None
        tier = reader.get(Customer, ticket.customer_id).tier
        assert callback.due_on == ticket.resolved_at.date() + dt.timedelta(DEFAULTS.callback.due_days[tier])


def _check_follow_ups(reader, follow_ups: list[Task]) -> None:
    """Follow-ups of the account's latest contact, due the day it set."""
    for task in follow_ups:
        contact = reader.get(Interaction, task.interaction_id)
        later = select(Interaction.id).where(
            Interaction.customer_id == contact.customer_id, Interaction.at > contact.at
        )
        assert task.due_on == contact.next_follow_up and reader.scalars(later).first() is None


def test_the_queue_shows_breached_vip_claims_first_then_the_soonest_to_breach(demo):
    """Tickets past their next due time first, VIP ones leading and claims among them; then the others by
    their next due time. Every one has an assignee and a due time."""
    app, _summary, _run = demo
    before = utcnow()
    queue = client(demo).get("/tickets/queue", query={"page_size": 100}).json["items"]
    with app.extensions["logicrm.db"].session() as reader:
        tiers = dict(reader.execute(select(Customer.id, Customer.tier)).all())
    due = [dt.datetime.fromisoformat(ticket["breach_at"]) for ticket in queue]
    past = sum(at <= before for at in due)
    assert all(at <= before for at in due[:past])
    leading_vip = list(itertools.takewhile(lambda t: tiers[t["customer_id"]] == "vip", queue[:past]))
    assert leading_vip and {t["kind"] for t in leading_vip} & {"claim", "damage", "loss"}
    assert all(t["breached"] for t in leading_vip) and all(t["assignee_id"] for t in queue)
    for earlier, later in itertools.pairwise(leading_vip):
        if earlier["priority"] == later["priority"]:
            assert earlier["breach_at"] <= later["breach_at"]
    assert due[past:] and due[past:] == sorted(due[past:])


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
