"""The `logicrm` commands through Flask's CLI runner: schema upgrade, users and API keys."""

from __future__ import annotations

import ast
import hashlib
import os
import subprocess
import sys

import pytest
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select

from logicrm import create_app, migrate
from logicrm.cli import register_commands
from logicrm.db import Base
from logicrm.users import keys as api_keys
from logicrm.users.models import ApiKey, UserRole
from tests.test_migrations import empty_database, empty_database_url  # noqa: F401  (fixtures)


@pytest.fixture
def cli(app):
    """Run a command; return the result (stdout holds only what a script may capture, e.g. a key)."""
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=list(args))


def _authenticates(app, key: str) -> bool:
    response = app.test_client().get("/api/v1/customers", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code in (200, 401), response.json
    return response.status_code == 200


def test_db_upgrade_on_an_empty_database_creates_the_schema(empty_database_url):  # noqa: F811
    app = create_app({"database_url": empty_database_url})
    register_commands(app)
    engine = app.extensions["logicrm.db"].engine
    try:
        result = app.test_cli_runner().invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
        assert "database at head" in result.stderr
        assert set(inspect(engine).get_table_names()) == {*Base.metadata.tables, "alembic_version"}
        with engine.connect() as connection:
            head = ScriptDirectory.from_config(migrate.alembic_config(engine)).get_current_head()
            assert MigrationContext.configure(connection).get_current_revision() == head
    finally:
        engine.dispose()


def test_users_create_prints_a_key_that_works_and_stores_only_its_hash(app, db, cli):
    result = cli("users", "create", "--name", "Ada Admin", "--email", "Ada@Example.com", "--role", "admin")
    assert result.exit_code == 0, result.output
    key = result.stdout.strip().splitlines()[-1]
    assert "ada@example.com" in result.stderr and key not in result.stderr

    with db.session(write=False) as session:
        api_key = api_keys.authenticate(session, token=key)
        assert api_key is not None
        assert (api_key.user.email, api_key.user.role) == ("ada@example.com", UserRole.ADMIN)
        secret = key.split("_", 2)[2]
        assert api_key.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
        stored = session.execute(select(ApiKey.__table__).where(ApiKey.id == api_key.id)).one()
        assert not any(isinstance(value, str) and secret in value for value in stored)
    assert _authenticates(app, key)


def test_keys_create_prints_a_new_working_key_and_revoke_stops_it(app, db, cli):
    first = cli("users", "create", "--name", "Pat", "--email", "pat@example.com", "--role", "planner")
    assert first.exit_code == 0, first.output
    old_key = first.stdout.strip().splitlines()[-1]

    created = cli("keys", "create", "--email", "pat@example.com", "--label", "laptop")
    assert created.exit_code == 0, created.output
    new_key = created.stdout.strip().splitlines()[-1]
    assert new_key != old_key
    assert _authenticates(app, new_key)
    with db.session(write=False) as session:
        key_id = api_keys.authenticate(session, token=new_key).id
        assert session.get(ApiKey, key_id).label == "laptop"
    assert f"key {key_id}" in created.stderr  # so an admin knows what to revoke later

    revoked = cli("keys", "revoke", str(key_id))
    assert revoked.exit_code == 0, revoked.output
    assert not _authenticates(app, new_key)
    with db.session(write=False) as session:
        assert api_keys.authenticate(session, token=new_key) is None
    assert _authenticates(app, old_key)  # revoking one key leaves the user's others alone


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("keys", "create", "--email", "nobody@example.com"), "no user with email nobody@example.com"),
        (("keys", "revoke", "987654"), "API key 987654 not found"),
    ],
    ids=["unknown email", "unknown key"],
)
def test_unknown_user_or_key_exits_1_with_a_message_not_a_traceback(cli, args, message):
    result = cli(*args)
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""
    assert isinstance(result.exception, SystemExit)


def test_users_create_refuses_a_taken_email(cli):
    assert (
        cli("users", "create", "--name", "A", "--email", "a@example.com", "--role", "viewer").exit_code == 0
    )
    again = cli("users", "create", "--name", "B", "--email", "A@example.com", "--role", "viewer")
    assert again.exit_code == 1
    assert "a user with email a@example.com exists" in again.stderr
    assert again.stdout == ""


def test_users_create_rejects_an_unknown_role(cli):
    result = cli("users", "create", "--name", "A", "--email", "a@example.com", "--role", "owner")
    assert result.exit_code == 2
    assert "owner" in result.stderr


def test_demo_refuses_a_database_that_has_customers(app, db, cli, actors):
    from logicrm.customers import service as customers
    from logicrm.users.models import User

    with db.session_scope() as session:
        customers.create(
            session, user=session.get(User, actors["admin"].user_id), data={"name": "Already Here Ltd"}
        )
    refused = cli("demo")
    assert refused.exit_code == 1 and "already holds 1 customers" in refused.output
    skipped = cli("demo", "--if-empty")
    assert skipped.exit_code == 0 and skipped.stdout == ""


def _run_main(*args: str, env: dict | None = None) -> tuple[str, list[str]]:
    """Run `logicrm ARGS` in a fresh interpreter; return its output and which heavy modules it loaded."""
    probe = (
        f"import sys; from logicrm import cli; sys.argv = ['logicrm', *{list(args)!r}]\n"
        "try: cli.main()\n"
        "except SystemExit: pass\n"
        "heavy = ('logicrm.app', 'sqlalchemy.orm', 'numpy', 'logicrm.network', 'logicrm.customers.routes')\n"
        "print(sorted(name for name in heavy if name in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **(env or {})},
    )
    *output, loaded = result.stdout.splitlines()
    return "\n".join(output), ast.literal_eval(loaded)


def test_listing_the_commands_builds_no_app_and_loads_no_orm():
    """`logicrm --help` starts in a fraction of the app's start-up (docs/benchmarks.md): it lists every
    command, and neither the app, the ORM, numpy nor the scoring core is imported for it."""
    listed, loaded = _run_main("--help")
    for name in ("db", "demo", "export", "import", "scheduler", "users", "webhook-sink", "run"):
        assert f"\n  {name} " in listed, name
    assert loaded == []


def test_logicrms_commands_run_without_the_api_routes_and_flasks_with_them(tmp_path):
    env = {"LOGICRM_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "LOGICRM_INSTANCE_PATH": str(tmp_path)}
    _output, loaded = _run_main("db", "upgrade", env=env)
    assert "logicrm.app" in loaded and "logicrm.customers.routes" not in loaded
    routes, loaded = _run_main("routes", env=env)
    assert "/api/v1/customers" in routes and "logicrm.customers.routes" in loaded
