"""Benchmark the JSON API's throughput against a bare Flask hello under the same server (issue 13, target 2).

One generated portfolio (bench_health's, on SQLite, via bench_serve) is served by gunicorn (sync
workers) with `logicrm worker` publishing the scores, for each build in turn; a bare Flask app answering
`{"hello": "world"}` is served beside them by the same gunicorn settings. Each endpoint gets
`--requests` requests over `--connections` keep-alive connections (stdlib http.client, one thread each),
after a warm-up, right after as many to the bare Flask (the box's load varies: each ratio compares two
figures taken a moment apart); the table gives req/s, p50/p99 and the ratio to the bare Flask's req/s.

`--profile` instead runs the endpoints in this process through the Flask test client on the same
database, printing per endpoint the SQL statements per request and cProfile's heaviest calls.

Usage: .venv/bin/python scripts/bench_api.py --customers 10000 [--before-src DIR] [--profile]
  DIR holds the `logicrm` package of the build to compare with (`git archive main logicrm | tar -x -C DIR`).
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import io
import json
import os
import pstats
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

from bench_serve import Build, quantile, serve, warm_up
from bench_serve import world as kept_world  # sibling script: the served portfolio
from bench_web import statement_counter
from flask import Flask

from logicrm import create_app, migrate
from logicrm.db import make_engine

# endpoint -> the issue's target (a share of the bare Flask's req/s)
SINGLE_RECORD_TARGET, LIST_TARGET = 0.5, 0.25
P99_TARGET_MS = 10.0  # single-record reads, at 4 connections


@dataclass(frozen=True)
class Endpoint:
    label: str
    method: str
    path: str  # "{id}" is replaced by a random active customer's id per request
    target: float | None  # share of the bare Flask's req/s; None: measured, not a target
    body: dict | None = None


ENDPOINTS = (
    Endpoint("GET /customers/{id}", "GET", "/customers/{id}", SINGLE_RECORD_TARGET),
    Endpoint("GET /customers/{id}/health", "GET", "/customers/{id}/health", SINGLE_RECORD_TARGET),
    Endpoint("GET /customers?page_size=50", "GET", "/customers?page_size=50", LIST_TARGET),
    Endpoint("GET /network/risk", "GET", "/network/risk", LIST_TARGET),
    Endpoint("GET /network/graph?depth=2", "GET", "/network/graph?center={id}&depth=2", LIST_TARGET),
    Endpoint("GET /portfolio/summary", "GET", "/portfolio/summary", LIST_TARGET),
    Endpoint("POST /network/what-if", "POST", "/network/what-if", None, {"remove_customers": ["{id}"]}),
)
HELLO = Endpoint("bare Flask hello", "GET", "/hello", None)


def hello_app() -> Flask:
    """The bare Flask app every figure is compared with (gunicorn imports it from this file)."""
    app = Flask("hello")
    app.add_url_rule("/api/v1/hello", "hello", lambda: {"hello": "world"})
    return app


@dataclass
class Measured:
    build: str
    endpoint: Endpoint
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    hello_per_second: float = 0.0  # the bare Flask's, measured right before (the box's load varies)

    @property
    def per_second(self) -> float:
        return len(self.latencies_ms) / self.seconds

    def p(self, q: float) -> float:
        return quantile(self.latencies_ms, q)


def _request(endpoint: Endpoint, customer_id: int) -> tuple[str, str | None]:
    path = endpoint.path.replace("{id}", str(customer_id))
    if endpoint.body is None:
        return path, None
    return path, json.dumps(endpoint.body).replace('"{id}"', str(customer_id))


def measure(build: str, endpoint: Endpoint, base: str, key: str, customers: list[int], args) -> Measured:
    """Send `args.requests` requests over `args.connections` keep-alive connections; time each."""
    host, port = base.removeprefix("http://").split("/", 1)[0].split(":")
    prefix = "/" + base.removeprefix("http://").split("/", 1)[1]
    rng = random.Random(args.seed)
    planned = [_request(endpoint, rng.choice(customers)) for _ in range(args.requests)]
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    result = Measured(build, endpoint)
    lock = threading.Lock()
    start = threading.Barrier(args.connections + 1)

    def client(share: list[tuple[str, str | None]]) -> None:
        connection = http.client.HTTPConnection(host, int(port), timeout=600)  # reconnects when closed
        latencies, errors = [], 0
        start.wait()
        for path, body in share:
            began = time.perf_counter()
            connection.request(endpoint.method, prefix + path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            latencies.append(1000 * (time.perf_counter() - began))
            errors += response.status != 200
        connection.close()
        with lock:
            result.latencies_ms += latencies
            result.errors += errors

    threads = [
        threading.Thread(target=client, args=(planned[k :: args.connections],))
        for k in range(args.connections)
    ]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - began
    return result


def bench_build(
    build: Build, key: str, customers: list[int], args, workdir: str, *, hello_base: str
) -> list[Measured]:
    """Serve one build and measure each of its endpoints, each right after the bare Flask hello."""
    processes, base = serve(build, args, workdir)
    try:
        _wait_until_up(base, key)
        warm_up(build, base, key, customers, args)
        if build.worker:
            _until_idle(processes[-1].pid)
        found = []
        for endpoint in _chosen(args):
            hello = _timed(build.name, HELLO, hello_base, key, customers, args)
            measured = _timed(build.name, endpoint, base, key, customers, args)
            measured.hello_per_second = hello.per_second
            found.append(measured)
            print(
                f"{build.name:7} {endpoint.label:30} {measured.per_second:8.1f} req/s  p50 "
                f"{measured.p(0.5):7.1f} ms  p99 {measured.p(0.99):7.1f} ms  errors {measured.errors}  "
                f"(bare Flask {hello.per_second:.0f} req/s)",
                flush=True,
            )
        return found
    finally:
        _stop(processes)


def _timed(build: str, endpoint: Endpoint, base: str, key: str, customers: list[int], args) -> Measured:
    """Warm up with a few requests, then measure."""
    measure(
        build,
        endpoint,
        base,
        key,
        customers,
        argparse.Namespace(**{**vars(args), "requests": 4 * args.connections}),
    )
    return measure(build, endpoint, base, key, customers, args)


def _until_idle(pid: int, *, quiet_s: float = 5.0) -> None:
    """Wait until process `pid` (the worker) has used under 2 % of a CPU for `quiet_s`: a build whose
    publication is not in the kept portfolio (another code version) computes one in full after its first
    write, which would take the CPU from the requests measured."""
    ticks = os.sysconf("SC_CLK_TCK")

    def cpu_s() -> float:
        with open(f"/proc/{pid}/stat") as stat:
            utime, stime = stat.read().rsplit(")", 1)[1].split()[11:13]
        return (int(utime) + int(stime)) / ticks

    used = cpu_s()
    while True:
        time.sleep(quiet_s)
        now = cpu_s()
        if now - used < 0.02 * quiet_s:
            return
        used = now


def _stop(processes) -> None:
    for process in reversed(processes):
        process.send_signal(signal.SIGTERM)
    for process in processes:
        process.wait(timeout=120)


def _wait_until_up(base: str, key: str) -> None:
    host, port = base.removeprefix("http://").split("/", 1)[0].split(":")
    deadline = time.monotonic() + 1800
    while True:
        try:
            connection = http.client.HTTPConnection(host, int(port), timeout=600)
            connection.request("GET", "/api/v1/hello", headers={"Authorization": f"Bearer {key}"})
            connection.getresponse().read()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def print_table(results: list[Measured], args) -> None:
    print(
        f"\n{args.customers:,} customers, gunicorn {args.workers} sync workers, {args.connections} connections, "
        f"{args.requests} requests per endpoint, each right after as many to the bare Flask hello\n"
    )
    print("| endpoint | build | req/s | p50 ms | p99 ms | bare Flask req/s | × bare Flask | target | met |")
    print("|---|---|---|---|---|---|---|---|---|")
    for endpoint in ENDPOINTS:
        for m in (r for r in results if r.endpoint == endpoint):
            ratio = m.per_second / m.hello_per_second
            target, met = "—", "—"
            if endpoint.target is not None:
                single = endpoint.target == SINGLE_RECORD_TARGET
                target = f"≥ {endpoint.target}×" + (f", p99 < {P99_TARGET_MS:.0f} ms" if single else "")
                ok = ratio >= endpoint.target and (not single or m.p(0.99) < P99_TARGET_MS)
                met = "yes" if ok and not m.errors else "no"
            print(
                f"| {endpoint.label} | {m.build} | {m.per_second:.1f} | {m.p(0.5):.1f} | {m.p(0.99):.1f} "
                f"| {m.hello_per_second:.0f} | {ratio:.3f} | {target} | {met} |"
            )


def profile(database_path: str, key: str, customers: list[int], args) -> None:
    """Run each endpoint in this process through the test client; print SQL statements and cProfile."""
    app = create_app({"database_url": f"sqlite:///{database_path}", "secret_key": "bench"})
    engine = app.extensions["logicrm.db"].engine
    client = app.test_client()
    headers = {"Authorization": f"Bearer {key}"}
    rng = random.Random(args.seed)
    for endpoint in _chosen(args):
        planned = [_request(endpoint, rng.choice(customers)) for _ in range(args.profile_requests + 3)]

        def send(path: str, body: str | None, method: str = endpoint.method):
            if method == "GET":
                return client.get(f"/api/v1{path}", headers=headers)
            return client.post(f"/api/v1{path}", data=body, headers=headers, content_type="application/json")

        for path, body in planned[:3]:
            send(path, body)
        profiler = cProfile.Profile()
        with statement_counter(engine) as counted:
            began = time.perf_counter()
            profiler.enable()
            for path, body in planned[3:]:
                answer = send(path, body)
            profiler.disable()
            elapsed = time.perf_counter() - began
        n = args.profile_requests
        print(
            f"\n=== {endpoint.label}: {1000 * elapsed / n:.2f} ms/request in process (profiled), "
            f"{counted[0] / n:.1f} SQL statements/request, last status {answer.status_code}"
        )
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(args.profile_lines)
        print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:20000])


def _chosen(args) -> list[Endpoint]:
    """The endpoints `--only` names (a part of their label), all of them by default."""
    return [e for e in ENDPOINTS if not args.only or any(part in e.label for part in args.only)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--before-src", help="directory holding the compared build's logicrm (optional)")
    parser.add_argument("--requests", type=int, default=400, help="timed requests per endpoint")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument(
        "--reads", type=int, default=50, help="warm-up: reads after its one write (bench_serve)"
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--profile", action="store_true", help="profile in process instead of serving")
    parser.add_argument("--profile-requests", type=int, default=50)
    parser.add_argument(
        "--only",
        action="append",
        metavar="PART",
        help="measure the endpoints whose label holds PART (repeatable)",
    )
    parser.add_argument("--profile-lines", type=int, default=30)
    parser.add_argument("--links-per-customer", type=int, default=10)
    parser.add_argument("--months", type=int, default=12, help="months of shipments")
    parser.add_argument("--shipments-per-customer-year", type=float, default=50.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--world", metavar="DIR", help="keep the generated portfolio in DIR and reuse it when DIR holds one"
    )
    args = parser.parse_args()
    # the worker recomputes only after writes while the figures are taken (none are made)
    os.environ["LOGICRM_SCORES_CACHE_SECONDS"] = "86400"
    workdir = tempfile.mkdtemp(prefix="bench_api_")
    try:
        path, key, customers = world(args, workdir)
        if args.profile:
            profile(path, key, customers, args)
            return
        scripts = os.path.dirname(os.path.abspath(__file__))
        hello_processes, hello_base = serve(
            Build("hello", path, scripts, False), args, workdir, app="bench_api:hello_app()"
        )
        builds = []
        if args.before_src:
            builds.append(_copy(path, "before", workdir, os.path.abspath(args.before_src)))
        builds.append(_copy(path, "after", workdir, None))
        results = []
        try:
            _wait_until_up(hello_base, key)
            for build in builds:
                results += bench_build(build, key, customers, args, workdir, hello_base=hello_base)
        finally:
            _stop(hello_processes)
        print_table(results, args)
        print(f"\nload average at the end (1, 5, 15 min): {os.getloadavg()} on {os.cpu_count()} CPUs")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def world(args, workdir: str) -> tuple[str, str, list[int]]:
    """The generated portfolio with its scores published: a database file, an admin key, active ids."""

    def publish(path: str, key: str, customers: list[int]) -> None:
        migrate.upgrade(make_engine(f"sqlite:///{path}"))
        _publish_first(path, key, customers, args, workdir)

    return kept_world(args, workdir, settle=publish)


def _copy(path: str, name: str, workdir: str, pythonpath: str | None) -> Build:
    """A build on a copy of the portfolio, with the worker beside it; this checkout's copy at its schema (a
    kept world may be older than this checkout)."""
    copy = os.path.join(workdir, f"{name}.db")
    shutil.copyfile(path, copy)
    if pythonpath is None:
        migrate.upgrade(make_engine(f"sqlite:///{copy}"))
    return Build(name, copy, pythonpath, True)


def _publish_first(path: str, key: str, customers: list[int], args, workdir: str) -> None:
    """Have the worker publish the scores the profiled requests read (as in the served benchmark)."""
    build = Build("publish", path, None, True)
    processes, base = serve(build, args, workdir)
    try:
        warm_up(build, base, key, customers, args)
    finally:
        _stop(processes)


if __name__ == "__main__":
    sys.exit(main())
