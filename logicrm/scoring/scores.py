"""Score the whole portfolio from the database: SQL aggregates in, the pure scoring core does the rest.

`compute(session, params)` scores the portfolio; what a request reads is the published copy each process
holds (logicrm.scoring.held).

One account's bad data never takes the run down: each problem is noted on that account's
`data_problems` (logicrm.scoring.problems). Survey rows become satisfaction in logicrm.scoring.satisfaction.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import logging
import math
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session

from logicrm.bounds import MONEY, MONTHLY_VOLUME
from logicrm.db import utcnow
from logicrm.memory import pickled_by_fields
from logicrm.network import churn
from logicrm.network.arrays import build_arrays
from logicrm.network.cascade import exposures
from logicrm.network.churn import ChurnModel, PortfolioRates, RiskSignals
from logicrm.network.graph import CONSIGNEE, SHIPPER, GraphArrays, LinkRecord, NodeRecord
from logicrm.network.params import ScoringParams
from logicrm.network.risk import Driver, Explanation, OwnRisk, explain, propagate_arrays
from logicrm.network.satisfaction import AccountSatisfaction, two_sided
from logicrm.network.value import OVER_SERVED, CustomerValue, Portfolio, ValueRecord
from logicrm.network.value import portfolio as value_portfolio
from logicrm.scoring import queries, revisions, signals
from logicrm.scoring.problems import DataProblem, Problems
from logicrm.scoring.satisfaction import SatisfactionPriors
from logicrm.scoring.satisfaction import measure as measure_satisfaction

DAYS_PER_MONTH = 30
log = logging.getLogger(__name__)


@pickled_by_fields
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
    """The scored portfolio at one moment, with the graph's arrays it was computed on (lanes included)."""

    as_of: dt.datetime
    config_hash: str
    revision: tuple[int, int]
    model_version: int | None  # the stored churn model used (None: the prior, never stored)
    horizon_days: int
    coupling: float  # the model's scale of the network's couplings
    departed: dict[int, tuple[str, tuple[str, ...]]]  # partner that left lately -> its name and roles
    arrays: GraphArrays
    accounts: dict[int, AccountScores]
    pareto_ratio: float | None
    class_counts: dict[str, int]
    # the full computation an incremental refresh started from (its priors, the lanes' and shipments'
    # figures and the accounts not written since are as of then); None: this is a full computation
    full_as_of: dt.datetime | None = None
    stale: bool = False  # newer writes, or another active model, are not reflected yet

    def own_risks(self) -> dict[int, float]:
        """Map every account to its own risk r0 (the input of propagation and expected loss)."""
        return {c: a.own.risk for c, a in self.accounts.items()}

    def risk_arrays(self) -> GraphArrays:
        """The graph's arrays with the model's coupling applied: what risk propagates over."""
        return coupled_arrays(self.arrays, self.coupling)


@dataclass(frozen=True, slots=True)
class Aggregates:
    """Everything the scores need, as loaded from the database."""

    customers: list
    flows: list
    departments: list
    responses: list
    dimension_scores: list
    earlier_answers: list
    last_contacts: dict[int, dt.datetime]
    overdue_tickets: dict[int, int]
    open_renewals: set[int]


def load(
    session: Session, params: ScoringParams, *, now: dt.datetime, ids: list[int] | None = None, flows=None
) -> Aggregates:
    """Run the SQL aggregates (GROUP BY in the database, never a loop over shipments). With `ids`, those
    of these customers alone, over the lanes `flows` loaded before."""
    customers = queries.customers(session, now=now, ids=ids)
    if flows is None:
        known = {row.id for row in customers}
        flows = [
            row
            for row in queries.link_flows(
                session, now=now, window_days=params.volume_window_days, recent_days=params.volume_recent_days
            )
            if row.shipper_id in known and row.consignee_id in known
        ]
    # what any response the scores read (now, and satisfaction_drop_days ago) within the horizon
    earliest = _days_before(now, params.satisfaction_drop_days + params.response_horizon_days())
    return Aggregates(
        customers=customers,
        flows=flows,
        departments=queries.departments(session, ids=ids),
        responses=queries.response_scores(session, since=earliest, until=now, ids=ids),
        dimension_scores=queries.dimension_scores(session, since=earliest, until=now, ids=ids),
        earlier_answers=queries.earlier_answers(session, before=earliest, ids=ids),
        last_contacts=queries.last_contacts(session, now=now, ids=ids),
        overdue_tickets=queries.overdue_tickets(session, now=now, ids=ids),
        open_renewals=queries.open_renewals(session, ids=ids),
    )


def _days_before(moment: dt.datetime, days: float) -> dt.datetime:
    """Return `days` before `moment`, or the earliest datetime if that is before year 1."""
    try:
        return moment - dt.timedelta(days=days)
    except OverflowError:
        return dt.datetime.min.replace(tzinfo=moment.tzinfo)


@contextlib.contextmanager
def _phase(timings: dict[str, float] | None, name: str):
    started = time.perf_counter()
    yield
    if timings is not None:
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - started


@dataclass
class Observation:
    """What the database says of the portfolio at one moment, up to the churn model's inputs.

    After `update`, `now` is the moment of the accounts observed anew, and `full_as_of` (None after a full
    observation) that of the full observation everything portfolio-wide (the lanes, the priors, the shipment history) and the other
    accounts are from; `data` then holds every account's row and lane but the other aggregates of the
    accounts observed anew alone.
    """

    now: dt.datetime
    full_as_of: dt.datetime | None
    revision: tuple[int, int]
    data: Aggregates
    problems: Problems
    lane_problems: dict[int, tuple[DataProblem, ...]]  # noted from the lanes (before any other)
    arrays: GraphArrays
    priors: SatisfactionPriors
    satisfaction: dict
    before: dict
    two_sided: dict
    alive: dict[int, float]  # shipper -> P(its shipment rhythm still runs)
    last_shipped: dict[int, int]  # shipper -> day number of its last shipment
    first_seen: dict[int, int]
    lanes: signals.LaneTotals
    rates: PortfolioRates
    evidence: dict[int, RiskSignals]
    features: dict[str, dict[str, float]]
    departed: dict[int, list]  # account -> (partner that left lately, its influence on it, its role)
    lapsed: set[int]  # shippers with no shipment for churn_inactive_days: churned already
    exposure: dict[int, float] | None = None  # of the graph alone: computed once, when first scored


def observe(
    session: Session,
    params: ScoringParams,
    *,
    now: dt.datetime,
    history: signals.History | None = None,
    timings: dict[str, float] | None = None,
    priors: SatisfactionPriors | None = None,
) -> Observation:
    """Load and measure everything the scores need as of `now` (point in time: any past date replays).

    `history` (all churn events) may be passed by a replay of many dates; by default the events of the
    contagion window are loaded. `priors` replace the portfolio's own (what an incremental refresh keeps).
    """
    problems = Problems()
    since = now - dt.timedelta(days=params.contagion_window_days)
    with _phase(timings, "sql_load"):
        revision = revisions.current(session)
        data = load(session, params, now=now)
        history = history or signals.history(session, params, now=now, since=since)
        rhythm = signals.rhythm_at(session, now=now)
        departed = _departed(session, params, history, now=now, since=since)
    with _phase(timings, "graph"):
        arrays = build_arrays(_nodes(data), _links(data, params, problems), params)
        lane_problems = {c: tuple(noted) for c, noted in problems.by_customer.items()}
    with _phase(timings, "scores"):
        satisfaction, before, priors = measure_satisfaction(data, params, now, problems, priors=priors)
        two = two_sided(arrays, {c: s.score for c, s in satisfaction.items()}, params)
        lanes = signals.lane_totals(data.flows, params)
        rates = signals.rates(data.flows, params)
        evidence, features = _evidence(
            data, params, satisfaction, before, now=now, alive=rhythm.p_alive, last_shipped=rhythm.last_day,
            first_seen=history.first_seen, problems=problems, lanes=lanes, rates=rates,
        )  # fmt: skip
    return Observation(
        now=now, full_as_of=None, revision=revision, data=data, problems=problems, lane_problems=lane_problems,
        arrays=arrays, priors=priors, satisfaction=satisfaction, before=before, two_sided=two,
        alive=rhythm.p_alive, last_shipped=rhythm.last_day, first_seen=history.first_seen, lanes=lanes, rates=rates, evidence=evidence,
        features=features, departed=departed, lapsed=rhythm.lapsed(params.churn_inactive_days),
    )  # fmt: skip


def _evidence(
    data, params, satisfaction, before, *, now, alive, last_shipped, first_seen, problems, lanes, rates
):
    """Each account's evidence (signals.build) and the churn model's inputs from it."""
    evidence = signals.build(
        data, params, satisfaction, before, now=now, alive=alive, last_shipped=last_shipped,
        first_seen=first_seen, problems=problems, lanes=lanes,
    )  # fmt: skip
    features = {
        c: problems.guard(c, "own_risk", lambda e=e: churn.features(e, rates), lambda: None)
        for c, e in evidence.items()
    }
    return evidence, features


def update(
    session: Session,
    seen: Observation,
    params: ScoringParams,
    *,
    ids: Iterable[int],
    now: dt.datetime,
    revision: tuple[int, int],
) -> Observation | None:
    """Observe the accounts `ids` anew as of `now`, everything else as `seen` holds it: their aggregates
    in SQL, their satisfaction under `seen`'s priors, their evidence over `seen`'s lanes, shipment rhythm
    and history. What the whole portfolio shares (two-sided satisfaction over the graph) is recomputed.

    Return None when the accounts cannot be observed alone: one of them became live or left (the graph's
    nodes), or its roles changed; the caller observes the whole portfolio instead.
    """
    ids = sorted(set(ids))
    data = load(session, params, now=now, ids=ids, flows=seen.data.flows)
    rows = {row.id: row for row in data.customers}
    position = {row.id: k for k, row in enumerate(seen.data.customers)}
    for customer_id in ids:
        if (customer_id in rows) != (customer_id in position):
            return None
        if customer_id in rows and _roles(rows[customer_id]) != _roles(
            seen.data.customers[position[customer_id]]
        ):
            return None
    problems = Problems()
    for customer_id in rows:  # the lanes' problems come first, as in a full observation
        problems.by_customer[customer_id] = list(seen.lane_problems.get(customer_id, ()))
    satisfaction, before, _priors = measure_satisfaction(data, params, now, problems, priors=seen.priors)
    evidence, features = _evidence(
        data, params, satisfaction, before, now=now, alive=seen.alive, last_shipped=seen.last_shipped,
        first_seen=seen.first_seen, problems=problems, lanes=seen.lanes, rates=seen.rates,
    )  # fmt: skip
    customers = list(seen.data.customers)
    noted = Problems()
    noted.by_customer.update(seen.problems.by_customer)
    for customer_id, row in rows.items():
        customers[position[customer_id]] = row
        noted.by_customer.pop(customer_id, None)
        if problems.by_customer[customer_id]:
            noted.by_customer[customer_id] = problems.by_customer[customer_id]
    satisfaction = seen.satisfaction | satisfaction
    return dataclasses.replace(
        seen,
        now=now,
        full_as_of=seen.full_as_of or seen.now,
        revision=revision,
        data=dataclasses.replace(data, customers=customers),
        problems=noted,
        satisfaction=satisfaction,
        before=seen.before | before,
        two_sided=two_sided(seen.arrays, {c: s.score for c, s in satisfaction.items()}, params),
        evidence=seen.evidence | evidence,
        features=seen.features | features,
    )


def prior(params: ScoringParams) -> ChurnModel:
    """The cold-start model at the configured horizon and base rate (until a model is fitted)."""
    return _prior(params.horizon_days, params.prior_base_rate)


@functools.lru_cache(maxsize=16)
def _prior(horizon_days: int, base_rate: float) -> ChurnModel:
    """`prior`, fitted once per horizon and base rate: every scored read without a stored model asks it,
    and its intercept is a numerical fit (~0.4 ms); the model is frozen, so sharing it is safe."""
    return churn.prior_model(horizon_days=horizon_days, base_rate=base_rate)


def compute(
    session: Session,
    params: ScoringParams,
    *,
    model: ChurnModel | None = None,
    model_version: int | None = None,
    now: dt.datetime | None = None,
    timings: dict[str, float] | None = None,
) -> PortfolioScores:
    """Score every live customer as of `now` with the churn `model` (default: the cold-start prior);
    `timings` collects seconds per phase (sql_load, graph, scores).

    Own risk is the model's probability of churn within its horizon from the account's own evidence,
    raised by partners that churned within the contagion window; network risk propagates it over the
    lanes with the model's learnt coupling.
    """
    seen = observe(session, params, now=now or utcnow(), timings=timings)
    return score(session, seen, params, model=model, model_version=model_version, timings=timings)


def score(
    session: Session,
    seen: Observation,
    params: ScoringParams,
    *,
    model: ChurnModel | None = None,
    model_version: int | None = None,
    timings: dict[str, float] | None = None,
) -> PortfolioScores:
    """Score the observed portfolio (see `compute`); every account, whether observed anew or not, goes
    through the same own risk, propagation, explanation and value."""
    model = model or prior(params)
    with _phase(timings, "scores"):
        ids, X = feature_matrix(model, seen.features)
        own = predict_own(model, ids, X, seen.departed)
        coupled, propagation = network_risk(seen.arrays, own, model=model, params=params)
        own, propagation = calibrated(model, own, propagation)
        baseline = float(model.calibrate_network(model.predict(np.asarray([model.means])))[0])
        contributions = dict(zip(ids, model.contributions_of(X), strict=True))
        explanations = explain(
            coupled, propagation, own, params, contributions=contributions, baseline=baseline
        )
        if seen.exposure is None:
            seen.exposure = exposures(seen.arrays, threshold=params.cascade_threshold)
        value = _value(seen.data, params, seen.exposure)
    seen.problems.log_summary()
    accounts = {
        row.id: AccountScores(
            customer_id=row.id,
            name=row.name,
            tier=str(row.tier),
            owner_id=row.owner_id,
            roles=tuple(sorted(_roles(row))),
            satisfaction=seen.satisfaction[row.id],
            satisfaction_before=seen.before[row.id],
            two_sided=seen.two_sided.get(row.id),
            signals=seen.evidence[row.id],
            own=own[row.id],
            network_risk=explanations[row.id].risk,
            explanation=explanations[row.id],
            value=value.customers[row.id],
            data_problems=tuple(seen.problems.by_customer.get(row.id, ())),
        )
        for row in seen.data.customers
    }
    return PortfolioScores(
        as_of=seen.now,
        config_hash=params.config_hash(),
        revision=seen.revision,
        model_version=model_version,
        horizon_days=model.horizon_days,
        coupling=model.coupling,
        departed=_departed_partners(session, seen.departed),
        arrays=seen.arrays,
        accounts=accounts,
        pareto_ratio=value.pareto_ratio,
        class_counts=value.class_counts,
        full_as_of=seen.full_as_of,
    )


def _departed_partners(session: Session, departed: dict) -> dict[int, tuple[str, tuple[str, ...]]]:
    roles = defaultdict(set)
    for left in departed.values():
        for partner, _influence, role in left:
            roles[partner].add(role)
    names = queries.names(session, ids=roles)
    return {partner: (names.get(partner, ""), tuple(sorted(held))) for partner, held in roles.items()}


def coupled_arrays(arrays: GraphArrays, coupling: float) -> GraphArrays:
    """Return the arrays with every influence scaled by the coupling (at most 1)."""
    return dataclasses.replace(arrays, influence=np.minimum(1.0, coupling * arrays.influence))


def network_risk(arrays: GraphArrays, own: dict[int, OwnRisk], *, model: ChurnModel, params: ScoringParams):
    """Propagate own evidence over the lanes with the model's coupling, then add the partners that left
    lately; return the coupled arrays and the propagation (network risk per node, in the arrays' order).

    A departed partner's pull is not propagated further: it is realised contagion, whose next step shows
    in the evidence of the accounts it reaches (and their own departed partners), not a hypothesis to
    cascade through the whole network."""
    coupled = coupled_arrays(arrays, model.coupling)
    evidence = coupled.vector({c: r.from_evidence for c, r in own.items()})
    with_departed = coupled.vector({c: r.risk for c, r in own.items()})
    propagation = propagate_arrays(
        coupled, evidence, tol=params.propagation_tol, max_iter=params.propagation_max_iter
    )
    # the partners that left are independent chances on top: survive = (1 − r0) / (1 − evidence)
    survive = (1.0 - with_departed) / np.maximum(1.0 - evidence, 1e-300)
    risk = np.maximum(with_departed, 1.0 - (1.0 - propagation.risk) * survive)
    return coupled, dataclasses.replace(propagation, risk=risk)


def calibrated(model: ChurnModel, own: dict[int, OwnRisk], propagation):
    """Bring own and network risks onto the observed rate with the model's network calibration (one
    monotone map for both, so the shares of departed partners and the order of the figures hold)."""
    if model.network_calibration == (0.0, 1.0):
        return own, propagation
    ids = list(own)
    risk = model.calibrate_network([own[c].risk for c in ids])
    evidence = model.calibrate_network([own[c].from_evidence for c in ids])
    mapped = {}
    for k, c in enumerate(ids):
        before = own[c]
        gap = before.risk - before.from_evidence
        scale = (risk[k] - evidence[k]) / gap if gap > 0 else 0.0
        mapped[c] = OwnRisk(
            float(risk[k]),
            evidence=float(evidence[k]),
            departed=tuple(Driver(d.kind, d.key, d.share * scale) for d in before.departed),
        )
    return mapped, dataclasses.replace(propagation, risk=model.calibrate_network(propagation.risk))


def feature_matrix(model: ChurnModel, features: dict[int, dict]) -> tuple[list[int], np.ndarray]:
    """The accounts of `features` in order, and their features as the rows of `model.matrix`."""
    ids = list(features)
    return ids, model.matrix([features[c] for c in ids])


def predict_own(model: ChurnModel, ids: list[int], X: np.ndarray, departed: dict) -> dict[int, OwnRisk]:
    """Own risk of the accounts `ids` (their features the rows of `X`, from `feature_matrix`): the model's
    probability from its own evidence, then the partners that left lately, each an independent chance to
    follow (influence × the model's coupling)."""
    evidence = model.predict(X)
    own = {}
    for i, customer_id in enumerate(ids):
        p = float(evidence[i])
        chances = [
            (partner, min(1.0, model.coupling * influence))
            for partner, influence, _role in departed.get(customer_id, ())
        ]
        survive = math.prod(1.0 - chance for _partner, chance in chances)
        # never below p: 1 − (1 − p)·1 may round an ulp under it, and a departed partner never lowers a risk
        risk = max(p, 1.0 - (1.0 - p) * survive)
        # the departed partners' part of r0, split by their terms in −log(1 − r0)
        terms = [(partner, -math.log1p(-min(chance, 1.0 - 1e-16))) for partner, chance in chances]
        total = -math.log1p(-min(risk, 1.0 - 1e-16))
        spread = risk - p
        drivers = tuple(
            Driver("departed", partner, spread * term / total)
            for partner, term in terms
            if total > 0 and term > 0
        )
        own[customer_id] = OwnRisk(risk, evidence=p, departed=drivers)
    return own


def _departed(
    session: Session, params: ScoringParams, history, *, now: dt.datetime, since: dt.datetime
) -> dict:
    """Map each account to the partners that churned within the contagion window: (partner, the influence
    it had on the account — the coupling of the direction times the share of the account's business that
    rode on it over the window and the volume window before — and the role it held toward the account)."""
    left = history.event_in(queries.day_number(since), queries.day_number(now))
    if not left:
        return {}
    pairs = queries.pair_volumes(
        session, since=since - dt.timedelta(days=params.volume_window_days), until=now
    )
    inbound, outbound = defaultdict(float), defaultdict(float)
    for pair in pairs:
        inbound[pair.consignee_id] += pair.shipments
        outbound[pair.shipper_id] += pair.shipments
    departed = defaultdict(list)
    for pair in pairs:
        if pair.shipper_id in left and pair.consignee_id not in left:
            departed[pair.consignee_id].append(
                (pair.shipper_id, params.alpha_down * pair.shipments / inbound[pair.consignee_id], SHIPPER)
            )
        if pair.consignee_id in left and pair.shipper_id not in left:
            departed[pair.shipper_id].append(
                (pair.consignee_id, params.alpha_up * pair.shipments / outbound[pair.shipper_id], CONSIGNEE)
            )
    return dict(departed)


def _nodes(data: Aggregates) -> list[NodeRecord]:
    return [
        NodeRecord(id=row.id, name=row.name, roles=_roles(row), tier=str(row.tier)) for row in data.customers
    ]


def _links(data: Aggregates, params: ScoringParams, problems: Problems) -> list[LinkRecord]:
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
                cost_per_month=float(f.cost_window) / months_in_window,
            )
        )
    return records


def _roles(row) -> frozenset[str]:
    return frozenset(
        role for role, held in ((SHIPPER, row.is_shipper), (CONSIGNEE, row.is_consignee)) if held
    )


def _value(data: Aggregates, params: ScoringParams, exposure: dict[int, float]) -> Portfolio:
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
