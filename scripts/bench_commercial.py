"""Benchmark the commercial view's reads on PostgreSQL (issue 16): lane and account metrics, KPI series and
the duplicate scan, each through the JSON API (Flask's test client: routing, auth, SQL and serialisation).

1. A portfolio of --customers customers with --years of shipments (bench_health's generator, written with
   COPY), about --shipments in all. Timed: `GET /customers/{id}/metrics` and `GET /links/{id}/metrics`
   over the whole span, weekly and monthly, for the busiest shipper (the worst case), its busiest lane,
   and a typical shipper shipping every week (the median of those expecting at least EVERY_WEEK shipments a
   week). Target: < 100 ms.
2. The KPIs replayed at every month start over the last --kpi-years (setup: timed, not a target), then
   `GET /portfolio/kpis` over that span. Target: < 200 ms.
3. A second database of --dupes customers with generated names, registration numbers and blocking keys, a
   share of them planted near copies of another (a typo in the name, or the registration number spaced
   differently); timed: `GET /customers/duplicates`. Target: < 60 s. The planted pairs found are counted.

Each read runs once to warm the caches, then --repeat times: best and median wall time.

Usage: nice .venv/bin/python scripts/bench_commercial.py --postgres-url "$LOGICRM_TEST_POSTGRES_URL"
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import time
from argparse import Namespace
from collections.abc import Callable

import numpy as np
from bench_health import DEFAULT_POSTGRES, Table, _postgres_database, _timestamps, load, write
from bench_network import synthetic_network  # the topology bench_health's generator draws first
from sqlalchemy import make_url

from logicrm import create_app, migrate
from logicrm.customers import names
from logicrm.db import Database, make_engine
from logicrm.demo.names import SUFFIXES, WORDS
from logicrm.health import kpis
from logicrm.users import keys
from logicrm.users import service as users
from logicrm.users.models import UserRole

TARGET_MS = {"metrics": 100.0, "kpis": 200.0, "duplicates": 60_000.0}
WEEKS_PER_YEAR = 365.25 / 7
EVERY_WEEK = 5  # expected shipments a week of the typical account: a week without one is rare (e^-5)
PLANTED = 0.01  # share of the scanned customers that are a near copy of another one
SYLLABLES = ("ka", "lo", "mi", "ren", "sto", "vel", "dar", "no", "bri", "tex", "qua", "zen", "por", "lin", "ver",
             "san", "mar", "tor", "el", "an", "us", "ix", "go", "fa", "ber", "hal", "nor", "sud", "ost", "wes")  # fmt: skip


def timed(run: Callable[[], object], repeat: int) -> tuple[object, float, float]:
    """Run once to warm up, then `repeat` times; return the last result and the best and median ms."""
    result = run()
    walls = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        walls.append(1000 * (time.perf_counter() - started))
    return result, min(walls), statistics.median(walls)


def api_client(url: str):
    """A test client of the app on `url`, and the headers of a fresh admin's API key."""
    app = create_app({"database_url": url})
    database = app.extensions["logicrm.db"]
    with database.session_scope() as session:
        admin = users.create(session, name="Bench admin", email=f"admin{time.time_ns()}@bench.example",
                             role=UserRole.ADMIN)  # fmt: skip
        _key, secret = keys.create(session, user=admin, label="bench")
    return app.test_client(), {"Authorization": f"Bearer {secret}"}


def get(client, headers, path: str) -> dict:
    answer = client.get(f"/api/v1{path}", headers=headers)
    if answer.status_code != 200:
        raise RuntimeError(f"GET {path}: {answer.status_code} {answer.get_data(as_text=True)[:300]}")
    return answer.get_json()


def accounts(args) -> dict[str, tuple[str, int]]:
    """The accounts to measure, from the same draw as bench_health's generator: the busiest shipper, its
    busiest lane, and the median shipper among those expected to ship EVERY_WEEK times a week or more."""
    _nodes, links = synthetic_network(
        args.customers, args.links_per_customer, np.random.default_rng(args.seed)
    )
    shipper = np.array([link.shipper_id for link in links])
    weight = np.array([link.volume_90d for link in links])
    per_week = np.bincount(shipper, weight) / weight.sum() * args.shipments / (args.years * WEEKS_PER_YEAR)
    busiest = int(np.argmax(per_week))
    weekly = np.flatnonzero(per_week >= EVERY_WEEK)
    typical = int(weekly[np.argsort(per_week[weekly])[len(weekly) // 2]])
    lane = int(np.argmax(np.where(shipper == busiest, weight, -1)))
    return {
        "busiest shipper": ("customers", busiest + 1),
        "its busiest lane": ("links", lane + 1),
        "typical shipper shipping every week": ("customers", typical + 1),
    }


def bench_metrics(args, url: str, now: dt.datetime) -> list[dict]:
    """Load the portfolio, time the metrics reads, replay the KPIs and time their series."""
    engine = make_engine(url)
    migrate.upgrade(engine)
    database = Database(engine)
    load_args = Namespace(
        links_per_customer=args.links_per_customer,
        months=round(12 * args.years),
        shipments_per_customer_year=args.shipments / args.customers / args.years,
        seed=args.seed,
    )
    if not args.reuse:
        portfolio, load_s = load(database, load_args, args.customers, "postgresql", now)
        print(f"loaded {portfolio.rows} in {load_s['load_s']:.0f} s (+{load_s['settle_s']:.0f} s vacuum analyse)",
              flush=True)  # fmt: skip
    client, headers = api_client(url)
    start = (now - dt.timedelta(days=round(365.25 * args.years))).isoformat()
    rows = []
    for label, (kind, ident) in accounts(args).items():
        for interval in ("week", "month"):
            path = f"/{kind}/{ident}/metrics?interval={interval}&from={start}&to={now.isoformat()}"
            path = path.replace("+", "%2B")
            answer, best, median = timed(lambda path=path: get(client, headers, path), args.repeat)
            active = sum(1 for period in answer["series"] if period["shipments"])
            rows.append({"read": f"{kind}/{{id}}/metrics {interval}", "subject": f"{label} ({ident})",
                         "periods": f"{active}/{len(answer['series'])} with shipments",
                         "shipments": answer["totals"]["shipments"], "best_ms": best, "median_ms": median,
                         "target_ms": TARGET_MS["metrics"]})  # fmt: skip
            print(rows[-1], flush=True)
    kpi_start = now - dt.timedelta(days=round(365.25 * args.kpi_years))
    started = time.perf_counter()
    with database.session_scope() as session:
        stored = kpis.replay(session, start=kpi_start, end=now)
    print(f"replayed {stored} KPI points in {time.perf_counter() - started:.0f} s", flush=True)
    path = f"/portfolio/kpis?from={kpi_start.isoformat()}&to={now.isoformat()}".replace("+", "%2B")
    answer, best, median = timed(lambda: get(client, headers, path), args.repeat)
    rows.append({"read": "portfolio/kpis", "subject": f"{args.kpi_years} years", "periods":
                 f"{len(answer['points'])} points", "shipments": "", "best_ms": best,
                 "median_ms": median, "target_ms": TARGET_MS["kpis"]})  # fmt: skip
    print(rows[-1], flush=True)
    engine.dispose()
    return rows


def _pseudo_word(rng: np.random.Generator) -> str:
    return "".join(rng.choice(SYLLABLES, rng.integers(2, 4))).capitalize()


def _typo(name: str, rng: np.random.Generator) -> str:
    """Swap two neighbouring letters of the first word (the kind of slip a data entry makes)."""
    word, rest = name.split(" ", 1)
    k = int(rng.integers(1, len(word) - 1))
    return f"{word[: k - 1]}{word[k]}{word[k - 1]}{word[k + 1 :]} {rest}"


def duplicate_customers(n: int, rng: np.random.Generator, now: dt.datetime) -> tuple[list[Table], int]:
    """Customers 1..n with distinct generated names and registration numbers, the last PLANTED share near
    copies of earlier ones; return the tables (customers, their blocking keys) and the planted count."""
    english = sorted({word for by_language in WORDS.values() for word in by_language["en"]})
    suffixes = sorted({suffix for by_style in SUFFIXES.values() for suffix in by_style})
    planted = round(n * PLANTED)
    seen: set[str] = set()
    names_, registrations = [], []
    while len(names_) < n - planted:
        name = f"{_pseudo_word(rng)} {_pseudo_word(rng)} {rng.choice(english)} {rng.choice(suffixes)}"
        if names.normalize_name(name) not in seen:
            seen.add(names.normalize_name(name))
            names_.append(name)
            registrations.append(f"CRN{len(names_):08d}")
    for k, original in enumerate(rng.choice(n - planted, planted, replace=False).tolist()):
        if k % 2:
            names_.append(_typo(names_[original], rng))
            registrations.append(None)
        else:
            names_.append(names_[original] + " Group")
            number = registrations[original]
            registrations.append(f"{number[:3]} {number[3:7]}-{number[7:]}")
    ids = list(range(1, n + 1))
    stamp = _timestamps(np.full(n, now.timestamp()), "postgresql")
    customers = Table(
        "customers",
        ("id", "external_ref", "name", "normalized_name", "match_name", "registration_number",
         "registration_key", "tier", "status", "version", "created_at", "updated_at"),
        [[ids, [f"DUP-{i:07d}" for i in ids], names_, [names.normalize_name(x) for x in names_],
          [names.match_name(x) for x in names_], registrations, [names.registration_key(x) for x in registrations],
          ["standard"] * n, ["active"] * n, [1] * n, stamp, stamp]],
    )  # fmt: skip
    pairs = [(i, key) for i, name in zip(ids, names_, strict=True) for key in sorted(names.name_keys(name))]
    name_keys = Table(
        "customer_name_keys", ("customer_id", "key"), [[[p[0] for p in pairs], [p[1] for p in pairs]]]
    )
    return [customers, name_keys], planted


def bench_duplicates(args, url: str, now: dt.datetime) -> list[dict]:
    """Write the scanned customers and time the duplicate scan."""
    engine = make_engine(url)
    migrate.upgrade(engine)
    started = time.perf_counter()
    tables, planted = duplicate_customers(args.dupes, np.random.default_rng(args.seed), now)
    if not args.reuse:
        with engine.begin() as connection:
            for table in tables:
                write(connection, table)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
        print(f"wrote {args.dupes:,} customers ({planted:,} planted copies) in {time.perf_counter() - started:.0f} s",
              flush=True)  # fmt: skip
    client, headers = api_client(url)
    answer, best, median = timed(lambda: get(client, headers, "/customers/duplicates"), args.dupe_repeat)
    first_planted = args.dupes - planted + 1
    found = sum(1 for group in answer["groups"] for c in group["customers"] if c["id"] >= first_planted)
    engine.dispose()
    row = {"read": "customers/duplicates", "subject": f"{args.dupes:,} customers",
           "periods": f"{len(answer['groups'])} groups, {found}/{planted} planted copies found, "
           f"{answer['pairs_compared']:,} pairs compared", "shipments": 0, "best_ms": best, "median_ms": median,
           "target_ms": TARGET_MS["duplicates"]}  # fmt: skip
    print(row, flush=True)
    return [row]


def machine() -> str:
    with open("/proc/cpuinfo") as cpuinfo:
        cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "?")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}; load average {load}"


def main() -> None:
    """Run the three benchmarks and print one markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--shipments", type=int, default=1_000_000)
    parser.add_argument("--years", type=float, default=5.0, help="years of shipments")
    parser.add_argument("--kpi-years", type=int, default=3)
    parser.add_argument("--links-per-customer", type=int, default=10)
    parser.add_argument(
        "--dupes", type=int, default=100_000, help="customers in the duplicate scan (0: skip)"
    )
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--dupe-repeat", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("LOGICRM_TEST_POSTGRES_URL", DEFAULT_POSTGRES),
        help="any database on the server; throwaway databases bench_commercial* are created there and dropped",
    )
    parser.add_argument("--keep", action="store_true", help="keep the databases (and print their URLs)")
    parser.add_argument(
        "--reuse", action="store_true", help="measure the databases a --keep run left (same sizes)"
    )
    args = parser.parse_args()
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    rows = []
    for name, run, wanted in (("bench_commercial", bench_metrics, args.customers),
                              ("bench_commercial_dupes", bench_duplicates, args.dupes)):  # fmt: skip
        if not wanted:
            continue
        if args.reuse:
            url = make_url(args.postgres_url).set(database=name).render_as_string(hide_password=False)
        else:
            url = _postgres_database(args.postgres_url, name, create=True)
        try:
            rows += run(args, url, now)
        finally:
            if args.keep or args.reuse:
                print(f"kept {url}", flush=True)
            else:
                _postgres_database(args.postgres_url, name, create=False)
    print(f"\nMachine: {machine()}\n")
    print("| read | subject | answer | best ms | median ms | target ms | met |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        met = "yes" if r["median_ms"] < r["target_ms"] else "**no**"
        print(f"| {r['read']} | {r['subject']} | {r['periods']} | {r['best_ms']:.1f} | {r['median_ms']:.1f} "
              f"| {r['target_ms']:,.0f} | {met} |")  # fmt: skip


if __name__ == "__main__":
    main()
