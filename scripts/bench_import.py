"""Benchmark the CSV import of every kind end to end on SQLite and PostgreSQL, against the plain driver.

Per backend: a fresh database, migrated with `logicrm db upgrade`, five users; then every kind in the
order their references need (customers, departments, contacts, links, surveys, interactions, tickets,
shipments), --rows rows each. Per kind: a copy of the database as it is before the kind (SQLite backup
API; PostgreSQL `CREATE DATABASE … TEMPLATE`), then `logicrm import KIND FILE` in a subprocess (wall time
from start to exit, app start-up and job records included; peak RSS is the subprocess's VmHWM), the same
command again (every row unchanged), and, as the ceiling, the rows the import stored read back and
inserted by the plain driver into the copy in one committed transaction: sqlite3 `executemany` (values as
stored, same pragmas as `make_engine`) or psycopg `COPY … FROM STDIN` with `write_row`. The ceiling writes
every table that holds the file's data (customers: also their teams and role profiles; surveys: also their
scores), never the audit events the import records. The CSV files are generated first and streamed to disk;
neither side's timing includes them, nor reading the rows back.

Usage: .venv/bin/python scripts/bench_import.py --rows 100000 --backends sqlite,postgresql \
    --postgres-url postgresql+psycopg://postgres@127.0.0.1:PORT/postgres
`--logicrm PATH` runs another build's `logicrm` (e.g. the code before a change) on the same files.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import platform
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psycopg
from sqlalchemy import make_url

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:57817/postgres"
LOGICRM = Path(sys.executable).with_name("logicrm")  # the console script of this venv
POLL_S = 0.05  # how often a CLI subprocess's peak memory is read
CHUNK_ROWS = 100_000  # generated shipments per chunk
START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)  # shipments spread over the year after this, in time order
SPAN_DAYS = 365
YEAR_S = SPAN_DAYS * 86_400
IN_TRANSIT, LATE, NOT_IN_FULL, DAMAGED = 0.02, 0.08, 0.03, 0.01
SHIPMENT_HEADER = ("external_ref", "link_ref", "shipped_at", "promised_at", "delivered_at", "in_full",
                   "damaged", "claim_amount", "revenue", "cost")  # fmt: skip
CITIES = ("Shanghai", "Hamburg", "Rotterdam", "Warsaw", "Lyon", "Los Angeles", "Duisburg", "Antwerp")
DEPARTMENTS = ("logistics", "procurement", "finance", "warehouse")
USERS = ("am0", "am1", "am2", "am3", "manager")
DIMENSIONS = ("timeliness", "reliability", "responsiveness", "attitude")
# the tables holding each kind's data: what the plain driver writes as the ceiling
TABLES = {
    "customers": ("customers", "customer_team", "shipper_profiles", "consignee_profiles"),
    "departments": ("departments",),
    "contacts": ("contacts",),
    "links": ("links",),
    "surveys": ("survey_responses", "survey_scores"),
    "interactions": ("interactions",),
    "tickets": ("tickets",),
    "shipments": ("shipments",),
}
KINDS = tuple(TABLES)
NEEDS = {
    "customers": (),
    "departments": ("customers",),
    "contacts": ("customers", "departments"),
    "links": ("customers",),
    "surveys": ("customers", "departments", "contacts"),
    "interactions": ("customers", "departments"),
    "tickets": ("customers", "links"),
    "shipments": ("customers", "links"),
}


# --------------------------------------------------------------------------------------------- the files


@dataclass(frozen=True)
class World:
    """Who is who in the generated files: `rows` of each kind, references that resolve."""

    rows: int

    @property
    def with_departments(self) -> int:
        """Customers 0 … this-1 have the four DEPARTMENTS (rows of departments = 4 × this)."""
        return self.rows // len(DEPARTMENTS)

    @staticmethod
    def roles(k: int) -> tuple[bool, bool]:
        """(shipper, consignee) of customer k: a tenth ship, one in twenty of them also receives."""
        return k % 10 == 0, k % 10 != 0 or k % 20 == 10

    def shipper(self, k: int) -> int:
        return (k * 10) % self.rows

    def consignee(self, k: int) -> int:
        c = (k * 7919) % self.rows
        return c + 1 if c % 10 == 0 and c % 20 != 10 else c


def _date(day: int, *, later: int = 0) -> str:
    """A date within the year after START (plus `later` days)."""
    return (START + dt.timedelta(days=day % SPAN_DAYS + later)).date().isoformat()


def _stamp(seconds: int) -> str:
    return (START + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def customer_rows(world: World) -> Iterator[tuple]:
    yield ("external_ref", "name", "registration_number", "industry", "region", "tier", "status", "owner_email",
           "team_emails", "acquisition_channel", "referred_by_ref", "acquired_on", "shipper", "contract_start",
           "contract_end", "services", "contracted_annual_value", "on_time_target", "consignee", "sites",
           "receiving_windows")  # fmt: skip
    for k in range(world.rows):
        shipper, consignee = world.roles(k)
        yield (
            f"K{k:07d}", f"Company {k} {CITIES[k % 8]} GmbH", f"REG{k:09d}", ("retail", "food", "auto")[k % 3],
            CITIES[k % 8], ("vip", "key", "standard", "standard")[k % 4], "active", f"{USERS[k % 4]}@bench.example",
            f"{USERS[(k + 1) % 4]}@bench.example|manager@bench.example" if k % 3 == 0 else "",
            "referral" if k % 20 == 1 else "web", f"K{k - 1:07d}" if k % 20 == 1 else "", _date(k),
            "true" if shipper else "false", _date(k) if shipper else "", _date(k, later=700) if shipper else "",
            "ftl|ltl" if shipper else "", f"{10_000 + k % 5000}.50" if shipper else "", "0.95" if shipper else "",
            "true" if consignee else "false", "Hamburg|Bremen" if consignee else "", "Mo-Fr 8-16" if consignee else "",
        )  # fmt: skip


def department_rows(world: World) -> Iterator[tuple]:
    yield ("customer_ref", "name", "decision_weight", "is_decision_maker")
    for k in range(world.with_departments):
        for d, name in enumerate(DEPARTMENTS):
            yield f"K{k:07d}", name, f"{1 + d}", "true" if d < 2 else "false"


def contact_rows(world: World) -> Iterator[tuple]:
    yield ("external_ref", "customer_ref", "department", "name", "role", "email", "phone")
    for j in range(world.rows):
        c = j % world.with_departments
        yield (f"P{j:07d}", f"K{c:07d}", DEPARTMENTS[(j // world.with_departments) % 4], f"Contact {j}",
               "buyer", f"contact{j}@client.example", f"+49 40 {j:07d}")  # fmt: skip


def link_rows(world: World) -> Iterator[tuple]:
    yield ("external_ref", "shipper_ref", "consignee_ref", "origin", "destination", "service_type",
           "declared_monthly_volume", "started_on")  # fmt: skip
    for k in range(world.rows):
        s, c = world.shipper(k), world.consignee(k)
        yield (
            f"L{k:07d}",
            f"K{s:07d}",
            f"K{c:07d}",
            CITIES[s % 4],
            CITIES[4 + c % 4],
            "ftl",
            f"{k % 40}",
            _date(k),
        )


def survey_rows(world: World) -> Iterator[tuple]:
    parts = [f"{d}_{part}" for d in DIMENSIONS for part in ("expectation", "perception", "importance")]
    yield ("external_ref", "customer_ref", "department", "contact_ref", "collected_at", "channel",
           "likelihood_to_recommend", "comment", *parts)  # fmt: skip
    for i in range(world.rows):
        c = i % world.with_departments
        scores = [str(1 + (i + n) % 7) if n % 3 < 2 else "1" for n in range(len(parts))]
        yield (f"V{i:07d}", f"K{c:07d}", DEPARTMENTS[i % 4], f"P{c:07d}", _stamp(i * 311 % YEAR_S), "email",
               f"{i % 11}", "fine", *scores)  # fmt: skip


def interaction_rows(world: World) -> Iterator[tuple]:
    yield (
        "external_ref",
        "customer_ref",
        "department",
        "user_email",
        "kind",
        "at",
        "summary",
        "next_follow_up",
    )
    for i in range(world.rows):
        c = i % world.with_departments
        yield (f"I{i:07d}", f"K{c:07d}", DEPARTMENTS[i % 4], f"{USERS[i % 5]}@bench.example",
               ("visit", "call", "email")[i % 3], _stamp(i * 257 % YEAR_S), f"Talked about lane {i}", _date(i, later=30))  # fmt: skip


def ticket_rows(world: World) -> Iterator[tuple]:
    yield ("external_ref", "customer_ref", "link_ref", "kind", "severity", "subject", "opened_at",
           "first_response_at", "resolved_at", "status", "claim_amount")  # fmt: skip
    for i in range(world.rows):
        k = (i * 13) % world.rows
        opened = i * 173 % YEAR_S
        resolved = i % 3 == 0
        yield (f"T{i:07d}", f"K{world.shipper(k):07d}", f"L{k:07d}", ("complaint", "claim", "request")[i % 3],
               ("low", "medium", "high")[i % 3], f"Late delivery {i}", _stamp(opened), _stamp(opened + 3600),
               _stamp(opened + 86_400) if resolved else "", "resolved" if resolved else "open",
               "120.00" if i % 3 == 1 else "")  # fmt: skip


def shipment_rows(world: World, seed: int) -> Iterator[tuple]:
    """Shipments in time order over one year on Pareto-weighted lanes, 2% still in transit."""
    yield SHIPMENT_HEADER
    rng = np.random.default_rng(seed)
    links, rows = world.rows, world.rows
    lane_weight = rng.pareto(1.2, links) + 1
    lane_weight /= lane_weight.sum()
    lane_transit = rng.integers(1, 6, links) * 86_400
    lane_price = rng.lognormal(5.0, 0.6, links)
    step = SPAN_DAYS * 86_400 / rows
    for first in range(0, rows, CHUNK_ROWS):
        k = min(CHUNK_ROWS, rows - first)
        link = rng.choice(links, k, p=lane_weight)
        shipped = np.floor((first + np.arange(k) + rng.random(k)) * step).astype(np.int64)
        transit = lane_transit[link]
        late = rng.random(k) < LATE
        delivered = shipped + np.round(np.where(late, transit * 1.5, transit * 0.8)).astype(np.int64)
        in_transit = rng.random(k) < IN_TRANSIT
        damaged = rng.random(k) < DAMAGED
        revenue = np.round(lane_price[link] * rng.lognormal(0, 0.2, k), 2)
        for n in range(k):
            yield (f"SH{first + n:09d}", f"L{link[n]:07d}", _stamp(int(shipped[n])), _stamp(int(shipped[n] + transit[n])),
                   "" if in_transit[n] else _stamp(int(delivered[n])), "false" if n % 33 == 0 else "true",
                   "true" if damaged[n] else "false", f"{revenue[n] / 2:.2f}" if damaged[n] else "0",
                   f"{revenue[n]:.2f}", f"{revenue[n] * 0.85:.2f}")  # fmt: skip


def write_files(world: World, workdir: Path, kinds: list[str], seed: int) -> dict[str, Path]:
    """Write one CSV file per kind; return their paths."""
    makers: dict[str, Callable[[], Iterator[tuple]]] = {
        "customers": lambda: customer_rows(world),
        "departments": lambda: department_rows(world),
        "contacts": lambda: contact_rows(world),
        "links": lambda: link_rows(world),
        "surveys": lambda: survey_rows(world),
        "interactions": lambda: interaction_rows(world),
        "tickets": lambda: ticket_rows(world),
        "shipments": lambda: shipment_rows(world, seed),
    }
    files = {}
    for kind in kinds:
        files[kind] = workdir / f"{kind}_{world.rows}.csv"
        with open(files[kind], "w", newline="") as out:
            csv.writer(out, lineterminator="\r\n").writerows(makers[kind]())
    return files


# --------------------------------------------------------------------------------------------- databases


@dataclass
class Target:
    """One fresh database: its URL, and how to copy it (SQLite: the file; PostgreSQL: a template)."""

    backend: str
    url: str
    server_url: str | None = None
    name: str | None = None
    path: Path | None = None

    def copy(self, suffix: str) -> Target:
        """A new database holding what this one holds now (its CLI processes must have ended)."""
        if self.backend == "sqlite":
            path = self.path.with_name(f"{self.path.stem}_{suffix}.db")
            with sqlite3.connect(self.path) as source, sqlite3.connect(path) as copy:
                source.backup(copy)
            return Target("sqlite", f"sqlite:///{path}", path=path)
        name = f"{self.name}_{suffix}"
        _postgres_admin(self.server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        _postgres_admin(self.server_url, f"CREATE DATABASE {name} TEMPLATE {self.name}")
        url = make_url(self.server_url).set(database=name).render_as_string(hide_password=False)
        return Target("postgresql", url, self.server_url, name)

    def drop(self) -> None:
        if self.backend == "postgresql":
            _postgres_admin(self.server_url, f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
        else:
            for leftover in self.path.parent.glob(f"{self.path.name}*"):
                leftover.unlink()

    def driver_dsn(self) -> str:
        return make_url(self.url).set(drivername="postgresql").render_as_string(hide_password=False)


def _postgres_admin(server_url: str, sql: str) -> None:
    dsn = make_url(server_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(sql)


def fresh(backend: str, workdir: Path, server_url: str) -> Target:
    """Create an empty database for this run (SQLite file in workdir, or bench_import on the server)."""
    if backend == "sqlite":
        path = workdir / "bench_import.db"
        for leftover in workdir.glob("bench_import*.db*"):
            leftover.unlink()
        return Target("sqlite", f"sqlite:///{path}", path=path)
    name = "bench_import"
    _postgres_admin(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    _postgres_admin(server_url, f"CREATE DATABASE {name}")
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    return Target("postgresql", url, server_url, name)


# --------------------------------------------------------------------------------------------- the runs


@dataclass
class Run:
    """One `logicrm` subprocess: wall seconds, peak RSS (MiB), and the counts it printed."""

    seconds: float
    peak_mib: float
    summary: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def own_rate(self) -> float | None:
        """The rows/s the command printed (its own clock: without interpreter and app start-up)."""
        found = re.search(r"\(([\d,]+) rows/s\)", self.summary)
        return float(found.group(1).replace(",", "")) if found else None


def cli(logicrm: list[str], target: Target, workdir: Path, *args: str) -> Run:
    """Run `logicrm ARGS` on the target database; measure its wall time and its own peak RSS."""
    env = {
        **os.environ,
        "LOGICRM_DATABASE_URL": target.url,
        "LOGICRM_INSTANCE_PATH": str(workdir / "instance"),
    }
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen([*logicrm, *args], env=env, stdout=subprocess.DEVNULL, stderr=errors)
        peak_kib = 0
        while process.poll() is None:
            peak_kib = max(peak_kib, _high_water_kib(process.pid))
            time.sleep(POLL_S)
        seconds = time.perf_counter() - started
        errors.seek(0)
        stderr = errors.read().decode()
    if process.returncode:
        raise RuntimeError(f"logicrm {' '.join(args)} failed ({process.returncode}):\n{stderr[-3000:]}")
    summary = next((line for line in stderr.splitlines() if line.startswith("import ")), "")
    counts = {
        name: int(number.replace(",", ""))
        for number, name in re.findall(r"([\d,]+) (created|updated|unchanged|invalid)", summary)
    }
    return Run(seconds, peak_kib / 1024, summary, counts)


def _high_water_kib(pid: int) -> int:
    """The process's peak resident set so far (VmHWM), 0 once it has exited.

    Not getrusage: Linux carries ru_maxrss across exec, so a child forked from this (large) process
    would report this process's size.
    """
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) if found else 0


def stored_rows(target: Target, table: str) -> tuple[list[str], list[tuple]]:
    """The columns of `table` and its rows as the driver reads them (PostgreSQL JSON as its text)."""
    if target.backend == "sqlite":
        with sqlite3.connect(target.path) as connection:
            cursor = connection.execute(f"SELECT * FROM {table}")
            return [d[0] for d in cursor.description], cursor.fetchall()
    with psycopg.connect(target.driver_dsn()) as connection:
        types = connection.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s "
            "ORDER BY ordinal_position",
            (table,),
        ).fetchall()
        columns = [name for name, _type in types]
        selected = ", ".join(f"{name}::text" if kind == "json" else name for name, kind in types)
        return columns, connection.execute(f"SELECT {selected} FROM {table}").fetchall()


def ceiling(target: Target, tables: dict[str, tuple[list[str], list[tuple]]]) -> float:
    """Insert ready tuples with the plain driver in one transaction, committed; return the seconds."""
    if target.backend == "sqlite":
        # the connection settings of logicrm.db.make_engine: WAL, foreign keys, synchronous=NORMAL
        connection = sqlite3.connect(target.path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL"):
            connection.execute(f"PRAGMA {pragma}")
        started = time.perf_counter()
        connection.execute("BEGIN IMMEDIATE")
        for table, (columns, rows) in tables.items():
            marks = ", ".join("?" * len(columns))
            connection.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
        connection.execute("COMMIT")
        seconds = time.perf_counter() - started
        connection.close()
        return seconds
    with psycopg.connect(target.driver_dsn()) as connection:
        started = time.perf_counter()
        for table, (columns, rows) in tables.items():
            with (
                connection.cursor() as cursor,
                cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
        connection.commit()
        return time.perf_counter() - started


@dataclass
class Result:
    backend: str
    kind: str
    rows: int
    file_mib: float
    first: Run
    again: Run
    ceiling_s: float
    load: float  # the box's 1-minute load average once the kind's runs are over (shared with other work)

    @property
    def rate(self) -> float:
        return self.rows / self.first.seconds

    @property
    def ceiling_rate(self) -> float:
        return self.rows / self.ceiling_s


def bench(backend: str, args, workdir: Path, files: dict[str, Path]) -> tuple[dict[str, Run], list[Result]]:
    """Migrate a fresh database, then import every kind in turn, each against its ceiling."""
    logicrm = args.logicrm
    base = fresh(backend, workdir, args.postgres_url)
    try:
        setup = {"db upgrade": cli(logicrm, base, workdir, "db", "upgrade")}
        for name in USERS:
            role = "manager" if name == "manager" else "account_manager"
            cli(logicrm, base, workdir, "users", "create", "--name", name, "--email", f"{name}@bench.example",
                "--role", role)  # fmt: skip
        results = []
        for kind, path in files.items():
            before = base.copy(f"before_{kind}")
            try:
                first = cli(logicrm, base, workdir, "import", kind, str(path))
                again = cli(logicrm, base, workdir, "import", kind, str(path))
                ceiling_s = ceiling(before, {table: stored_rows(base, table) for table in TABLES[kind]})
            finally:
                before.drop()
            load = os.getloadavg()[0]
            result = Result(
                backend, kind, args.rows, path.stat().st_size / 2**20, first, again, ceiling_s, load
            )
            results.append(result)
            print(
                f"{backend} {kind} {args.rows:,}: import {first.seconds:.1f} s ({result.rate:,.0f} rows/s, peak "
                f"{first.peak_mib:.0f} MiB) {first.summary} | again {again.seconds:.1f} s {again.summary} "
                f"| ceiling {ceiling_s:.2f} s ({result.ceiling_rate:,.0f} rows/s) | load {load:.1f}",
                flush=True,
            )
        return setup, results
    finally:
        if not args.keep:
            base.drop()


# --------------------------------------------------------------------------------------------- report


def machine(postgres_url: str | None) -> str:
    """Describe the machine: CPU, cores, load, memory, Python, SQLite and PostgreSQL versions."""
    cpuinfo, meminfo = (Path(f"/proc/{name}").read_text().splitlines() for name in ("cpuinfo", "meminfo"))
    cpu = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")),
        platform.processor() or "unknown CPU",
    )
    memory = next((int(line.split()[1]) / 2**20 for line in meminfo if line.startswith("MemTotal")), 0.0)
    postgres = "-"
    if postgres_url:
        dsn = make_url(postgres_url).set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(dsn) as connection:
            postgres = connection.execute("SHOW server_version").fetchone()[0]
            fsync = connection.execute("SHOW fsync").fetchone()[0]
            postgres += f" (fsync {fsync})"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"Machine: {cpu}, {os.cpu_count()} cores, {memory:.0f} GiB; load average {load}; "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, PostgreSQL {postgres}, "
        f"psycopg {psycopg.__version__}"
    )


def print_table(results: list[Result]) -> None:
    """Print one markdown row per backend and kind."""
    header = (
        "| backend | kind | rows | file MiB | import s | rows/s | rows/s in the command | peak RSS MiB "
        "| re-import s (unchanged) | driver s | driver rows/s | import / driver | load |"
    )
    print("\n" + header)
    print("|" + "---|" * (header.count("|") - 1))
    for r in results:
        own = r.first.own_rate
        print(
            f"| {r.backend} | {r.kind} | {r.rows:,} | {r.file_mib:.1f} | {r.first.seconds:.1f} | {r.rate:,.0f} "
            f"| {f'{own:,.0f}' if own else '-'} | {r.first.peak_mib:.0f} "
            f"| {r.again.seconds:.1f} ({r.again.counts.get('unchanged', 0):,}) | {r.ceiling_s:.2f} "
            f"| {r.ceiling_rate:,.0f} | {r.rate / r.ceiling_rate:.2f} | {r.load:.1f} |",
            flush=True,
        )


def main() -> None:
    """Generate the files, run the benchmark per backend and print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows of each kind")
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS, help="(in this order)")
    parser.add_argument(
        "--backends", nargs="+", default=["sqlite,postgresql"], help="sqlite, postgresql or both"
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("LOGICRM_TEST_POSTGRES_URL", DEFAULT_POSTGRES),
        help="any database on the server; throwaway databases bench_import* are created there and dropped",
    )
    parser.add_argument(
        "--workdir", help="where the CSV files and SQLite databases go (default: a temporary folder)"
    )
    parser.add_argument(
        "--logicrm", default=str(LOGICRM), help="the command to run (default: this venv's logicrm)"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the files and databases")
    args = parser.parse_args()
    args.logicrm = args.logicrm.split()
    args.backends = [b for part in args.backends for b in part.split(",") if b]
    if set(args.backends) - {"sqlite", "postgresql"}:
        parser.error("--backends: sqlite and/or postgresql")
    kinds = [kind for kind in KINDS if kind in args.kinds]
    missing = sorted({needed for kind in kinds for needed in NEEDS[kind]} - set(kinds))
    if missing:
        parser.error(f"--kinds: the files of these kinds refer to {', '.join(missing)}; name them too")
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench_import_"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(machine(args.postgres_url if "postgresql" in args.backends else None), flush=True)
    try:
        started = time.perf_counter()
        files = write_files(World(args.rows), workdir, kinds, args.seed)
        print(f"files generated in {time.perf_counter() - started:.1f} s in {workdir}", flush=True)
        results = []
        for backend in args.backends:
            setup, more = bench(backend, args, workdir, files)
            print(f"{backend} db upgrade: {setup['db upgrade'].seconds:.1f} s", flush=True)
            results += more
        print_table(results)
        print(f"\nload average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
