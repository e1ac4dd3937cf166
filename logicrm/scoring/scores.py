"""Score the whole portfolio from the database: SQL aggregates in, the pure scoring core does the rest.

`current(session, params)` returns a cached `PortfolioScores`; every API worker keeps one per database
and rebuilds it when the data revisions move (any scored write, in any worker) or when it is older
than `max_age_s` (scores decay with time).

One account's bad data never takes the run down: every number read is held to its bound from
logicrm/bounds.py (the nearest bound when outside it, left out when not a number), a part of one
account's score that still fails falls back to "unknown", and each is noted on that account's
`data_problems`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import math
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import networkx as nx
from sqlalchemy.orm import Session

from logicrm.bounds import (
    DECISION_WEIGHT,
    IMPORTANCE,
    LIKELIHOOD_TO_RECOMMEND,
    MONEY,
    MONTHLY_VOLUME,
    SHARE,
    Bound,
)
from logicrm.db import utcnow
from logicrm.network.cascade import exposures
from logicrm.network.graph import CONSIGNEE, SHIPPER, GraphArrays, LinkRecord, NodeRecord, build_graph
from logicrm.network.params import ScoringParams
from logicrm.network.risk import (
    Explanation,
    OwnRisk,
    RiskSignals,
    explain,
    own_risk,
    propagate_arrays,
    risk_drivers,
)
from logicrm.network.satisfaction import (
    AccountSatisfaction,
    DepartmentRecord,
    ResponseRecord,
    account_satisfaction,
    two_sided,
)
from logicrm.network.value import OVER_SERVED, CustomerValue, Portfolio, ValueRecord
from logicrm.network.value import portfolio as value_portfolio
from logicrm.scoring import queries, revisions

DAYS_PER_MONTH = 30
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DataProblem:
    """A stored value scoring did not use as it is, or a part of one account's score that failed.

    `field` is the column (`table.column`) or the part of the score; `record_id` the row holding the
    value (for shipments and survey ratings: their link or response), None for a failed part; `note`
    says what scoring did instead.
    """

    field: str
    record_id: int | None
    note: str


@dataclass(frozen=True, slots=True)
class AccountScores:
    """Everything computed for one customer; `data_problems` lists what degraded its scores."""

    customer_id: int
    name: str
    tier: str
    owner_id: int | None
    roles: tuple[str, ...]
    satisfaction: AccountSatisfaction
    satisfaction_before: float | None
    two_sided: float | None
    signals: RiskSignals
    own: OwnRisk
    network_risk: float
    explanation: Explanation
    value: CustomerValue
    data_problems: tuple[DataProblem, ...] = ()


@dataclass(slots=True)
class PortfolioScores:
    """The scored portfolio at one moment, with the graph it was computed on."""

    as_of: dt.datetime
    config_hash: str
    revision: tuple[int, int]
    graph: nx.DiGraph
    arrays: GraphArrays
    accounts: dict[int, AccountScores]
    pareto_ratio: float | None
    class_counts: dict[str, int]
    built_at: float = field(default_factory=time.monotonic)

    def own_risks(self) -> dict[int, float]:
        """Map every account to its own risk r0 (the input of propagation and expected loss)."""
        return {c: a.own.risk for c, a in self.accounts.items()}


@dataclass(frozen=True, slots=True)
class Aggregates:
    """Everything the scores need, as loaded from the database."""

    customers: list
    flows: list
    departments: list
    responses: list
    last_contacts: dict[int, dt.datetime]
    overdue_tickets: dict[int, int]
    open_renewals: set[int]


def load(session: Session, params: ScoringParams, *, now: dt.datetime) -> Aggregates:
    """Run the SQL aggregates (GROUP BY in the database, never a loop over shipments)."""
    customers = queries.customers(session)
    known = {row.id for row in customers}
    flows = [
        row
        for row in queries.link_flows(
            session, now=now, window_days=params.volume_window_days, recent_days=params.volume_recent_days
        )
        if row.shipper_id in known and row.consignee_id in known
    ]
    earliest = now - dt.timedelta(days=params.satisfaction_drop_days + params.silent_after_days)
    return Aggregates(
        customers=customers,
        flows=flows,
        departments=queries.departments(session),
        responses=queries.response_scores(session, since=earliest),
        last_contacts=queries.last_contacts(session, now=now),
        overdue_tickets=queries.overdue_tickets(session, now=now),
        open_renewals=queries.open_renewals(session),
    )


@contextlib.contextmanager
def _phase(timings: dict[str, float] | None, name: str):
    started = time.perf_counter()
    yield
    if timings is not None:
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - started


def compute(
    session: Session,
    params: ScoringParams,
    *,
    now: dt.datetime | None = None,
    timings: dict[str, float] | None = None,
) -> PortfolioScores:
    """Score every live customer as of `now`; `timings` collects seconds per phase (sql_load, graph, scores)."""
    now = now or utcnow()
    problems = _Problems()
    with _phase(timings, "sql_load"):
        revision = revisions.current(session)
        data = load(session, params, now=now)
    with _phase(timings, "graph"):
        graph = build_graph(_nodes(data), _links(data, params, problems), params)
        arrays = GraphArrays.from_graph(graph)
    with _phase(timings, "scores"):
        satisfaction, before = _satisfaction(data, params, now, problems)
        two = two_sided(arrays, {c: s.score for c, s in satisfaction.items()}, params)
        signals = _signals(data, params, satisfaction, before, now, problems)
        own = {
            c: problems.guard(
                c,
                "own_risk",
                lambda s=s: own_risk(risk_drivers(s, params), params),
                lambda: own_risk({}, params),
            )
            for c, s in signals.items()
        }
        r0 = arrays.vector({c: r.risk for c, r in own.items()})
        propagation = propagate_arrays(
            arrays, r0, tol=params.propagation_tol, max_iter=params.propagation_max_iter
        )
        explanations = explain(arrays, propagation, own, params)
        value = _value(data, params, arrays)
    problems.log_summary()
    accounts = {
        row.id: AccountScores(
            customer_id=row.id,
            name=row.name,
            tier=str(row.tier),
            owner_id=row.owner_id,
            roles=tuple(sorted(_roles(row))),
            satisfaction=satisfaction[row.id],
            satisfaction_before=before[row.id],
            two_sided=two.get(row.id),
            signals=signals[row.id],
            own=own[row.id],
            network_risk=explanations[row.id].risk,
            explanation=explanations[row.id],
            value=value.customers[row.id],
            data_problems=tuple(problems.by_customer.get(row.id, ())),
        )
        for row in data.customers
    }
    return PortfolioScores(
        as_of=now,
        config_hash=params.config_hash(),
        revision=revision,
        graph=graph,
        arrays=arrays,
        accounts=accounts,
        pareto_ratio=value.pareto_ratio,
        class_counts=value.class_counts,
    )


class _Problems:
    """The data problems of each customer, noted while aggregates become records and scores."""

    def __init__(self) -> None:
        self.by_customer: dict[int, list[DataProblem]] = defaultdict(list)

    def note(self, customers: Iterable[int], field: str, record_id: int | None, note: str) -> None:
        """Note one problem on every customer it degrades."""
        problem = DataProblem(field, record_id, note)
        for customer_id in dict.fromkeys(customers):
            self.by_customer[customer_id].append(problem)

    def number(self, value, bound: Bound, *, customers: Iterable[int], field: str, record_id: int):
        """Return a stored number held to its bound: the nearest bound when outside, None when not a number."""
        if value is None:
            return None
        if not isinstance(value, int | float) or math.isnan(value):
            self.note(customers, field, record_id, f"{value!r} is not a number: left out")
            return None
        if bound.low <= value <= bound.high:
            return value
        held = min(max(value, bound.low), bound.high)
        self.note(customers, field, record_id, f"{value:g} is outside {bound.describe()}: scored as {held:g}")
        return held

    def guard(self, customer_id: int, part: str, score: Callable, fallback: Callable):
        """Return score(); should it fail, note the failure on the account and return fallback()."""
        try:
            return score()
        except Exception as error:  # one account's bad data degrades its own score, never the run
            log.warning("scoring customer %s: %s failed", customer_id, part, exc_info=True)
            self.note(
                (customer_id,), part, None, f"failed ({type(error).__name__}: {error}): scored as unknown"
            )
            return fallback()

    def log_summary(self) -> None:
        if self.by_customer:
            fields = sorted({p.field for problems in self.by_customer.values() for p in problems})
            log.warning(
                "scored %d accounts with data problems in %s", len(self.by_customer), ", ".join(fields)
            )


def _nodes(data: Aggregates) -> list[NodeRecord]:
    return [
        NodeRecord(id=row.id, name=row.name, roles=_roles(row), tier=str(row.tier)) for row in data.customers
    ]


def _links(data: Aggregates, params: ScoringParams, problems: _Problems) -> list[LinkRecord]:
    months_in_window = params.volume_window_days / DAYS_PER_MONTH
    records = []
    for f in data.flows:
        ends = (f.shipper_id, f.consignee_id)
        for money, count in (("revenue", f.revenue_out_of_range), ("cost", f.cost_out_of_range)):
            if count:
                problems.note(
                    ends,
                    f"shipments.{money}",
                    f.id,
                    f"{count} shipments in the last 12 months are not a number (left out) or outside "
                    f"{MONEY.describe()} (scored as the nearest bound)",
                )
        declared = problems.number(
            f.declared_monthly_volume,
            MONTHLY_VOLUME,
            customers=ends,
            field="links.declared_monthly_volume",
            record_id=f.id,
        )
        records.append(
            LinkRecord(
                id=f.id,
                shipper_id=f.shipper_id,
                consignee_id=f.consignee_id,
                volume_90d=float(f.volume_window),
                declared_monthly_volume=declared,
                shipments_per_month=f.volume_window / months_in_window or (declared or 0.0),
                revenue_per_month=float(f.revenue_window) / months_in_window,
            )
        )
    return records


def _roles(row) -> frozenset[str]:
    return frozenset(
        role for role, held in ((SHIPPER, row.is_shipper), (CONSIGNEE, row.is_consignee)) if held
    )


def _satisfaction(data: Aggregates, params: ScoringParams, now: dt.datetime, problems: _Problems):
    """Return account satisfaction now and the score `satisfaction_drop_days` ago, per customer."""
    departments: dict[int, list[DepartmentRecord]] = defaultdict(list)
    for row in data.departments:
        weight = problems.number(
            row.decision_weight,
            DECISION_WEIGHT,
            customers=(row.customer_id,),
            field="departments.decision_weight",
            record_id=row.id,
        )
        departments[row.customer_id].append(
            DepartmentRecord(
                id=row.id, name=row.name, weight=weight or 0.0, is_decision_maker=row.is_decision_maker
            )
        )
    responses: dict[int, list[ResponseRecord]] = defaultdict(list)
    for row in data.responses:
        customers = (row.customer_id,)
        for column, left_out in (
            ("importance", row.importance_left_out),
            ("expectation", row.expectation_left_out),
            ("perception", row.perception_left_out),
        ):
            if left_out:
                problems.note(
                    customers,
                    f"survey_scores.{column}",
                    row.id,
                    f"{left_out} ratings whose {column} is not a usable number: left out",
                )
        if row.importances_clamped:
            problems.note(
                customers,
                "survey_scores.importance",
                row.id,
                f"{row.importances_clamped} importances above {IMPORTANCE.high:g}: scored as {IMPORTANCE.high:g}",
            )
        responses[row.customer_id].append(
            ResponseRecord(
                department_id=row.department_id,
                collected_at=row.collected_at,
                score=None if row.score is None else float(row.score),
                likelihood_to_recommend=problems.number(
                    row.likelihood_to_recommend,
                    LIKELIHOOD_TO_RECOMMEND,
                    customers=customers,
                    field="survey_responses.likelihood_to_recommend",
                    record_id=row.id,
                ),
            )
        )
    earlier = now - dt.timedelta(days=params.satisfaction_drop_days)
    now_scores, before_scores = {}, {}
    for row in data.customers:
        depts, said = departments[row.id], responses[row.id]

        def both(depts=depts, said=said):
            return (
                account_satisfaction(depts, said, as_of=now, params=params),
                account_satisfaction(depts, said, as_of=earlier, params=params).score,
            )

        now_scores[row.id], before_scores[row.id] = problems.guard(
            row.id,
            "satisfaction",
            both,
            lambda: (account_satisfaction((), (), as_of=now, params=params), None),
        )
    return now_scores, before_scores


def _signals(
    data: Aggregates, params, satisfaction, before, now, problems: _Problems
) -> dict[int, RiskSignals]:
    """Gather each account's own-risk facts; a distributor's volumes count both its roles."""
    volume = defaultdict(lambda: [0, 0, 0, 0, 0])  # recent, window, delivered, on time, troubled
    for f in data.flows:
        for customer_id in {f.shipper_id, f.consignee_id}:
            totals = volume[customer_id]
            for k, amount in enumerate(
                (f.volume_recent, f.volume_window, f.delivered_window, f.on_time_window, f.troubled_window)
            ):
                totals[k] += amount
    signals = {}
    for row in data.customers:
        recent, window, delivered, on_time, troubled = volume[row.id]
        last = data.last_contacts.get(row.id)
        sat = satisfaction[row.id]
        signals[row.id] = RiskSignals(
            satisfaction=sat.score,
            satisfaction_before=before[row.id],
            loyalty=sat.loyalty.score,
            volume_recent=recent,
            volume_window=window,
            otif=on_time / delivered if delivered else None,
            otif_target=problems.number(
                row.on_time_target,
                SHARE,
                customers=(row.id,),
                field="shipper_profiles.on_time_target",
                record_id=row.id,
            ),
            claims_rate=troubled / window if window else 0.0,
            overdue_tickets=data.overdue_tickets.get(row.id, 0),
            days_since_contact=(now - last).total_seconds() / 86_400 if last else None,
            tier=str(row.tier),
            contract_days_left=(row.contract_end - now.date()).days if row.contract_end else None,
            renewal_open=row.id in data.open_renewals,
            silent_deciding_department=bool(sat.silent_deciding),
        )
    return signals


def _value(data: Aggregates, params: ScoringParams, arrays: GraphArrays) -> Portfolio:
    """Value payers and pure consignees each against their own kind.

    A shipper (distributors included) is valued by the lanes it is billed for; a pure consignee pays
    nothing, so it is valued by the business carried to it. Ranking the two together would make every
    large consignee look like an under-served VIP. A consignee's tier is a service promise the shipper
    pays for, so a consignee is flagged only when over-served (a high tier for little business carried).
    The Pareto ratio is that of the paying customers.
    """
    billed, carried = defaultdict(lambda: [0.0, 0.0]), defaultdict(lambda: [0.0, 0.0])
    for f in data.flows:
        for book, customer_id in ((billed, f.shipper_id), (carried, f.consignee_id)):
            book[customer_id][0] += float(f.revenue_12m)
            book[customer_id][1] += float(f.cost_12m)
    payers = [row for row in data.customers if row.is_shipper]
    receivers = [row for row in data.customers if not row.is_shipper]

    def records(rows, book) -> list[ValueRecord]:
        return [ValueRecord(row.id, book[row.id][0], book[row.id][1], str(row.tier)) for row in rows]

    paying = value_portfolio(records(payers, billed), params)
    receiving = value_portfolio(records(receivers, carried), params)
    exposure = exposures(arrays, threshold=params.cascade_threshold)
    customers = {
        c: dataclasses.replace(v, exposure=exposure.get(c, 0.0)) for c, v in paying.customers.items()
    }
    customers |= {
        c: dataclasses.replace(
            v, exposure=exposure.get(c, 0.0), mismatch=v.mismatch if v.mismatch == OVER_SERVED else None
        )
        for c, v in receiving.customers.items()
    }
    counts = {k: paying.class_counts[k] + receiving.class_counts[k] for k in paying.class_counts}
    return Portfolio(
        customers=customers,
        positive_profit=paying.positive_profit,
        pareto_ratio=paying.pareto_ratio,
        class_counts=counts,
    )


_cache: dict[str, PortfolioScores] = {}
_lock = threading.Lock()


def current(session: Session, params: ScoringParams, *, max_age_s: float) -> PortfolioScores:
    """Return the cached scores for this database, rebuilt when data changed or they grew stale."""
    key = str(session.get_bind().url)
    revision = revisions.current(session)
    with _lock:
        cached = _cache.get(key)
        fresh = (
            cached is not None
            and cached.revision == revision
            and cached.config_hash == params.config_hash()
            and time.monotonic() - cached.built_at < max_age_s
        )
        if not fresh:
            cached = _cache[key] = compute(session, params)
        return cached
