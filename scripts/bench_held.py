"""Benchmark what one process pays to hold the published scores (issue 13, targets 1 and 6): the
publication's size, one refresh (compute and publish), the process's first read (it loads the
publication), its memory before and after, and health reads once the scores are held.

With --incremental N it times the worker's incremental refresh after N writes of one account each
(`scores.update`, `scores.score`, publishing and the payload's size, the load of a process holding the
previous publication), after one full refresh.

With --stages N it times, N times, the stages between a write and its effect being held by a process
instead: `scores.compute` per phase, pickling (and the payload's size), `published.publish` (pickling
and the insert), `published.load` (the select and unpickling); --profile FILE writes a cProfile of the
first computation. It uses only what the build before had, so PYTHONPATH may point at another tree's
`logicrm` to run the same steps on it.

Usage: .venv/bin/python scripts/bench_held.py --customers 10000 [--database PATH] [--stages 3]
  Without --database, bench_health's portfolio is generated into a temporary SQLite file (~3 min at 10k);
  with it, an existing file (e.g. from a previous run's --keep) is migrated and used.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import os
import pickle
import random
import statistics
import tempfile
import time

from bench_health import load  # sibling script: the same generated portfolio as the health benchmark
from sqlalchemy import func, select

from logicrm import create_app, migrate
from logicrm.customers.models import Customer
from logicrm.db import utcnow
from logicrm.relations.models import Interaction, InteractionKind
from logicrm.scoring import model as churn_models
from logicrm.scoring import published as publications
from logicrm.scoring import refresh, scores
from logicrm.scoring.models import PublishedScores
from logicrm.users import keys as api_keys
from logicrm.users import service as users
from logicrm.users.models import UserRole


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS"))


class Clock:
    """Wall and CPU seconds of a block (the CPU figure holds better on a shared box)."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu

    def __str__(self) -> str:
        return f"{self.wall:.2f} ({self.cpu:.2f})"


def stages(database, params, *, repeats: int, profile: str | None) -> None:
    """Time compute (per phase), pickling, publishing and loading `repeats` times; print one line each:
    seconds of wall (CPU in brackets)."""
    phases = ("sql_load", "graph", "scores")
    steps = ("compute", "pickle", "publish", "load", "total")
    print(f"| run | {' | '.join(phases)} | {' s (CPU) | '.join(steps)} s (CPU) | payload MB | load avg |")
    print("|---" * (len(phases) + len(steps) + 3) + "|")
    for run in range(1, repeats + 1):
        timings: dict[str, float] = {}
        profiler = cProfile.Profile() if profile and run == 1 else None
        with database.session(write=False) as reader:
            model, version = churn_models.active(reader, params)
            latest = publications.head(reader, config_hash=params.config_hash())
            with Clock() as computing:
                if profiler:
                    profiler.enable()
                portfolio = scores.compute(
                    reader, params, model=model, model_version=version, timings=timings
                )
                if profiler:
                    profiler.disable()
        if profiler:
            profiler.dump_stats(profile)
        with Clock() as pickling:
            size = len(pickle.dumps(portfolio, protocol=pickle.HIGHEST_PROTOCOL))
        with Clock() as publishing, database.session_scope() as writer:
            publications.publish(writer, portfolio, supersedes=latest and latest.id)
        del portfolio
        gc.collect()
        with database.session(write=False) as reader:
            head = publications.head(reader, config_hash=params.config_hash())
            with Clock() as loading:
                held = publications.load(reader, head)
        assert held is not None
        del held
        gc.unfreeze()  # what load froze is garbage now: let the next run collect it
        gc.collect()
        total = Clock()  # what one write waits for, poll aside: compute, publish (pickling in it), load
        total.wall = computing.wall + publishing.wall + loading.wall
        total.cpu = computing.cpu + publishing.cpu + loading.cpu
        cells = [f"{timings.get(phase, 0.0):.2f}" for phase in phases]
        cells += [str(clock) for clock in (computing, pickling, publishing, loading, total)]
        print(f"| {run} | {' | '.join(cells)} | {size / 1e6:.1f} | {os.getloadavg()[0]:.1f} |", flush=True)


def incremental(database, params, *, repeats: int) -> None:
    """Time what `logicrm worker` does for one written account after its first, full, refresh: the account
    observed anew (`scores.update`), every account scored (`scores.score`), publishing (its payload's
    size) and the load of a process holding the previous publication (`current_scores`); `repeats` writes,
    one line each (seconds of wall, CPU in brackets)."""
    clocks = {name: Clock() for name in ("update", "score", "publish")}
    for module, name in ((scores, "update"), (scores, "score"), (publications, "publish")):
        _timed(module, name, clocks[name])
    kept = refresh.Kept()
    with Clock() as full:
        refresh.refresh(database, params, max_age_s=1e9, kept=kept)
    with database.session(write=False) as reader:
        ids = list(reader.scalars(select(Customer.id).order_by(Customer.id)))
        churn_models.current_scores(reader, params, max_age_s=1e9, in_request=True)
    print(f"full refresh (compute and publish): {full}; payload {_payload_mb(database):.1f} MB")
    steps = ("update", "score", "publish", "load", "total")
    print(f"| write | {' s (CPU) | '.join(steps)} s (CPU) | payload MB | load avg |")
    print("|---" * (len(steps) + 3) + "|")
    rng = random.Random(7)
    for run in range(1, repeats + 1):
        with database.session_scope() as session:
            session.add(
                Interaction(
                    customer_id=rng.choice(ids), kind=InteractionKind("visit"), at=utcnow(), summary="bench"
                )
            )
        assert refresh.refresh(database, params, max_age_s=1e9, kept=kept) is not None
        gc.collect()
        with database.session(write=False) as reader, Clock() as loading:
            portfolio = churn_models.current_scores(reader, params, max_age_s=1e9, in_request=True)
        assert portfolio.full_as_of is not None and not portfolio.stale
        del portfolio
        gc.unfreeze()  # what the load froze is held or garbage: let the next run collect the garbage
        gc.collect()
        total = Clock()
        timed = (*clocks.values(), loading)
        total.wall, total.cpu = sum(c.wall for c in timed), sum(c.cpu for c in timed)
        cells = [str(clock) for clock in (*timed, total)]
        print(
            f"| {run} | {' | '.join(cells)} | {_payload_mb(database):.2f} | {os.getloadavg()[0]:.1f} |",
            flush=True,
        )


def _timed(module, name: str, clock: Clock) -> None:
    """Make `module.name` record its last call's wall and CPU seconds in `clock`."""
    timed = getattr(module, name)

    def timing(*args, **kwargs):
        with clock:
            return timed(*args, **kwargs)

    setattr(module, name, timing)


def _payload_mb(database) -> float:
    """The size of the latest publication's payload."""
    with database.session(write=False) as session:
        size = session.scalar(
            select(func.length(PublishedScores.payload)).order_by(PublishedScores.id.desc())
        )
    return size / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--database", help="an SQLite file holding a generated portfolio (kept)")
    parser.add_argument("--reads", type=int, default=200)
    parser.add_argument(
        "--stages", type=int, metavar="N", help="time the refresh's stages N times, then stop"
    )
    parser.add_argument("--profile", metavar="FILE", help="with --stages: cProfile the first computation")
    parser.add_argument(
        "--incremental",
        type=int,
        metavar="N",
        help="time the worker's incremental refresh after N writes of one account each, then stop",
    )
    args = parser.parse_args()
    path = args.database or os.path.join(tempfile.mkdtemp(prefix="bench_held_"), "portfolio.db")
    app = create_app({"database_url": f"sqlite:///{path}", "scores_refreshed_by": "worker"})
    database = app.extensions["logicrm.db"]
    migrate.upgrade(database.engine, "head")
    boot = rss_mib()
    if args.database is None:
        generated = argparse.Namespace(
            links_per_customer=10, months=12, shipments_per_customer_year=100.0, seed=7
        )
        load(database, generated, args.customers, "sqlite", dt.datetime.now(dt.UTC).replace(microsecond=0))
        print(f"portfolio generated into {path}")
    if args.incremental:
        incremental(database, app.config["LOGICRM_SCORING"], repeats=args.incremental)
        return
    if args.stages:
        stages(database, app.config["LOGICRM_SCORING"], repeats=args.stages, profile=args.profile)
        return
    started = time.perf_counter()
    published = refresh.refresh(database, app.config["LOGICRM_SCORING"], max_age_s=1e9)
    with database.session(write=False) as session:
        size = session.scalar(
            select(func.length(PublishedScores.payload)).order_by(PublishedScores.id.desc())
        )
        ids = list(session.scalars(select(Customer.id).order_by(Customer.id)))
    took = "up to date already" if published is None else f"{time.perf_counter() - started:.1f} s"
    print(f"refresh (compute and publish): {took}; payload {size / 1e6:.1f} MB")
    with database.session_scope() as session:
        admin = users.create(
            session, name="Bench", email=f"bench{time.time_ns()}@held.example", role=UserRole.ADMIN
        )
        _key, secret = api_keys.create(session, user=admin)
    client, headers = app.test_client(), {"Authorization": f"Bearer {secret}"}
    started = time.perf_counter()
    assert client.get(f"/api/v1/customers/{ids[0]}/health", headers=headers).status_code == 200
    print(f"first read (loads the publication): {time.perf_counter() - started:.2f} s")
    times = []
    for n in range(args.reads):
        started = time.perf_counter()
        client.get(f"/api/v1/customers/{ids[n * 37 % len(ids)]}/health", headers=headers)
        times.append(time.perf_counter() - started)
    p99 = statistics.quantiles(times, n=100)[98] if len(times) > 1 else times[0]
    print(f"health reads: p50 {statistics.median(times) * 1e3:.1f} ms, p99 {p99 * 1e3:.1f} ms")
    print(
        f"RSS: {boot:.0f} MiB at boot, {rss_mib():.0f} MiB holding the scores; load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
