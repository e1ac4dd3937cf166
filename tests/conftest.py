"""Test harness: every database test runs on SQLite and, when LOGICRM_TEST_POSTGRES_URL is set, on PostgreSQL.

The schema is built once per backend with the real migrations; each test then starts from empty tables,
so code under test (and other processes) may commit freely.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

import logicrm.models  # noqa: F401
from logicrm import create_app, migrate
from logicrm.cli import register_commands
from logicrm.db import Base, Database, make_engine
from logicrm.scoring import held, revisions
from logicrm.users import keys as api_keys
from logicrm.users import service as users
from logicrm.users.models import UserRole

POSTGRES_URL = os.environ.get("LOGICRM_TEST_POSTGRES_URL")
BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(
                not POSTGRES_URL, reason="LOGICRM_TEST_POSTGRES_URL not set: PostgreSQL tests skipped"
            ),
        ],
    ),
]


# Set by pytest-xdist in each of its worker processes (gw0, gw1, ...); absent in a plain run.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER")


def _postgres_server():
    """An autocommit engine on the test server (CREATE / DROP DATABASE refuse to run in a transaction)."""
    return create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)


def create_postgres_database(name: str) -> str:
    """Create the empty database `name` beside the test database (replacing one a killed run left behind);
    return its URL."""
    with _postgres_server().connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(name: str) -> None:
    """Drop `name`, disconnecting whatever still uses it (a subprocess a failed test left running)."""
    with _postgres_server().connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session", autouse=True)
def instance_folder(tmp_path_factory):
    """An instance folder in this session's temporary folder for every app built without one of its own
    (create_app() in a test, a `logicrm` subprocess given none). The checkout's instance/ would be shared by
    the xdist workers, and an import's progress file there is named by its job id, the same ids in each
    worker's database."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LOGICRM_INSTANCE_PATH", str(tmp_path_factory.mktemp("instance")))
        yield


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory):
    """A migrated, empty database for one backend, shared by the session (by the worker under xdist)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'logicrm.db'}"
    elif XDIST_WORKER is None:
        url = POSTGRES_URL
        engine = make_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    else:
        # Each xdist worker empties tables before every test: a database of its own (`<name>_gw0`).
        name = f"{make_url(POSTGRES_URL).database}_{XDIST_WORKER}"
        url = create_postgres_database(name)
        request.addfinalizer(lambda: drop_postgres_database(name))
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    return url


def _empty_tables(database: Database) -> None:
    # The revision counters are seeded by a migration and only ever move forward: keep them.
    tables = [table.name for table in reversed(Base.metadata.sorted_tables) if table.name != "revisions"]
    with database.session_scope() as session:
        if database.engine.dialect.name == "postgresql":
            # One round trip of DELETEs and sequence resets: ~10x faster than TRUNCATE on small tables.
            session.execute(text("; ".join(f"DELETE FROM {table}" for table in tables)))
            session.execute(
                text(
                    "SELECT setval(sequencename::regclass, 1, false) FROM pg_sequences WHERE schemaname = 'public'"
                )
            )
        else:
            for table in tables:
                session.execute(text(f"DELETE FROM {table}"))
        # Raw DELETEs bypass the flush hook: move the revisions so no worker reuses scores of deleted data.
        revisions.bump(session, revisions.NETWORK, revisions.SCORES)
    held.forget()  # what this process loaded came from the deleted rows


def fresh_app(database_url: str, instance_path: str):
    """Create a Flask app on the test database and empty its tables."""
    # reads recompute stale scores and the API runs queued imports: tests write then read at once, with
    # no worker running
    application = create_app(
        {"database_url": database_url, "scores_refreshed_by": "request", "jobs_run_by": "api"}
    )
    register_commands(application)  # as the `logicrm` command does, for the CLI runner
    application.config["TESTING"] = True
    application.instance_path = instance_path
    _empty_tables(application.extensions["logicrm.db"])
    return application


@pytest.fixture(scope="session")
def shared_app(database_url, tmp_path_factory):
    """One app per backend: building it (blueprints, OpenAPI) costs more than most tests."""
    application = fresh_app(database_url, str(tmp_path_factory.mktemp("instance")))
    yield application
    application.extensions["logicrm.db"].engine.dispose()


CONFIG_KEYS = ("LOGICRM", "LOGICRM_SCORING", "LOGICRM_RULES")


@pytest.fixture
def app(shared_app):
    """The app on the test database with empty tables; configuration changes end with the test."""
    saved = {key: shared_app.config[key] for key in CONFIG_KEYS}
    _empty_tables(shared_app.extensions["logicrm.db"])
    yield shared_app
    shared_app.config.update(saved)


@pytest.fixture
def db(app) -> Database:
    return app.extensions["logicrm.db"]


@pytest.fixture
def session(db):
    """A writer session. On SQLite it holds the write lock from its first query until commit or rollback,
    so end its transaction before the test starts another writer (the CLI, a second process)."""
    with db.session() as s:
        yield s


@dataclass
class Actor:
    user_id: int
    role: UserRole
    key: str


class Api:
    """Test client that speaks to /api/v1 as one actor."""

    def __init__(self, client, key: str | None = None):
        self.client, self.key = client, key

    def as_(self, actor: Actor | None) -> Api:
        return Api(self.client, actor.key if actor else None)

    def request(self, method: str, path: str, *, json=None, query=None, headers=None):
        headers = dict(headers or {})
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        return self.client.open(
            f"/api/v1{path}", method=method, json=json, query_string=query, headers=headers
        )

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, json=None, **kw):
        return self.request("POST", path, json=json, **kw)

    def patch(self, path, json=None, **kw):
        return self.request("PATCH", path, json=json, **kw)

    def put(self, path, json=None, **kw):
        return self.request("PUT", path, json=json, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def update(self, path, json, method="PATCH"):
        """Read the ETag, then write with If-Match (the normal optimistic-concurrency round trip)."""
        etag = self.get(path).headers["ETag"]
        return self.request(method, path, json=json, headers={"If-Match": etag})

    def remove(self, path):
        etag = self.get(path).headers["ETag"]
        return self.delete(path, headers={"If-Match": etag})


@pytest.fixture
def actors(db) -> dict[str, Actor]:
    """One user per role, plus a second account manager: admin, manager, am, am2, planner, viewer."""
    made = {}
    with db.session_scope() as s:
        for name, role in [
            ("admin", UserRole.ADMIN),
            ("manager", UserRole.MANAGER),
            ("am", UserRole.ACCOUNT_MANAGER),
            ("am2", UserRole.ACCOUNT_MANAGER),
            ("planner", UserRole.PLANNER),
            ("viewer", UserRole.VIEWER),
        ]:
            user = users.create(s, name=name.title(), email=f"{name}@test.example", role=role)
            _key, secret = api_keys.create(s, user=user)
            made[name] = Actor(user.id, role, secret)
    return made


@pytest.fixture
def api(app, actors) -> Api:
    """API client acting as the admin; use api.as_(actors[...]) for other roles."""
    return Api(app.test_client(), actors["admin"].key)
