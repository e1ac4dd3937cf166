"""Fuzz the whole OpenAPI document with Schemathesis, as every role, against a real server.

For each backend a database is created for the run (an SQLite file; on PostgreSQL a database of its own
beside the test database) and served by gunicorn on a free port. For each role the tables are emptied,
the world of tests/api/world.py is seeded, and `schemathesis run` goes through the operations with all
checks (plus strict JSON, see fuzz_hooks.py), random and stateful phases (links are inferred from the
document's schemas and from Location headers) and, for some roles, the coverage phase (role_options).
Any failure not in fuzz_hooks.KNOWN fails the test. The run is bounded by LOGICRM_FUZZ_MAX_EXAMPLES per
operation; LOGICRM_FUZZ_SEED picks the seed (fixed by default, so CI is repeatable; set another to
explore).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.request import urlopen

import pytest

from logicrm import migrate
from logicrm.db import make_engine
from tests.api import world as worlds
from tests.conftest import POSTGRES_URL, create_postgres_database, drop_postgres_database, fresh_app
from tests.outbox.servers import free_port

pytestmark = [pytest.mark.fuzz, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_EXAMPLES = int(os.environ.get("LOGICRM_FUZZ_MAX_EXAMPLES", "5"))
SEED = int(os.environ.get("LOGICRM_FUZZ_SEED", "20261201"))
RUN_TIMEOUT_S = 600
ALL_PHASES = "examples,coverage,fuzzing,stateful"
# The coverage phase (every boundary value and wrong type of every parameter) takes most of the time.
# On SQLite it runs for the roles whose code paths differ: admin (everything allowed), account_manager
# (visibility filters) and planner (masking); a manager takes the admin's paths and a viewer the
# planner's. On PostgreSQL, whose own failures (integer range, NUL bytes) do not depend on the role, it
# runs for the admin only. The other runs are random and stateful. Read-only roles fuzz the GET
# operations: their other requests are refused before any input is read (the role matrix checks that).
COVERAGE_ROLES = {"sqlite": {"admin", "account_manager", "planner"}, "postgresql": {"admin"}}
READ_ONLY = {"planner", "viewer"}


def role_options(backend: str, role: str) -> list[str]:
    phases = ALL_PHASES if role in COVERAGE_ROLES[backend] else "fuzzing,stateful"
    return ["--phases", phases, *(["--include-method", "GET"] if role in READ_ONLY else [])]


@pytest.fixture(
    scope="module",
    params=[
        "sqlite",
        pytest.param(
            "postgresql",
            marks=pytest.mark.skipif(not POSTGRES_URL, reason="LOGICRM_TEST_POSTGRES_URL not set"),
        ),
    ],
)
def fuzz_database(request, tmp_path_factory):
    """A migrated database of the fuzz run's own; a PostgreSQL one is dropped afterwards."""
    name = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.db'}"
    else:
        name = f"logicrm_fuzz_{uuid.uuid4().hex[:12]}"
        url = create_postgres_database(name)
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    yield request.param, url
    if name is not None:
        drop_postgres_database(name)


@pytest.fixture(scope="module")
def server(fuzz_database, tmp_path_factory):
    """gunicorn serving the fuzz database; yields its base URL."""
    _backend, url = fuzz_database
    instance = tmp_path_factory.mktemp("fuzz-instance")
    port = free_port()
    env = {**os.environ, "LOGICRM_DATABASE_URL": url, "LOGICRM_INSTANCE_PATH": str(instance)}
    log = (instance / "gunicorn.log").open("w")
    process = subprocess.Popen(
        # --limit-request-line 0: the fuzzer's long query strings reach the app instead of gunicorn's own 414
        [sys.executable, "-m", "gunicorn", "--workers", "2", "--timeout", "120", "--limit-request-line", "0",
         "--bind", f"127.0.0.1:{port}", "logicrm:create_app()"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(base, process)
        yield base, instance
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _wait_until_serving(base: str, process: subprocess.Popen, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, "gunicorn exited at start-up"
        try:
            with urlopen(f"{base}/api/v1/openapi.json", timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("gunicorn did not answer in time")


def _failures_section(output: str) -> str:
    start = output.find("FAILURES")
    return output[start if start >= 0 else 0 :][-20_000:]


@pytest.mark.parametrize("role", worlds.ROLES)
def test_fuzz_every_operation_as(role, fuzz_database, server, tmp_path):
    backend, url = fuzz_database
    base, instance = server
    app = fresh_app(url, str(instance))
    try:
        world = worlds.seed(app)
    finally:
        app.extensions["logicrm.db"].engine.dispose()
    known_log = tmp_path / "known.jsonl"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SCHEMATHESIS_HOOKS": "tests.api.fuzz_hooks",
        "LOGICRM_FUZZ_KNOWN_LOG": str(known_log),
        # Fuzzing as admin must not revoke its own key or demote itself: those calls hit a decoy.
        "LOGICRM_FUZZ_PROTECT": json.dumps(
            {
                "user_id": [world.user_ids[role], world.user_ids["other_am"]],
                "key_id": [world.key_ids[role], world.key_ids["other_am"]],
            }
        ),
    }
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "--no-color",
        "run", f"{base}/api/v1/openapi.json",
        "--header", f"Authorization: Bearer {world.keys[role]}",
        "--checks", "all",
        "--max-examples", str(MAX_EXAMPLES),
        "--seed", str(SEED),
        "--workers", "1",
        "--request-timeout", "60",
        "--generation-database", "none",
        *role_options(backend, role),
    ]  # fmt: skip
    started = time.monotonic()
    result = subprocess.run(
        command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=RUN_TIMEOUT_S
    )
    seconds = time.monotonic() - started
    known = (
        Counter(json.loads(line)["reason"] for line in known_log.read_text().splitlines())
        if known_log.exists()
        else Counter()
    )
    summary = re.search(r"=+ (.*) in [\d.]+s =+\s*$", result.stdout)
    cases = re.search(r"(\d+) generated", result.stdout)
    print(
        f"\nfuzz {backend} as {role}: {seconds:.0f} s, {cases.group(1) if cases else '?'} test cases, "
        f"{summary.group(1) if summary else 'no summary'}"
    )
    for line in re.findall(r"^\s+⚠️ (.*)$", result.stdout, flags=re.M):
        print(f"  warning: {line}")
    for phase in re.findall(r"^ \S+\s+(\w+ \(in [\d.]+s\))", result.stdout, flags=re.M):
        print(f"  phase {phase}")
    for reason, count in sorted(known.items()):
        print(f"  known, dropped: {count:4d} × {reason}")
    assert result.returncode == 0, (
        f"schemathesis found failures fuzzing as {role} on {backend} (seed {SEED}):\n"
        + _failures_section(result.stdout)
        + result.stderr[-5000:]
    )
