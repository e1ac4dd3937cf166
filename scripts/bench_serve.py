"""Benchmark reads right after writes (issue 13, target 1): `GET /customers/{id}/health` latency while
writes keep moving the data, for a build that recomputes in the request and one with `logicrm worker`.

One generated portfolio (bench_health's, on SQLite) is copied for each build; each build is served by
gunicorn (sync workers) in turn, on the same box in one run. A round is one write (`POST /interactions`,
a scored table) followed at once by reads of random accounts' health over several connections; after
the reads the round waits until the write shows in the written account's health (`stale` false in the
published build; the first read after it in the other) and records how long that took.

Usage: .venv/bin/python scripts/bench_serve.py --customers 10000 --before-src DIR [--world KEPT]
  DIR holds the `logicrm` package of the build to compare with (e.g. `git archive m13 logicrm | tar -x -C DIR`);
  it is imported first through PYTHONPATH, and its app recomputes in the request as it always did.
  With --before-revision REV (e.g. 0015 for bc9b264) that build publishes too: its copy is migrated to
  REV and served with its own `logicrm worker`. A build with a worker starts its rounds after one
  warm-up write has shown.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

import requests
from bench_health import load  # sibling script: the same generated portfolio as the health benchmark
from sqlalchemy import select

from logicrm import migrate
from logicrm.customers.models import Customer, CustomerStatus
from logicrm.db import Database, make_engine
from logicrm.users import keys as api_keys
from logicrm.users import service as users
from logicrm.users.models import UserRole

BEFORE_REVISION = "0011"  # the schema of the build compared with


@dataclass
class Build:
    name: str
    database: str
    pythonpath: str | None  # None: this checkout
    worker: bool  # start `logicrm worker` beside gunicorn
    latencies: list[float] = field(default_factory=list)  # every read after a write, seconds
    errors: int = 0
    visible_s: list[float] = field(default_factory=list)  # write -> its effect in the account's health
    stale_reads: int = 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def prepare(workdir: str, args) -> tuple[str, str, list[int]]:
    """Generate the portfolio into an SQLite file at the compared build's schema; return it, an admin
    key and the active customers' ids."""
    path = os.path.join(workdir, "portfolio.db")
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine, BEFORE_REVISION)
    database = Database(engine)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    started = time.perf_counter()
    generated = argparse.Namespace(
        links_per_customer=args.links_per_customer,
        months=args.months,
        shipments_per_customer_year=args.shipments_per_customer_year,
        seed=args.seed,
    )
    try:
        load(database, generated, args.customers, "sqlite", now)
    except Exception as error:  # bench_health's final WAL checkpoint may find the table locked
        print(f"(settling the loaded database failed: {error}; the data is written)", flush=True)
    with database.session_scope() as session:
        admin = users.create(session, name="Bench admin", email="admin@bench.example", role=UserRole.ADMIN)
        _key, secret = api_keys.create(session, user=admin, label="bench")
        active = list(session.scalars(select(Customer.id).where(Customer.status == CustomerStatus.ACTIVE)))
    engine.dispose()
    print(f"portfolio of {args.customers:,} written in {time.perf_counter() - started:.1f} s", flush=True)
    return path, secret, active


def world(args, workdir: str, *, settle=None) -> tuple[str, str, list[int]]:
    """The generated portfolio (a database file, an admin key, the active ids), kept in `args.world` when
    given (at 100k generating it takes a quarter of an hour); `settle(path, key, ids)` runs once on a new one."""
    kept = os.path.join(args.world or workdir, "world.json")
    if os.path.exists(kept):
        with open(kept) as saved:
            return tuple(json.load(saved))
    if args.world:
        os.makedirs(args.world, exist_ok=True)
    path, key, customers = prepare(args.world or workdir, args)
    if settle:
        settle(path, key, customers)
    with open(kept, "w") as saved:
        json.dump([path, key, customers], saved)
    return path, key, customers


def serve(build: Build, args, workdir: str, *, app: str = "logicrm:create_app()"):
    """Start gunicorn serving `app` (and the worker) for a build; return the processes and the base URL."""
    port = _free_port()
    env = {
        **os.environ,
        "LOGICRM_DATABASE_URL": f"sqlite:///{build.database}",
        "LOGICRM_INSTANCE_PATH": os.path.join(workdir, f"instance-{build.name}"),
        "LOGICRM_KEY_LAST_USED_RESOLUTION_S": "3600",
    }
    if build.pythonpath:
        env["PYTHONPATH"] = build.pythonpath
    bin_dir = os.path.dirname(sys.executable)
    log = open(os.path.join(workdir, f"{build.name}.log"), "w")  # noqa: SIM115 - the servers' output, kept open while they run
    processes = [
        subprocess.Popen(
            [os.path.join(bin_dir, "gunicorn"), "--workers", str(args.workers), "--bind",
             f"127.0.0.1:{port}", "--timeout", "600", app],
            env=env, cwd=build.pythonpath or workdir, stdout=log, stderr=log,
        )
    ]  # fmt: skip
    if build.worker:
        processes.append(
            subprocess.Popen(
                [os.path.join(bin_dir, "logicrm"), "worker"], env=env, cwd=workdir, stdout=log, stderr=log
            )
        )
    return processes, f"http://127.0.0.1:{port}/api/v1"


def _health(http: requests.Session, base: str, customer_id: int) -> dict:
    response = http.get(f"{base}/customers/{customer_id}/health", timeout=600)
    response.raise_for_status()
    return response.json()


def warm_up(build: Build, base: str, key: str, customers: list[int], args) -> None:
    """Until the server answers, and every gunicorn worker has the scores in memory."""
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {key}"
    deadline = time.monotonic() + 1800
    while True:
        try:
            _health(http, base, customers[0])
            break
        except (requests.ConnectionError, requests.HTTPError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    if build.worker:  # the first read computed in the request (nothing published): let the worker publish
        while _health(http, base, customers[0]).get("stale", False):
            time.sleep(0.5)
    for _ in range(8 * args.workers):
        _health(http, base, random.choice(customers))
    if build.worker:  # one write shown first: the worker past its start (a worker may compute in full then)
        round_trip(dataclasses.replace(build, latencies=[], visible_s=[]), base, key, customers, args,
                   random.Random(-1))  # fmt: skip


def round_trip(build: Build, base: str, key: str, customers: list[int], args, rng: random.Random) -> None:
    """One write, then the reads over `args.connections` connections, then wait for the write to show."""
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {key}"
    written = rng.choice(customers)
    before = _health(http, base, written)
    wrote_at = time.perf_counter()
    response = http.post(
        f"{base}/interactions",
        json={"customer_id": written, "kind": "visit", "at": dt.datetime.now(dt.UTC).isoformat(),
              "summary": "bench"},
        timeout=600,
    )  # fmt: skip
    response.raise_for_status()
    targets = [rng.choice(customers) for _ in range(args.reads)]
    lock = threading.Lock()

    def reader(share: list[int]) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {key}"
        for customer_id in share:
            started = time.perf_counter()
            answer = session.get(f"{base}/customers/{customer_id}/health", timeout=600)
            elapsed = time.perf_counter() - started
            with lock:
                build.latencies.append(elapsed)
                build.errors += answer.status_code != 200
                build.stale_reads += answer.status_code == 200 and answer.json().get("stale", False)

    threads = [
        threading.Thread(target=reader, args=(targets[k :: args.connections],))
        for k in range(args.connections)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    while True:
        after = _health(http, base, written)
        if not after.get("stale", False) and after["as_of"] != before["as_of"]:
            build.visible_s.append(time.perf_counter() - wrote_at)
            return
        time.sleep(0.1)


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench(build: Build, key: str, customers: list[int], args, workdir: str) -> None:
    processes, base = serve(build, args, workdir)
    try:
        warm_up(build, base, key, customers, args)
        rng = random.Random(args.seed)
        for k in range(args.rounds):
            round_trip(build, base, key, customers, args, rng)
            print(
                f"{build.name} round {k + 1}: p99 so far {quantile(build.latencies, 0.99) * 1000:.0f} ms, "
                f"visible after {build.visible_s[-1]:.1f} s",
                flush=True,
            )
    finally:
        for process in reversed(processes):
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--before-src", required=True, help="directory holding the compared build's logicrm")
    parser.add_argument("--rounds", type=int, default=5, help="writes per build")
    parser.add_argument("--reads", type=int, default=200, help="reads after each write")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--links-per-customer", type=int, default=10)
    parser.add_argument("--months", type=int, default=12, help="months of shipments")
    parser.add_argument("--shipments-per-customer-year", type=float, default=100.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--before-revision",
        help="the compared build publishes too: migrate its copy to this schema revision and start its "
        "`logicrm worker` (e.g. 0015 for bc9b264)",
    )
    parser.add_argument(
        "--world", metavar="DIR", help="keep the generated portfolio in DIR and reuse it when DIR holds one"
    )
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="bench_serve_")
    try:
        path, key, customers = world(args, workdir)
        builds = []
        for name, pythonpath, worker in (
            ("before", os.path.abspath(args.before_src), args.before_revision is not None),
            ("after", None, True),
        ):
            copy = os.path.join(workdir, f"{name}.db")
            shutil.copyfile(path, copy)
            builds.append(Build(name, copy, pythonpath, worker))
        migrate.upgrade(make_engine(f"sqlite:///{builds[1].database}"))
        if args.before_revision:
            migrate.upgrade(make_engine(f"sqlite:///{builds[0].database}"), args.before_revision)
        for build in builds:
            bench(build, key, customers, args, workdir)
        print(f"\n{args.customers:,} customers, {args.workers} gunicorn workers, {args.connections} connections, "
              f"{args.rounds} writes x {args.reads} reads\n")  # fmt: skip
        print(
            "| build | reads | errors | stale answers | p50 ms | p90 ms | p99 ms | max ms | write visible after s (median, max) |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for b in builds:
            ms = [value * 1000 for value in b.latencies]
            print(
                f"| {b.name} | {len(ms)} | {b.errors} | {b.stale_reads} | {quantile(ms, 0.5):.1f} | "
                f"{quantile(ms, 0.9):.1f} | {quantile(ms, 0.99):.1f} | {max(ms):.0f} | "
                f"{statistics.median(b.visible_s):.1f}, {max(b.visible_s):.1f} |"
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
