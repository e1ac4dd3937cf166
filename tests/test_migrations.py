"""Migrations: upgrading an empty database gives exactly the models' schema, and downgrade undoes it."""

from __future__ import annotations

import uuid

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, make_url, text
from sqlalchemy.pool import NullPool

import logicrm.models  # noqa: F401  (fills Base.metadata)
from logicrm import migrate
from logicrm.db import Base, make_engine
from tests.conftest import BACKENDS, POSTGRES_URL


@pytest.fixture(params=BACKENDS)
def empty_database(request, tmp_path):
    """Return a factory of URLs of new, empty databases (SQLite files or throwaway PostgreSQL databases)."""
    created: list[str] = []

    def make() -> str:
        name = f"infra_{uuid.uuid4().hex[:12]}"
        if request.param == "sqlite":
            return f"sqlite:///{tmp_path / name}.db"
        created.append(name)
        with _server().connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)

    yield make
    if created:
        with _server().connect() as connection:
            for name in created:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _server():
    """An autocommit engine on the test server (CREATE / DROP DATABASE refuse to run in a transaction)."""
    return create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)


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
