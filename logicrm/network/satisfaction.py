"""Satisfaction as a gap, by department and account, two-sided over the network, and loyalty (DESIGN §4.1–4.5)."""

import math
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

import networkx as nx
import numpy as np

from logicrm.network.graph import GraphArrays
from logicrm.network.params import ScoringParams

SECONDS_PER_DAY = 86_400


@dataclass(frozen=True, slots=True)
class DimensionRating:
    """One service dimension of one survey response, on the survey's declared scale."""

    dimension: str
    expectation: float
    perception: float
    importance: float = 1.0


@dataclass(frozen=True, slots=True)
class ResponseRecord:
    """One survey response: its score from `response_score` (None if no dimension was rated) and NPS answer."""

    department_id: int
    collected_at: datetime
    score: float | None
    likelihood_to_recommend: int | None = None


@dataclass(frozen=True, slots=True)
class DepartmentRecord:
    """One department of a customer with its decision weight (≥ 0)."""

    id: int
    name: str
    weight: float
    is_decision_maker: bool


@dataclass(frozen=True, slots=True)
class DepartmentSatisfaction:
    """A department's decayed satisfaction; `score` is None when it is silent (unknown, never average)."""

    department_id: int
    name: str
    weight: float
    is_decision_maker: bool
    score: float | None
    responses: int
    last_response: datetime | None
    silent: bool


@dataclass(frozen=True, slots=True)
class Loyalty:
    """Decayed NPS in [−100, 100] and the same as a score in [0, 1]; None when nobody answered lately."""

    nps: float | None
    score: float | None
    responses: int


@dataclass(frozen=True, slots=True)
class AccountSatisfaction:
    """Account satisfaction (capped), how it was reached, and loyalty, kept apart."""

    score: float | None
    uncapped: float | None
    coverage: float
    weakest: DepartmentSatisfaction | None
    capped: bool
    silent_deciding: tuple[int, ...]
    departments: tuple[DepartmentSatisfaction, ...]
    loyalty: Loyalty


def dimension_score(*, expectation: float, perception: float, scale_min: float, scale_max: float) -> float:
    """Return clamp(0.5 + (perception − expectation) / (2·(max − min)), 0, 1); 0.5 = expectation met."""
    if not scale_max > scale_min:
        raise ValueError("scale_max must exceed scale_min")
    gap, span = perception - expectation, scale_max - scale_min
    if math.isinf(span):  # both ends of the scale are huge: quarters of them cannot overflow
        gap, span = perception / 4 - expectation / 4, scale_max / 4 - scale_min / 4
    # clamping the gap before dividing keeps a huge gap over a narrow scale from overflowing
    return 0.5 + 0.5 * max(-span, min(span, gap)) / span


def response_score(ratings: Iterable[DimensionRating], *, scale_min: float, scale_max: float) -> float | None:
    """Return the importance-weighted mean of a response's dimension scores (None if nothing weighs)."""
    weighted = [
        (r.importance, dimension_score(
            expectation=r.expectation, perception=r.perception, scale_min=scale_min, scale_max=scale_max
        ))
        for r in ratings
    ]  # fmt: skip
    if not all(math.isfinite(importance) and importance >= 0 for importance, _ in weighted):
        raise ValueError("importance must be finite and ≥ 0")
    relative = _relative([importance for importance, _ in weighted])
    total = math.fsum(relative)
    return (
        math.fsum(w * s for w, (_, s) in zip(relative, weighted, strict=True)) / total if total > 0 else None
    )


def _relative(weights: list[float]) -> list[float]:
    """Return weights divided by the largest: the same weighted means, and sums that cannot overflow."""
    largest = max(weights, default=0.0)
    return [w / largest for w in weights] if largest > 0 else weights


def _age_days(as_of: datetime, at: datetime) -> float:
    return (as_of - at).total_seconds() / SECONDS_PER_DAY


def _decayed_mean(points: list[tuple[float, float]], params: ScoringParams) -> float | None:
    """Return Σ λ·x / Σ λ over (age_days, x) with λ = 2^(−age / half-life); None if nothing is recent."""
    youngest = min((age for age, _ in points), default=math.inf)
    if youngest > params.silent_after_days:
        return None
    # λ relative to the youngest point's (a common factor): the youngest weighs 1, so Σ λ never underflows
    weights = [0.5 ** ((age - youngest) / params.half_life_days) for age, _ in points]
    return math.fsum(w * x for w, (_, x) in zip(weights, points, strict=True)) / math.fsum(weights)


def department_satisfaction(
    department: DepartmentRecord,
    responses: Iterable[ResponseRecord],
    *,
    as_of: datetime,
    params: ScoringParams,
) -> DepartmentSatisfaction:
    """Return the department's time-decayed mean response score as of `as_of` (later responses ignored)."""
    scored = [r for r in responses if r.score is not None and r.collected_at <= as_of]
    score = _decayed_mean([(_age_days(as_of, r.collected_at), _unit(r.score)) for r in scored], params)
    return DepartmentSatisfaction(
        department_id=department.id,
        name=department.name,
        weight=department.weight,
        is_decision_maker=department.is_decision_maker,
        score=score,
        responses=len(scored),
        last_response=max((r.collected_at for r in scored), default=None),
        silent=score is None,
    )


def loyalty(responses: Iterable[ResponseRecord], *, as_of: datetime, params: ScoringParams) -> Loyalty:
    """Return decayed NPS: 100·(promoters 9–10 − detractors 0–6) share, respondents weighted by recency."""
    points = [
        (_age_days(as_of, r.collected_at), _nps_vote(r.likelihood_to_recommend))
        for r in responses
        if r.likelihood_to_recommend is not None and r.collected_at <= as_of
    ]
    share = _decayed_mean(points, params)
    if share is None:
        return Loyalty(nps=None, score=None, responses=len(points))
    return Loyalty(nps=100.0 * share, score=(share + 1.0) / 2.0, responses=len(points))


def _nps_vote(likelihood: int) -> float:
    if not 0 <= likelihood <= 10:
        raise ValueError(f"likelihood to recommend must be 0–10, got {likelihood}")
    return 1.0 if likelihood >= 9 else -1.0 if likelihood <= 6 else 0.0


def account_satisfaction(
    departments: Iterable[DepartmentRecord],
    responses: Iterable[ResponseRecord],
    *,
    as_of: datetime,
    params: ScoringParams,
) -> AccountSatisfaction:
    """Return Σ w·S / Σ w over departments with data, capped at the weakest deciding department + cap."""
    departments = list(departments)
    responses = list(responses)
    by_department: dict[int, list[ResponseRecord]] = defaultdict(list)
    known = {d.id for d in departments}
    for r in responses:
        if r.department_id not in known:
            raise ValueError(f"response for unknown department {r.department_id}")
        by_department[r.department_id].append(r)
    rows = tuple(
        department_satisfaction(d, by_department[d.id], as_of=as_of, params=params) for d in departments
    )
    if not all(math.isfinite(d.weight) and d.weight >= 0 for d in rows):
        raise ValueError("department weights must be finite and ≥ 0")
    weights = _relative([d.weight for d in rows])
    heard = [(w, d) for w, d in zip(weights, rows, strict=True) if d.score is not None]
    heard_weight = math.fsum(w for w, _ in heard)
    all_weight = math.fsum(weights)
    uncapped = math.fsum(w * d.score for w, d in heard) / heard_weight if heard_weight > 0 else None
    deciding = [d for _, d in heard if d.is_decision_maker]
    weakest = min(deciding, key=lambda d: d.score, default=None)
    score = uncapped
    if uncapped is not None and weakest is not None:
        score = min(uncapped, weakest.score + params.weakest_cap)
    return AccountSatisfaction(
        score=score,
        uncapped=uncapped,
        coverage=heard_weight / all_weight if all_weight > 0 else 0.0,
        weakest=weakest,
        capped=score is not None and score < uncapped,
        silent_deciding=tuple(d.department_id for d in rows if d.is_decision_maker and d.silent),
        departments=rows,
        loyalty=loyalty(responses, as_of=as_of, params=params),
    )


def two_sided(
    graph: nx.DiGraph | GraphArrays,
    satisfaction: Mapping[Hashable, float | None],
    params: ScoringParams,
) -> dict[Hashable, float | None]:
    """Return (1 − β)·own + β·(volume-weighted mean satisfaction of the account's trading partners).

    Partners are the consignees of a shipper, the shippers of a consignee and both for a distributor,
    each weighted by the volume of all links between the two. Partners without a known satisfaction are
    left out; with none left (or no volume) the result is the account's own; an unknown own stays unknown.
    """
    arrays = graph if isinstance(graph, GraphArrays) else GraphArrays.from_graph(graph)
    n = len(arrays.nodes)
    own = np.array([_or_nan(satisfaction.get(node)) for node in arrays.nodes])
    volume = np.concatenate([arrays.pair_volume, arrays.pair_volume])
    partner = own[arrays.dst]
    heard = ~np.isnan(partner)
    weight = np.where(heard, volume, 0.0)
    weight_sum = np.bincount(arrays.src, weight, minlength=n)
    weighted = np.bincount(arrays.src, weight * np.where(heard, partner, 0.0), minlength=n)
    has_other = weight_sum > 0
    other = np.divide(weighted, weight_sum, out=np.zeros(n), where=has_other)
    blended = np.where(has_other, (1.0 - params.beta_two_sided) * own + params.beta_two_sided * other, own)
    return {
        node: None if math.isnan(x) else x for node, x in zip(arrays.nodes, blended.tolist(), strict=True)
    }


def _or_nan(value: float | None) -> float:
    return math.nan if value is None else _unit(value)


def _unit(score: float) -> float:
    """Return a score clamped into [0, 1], the range of every satisfaction score (NaN stays NaN)."""
    return 0.0 if score < 0 else 1.0 if score > 1 else score
