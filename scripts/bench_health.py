"""Benchmark a full health run on a generated portfolio, on SQLite and PostgreSQL (issue 4).

For each backend and size: a fresh database, migrated; a generated portfolio written with bulk inserts
(COPY on PostgreSQL); then `run_health` timed per phase, first on the fresh portfolio (every alert is new)
and then again as the next night's run (alerts refreshed, risk compared with the first run's snapshots).

Usage: .venv/bin/python scripts/bench_health.py --sizes 1000 10000 100000 --backends sqlite postgresql
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from bench_network import synthetic_network  # sibling script: the same topology as the network benchmark
from sqlalchemy import Connection, create_engine, make_url, text

from logicrm import migrate
from logicrm.config import Settings
from logicrm.db import Database, make_engine
from logicrm.health.rule_params import RuleParams
from logicrm.health.runs import RunConfig, run_health
from logicrm.network.graph import CONSIGNEE, SHIPPER
from logicrm.network.params import ScoringParams
from logicrm.outbox.models import WebhookReceiver
from logicrm.relations.models import Dimension
from logicrm.users import service as users
from logicrm.users.models import UserRole

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:57817/postgres"
PHASES = ("sql_load", "graph", "scores", "rules", "kpis", "snapshots", "alerts_and_outbox")
DAY_S = 86_400
MONTH_DAYS = 365.25 / 12
CHUNK_ROWS = 200_000  # rows per generated shipment chunk and per executemany batch

# Portfolio shape (the topology and tiers come from bench_network.synthetic_network).
CUSTOMERS_PER_OWNER = 500  # account managers
CHURNED = 0.02
VIP_SHARE, KEY_SHARE, TIER_OFF = 0.05, 0.15, 0.05  # tiers follow value, except for a few accounts
ENDED_LINKS, PAUSED_LINKS = 0.02, 0.01
FALLING, FALLING_DAYS, FALLING_KEPT = 0.03, 60, 0.2  # customers losing 80% of their last two months
DEPARTMENT_NAMES = (
    "Logistics",
    "Procurement",
    "Finance",
    "Quality",
    "Warehouse",
    "Management",
    "Sales",
    "Service",
)
OTHER_DECIDING = 0.2  # besides the first department, each one decides with this probability
SILENT_DEPARTMENTS = 0.03  # never answer
SURVEY_WAVES, SURVEY_ANSWERED = 4, 0.85  # quarterly surveys, each answered by most departments
MOOD_SD, DEPARTMENT_MOOD_SD, PERCEPTION_BIAS = 0.8, 0.5, 0.3  # perception - expectation, in scale points
LTR_MEAN, LTR_PER_MOOD = 8.2, 1.2
DIMENSIONS = tuple(d.value for d in Dimension)
CONTACTS_PER_CADENCE = 1.5  # earlier contacts per cadence period, besides the last one
LAST_CONTACT_SPREAD = 1.05  # the last contact lies within this many cadences (so a few are overdue)
NEGLECTED = 0.05  # customers nobody contacted all year
TICKETS_PER_CUSTOMER_YEAR, TICKETS_OPEN, OPEN_TICKET_AGE_DAYS = 0.8, 0.1, 3.0  # open ones are mostly recent
RENEWAL_OPEN, OTHER_OPPORTUNITIES = 0.5, 0.3


# --------------------------------------------------------------------------------------------- the data


@dataclass
class Table:
    """Rows to write: column names and chunks, each chunk a list of equally long columns."""

    name: str
    columns: tuple[str, ...]
    chunks: Iterable[list[Sequence]]


@dataclass
class Portfolio:
    """What was generated (the tables are generators: shipments are made chunk by chunk as they are written)."""

    now: dt.datetime
    customers: int
    links: int
    tables: list[Table]
    rows: dict[str, int] = field(default_factory=dict)


def _timestamps(seconds: np.ndarray, backend: str) -> list:
    """Render epoch seconds (NaN for NULL) as the backend stores UTC timestamps."""
    missing = np.isnan(seconds) if seconds.dtype.kind == "f" else np.zeros(len(seconds), bool)
    stamps = np.where(missing, 0, seconds).astype("int64").astype("datetime64[s]")
    if backend == "postgresql":
        text_ = np.datetime_as_string(stamps, unit="s", timezone="UTC")
    else:
        # SQLAlchemy's SQLite format, 'YYYY-MM-DD HH:MM:SS.ffffff': compared as text against bound values
        text_ = np.datetime_as_string(stamps.astype("datetime64[us]"), unit="us")
        text_.view(np.uint32).reshape(len(text_), -1)[:, 10] = ord(" ")
    values = text_.tolist()
    if missing.any():
        for i in np.flatnonzero(missing).tolist():
            values[i] = None
    return values


def _dates(days: np.ndarray) -> list:
    """Render epoch days (NaN for NULL) as ISO dates."""
    missing = np.isnan(days)
    values = np.datetime_as_string(
        np.where(missing, 0, days).astype("int64").astype("datetime64[D]")
    ).tolist()
    for i in np.flatnonzero(missing).tolist():
        values[i] = None
    return values


def generate(
    n: int,
    *,
    links_per_customer: int,
    months: int,
    shipments_per_customer_year: float,
    seed: int,
    backend: str,
    owner_ids: list[int],
    now: dt.datetime,
) -> Portfolio:
    """Generate a portfolio of `n` customers (ids 1..n) ending at `now`, rendered for `backend`."""
    rng = np.random.default_rng(seed)
    params = ScoringParams()
    nodes, link_records = synthetic_network(n, links_per_customer, rng)
    t_now = now.timestamp()
    d_now = t_now / DAY_S

    def ts(seconds) -> list:
        return _timestamps(np.asarray(seconds, float), backend)

    ids = np.arange(1, n + 1)
    ships = np.array([SHIPPER in node.roles for node in nodes])
    receives = np.array([CONSIGNEE in node.roles for node in nodes])

    # links: the synthetic network's lanes; its 90-day volume sets each lane's share of the shipments
    m = len(link_records)
    shipper = np.array([r.shipper_id for r in link_records])
    consignee = np.array([r.consignee_id for r in link_records])
    link_ids = np.arange(1, m + 1)
    weight = np.array([r.volume_90d for r in link_records])
    declared_only = weight == 0  # new lanes: a declared volume, no shipments yet
    span_days = months * MONTH_DAYS
    target = n * shipments_per_customer_year * months / 12
    per_link = weight * target / weight.sum()  # expected shipments over the span
    declared = np.array([r.declared_monthly_volume or 0.0 for r in link_records])
    declared = np.where(declared_only, declared * target / max(weight.sum(), 1) * 3 / max(months, 1), np.nan)
    status_draw = rng.random(m)
    ended = status_draw < ENDED_LINKS
    paused = ~ended & (status_draw < ENDED_LINKS + PAUSED_LINKS)
    ended_ago = np.where(ended, rng.uniform(0.1, 0.6, m) * span_days, 0.0)  # shipped before it ended
    started_ago = np.where(declared_only, rng.uniform(5, 60, m), rng.uniform(span_days + 30, 2500, m))
    started_ago = np.maximum(started_ago, ended_ago + 30)
    links = Table(
        "links",
        ("id", "shipper_id", "consignee_id", "origin", "destination", "service_type", "declared_monthly_volume",
         "started_on", "ended_on", "status", "version"),
        [[
            link_ids,
            shipper + 1,
            consignee + 1,
            rng.choice(["Shanghai", "Hamburg", "Rotterdam", "Warsaw", "Lyon", "Los Angeles"], m),
            rng.choice(["Duisburg", "Antwerp", "Poznań", "Paris", "Newark", "Birmingham"], m),
            rng.choice(["ftl", "ltl", "parcel", "ocean", "air", "rail"], m, p=[0.35, 0.3, 0.15, 0.1, 0.05, 0.05]),
            [None if np.isnan(v) else round(v, 1) for v in declared.tolist()],
            _dates(d_now - started_ago),
            _dates(np.where(ended, d_now - ended_ago, np.nan)),
            np.where(ended, "ended", np.where(paused, "paused", "active")),
            np.ones(m, int),
        ]],
    )  # fmt: skip

    counts = np.where(declared_only, 0, rng.poisson(per_link))
    falling = rng.random(n) < FALLING
    traits = {
        "transit": rng.integers(1, 6, m).astype(float),
        "late": rng.beta(1.2, 14, m),
        "price": rng.lognormal(5.0, 0.6, m),
        "margin": rng.uniform(0.72, 1.02, m),
        "damage": rng.beta(1, 120, m),
        "falling": falling[shipper] | falling[consignee],
        "ended_ago": ended_ago,
    }
    # customers, and their roles
    tier = _tiers(ships, per_link * traits["price"], shipper, consignee, rng)
    churned = rng.random(n) < CHURNED
    names = [f"Bench {i:07d} Logistics Customer Ltd" for i in ids.tolist()]
    customers = Table(
        "customers",
        ("id", "external_ref", "name", "normalized_name", "industry", "region", "tier", "status", "owner_id",
         "acquired_on", "churned_on", "version", "created_at", "updated_at"),
        [[
            ids,
            [f"BEN-{i:07d}" for i in ids.tolist()],
            names,
            [name.lower() for name in names],
            rng.choice(["retail", "FMCG", "electronics", "automotive", "pharma", "chemicals"], n),
            rng.choice(["China East", "Germany", "Benelux", "Poland", "France", "USA West"], n),
            tier,
            np.where(churned, "churned", "active"),
            np.array(owner_ids)[rng.integers(0, len(owner_ids), n)],
            _dates(d_now - rng.uniform(400, 4000, n)),
            _dates(np.where(churned, d_now - rng.uniform(10, 300, n), np.nan)),
            np.ones(n, int),
            ts(np.full(n, t_now - 400 * DAY_S)),
            ts(np.full(n, t_now - 400 * DAY_S)),
        ]],
    )  # fmt: skip
    shipper_ids = ids[ships]
    contract_end = d_now + rng.uniform(-60, 900, len(shipper_ids))
    shipper_profiles = Table(
        "shipper_profiles",
        ("customer_id", "contract_start", "contract_end", "services", "contracted_annual_value",
         "on_time_target", "version"),
        [[
            shipper_ids,
            _dates(contract_end - 365 * rng.integers(1, 4, len(shipper_ids))),
            _dates(contract_end),
            ['["ftl", "ltl"]'] * len(shipper_ids),
            np.round(rng.lognormal(12, 1, len(shipper_ids)), 2),
            np.round(rng.uniform(0.9, 0.98, len(shipper_ids)), 3),
            np.ones(len(shipper_ids), int),
        ]],
    )  # fmt: skip
    consignee_ids = ids[receives]
    consignee_profiles = Table(
        "consignee_profiles",
        ("customer_id", "sites", "version"),
        [[consignee_ids, ["[]"] * len(consignee_ids), np.ones(len(consignee_ids), int)]],
    )

    shipments = Table(
        "shipments",
        ("link_id", "shipped_at", "promised_at", "delivered_at", "in_full", "damaged", "claim_amount", "revenue",
         "cost"),
        _shipment_chunks(counts, traits, rng, t_now=t_now, span_days=span_days, backend=backend),
    )  # fmt: skip

    # departments: 2-4 per customer, the first deciding, the others sometimes
    per_customer = rng.integers(2, 5, n)
    owner = np.repeat(ids, per_customer)
    position = np.arange(len(owner)) - np.repeat(np.cumsum(per_customer) - per_customer, per_customer)
    name_order = np.argsort(rng.random((n, len(DEPARTMENT_NAMES))), axis=1)
    dept_names = np.array(DEPARTMENT_NAMES)[name_order[owner - 1, position]]
    deciding = (position == 0) | (rng.random(len(owner)) < OTHER_DECIDING)
    n_dept = len(owner)
    dept_ids = np.arange(1, n_dept + 1)
    departments = Table(
        "departments",
        ("id", "customer_id", "name", "decision_weight", "is_decision_maker", "version"),
        [[dept_ids, owner, dept_names, np.where(deciding, rng.uniform(2, 3, n_dept).round(1), 1.0), deciding,
          np.ones(n_dept, int)]],
    )  # fmt: skip

    # survey responses: quarterly waves over the year, answered by most departments; a few never answer
    mood = rng.normal(0, MOOD_SD, n)[owner - 1] + rng.normal(0, DEPARTMENT_MOOD_SD, n_dept)
    answered = (rng.random((n_dept, SURVEY_WAVES)) < SURVEY_ANSWERED) & (
        rng.random(n_dept) >= SILENT_DEPARTMENTS
    )[:, None]
    r_dept_index, r_wave = np.nonzero(answered)
    r_ago = r_wave * 365 / SURVEY_WAVES + rng.uniform(0, 30, len(r_wave))
    in_time = np.argsort(-r_ago, kind="stable")  # ids in the order they were collected, as in production
    r_dept_index, r_ago = r_dept_index[in_time], r_ago[in_time]
    r_dept = dept_ids[r_dept_index]
    r_n = len(r_dept)
    r_mood = mood[r_dept_index]
    ltr = np.clip(np.round(LTR_MEAN + LTR_PER_MOOD * r_mood + rng.normal(0, 1.2, r_n)), 0, 10)
    responses = Table(
        "survey_responses",
        ("id", "customer_id", "department_id", "collected_at", "channel", "scale_min", "scale_max",
         "likelihood_to_recommend", "version"),
        [[
            np.arange(1, r_n + 1),
            owner[r_dept - 1],
            r_dept,
            ts(t_now - r_ago * DAY_S),
            rng.choice(["email", "visit", "phone"], r_n),
            np.ones(r_n, int),
            np.full(r_n, 7),
            [None if skip else int(v) for skip, v in zip((rng.random(r_n) < 0.2).tolist(), ltr.tolist(), strict=True)],
            np.ones(r_n, int),
        ]],
    )  # fmt: skip
    dims_per = rng.integers(3, 6, r_n)
    s_response = np.repeat(np.arange(1, r_n + 1), dims_per)
    s_position = np.arange(len(s_response)) - np.repeat(np.cumsum(dims_per) - dims_per, dims_per)
    dim_order = np.argsort(rng.random((r_n, len(DIMENSIONS))), axis=1)
    s_n = len(s_response)
    expectation = rng.integers(4, 8, s_n)
    perception = np.clip(
        np.round(expectation + PERCEPTION_BIAS + r_mood[s_response - 1] + rng.normal(0, 0.7, s_n)), 1, 7
    )
    scores = Table(
        "survey_scores",
        ("response_id", "dimension", "importance", "expectation", "perception"),
        [[
            s_response,
            np.array(DIMENSIONS)[dim_order[s_response - 1, s_position]],
            rng.integers(1, 6, s_n).astype(float),
            expectation.astype(float),
            perception,
        ]],
    )  # fmt: skip

    # interactions on each tier's cadence: a last contact within about one cadence, earlier ones over the
    # year; a few customers neglected all year
    cadence = np.array([params.cadence_days(t) for t in tier], float)
    contacted = rng.random(n) >= NEGLECTED
    earlier = rng.poisson(CONTACTS_PER_CADENCE * 365 / cadence) * contacted
    met = earlier + contacted
    i_n = int(met.sum())
    last = np.flatnonzero(contacted)
    i_ago = rng.uniform(0, 365, i_n)
    i_ago[np.cumsum(met)[last] - 1] = rng.uniform(0, LAST_CONTACT_SPREAD, len(last)) * cadence[last]
    in_time = np.argsort(-i_ago, kind="stable")
    i_customer, i_ago = np.repeat(ids, met)[in_time], i_ago[in_time]
    interactions = Table(
        "interactions",
        ("customer_id", "kind", "at", "summary", "version"),
        [[
            i_customer,
            rng.choice(["visit", "call", "email", "meeting", "review"], i_n),
            ts(t_now - i_ago * DAY_S),
            ["Quarterly review of lanes and volumes"] * i_n,
            np.ones(i_n, int),
        ]],
    )  # fmt: skip

    # tickets: most resolved, some left open (a few of those past their SLA)
    raised = rng.poisson(TICKETS_PER_CUSTOMER_YEAR, n)
    t_n = int(raised.sum())
    kind = rng.choice(["complaint", "claim", "request"], t_n, p=[0.5, 0.2, 0.3])
    still_open = rng.random(t_n) < TICKETS_OPEN
    opened = (
        t_now
        - np.where(still_open, rng.exponential(OPEN_TICKET_AGE_DAYS, t_n), rng.uniform(0, 365, t_n)) * DAY_S
    )
    resolved = np.minimum(opened + rng.uniform(0.5, 20, t_n) * DAY_S, t_now)
    tickets = Table(
        "tickets",
        ("customer_id", "kind", "severity", "subject", "opened_at", "first_response_at", "resolved_at", "status",
         "claim_amount", "version"),
        [[
            np.repeat(ids, raised),
            kind,
            rng.choice(["low", "medium", "high"], t_n, p=[0.3, 0.5, 0.2]),
            [f"{k} about a delivery" for k in kind.tolist()],
            ts(opened),
            ts(np.minimum(opened + rng.uniform(0.05, 2, t_n) * DAY_S, t_now)),
            ts(np.where(still_open, np.nan, resolved)),
            np.where(still_open, rng.choice(["open", "in_progress"], t_n), rng.choice(["resolved", "closed"], t_n)),
            [round(v, 2) if k == "claim" else None for k, v in zip(kind.tolist(), rng.lognormal(7, 1, t_n).tolist(), strict=True)],
            np.ones(t_n, int),
        ]],
    )  # fmt: skip

    # opportunities: renewals for half the shippers, a few other deals everywhere
    renewing = shipper_ids[rng.random(len(shipper_ids)) < RENEWAL_OPEN]
    other = np.repeat(ids, rng.poisson(OTHER_OPPORTUNITIES, n))
    o_customer = np.concatenate([renewing, other])
    o_n = len(o_customer)
    o_kind = np.concatenate(
        [np.full(len(renewing), "renewal"), rng.choice(["new", "cross_sell", "up_sell"], len(other))]
    )
    opportunities = Table(
        "opportunities",
        ("customer_id", "kind", "stage", "title", "value", "probability", "expected_close", "version"),
        [[
            o_customer,
            o_kind,
            rng.choice(["lead", "proposal", "negotiation", "tender", "won", "lost"], o_n),
            [f"{k} deal" for k in o_kind.tolist()],
            np.round(rng.lognormal(10, 1, o_n), 2),
            np.round(rng.uniform(0.05, 0.9, o_n), 2),
            _dates(d_now + rng.uniform(-30, 240, o_n)),
            np.ones(o_n, int),
        ]],
    )  # fmt: skip

    return Portfolio(
        now=now,
        customers=n,
        links=m,
        tables=[customers, shipper_profiles, consignee_profiles, links, shipments, departments, responses, scores,
                interactions, tickets, opportunities],
    )  # fmt: skip


def _tiers(
    ships: np.ndarray, lane_value: np.ndarray, shipper: np.ndarray, consignee: np.ndarray, rng
) -> list[str]:
    """Tier customers by value (payers by what they are billed, pure consignees by what they receive), a few off."""
    billed = np.bincount(shipper, lane_value, minlength=len(ships))
    received = np.bincount(consignee, lane_value, minlength=len(ships))
    value = np.where(ships, billed, received)
    tier = np.full(len(ships), "standard", dtype=object)
    for group in (ships, ~ships):
        members = np.flatnonzero(group)
        rank = members[np.argsort(-value[members])]
        vip, key = round(VIP_SHARE * len(rank)), round((VIP_SHARE + KEY_SHARE) * len(rank))
        tier[rank[:vip]], tier[rank[vip:key]] = "vip", "key"
    off = rng.random(len(ships)) < TIER_OFF
    tier[off] = rng.choice(
        ["vip", "key", "standard"], int(off.sum()), p=[VIP_SHARE, KEY_SHARE, 1 - VIP_SHARE - KEY_SHARE]
    )
    return tier.tolist()


def _shipment_chunks(
    counts: np.ndarray,
    traits: dict,
    rng: np.random.Generator,
    *,
    t_now: float,
    span_days: float,
    backend: str,
) -> Iterator[list[Sequence]]:
    """Make every shipment as numbers, then yield them in time order, CHUNK_ROWS at a time, as text.

    Time order is how a shipment table fills up in production (one import a day), and it decides the
    physical layout both databases scan: written lane by lane, every row of a lane would sit together.
    """
    lane = np.repeat(np.arange(len(counts), dtype=np.int32), counts)
    low = traits["ended_ago"][lane]
    ago = low + rng.random(len(lane)) * (span_days - low)
    keep = ~(traits["falling"][lane] & (ago < FALLING_DAYS)) | (rng.random(len(lane)) < FALLING_KEPT)
    order = np.argsort(-ago[keep], kind="stable")
    lane, shipped = lane[keep][order], t_now - ago[keep][order] * DAY_S
    del low, ago, keep, order
    for start in range(0, len(lane), CHUNK_ROWS):
        part, sent = lane[start : start + CHUNK_ROWS], shipped[start : start + CHUNK_ROWS]
        k = len(part)
        transit = traits["transit"][part] * DAY_S
        late = rng.random(k) < traits["late"][part]
        delivered = sent + np.where(
            late, transit + rng.uniform(0.3, 3, k) * DAY_S, transit * rng.uniform(0.6, 1.0, k)
        )
        delivered = np.where(delivered > t_now, np.nan, delivered)  # still on its way
        damaged = rng.random(k) < traits["damage"][part]
        revenue = np.round(traits["price"][part] * rng.lognormal(0, 0.2, k), 2)
        yield [
            part + 1,
            _timestamps(sent, backend),
            _timestamps(sent + transit, backend),
            _timestamps(delivered, backend),
            rng.random(k) >= 0.03,
            damaged,
            np.where(damaged & (rng.random(k) < 0.5), np.round(revenue * rng.uniform(0.2, 1.5, k), 2), 0.0),
            revenue,
            np.round(revenue * traits["margin"][part], 2),
        ]


# ------------------------------------------------------------------------------------------ the writing


def write(connection: Connection, table: Table) -> int:
    """Write a table's chunks: COPY on PostgreSQL, one executemany per chunk on SQLite; return the rows."""
    written = 0
    columns = ", ".join(table.columns)
    raw = connection.connection.driver_connection
    for chunk in table.chunks:
        values = [c.tolist() if isinstance(c, np.ndarray) else c for c in chunk]
        rows = list(zip(*values, strict=True))
        if connection.dialect.name == "postgresql":
            with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" * len(table.columns))
            for start in range(0, len(rows), CHUNK_ROWS):
                connection.exec_driver_sql(
                    f"INSERT INTO {table.name} ({columns}) VALUES ({marks})", rows[start : start + CHUNK_ROWS]
                )
        written += len(rows)
    return written


def load(database: Database, args, n: int, backend: str, now: dt.datetime) -> tuple[Portfolio, dict]:
    """Create owners and a webhook receiver, then generate and write the portfolio; return it and timings."""
    started = time.perf_counter()
    with database.session_scope() as session:
        owner_ids = [
            users.create(
                session,
                name=f"Account manager {k}",
                email=f"am{k}@bench.logicrm.example",
                role=UserRole.ACCOUNT_MANAGER,
            ).id
            for k in range(max(3, n // CUSTOMERS_PER_OWNER))
        ]
        session.add(WebhookReceiver(url="https://hooks.bench.example/logicrm", secret="bench-secret"))
    portfolio = generate(
        n,
        links_per_customer=args.links_per_customer,
        months=args.months,
        shipments_per_customer_year=args.shipments_per_customer_year,
        seed=args.seed,
        backend=backend,
        owner_ids=owner_ids,
        now=now,
    )
    with database.engine.begin() as connection:
        for table in portfolio.tables:
            portfolio.rows[table.name] = write(connection, table)
        if backend == "postgresql":
            for name in ("customers", "links", "departments", "survey_responses"):
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))"
                    )
                )
    written = time.perf_counter()
    # Leave the database as a night after ordinary days of writes finds it, not straight after one giant
    # transaction: PostgreSQL vacuumed and analysed (autovacuum's job by then), SQLite's WAL checkpointed
    # and truncated (day-to-day writes never let it grow past the auto-checkpoint size).
    if backend == "postgresql":
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    else:
        # on the driver's connection: SQLAlchemy would open a transaction first (logicrm.db's BEGIN
        # IMMEDIATE, even in AUTOCOMMIT), inside which SQLite refuses to checkpoint ("table is locked")
        with database.engine.connect() as connection:
            connection.connection.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return portfolio, {"load_s": written - started, "settle_s": time.perf_counter() - written}


# ------------------------------------------------------------------------------------------ the runs


@dataclass
class Result:
    backend: str
    size: int
    run: str  # first | nightly
    rows: dict[str, int]
    load_s: float
    settle_s: float
    phases: dict[str, float]
    wall_s: float
    counts: dict
    load: float  # the 1-minute load average at the end of the run (the box may be shared)
    cpu_s: float  # this process's CPU time in the run (PostgreSQL's own work not included)


def _postgres_database(server_url: str, name: str, *, create: bool) -> str:
    """Create (or drop) a throwaway database on the server; return its URL."""
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if create:
            connection.exec_driver_sql(f"CREATE DATABASE {name}")
    admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def bench(backend: str, n: int, args) -> list[Result]:
    """Build one database of `n` customers, run the health checks on it, and drop it (unless --keep)."""
    workdir = tempfile.mkdtemp(prefix="bench_health_") if backend == "sqlite" else None
    name = f"bench_{n}"
    if backend == "sqlite":
        url = f"sqlite:///{workdir}/{name}.db"
    else:
        url = _postgres_database(args.postgres_url, name, create=True)
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        database = Database(engine)
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        portfolio, load_times = load(database, args, n, backend, now)
        config = RunConfig(Settings(database_url=url), ScoringParams(), RuleParams())
        results = []
        for k in range(args.runs):
            at = now + dt.timedelta(days=k)
            profiler = cProfile.Profile() if args.profile else None
            started, started_cpu = time.perf_counter(), time.process_time()
            if profiler:
                profiler.enable()
            run = run_health(database, config, slot=f"bench-{k}", now=at)
            if profiler:
                profiler.disable()
                profiler.dump_stats(os.path.join(args.profile, f"{backend}_{n}_run{k}.prof"))
            wall, cpu = time.perf_counter() - started, time.process_time() - started_cpu
            counts = {key: value for key, value in run.counts.items() if key != "seconds"}
            results.append(
                Result(
                    backend, n, "first" if k == 0 else "nightly", portfolio.rows, load_times["load_s"],
                    load_times["settle_s"], dict(run.counts["seconds"]), wall, counts, os.getloadavg()[0], cpu,
                )
            )  # fmt: skip
        return results
    finally:
        engine.dispose()
        if args.keep:
            print(f"kept {url}", flush=True)
        elif backend == "sqlite":
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            _postgres_database(args.postgres_url, name, create=False)


def print_table(backend: str, results: list[Result]) -> None:
    """Print one markdown table per backend, with the growth ratio against the previous size."""
    print(f"\n### {backend}\n")
    header = (
        "| customers | links | shipments | responses | data load s | run | "
        + " | ".join(PHASES)
        + " | total s | CPU s | growth vs previous size | load avg |"
    )
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    previous: dict[str, Result] = {}
    for r in results:
        growth = "-"
        if r.run in previous:
            p = previous[r.run]
            growth = f"{(r.wall_s / p.wall_s) / (r.size / p.size):.2f}"
        previous[r.run] = r
        print(
            f"| {r.size:,} | {r.rows['links']:,} | {r.rows['shipments']:,} | {r.rows['survey_responses']:,} "
            f"| {r.load_s:.1f} (+{r.settle_s:.1f} settle) | {r.run} | "
            + " | ".join(f"{r.phases.get(phase, 0.0):.2f}" for phase in PHASES)
            + f" | {r.wall_s:.2f} | {r.cpu_s:.2f} | {growth} | {r.load:.1f} |",
            flush=True,
        )


def main() -> None:
    """Run the benchmark and print a table per backend."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument(
        "--backends", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"]
    )
    parser.add_argument("--links-per-customer", type=int, default=10)
    parser.add_argument("--months", type=int, default=12, help="months of shipments")
    parser.add_argument("--shipments-per-customer-year", type=float, default=100.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--runs", type=int, default=2, help="health runs per database: the first, then nightly"
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("LOGICRM_TEST_POSTGRES_URL", DEFAULT_POSTGRES),
        help="any database on the server; throwaway databases bench_<size> are created there and dropped",
    )
    parser.add_argument("--keep", action="store_true", help="keep the databases (and print their URLs)")
    parser.add_argument("--profile", metavar="DIR", help="write a cProfile of each run to DIR")
    parser.add_argument("--json", metavar="PATH", help="also write every result as JSON lines to PATH")
    args = parser.parse_args()
    if args.profile:
        os.makedirs(args.profile, exist_ok=True)
    for backend in args.backends:
        results = []
        for n in args.sizes:
            for result in bench(backend, n, args):
                results.append(result)
                print(
                    f"{backend} {n:,} {result.run}: {result.wall_s:.2f} s (CPU {result.cpu_s:.2f} s) "
                    f"{json.dumps(result.phases)} {json.dumps(result.counts)} "
                    f"load {result.load_s:.1f} s rows {json.dumps(result.rows)} load avg {result.load:.1f}",
                    flush=True,
                )
                if args.json:
                    with open(args.json, "a") as out:
                        out.write(json.dumps(result.__dict__) + "\n")
        print_table(backend, results)


if __name__ == "__main__":
    main()
