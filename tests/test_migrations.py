"""Migrations: upgrading an empty database gives exactly the models' schema, downgrade undoes it, and
databases holding data keep every row both ways."""

from __future__ import annotations

import json
import uuid

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

import logicrm.models  # noqa: F401  (fills Base.metadata)
from logicrm import migrate
from logicrm.db import Base, make_engine
from tests.conftest import BACKENDS, create_postgres_database, drop_postgres_database


@pytest.fixture(params=BACKENDS)
def empty_database(request, tmp_path):
    """Return a factory of URLs of new, empty databases (SQLite files or throwaway PostgreSQL databases)."""
    created: list[str] = []

    def make() -> str:
        name = f"infra_{uuid.uuid4().hex[:12]}"
        if request.param == "sqlite":
            return f"sqlite:///{tmp_path / name}.db"
        created.append(name)
        return create_postgres_database(name)

    yield make
    for name in created:
        drop_postgres_database(name)


@pytest.fixture
def empty_database_url(empty_database) -> str:
    """One new, empty database for one backend."""
    return empty_database()


def _check_constraints(engine) -> dict[str, dict[str, str]]:
    """Reflect {table: {check name: normalised SQL}}; Alembic's comparison does not look at CHECKs."""
    inspector = inspect(engine)
    return {
        table: {
            check["name"]: " ".join(check["sqltext"].split())
            for check in inspector.get_check_constraints(table)
        }
        for table in inspector.get_table_names()
        if table != "alembic_version"
    }


def test_upgrade_from_empty_gives_exactly_the_models_schema(empty_database):
    engine = make_engine(empty_database())
    try:
        migrate.upgrade(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            head = ScriptDirectory.from_config(migrate.alembic_config(engine)).get_current_head()
            assert context.get_current_revision() == head

        # CHECK constraints (enumerations, ranges, a link's two ends differ) are outside Alembic's
        # comparison: compare them, by name and SQL, with what create_all() builds from the models.
        reference = make_engine(empty_database())
        try:
            Base.metadata.create_all(reference)
            expected = _check_constraints(reference)
        finally:
            reference.dispose()
        assert expected["customers"], "models declare CHECK constraints; reflection found none"
        assert _check_constraints(engine) == expected
    finally:
        engine.dispose()


def test_upgrade_twice_is_a_no_op(empty_database_url):
    engine = make_engine(empty_database_url)
    try:
        migrate.upgrade(engine)
        tables = set(inspect(engine).get_table_names())
        migrate.upgrade(engine)
        assert set(inspect(engine).get_table_names()) == tables
    finally:
        engine.dispose()


def test_downgrade_to_base_leaves_no_tables_and_upgrades_again(empty_database_url):
    engine = make_engine(empty_database_url)
    try:
        migrate.upgrade(engine)
        command.downgrade(migrate.alembic_config(engine), "base")
        # Alembic keeps its own (now empty) version table; nothing of LogiCRM's remains.
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        with engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_revision() is None
        migrate.upgrade(engine)
        assert set(inspect(engine).get_table_names()) == {*Base.metadata.tables, "alembic_version"}
    finally:
        engine.dispose()


# --- Upgrading and downgrading databases that hold data ----------------------------------------------

AT = "'2026-03-01 08:00:00'"
# One record of everything 0005 touches and what hangs off it, in the columns every revision since 0003
# has: a lane with shipments, tickets and a shipper profile; a department with a contact, a survey and
# its scores; an opportunity and an interaction.
ROWS = {
    "customers": (
        "id, name, normalized_name, tier, status, version, created_at, updated_at",
        [f"1, 'Shipper', 'shipper', 'key', 'active', 1, {AT}, {AT}",
         f"2, 'Consignee', 'consignee', 'standard', 'active', 1, {AT}, {AT}"],
    ),
    "shipper_profiles": (
        "customer_id, services, version, on_time_target, contracted_annual_value",
        ["1, '[]', 1, 0.95, 250000"],
    ),
    "consignee_profiles": ("customer_id, sites, version", ["2, '[]', 1"]),
    "links": (
        "id, shipper_id, consignee_id, origin, destination, service_type, status, version, declared_monthly_volume",
        ["1, 1, 2, 'Hamburg', 'Shanghai', 'ftl', 'active', 1, 40"],
    ),
    "shipments": (
        "id, link_id, shipped_at, in_full, damaged, claim_amount, revenue, cost",
        [f"{n}, 1, {AT}, TRUE, FALSE, 0, 100, 70" for n in (1, 2, 3)],
    ),
    "tickets": (
        "id, customer_id, link_id, kind, severity, subject, opened_at, status, version, claim_amount",
        [f"1, 2, 1, 'claim', 'high', 'dented', {AT}, 'open', 1, 120"],
    ),
    "departments": (
        "id, customer_id, name, decision_weight, is_decision_maker, version",
        ["1, 2, 'logistics', 2.5, TRUE, 1"],
    ),
    "contacts": ("id, customer_id, department_id, name, version", ["1, 2, 1, 'Li Wei', 1"]),
    "survey_responses": (
        "id, customer_id, department_id, contact_id, collected_at, scale_min, scale_max, version, likelihood_to_recommend",
        [f"1, 2, 1, 1, {AT}, 1, 7, 1, 8"],
    ),
    "survey_scores": (
        "id, response_id, dimension, importance, expectation, perception",
        ["1, 1, 'timeliness', 2, 6, 4", "2, 1, 'reliability', 1, 6, 6"],
    ),
    "opportunities": (
        "id, customer_id, kind, stage, title, value, probability, version",
        ["1, 1, 'up_sell', 'proposal', 'Warehousing', 90000, 0.4, 1"],
    ),
    "interactions": ("id, customer_id, department_id, kind, at, summary, version", [f"1, 2, 1, 'visit', {AT}, 'ok', 1"]),
}  # fmt: skip


def _fill(engine) -> dict[str, int]:
    """Insert ROWS; return the number of rows in each of their tables."""
    with engine.begin() as connection:
        for table, (columns, rows) in ROWS.items():
            for values in rows:
                connection.execute(text(f"INSERT INTO {table} ({columns}) VALUES ({values})"))
    return _counts(engine)


def _counts(engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {table: connection.scalar(text(f"SELECT count(*) FROM {table}")) for table in ROWS}


def _revision(engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@pytest.mark.parametrize("start", ["0003", "0004"])
def test_upgrading_a_database_with_data_keeps_every_row(empty_database_url, start):
    """On SQLite, rebuilding `links` in batch mode once deleted its shipments (foreign keys cascaded)."""
    engine = make_engine(empty_database_url)
    try:
        migrate.upgrade(engine, start)
        before = _fill(engine)
        migrate.upgrade(engine)
        assert _counts(engine) == before
        with engine.connect() as connection:
            assert connection.scalars(text("SELECT version FROM shipments")).all() == [1, 1, 1]
            assert connection.scalar(text("SELECT link_id FROM tickets")) == 1
            assert connection.scalar(text("SELECT count(*) FROM survey_scores WHERE response_id = 1")) == 2
            if connection.dialect.name == "sqlite":
                assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1  # back on
        with engine.begin() as connection:  # the new column and checks work on the old rows
            connection.execute(text("UPDATE shipments SET revenue = 120, version = version + 1 WHERE id = 1"))
        with pytest.raises(IntegrityError, match="ck_shipments_revenue_range"), engine.begin() as connection:
            connection.execute(text("UPDATE shipments SET revenue = 20000000000 WHERE id = 2"))
    finally:
        engine.dispose()


def test_rows_outside_the_bounds_stop_the_upgrade_naming_table_column_and_count(empty_database_url):
    engine = make_engine(empty_database_url)
    try:
        migrate.upgrade(engine, "0004")
        _fill(engine)
        with engine.begin() as connection:
            connection.execute(text("UPDATE shipments SET revenue = 17000000000 WHERE id IN (1, 2)"))
            connection.execute(text("UPDATE departments SET decision_weight = 1e308"))
            connection.execute(text("UPDATE survey_scores SET importance = 150 WHERE id = 2"))
        before = _counts(engine)
        with pytest.raises(CommandError) as refused:
            migrate.upgrade(engine)
        message = str(refused.value)
        assert "nothing was changed" in message
        assert "shipments.revenue: 2 rows outside ≥ 0 and ≤ 1e+10" in message
        assert "departments.decision_weight: 1 row outside ≥ 0 and ≤ 1000" in message
        assert "survey_scores.importance: 1 row outside > 0 and ≤ 100" in message
        assert "shipments.cost" not in message and "links" not in message
        # nothing changed: still at 0004, the same rows, no version column
        assert _revision(engine) == "0004" and _counts(engine) == before
        assert "version" not in {column["name"] for column in inspect(engine).get_columns("shipments")}

        with engine.begin() as connection:  # corrected, the upgrade goes through
            connection.execute(text("UPDATE shipments SET revenue = 170 WHERE id IN (1, 2)"))
            connection.execute(text("UPDATE departments SET decision_weight = 1"))
            connection.execute(text("UPDATE survey_scores SET importance = 0.5 WHERE id = 2"))
        migrate.upgrade(engine)
        assert (
            _revision(engine)
            == ScriptDirectory.from_config(migrate.alembic_config(engine)).get_current_head()
        )
    finally:
        engine.dispose()


def test_downgrading_0005_keeps_the_rows_and_restores_the_old_checks(empty_database):
    reference = make_engine(empty_database())
    engine = make_engine(empty_database())
    try:
        migrate.upgrade(reference, "0004")
        migrate.upgrade(engine)
        before = _fill(engine)
        command.downgrade(migrate.alembic_config(engine), "0004")
        assert _revision(engine) == "0004" and _counts(engine) == before
        assert _check_constraints(engine) == _check_constraints(reference)
        assert "version" not in {column["name"] for column in inspect(engine).get_columns("shipments")}
        migrate.upgrade(engine)
        assert _counts(engine) == before
    finally:
        engine.dispose()
        reference.dispose()


def _json(value):
    """A JSON column as read: text on SQLite, already parsed on PostgreSQL."""
    return json.loads(value) if isinstance(value, str) else value


def test_0006_keeps_snapshot_drivers_as_ids_and_drops_names_from_alerts(empty_database_url):
    engine = make_engine(empty_database_url)
    legacy_snapshot = [
        {"kind": "neighbour", "key": 1, "label": "shipper and consignee Bałtyk Chemia", "share": 0.3},
        {"kind": "own", "key": "low_satisfaction", "label": "low satisfaction (weakest deciding: finance)", "share": 0.2},
        {"kind": "baseline", "key": None, "label": "baseline churn", "share": 0.02},
    ]  # fmt: skip
    legacy_alert = {
        "customer": "Acme",
        "threshold": 0.6,
        "drivers": [{"label": "shipper Bałtyk Chemia", "share": 0.3}],
    }
    try:
        migrate.upgrade(engine, "0005")
        _fill(engine)
        with engine.begin() as connection:
            connection.execute(text(f"INSERT INTO job_runs (id, job, slot, status, started_at, counts, host, pid) VALUES (1, 'health_run', 's', 'succeeded', {AT}, '{{}}', 'h', 1)"))  # fmt: skip
            connection.execute(
                text(
                    "INSERT INTO health_snapshots (run_id, customer_id, taken_at, coverage, own_risk, network_risk,"
                    " exposure, revenue_12m, profit_12m, abc_class, departments, drivers)"
                    f" VALUES (1, 2, {AT}, 1, 0.5, 0.5, 0, 0, 0, 'C', '[]', :drivers)"
                ),
                {"drivers": json.dumps(legacy_snapshot)},
            )
            for rule, details in (
                ("risk_high", legacy_alert),
                ("ticket_overdue", {**legacy_alert, "tickets": []}),
            ):
                connection.execute(
                    text(
                        "INSERT INTO alerts (customer_id, rule, severity, state, dedupe_key, value, message, details,"
                        f" first_seen, last_seen) VALUES (2, :rule, 'high', 'open', :rule, 0.7, :message, :details, {AT}, {AT})"
                    ),
                    {"rule": rule, "message": "Acme (key): network risk 0.70; drivers: shipper Bałtyk Chemia (0.30)",
                     "details": json.dumps(details)},
                )  # fmt: skip
        migrate.upgrade(engine)
        with engine.connect() as connection:
            drivers = _json(connection.scalar(text("SELECT drivers FROM health_snapshots")))
            alerts = {
                rule: (message, _json(details))
                for rule, message, details in connection.execute(
                    text("SELECT rule, message, details FROM alerts")
                )
            }
        assert drivers == [
            {"kind": "neighbour", "key": 1, "share": 0.3, "roles": ["shipper", "consignee"]},
            {"kind": "own", "key": "low_satisfaction", "share": 0.2, "department": "finance"},
            {"kind": "baseline", "key": None, "share": 0.02},
        ]
        assert "Bałtyk" not in json.dumps(alerts, ensure_ascii=False)
        assert alerts["risk_high"] == (
            "Acme (key): network risk 0.70",
            {"customer": "Acme", "threshold": 0.6, "drivers": []},
        )
        assert alerts["ticket_overdue"][1] == {"customer": "Acme", "threshold": 0.6, "tickets": []}
    finally:
        engine.dispose()


def test_0008_keeps_snapshot_satisfaction_on_the_index_the_answer_shows(empty_database_url):
    engine = make_engine(empty_database_url)
    departments = [
        {"id": 1, "name": "logistics", "weight": 2.5, "is_decision_maker": True, "score": 0.3, "silent": False},
        {"id": 2, "name": "finance", "weight": 1.0, "is_decision_maker": True, "score": None, "silent": True},
    ]  # fmt: skip

    def stored():
        with engine.connect() as connection:
            row = connection.execute(
                text("SELECT satisfaction, two_sided, departments FROM health_snapshots")
            ).one()
        return row.satisfaction, row.two_sided, [d["score"] for d in _json(row.departments)]

    try:
        migrate.upgrade(engine, "0006")
        _fill(engine)
        with engine.begin() as connection:
            connection.execute(text(f"INSERT INTO job_runs (id, job, slot, status, started_at, counts, host, pid) VALUES (1, 'health_run', 's', 'succeeded', {AT}, '{{}}', 'h', 1)"))  # fmt: skip
            connection.execute(
                text(
                    "INSERT INTO health_snapshots (run_id, customer_id, taken_at, satisfaction, two_sided, coverage,"
                    " own_risk, network_risk, exposure, revenue_12m, profit_12m, abc_class, departments, drivers)"
                    f" VALUES (1, 2, {AT}, 0.51, NULL, 1, 0.5, 0.5, 0, 0, 0, 'C', :departments, '[]')"
                ),
                {"departments": json.dumps(departments)},
            )
        migrate.upgrade(engine, "0008")
        satisfaction, two_sided, scores = stored()
        assert satisfaction == pytest.approx(51.0) and two_sided is None
        assert scores == [pytest.approx(30.0), None]
        command.downgrade(migrate.alembic_config(engine), "0007")
        satisfaction, two_sided, scores = stored()
        assert satisfaction == pytest.approx(0.51) and scores == [pytest.approx(0.3), None]
    finally:
        engine.dispose()
