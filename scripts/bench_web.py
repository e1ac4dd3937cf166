"""Benchmark the web pages' server time on the demo and on a generated portfolio (issue 15).

For each world: a fresh SQLite (or PostgreSQL) database, migrated and filled (the demo, seed 7, or a
generated portfolio of N accounts from bench_health), one health run done; then every demo role signs in
through the real sign-in form with the Flask test client, and each page that role may open is requested
`--repeat` times after one warm-up request (the warm-up also fills the scores cache, as the first request
after a health run does in production). The time is the whole request inside the WSGI app (routing, SQL,
templates, the body read out), without a network; the SQL statements per request are counted too, so
an N+1 shows however fast the database is.

Usage: .venv/bin/python scripts/bench_web.py --worlds demo 10000 --backends sqlite --repeat 5
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import secrets
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import bench_health  # sibling script: the generated portfolio of the health-run benchmark
from sqlalchemy import event, select

from logicrm import create_app, migrate
from logicrm.customers import service as customers
from logicrm.customers.models import Customer
from logicrm.db import Database, make_engine
from logicrm.demo import load_demo
from logicrm.health import runs
from logicrm.scoring import model as churn_models
from logicrm.users import passwords
from logicrm.users import service as users
from logicrm.users.models import User, UserRole

CSRF = re.compile(r'data-csrf="([^"]+)"')
BUDGET_MS = 300.0  # the issue's target for a page's server time on the demo
# the roles besides the generated portfolio's account managers, signed in as the demo's users are
GENERATED_USERS = (
    ("Bench Admin", "admin@bench.logicrm.example", UserRole.ADMIN),
    ("Bench Manager", "manager@bench.logicrm.example", UserRole.MANAGER),
    ("Bench Planner", "planner@bench.logicrm.example", UserRole.PLANNER),
    ("Bench Viewer", "viewer@bench.logicrm.example", UserRole.VIEWER),
)


@dataclass
class Timing:
    world: str
    backend: str
    role: str
    page: str
    status: int
    runs_ms: list[float]
    cpu_ms: list[
        float
    ]  # this process's CPU time: SQLite works in-process, and other loads on the machine add none
    statements: int
    size_kb: float

    @property
    def median_ms(self) -> float:
        return statistics.median(self.runs_ms)

    @property
    def max_ms(self) -> float:
        return max(self.runs_ms)

    @property
    def median_cpu_ms(self) -> float:
        return statistics.median(self.cpu_ms)


# ------------------------------------------------------------------------------------------ the worlds


def build_demo(app) -> dict[str, str]:
    """Load the demo; return its users' e-mails and web passwords."""
    with app.extensions["logicrm.db"].session_scope() as session:
        return dict(load_demo(session, seed=7).passwords)


def build_generated(engine, backend: str, n: int, args) -> None:
    """Write bench_health's portfolio of `n` accounts (and its account managers)."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    bench_health.load(Database(engine), args, n, backend, now)


def generated_logins(app) -> dict[str, str]:
    """Add one user of each role the generated portfolio lacks; give every user a password; return their
    e-mails and passwords."""
    with app.extensions["logicrm.db"].session_scope() as session:
        for name, email, role in GENERATED_USERS:
            users.create(session, name=name, email=email, role=role)
        session.flush()
        logins = {}
        for user in session.scalars(select(User)):
            logins[user.email] = secrets.token_urlsafe(12)
            passwords.set_password(session, user=user, password=logins[user.email])
    return logins


@contextmanager
def world(name: str, backend: str, args) -> Iterator[tuple[object, dict[str, str]]]:
    """A migrated, filled database after one health run, served by an app; yield the app and the logins."""
    workdir = tempfile.mkdtemp(prefix="bench_web_")
    database_name = f"bench_web_{name}"
    if backend == "sqlite":
        url = f"sqlite:///{workdir}/{database_name}.db"
    else:
        url = bench_health._postgres_database(args.postgres_url, database_name, create=True)
    started = time.perf_counter()
    engine = make_engine(url)
    migrate.upgrade(engine)
    if (
        name != "demo"
    ):  # bulk-written before the app opens the database: SQLite's settling step wants it alone
        build_generated(engine, backend, int(name), args)
    engine.dispose()
    app = create_app({"database_url": url, "secret_key": secrets.token_hex(32)})
    database = app.extensions["logicrm.db"]
    try:
        logins = build_demo(app) if name == "demo" else generated_logins(app)
        loaded = time.perf_counter()
        config = runs.RunConfig(
            app.config["LOGICRM"], app.config["LOGICRM_SCORING"], app.config["LOGICRM_RULES"]
        )
        runs.run_health(database, config, slot="bench-web")
        print(
            f"{name} on {backend}: loaded in {loaded - started:.1f} s, "
            f"health run {time.perf_counter() - loaded:.1f} s",
            flush=True,
        )
        yield app, logins
    finally:
        database.engine.dispose()
        shutil.rmtree(workdir, ignore_errors=True)
        if backend == "postgresql" and not args.keep:
            bench_health._postgres_database(args.postgres_url, database_name, create=False)


# ------------------------------------------------------------------------------------------ the pages


def sign_in(app, email: str, password: str):
    """A test client signed in through the sign-in form (its CSRF token read from the page)."""
    client = app.test_client()
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    answer = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    if answer.status_code != 302:
        raise RuntimeError(f"signing in as {email} answered {answer.status_code}")
    # signing in starts a new session, with a token of its own
    return client, CSRF.search(client.get("/settings").get_data(as_text=True)).group(1)


def largest_account(app, email: str) -> int | None:
    """The account with the most revenue (then the most lanes) among those the user may see."""
    with app.app_context(), app.extensions["logicrm.db"].session() as session:
        user = session.scalar(select(User).where(User.email == email))
        seen = customers.visible_id_set(session, user=user)
        scored = churn_models.current_scores(session, app.config["LOGICRM_SCORING"], max_age_s=3600)
        accounts = [a for c, a in scored.accounts.items() if seen is None or c in seen]
        if not accounts:
            return None
        return max(
            accounts, key=lambda a: (a.value.revenue, len(scored.arrays.lanes(a.customer_id)))
        ).customer_id


def pages(app, email: str) -> list[tuple[str, str, dict | None]]:
    """(label, path, form or None for a GET) of every page the benchmark opens as this user."""
    with app.extensions["logicrm.db"].session() as session:
        user_id = session.scalar(select(User.id).where(User.email == email))
        region = session.scalar(select(Customer.region).where(Customer.region.is_not(None)).limit(1))
    big = largest_account(app, email)
    listed = [
        ("my day", "/", None),
        ("accounts", "/accounts", None),
        ("accounts page 5", "/accounts?page=5", None),
        ("accounts high risk by exposure", "/accounts?band=high&sort=exposure", None),
        ("accounts shippers vip by risk", "/accounts?role=shipper&tier=vip&sort=risk", None),
        (
            "accounts search + region by satisfaction",
            f"/accounts?q=a&region={region}&sort=satisfaction",
            None,
        ),
        ("accounts of an owner", f"/accounts?owner={user_id}&sort=value", None),
        ("accounts.csv (every row)", "/accounts.csv", None),
        ("accounts.csv high risk", "/accounts.csv?band=high", None),
    ]
    if big is not None:
        listed += [
            ("account (largest)", f"/accounts/{big}", None),
            ("account timeline", f"/accounts/{big}/timeline", None),
            ("network of largest, depth 1", f"/network?center={big}", None),
            ("network graph.json depth 1", f"/network/graph.json?center={big}&depth=1", None),
            ("network graph.json depth 3", f"/network/graph.json?center={big}&depth=3", None),
        ]
    listed += [
        ("network (top hub)", "/network", None),
        ("what-if", "/what-if", None),
        ("what-if biggest shipper leaves", "/what-if", {"scenario": "biggest_shipper"}),
        ("alerts", "/alerts", None),
        ("service desk", "/service-desk", None),
        ("my tasks", "/tasks", None),
        ("portfolio", "/portfolio", None),
        ("imports", "/imports", None),
        ("settings", "/settings", None),
        ("admin", "/admin", None),
        ("admin users", "/admin/users", None),
        ("admin user", f"/admin/users/{user_id}", None),
        ("admin roles", "/admin/roles", None),
        ("admin coverage", "/admin/coverage", None),
        ("admin webhooks", "/admin/webhooks", None),
        ("admin runs", "/admin/runs", None),
        ("admin settings", "/admin/settings", None),
    ]
    return listed


@contextmanager
def statement_counter(engine) -> Iterator[list[int]]:
    counted = [0]

    def count(*_args):
        counted[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield counted
    finally:
        event.remove(engine, "before_cursor_execute", count)


def send(client, token: str, path: str, form: dict | None):
    """GET the page, or POST `form` to it with the session's CSRF token."""
    if form is None:
        return client.get(path)
    return client.post(path, data={**form, "csrf_token": token})


def time_pages(app, world_name: str, backend: str, logins: dict[str, str], repeat: int) -> list[Timing]:
    """Sign in as one user of each role and time every page that role may open."""
    by_role: dict[str, str] = {}
    with app.extensions["logicrm.db"].session() as session:
        for user in session.scalars(select(User).order_by(User.id)):
            if user.email in logins:
                by_role.setdefault(str(user.role), user.email)
    engine = app.extensions["logicrm.db"].engine
    timings = []
    for role, email in by_role.items():
        client, token = sign_in(app, email, logins[email])
        for label, path, form in pages(app, email):
            warm = send(client, token, path, form)
            warm.get_data()
            if warm.status_code in (403, 404):
                continue  # not this role's page
            runs_ms, cpu_ms, statements, size = [], [], 0, 0
            for _ in range(repeat):
                with statement_counter(engine) as counted:
                    started, cpu = time.perf_counter(), time.process_time()
                    answer = send(client, token, path, form)
                    size = len(answer.get_data())  # streamed bodies (CSV) are produced here
                    runs_ms.append(1000 * (time.perf_counter() - started))
                    cpu_ms.append(1000 * (time.process_time() - cpu))
                statements = counted[0]
            timing = Timing(
                world_name, backend, role, label, answer.status_code, runs_ms, cpu_ms, statements, size / 1024
            )
            timings.append(timing)
            flag = "  OVER BUDGET" if timing.median_ms > BUDGET_MS else ""
            print(
                f"  {role:16} {label:42} {timing.status} median {timing.median_ms:7.1f} ms "
                f"max {timing.max_ms:7.1f} ms cpu {timing.median_cpu_ms:7.1f} ms {statements:4d} SQL "
                f"{timing.size_kb:8.1f} kB{flag}",
                flush=True,
            )
    return timings


def print_table(timings: list[Timing]) -> None:
    """One markdown table per world and backend: each page's slowest role, with its median and max."""
    groups: dict[tuple[str, str], list[Timing]] = {}
    for t in timings:
        groups.setdefault((t.world, t.backend), []).append(t)
    for (world_name, backend), rows in groups.items():
        print(f"\n### {world_name} on {backend}\n")
        print(
            "| page | slowest role | median ms | max ms | CPU ms (median) | SQL statements | kB "
            "| median ms over all roles |"
        )
        print("|---|---|---|---|---|---|---|---|")
        by_page: dict[str, list[Timing]] = {}
        for t in rows:
            by_page.setdefault(t.page, []).append(t)
        for page, group in by_page.items():
            worst = max(group, key=lambda t: t.median_ms)
            overall = statistics.median([ms for t in group for ms in t.runs_ms])
            print(
                f"| {page} | {worst.role} | {worst.median_ms:.0f} | {worst.max_ms:.0f} | {worst.median_cpu_ms:.0f} "
                f"| {worst.statements} "
                f"| {worst.size_kb:.0f} | {overall:.0f} |"
            )
        over = [t for t in rows if t.median_ms > BUDGET_MS]
        over_cpu = [t for t in rows if t.median_cpu_ms > BUDGET_MS]
        print(
            f"\npages over {BUDGET_MS:.0f} ms (median, page × role): {len(over)} of {len(rows)} by the clock, "
            f"{len(over_cpu)} by CPU time"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--worlds", nargs="+", default=["demo", "10000"], help="'demo' or a number of generated accounts"
    )
    parser.add_argument("--backends", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite"])
    parser.add_argument("--repeat", type=int, default=5, help="timed requests per page and role")
    # the generated portfolio's shape (bench_health's options, with fewer shipments: pages read scores)
    parser.add_argument("--links-per-customer", type=int, default=10)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--shipments-per-customer-year", type=float, default=50.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("LOGICRM_TEST_POSTGRES_URL", bench_health.DEFAULT_POSTGRES),
        help="any database on the server; throwaway databases bench_web_<world> are created there and dropped",
    )
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL databases")
    parser.add_argument("--json", metavar="PATH", help="also write every timing as JSON lines to PATH")
    args = parser.parse_args()
    timings = []
    for backend in args.backends:
        for name in args.worlds:
            with world(name, backend, args) as (app, logins):
                found = time_pages(app, name, backend, logins, args.repeat)
            timings += found
            if args.json:
                with open(args.json, "a") as out:
                    for t in found:
                        out.write(
                            json.dumps({**t.__dict__, "median_ms": t.median_ms, "max_ms": t.max_ms}) + "\n"
                        )
    print_table(timings)
    print(f"\nload average at the end (1, 5, 15 min): {os.getloadavg()} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
