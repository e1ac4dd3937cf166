"""Benchmark the CSV import end to end on SQLite and PostgreSQL, against the plain driver (issue 5).

Per backend: a fresh database, migrated with `logicrm db upgrade`; customers and links imported with
`logicrm import` (timed apart); then, per file size, the shipments file imported with the CLI in a
subprocess (wall time and the subprocess's peak RSS, VmHWM), the same file imported again (every row
unchanged), and, as the ceiling, the same rows inserted by the plain driver into a copy of the
database as it was before the shipments (sqlite3 executemany of ready tuples; psycopg COPY write_row).
The CSV files are generated first and streamed to disk; neither side's timing includes them.

Usage: .venv/bin/python scripts/bench_import.py --rows 1000000 --also-rows 100000 \
    --backends sqlite postgresql --postgres-url postgresql+psycopg://postgres@127.0.0.1:PORT/postgres
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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psycopg
from sqlalchemy import make_url

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:57817/postgres"
LOGICRM = Path(sys.executable).with_name("logicrm")  # the console script of this venv
SHIPPERS, CONSIGNEES, LINKS = 2_000, 20_000, 50_000  # defaults of --shippers, --consignees, --links
POLL_S = 0.05  # how often a CLI subprocess's peak memory is read
CHUNK_ROWS = 100_000  # generated shipments per chunk
START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)  # shipments spread over the year after this, in time order
SPAN_DAYS = 365
IN_TRANSIT, LATE, NOT_IN_FULL, DAMAGED = 0.02, 0.08, 0.03, 0.01
SHIPMENT_HEADER = ("external_ref", "link_ref", "shipped_at", "promised_at", "delivered_at", "in_full",
                   "damaged", "claim_amount", "revenue", "cost")  # fmt: skip
SHIPMENT_COLUMNS = ("external_ref", "link_id", *SHIPMENT_HEADER[2:])
CITIES = ("Shanghai", "Hamburg", "Rotterdam", "Warsaw", "Lyon", "Los Angeles", "Duisburg", "Antwerp")


# --------------------------------------------------------------------------------------------- the files


def write_customers(path: Path, shippers: int, consignees: int) -> int:
    """Write the shippers and consignees the links name; return the rows."""
    with open(path, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(("external_ref", "name", "shipper", "consignee"))
        for k in range(shippers):
            writer.writerow((f"S{k:05d}", f"Shipper {k} GmbH", "true", "false"))
        for k in range(consignees):
            writer.writerow((f"C{k:06d}", f"Consignee {k} Ltd", "false", "true"))
    return shippers + consignees


def write_links(path: Path, links: int, shippers: int, consignees: int, seed: int) -> int:
    """Write distinct shipper → consignee lanes (a few shippers serve thousands); return the rows."""
    rng = np.random.default_rng(seed)
    weight = rng.pareto(1.5, shippers) + 1
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < links:
        ends = rng.choice(shippers, links, p=weight / weight.sum()), rng.integers(0, consignees, links)
        pairs.update(zip(ends[0].tolist(), ends[1].tolist(), strict=True))
    with open(path, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(("external_ref", "shipper_ref", "consignee_ref", "origin", "destination"))
        for k, (s, c) in enumerate(sorted(pairs)[:links]):
            writer.writerow((f"L{k:06d}", f"S{s:05d}", f"C{c:06d}", CITIES[s % 4], CITIES[4 + c % 4]))
    return links


@dataclass
class Chunk:
    """Shipments as numbers: epoch seconds (NaN: in transit), link indices (0-based, file order)."""

    first: int  # number of the first shipment (its external_ref is SH{number:09d})
    link: np.ndarray
    shipped: np.ndarray
    promised: np.ndarray
    delivered: np.ndarray
    in_full: np.ndarray
    damaged: np.ndarray
    claim: np.ndarray
    revenue: np.ndarray
    cost: np.ndarray


def shipment_chunks(rows: int, links: int, seed: int) -> Iterator[Chunk]:
    """Generate `rows` shipments in time order, chunk by chunk (the same rows for the same seed)."""
    rng = np.random.default_rng(seed)
    lane_weight = rng.pareto(1.2, links) + 1
    lane_weight /= lane_weight.sum()
    lane_transit = rng.integers(1, 6, links) * 86_400.0
    lane_price = rng.lognormal(5.0, 0.6, links)
    t0, step = START.timestamp(), SPAN_DAYS * 86_400 / rows
    for first in range(0, rows, CHUNK_ROWS):
        k = min(CHUNK_ROWS, rows - first)
        link = rng.choice(links, k, p=lane_weight)
        shipped = np.floor(t0 + (first + np.arange(k) + rng.random(k)) * step)
        transit = lane_transit[link]
        late = rng.random(k) < LATE
        delivered = shipped + np.round(
            np.where(late, transit * rng.uniform(1.1, 2, k), transit * rng.uniform(0.6, 1, k))
        )
        delivered[rng.random(k) < IN_TRANSIT] = np.nan
        damaged = rng.random(k) < DAMAGED
        revenue = np.round(lane_price[link] * rng.lognormal(0, 0.2, k), 2)
        yield Chunk(
            first, link, shipped, shipped + transit, delivered, rng.random(k) >= NOT_IN_FULL, damaged,
            np.where(damaged, np.round(revenue * rng.uniform(0.2, 1.5, k), 2), 0.0), revenue,
            np.round(revenue * rng.uniform(0.72, 1.02, k), 2),
        )  # fmt: skip


def _stamps(seconds: np.ndarray, *, sqlite: bool) -> list[str | None]:
    """Render epoch seconds (NaN: empty) as the CSV writes them (ISO 8601, Z) or as SQLAlchemy stores them on SQLite."""
    missing = np.isnan(seconds)
    stamps = np.where(missing, 0, seconds).astype("int64").astype("datetime64[s]")
    if sqlite:
        text = np.datetime_as_string(stamps.astype("datetime64[us]"), unit="us")
        text.view(np.uint32).reshape(len(text), -1)[:, 10] = ord(" ")
    else:
        text = np.char.add(np.datetime_as_string(stamps, unit="s"), "Z")
    values = text.tolist()
    for i in np.flatnonzero(missing).tolist():
        values[i] = None
    return values


def write_shipments(path: Path, rows: int, links: int, seed: int) -> int:
    """Stream `rows` generated shipments to a CSV file, one chunk in memory at a time; return its bytes."""
    with open(path, "w", newline="") as out:
        out.write(",".join(SHIPMENT_HEADER) + "\r\n")
        for c in shipment_chunks(rows, links, seed):
            bools = np.array(["false", "true"])
            lines = zip(
                range(c.first, c.first + len(c.link)),
                c.link.tolist(),
                _stamps(c.shipped, sqlite=False),
                _stamps(c.promised, sqlite=False),
                _stamps(c.delivered, sqlite=False),
                bools[c.in_full.astype(int)].tolist(),
                bools[c.damaged.astype(int)].tolist(),
                c.claim.tolist(),
                c.revenue.tolist(),
                c.cost.tolist(),
                strict=True,
            )
            out.writelines(
                f"SH{n:09d},L{link:06d},{s},{p},{d or ''},{f},{g},{claim:.2f},{revenue:.2f},{cost:.2f}\r\n"
                for n, link, s, p, d, f, g, claim, revenue, cost in lines
            )
    return path.stat().st_size


def driver_rows(rows: int, seed: int, link_ids: dict[str, int], backend: str) -> list[tuple]:
    """Build the same shipments as ready driver tuples: SQLite text and 1/0, or aware datetimes for COPY."""
    out: list[tuple] = []
    sqlite = backend == "sqlite"
    ids = np.array([link_ids[f"L{k:06d}"] for k in range(len(link_ids))])
    for c in shipment_chunks(rows, len(link_ids), seed):
        if sqlite:
            times = [_stamps(t, sqlite=True) for t in (c.shipped, c.promised, c.delivered)]
            flags = [c.in_full.astype(int).tolist(), c.damaged.astype(int).tolist()]
        else:
            times = [
                [None if np.isnan(t) else dt.datetime.fromtimestamp(t, dt.UTC) for t in column.tolist()]
                for column in (c.shipped, c.promised, c.delivered)
            ]
            flags = [c.in_full.tolist(), c.damaged.tolist()]
        out.extend(
            zip(
                [f"SH{n:09d}" for n in range(c.first, c.first + len(c.link))],
                ids[c.link].tolist(),
                *times,
                *flags,
                c.claim.tolist(),
                c.revenue.tolist(),
                c.cost.tolist(),
                strict=True,
            )
        )
    return out


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


def cli(target: Target, workdir: Path, *args: str) -> Run:
    """Run `logicrm ARGS` on the target database; measure its wall time and its own peak RSS."""
    env = {
        **os.environ,
        "LOGICRM_DATABASE_URL": target.url,
        "LOGICRM_INSTANCE_PATH": str(workdir / "instance"),
    }
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen([str(LOGICRM), *args], env=env, stdout=subprocess.DEVNULL, stderr=errors)
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


def link_ids(target: Target) -> dict[str, int]:
    """Map link external_ref → id as the links import assigned them."""
    sql = "SELECT external_ref, id FROM links"
    if target.backend == "sqlite":
        with sqlite3.connect(target.path) as connection:
            return dict(connection.execute(sql).fetchall())
    with psycopg.connect(target.driver_dsn()) as connection:
        return dict(connection.execute(sql).fetchall())


def ceiling(target: Target, rows: list[tuple]) -> float:
    """Insert ready tuples with the plain driver in one transaction, committed; return the seconds."""
    columns = ", ".join(SHIPMENT_COLUMNS)
    if target.backend == "sqlite":
        # the connection settings of logicrm.db.make_engine: WAL, foreign keys, synchronous=NORMAL
        connection = sqlite3.connect(target.path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL"):
            connection.execute(f"PRAGMA {pragma}")
        started = time.perf_counter()
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(
            f"INSERT INTO shipments ({columns}) VALUES ({', '.join('?' * len(SHIPMENT_COLUMNS))})", rows
        )
        connection.execute("COMMIT")
        seconds = time.perf_counter() - started
        connection.close()
        return seconds
    with psycopg.connect(target.driver_dsn()) as connection:
        started = time.perf_counter()
        with connection.cursor() as cursor, cursor.copy(f"COPY shipments ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        connection.commit()
        return time.perf_counter() - started


@dataclass
class Result:
    backend: str
    rows: int
    file_mib: float
    first: Run
    again: Run
    ceiling_s: float


def bench(backend: str, args, workdir: Path, files: dict[int, Path]) -> tuple[dict[str, Run], list[Result]]:
    """Migrate a fresh database, import customers and links, then each shipments file and its ceiling."""
    base = fresh(backend, workdir, args.postgres_url)
    made: list[Target] = [base]
    try:
        setup = {
            "db upgrade": cli(base, workdir, "db", "upgrade"),
            "customers": cli(base, workdir, "import", "customers", str(workdir / "customers.csv")),
            "links": cli(base, workdir, "import", "links", str(workdir / "links.csv")),
        }
        for name, run in setup.items():
            print(
                f"{backend} {name}: {run.seconds:.1f} s, peak {run.peak_mib:.0f} MiB {run.summary}",
                flush=True,
            )
        ids = link_ids(base)
        results = []
        for rows, path in files.items():
            imported, plain = base.copy(f"import_{rows}"), base.copy(f"ceiling_{rows}")
            made += [imported, plain]
            first = cli(imported, workdir, "import", "shipments", str(path))
            again = cli(imported, workdir, "import", "shipments", str(path))
            tuples = driver_rows(rows, args.seed, ids, backend)
            ceiling_s = ceiling(plain, tuples)
            del tuples
            result = Result(backend, rows, path.stat().st_size / 2**20, first, again, ceiling_s)
            results.append(result)
            print(
                f"{backend} {rows:,}: import {first.seconds:.1f} s ({rows / first.seconds:,.0f} rows/s, peak "
                f"{first.peak_mib:.0f} MiB) {first.summary} | again {again.seconds:.1f} s {again.summary} "
                f"| ceiling {ceiling_s:.1f} s ({rows / ceiling_s:,.0f} rows/s)",
                flush=True,
            )
            if not args.keep:
                for target in (imported, plain):
                    target.drop()
        return setup, results
    finally:
        if not args.keep:
            for target in made:
                target.drop()


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


def print_tables(setup: dict[str, dict[str, Run]], results: list[Result]) -> None:
    """Print the setup imports and the shipments table as markdown."""
    print("\n| backend | step | rows | s | rows/s | peak RSS MiB |")
    print("|---|---|---|---|---|---|")
    for backend, runs in setup.items():
        for name, run in runs.items():
            rows = sum(run.counts.values())
            rate = f"{rows / run.seconds:,.0f}" if rows else "-"
            print(f"| {backend} | {name} | {rows:,} | {run.seconds:.1f} | {rate} | {run.peak_mib:.0f} |")
    header = (
        "| backend | shipments | file MiB | import s | import rows/s | peak RSS MiB | re-import s (unchanged) "
        "| re-import rows/s | driver s | driver rows/s | import / driver |"
    )
    print("\n" + header)
    print("|" + "---|" * (header.count("|") - 1))
    for r in results:
        rate, again, plain = r.rows / r.first.seconds, r.rows / r.again.seconds, r.rows / r.ceiling_s
        print(
            f"| {r.backend} | {r.rows:,} | {r.file_mib:.0f} | {r.first.seconds:.1f} | {rate:,.0f} "
            f"| {r.first.peak_mib:.0f} | {r.again.seconds:.1f} ({r.again.counts.get('unchanged', 0):,}) "
            f"| {again:,.0f} | {r.ceiling_s:.1f} | {plain:,.0f} | {rate / plain:.2f} |",
            flush=True,
        )


def main() -> None:
    """Generate the files, run the benchmark per backend and print markdown tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="shipments in the main file")
    parser.add_argument(
        "--also-rows", type=int, default=100_000, help="a smaller file too, to show memory is flat (0: none)"
    )
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
    parser.add_argument("--shippers", type=int, default=SHIPPERS)
    parser.add_argument("--consignees", type=int, default=CONSIGNEES)
    parser.add_argument("--links", type=int, default=LINKS)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the files and databases")
    args = parser.parse_args()
    args.backends = [
        b for part in args.backends for b in part.split(",") if b
    ]  # sqlite,postgresql or two words
    if set(args.backends) - {"sqlite", "postgresql"}:
        parser.error("--backends: sqlite and/or postgresql")
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench_import_"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(machine(args.postgres_url if "postgresql" in args.backends else None), flush=True)
    try:
        started = time.perf_counter()
        write_customers(workdir / "customers.csv", args.shippers, args.consignees)
        write_links(workdir / "links.csv", args.links, args.shippers, args.consignees, args.seed)
        files = {}
        for rows in sorted({args.rows, args.also_rows} - {0}):
            files[rows] = workdir / f"shipments_{rows}.csv"
            write_shipments(files[rows], rows, args.links, args.seed)
        print(f"files generated in {time.perf_counter() - started:.1f} s in {workdir}", flush=True)
        setup, results = {}, []
        for backend in args.backends:
            setup[backend], more = bench(backend, args, workdir, files)
            results += more
        print_tables(setup, results)
        print(f"\nload average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
