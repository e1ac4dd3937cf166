"""Satisfaction as a gap, by department and account, two-sided over the network, and loyalty (DESIGN §4.1–4.5)."""

import math
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import networkx as nx
import numpy as np

from logicrm.memory import pickled_by_fields
from logicrm.network.graph import GraphArrays
from logicrm.network.params import ScoringParams

SECONDS_PER_DAY = 86_400
# Gaps are shown on a 1–7 scale whatever each survey declared: its width in points.
GAP_SCALE_POINTS = 6.0
WELL_BELOW, BELOW, MET, ABOVE = (
    "well below expectations",
    "below expectations",
    "met expectations",
    "above expectations",
)


@dataclass(frozen=True, slots=True)
class DimensionRating:
    """One service dimension of one survey response, on the survey's declared scale."""

    dimension: str
    expectation: float
    perception: float
    importance: float = 1.0


@dataclass(frozen=True, slots=True)
class ResponseRecord:
    """One survey response: its score from `response_score` (None if no dimension was rated), the score of
    each rated dimension (`dimension_score`, by dimension name) and its NPS answer."""

    department_id: int
    collected_at: datetime
    score: float | None
    likelihood_to_recommend: int | None = None
    dimensions: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DepartmentRecord:
    """One department of a customer with its decision weight (≥ 0).

    `earlier_answer` and `earlier_recommendation` are its latest scored response and latest likelihood-
    to-recommend answer older than the responses passed with it (the caller loads only the responses
    within the horizon): they weigh nothing, but the department, and its account's loyalty, stay known.
    """

    id: int
    name: str
    weight: float
    is_decision_maker: bool
    earlier_answer: datetime | None = None
    earlier_recommendation: datetime | None = None


@dataclass(frozen=True, slots=True)
class Priors:
    """The portfolio's verdicts that departments and accounts with little evidence are shrunk toward.

    `satisfaction` and each of `dimensions` is a score in [0, 1] (0.5 = expectations met), `nps` in
    [−100, 100]. The defaults (expectations met, NPS 0) serve a portfolio without any answer.
    """

    satisfaction: float = 0.5
    dimensions: Mapping[str, float] = field(default_factory=dict)
    nps: float = 0.0

    def dimension(self, name: str) -> float:
        """Return the prior of one dimension (the satisfaction prior if the portfolio never rated it)."""
        return self.dimensions.get(name, self.satisfaction)


class _GapOfScore:
    """`gap`: the score as the gap to expectation in 1–7 scale points (`gap_points`), None with no score.

    Derived on reading, not held: the published scores hold some 300,000 verdicts at 10k accounts, and a
    float and its slot each would be ~10 MB of every reading process (issue 13, target 6).
    """

    __slots__ = ()

    @property
    def gap(self) -> float | None:
        return None if self.score is None else gap_points(self.score)


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class DimensionGap(_GapOfScore):
    """One service dimension's verdict: score in [0, 1] (0.5 = met), the same as the gap to expectation
    in points of a 1–7 scale (`gap`, 0 = met), its band, and the evidence behind it (decayed ratings)."""

    dimension: str
    score: float
    band: str
    evidence: float


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class DepartmentSatisfaction(_GapOfScore):
    """A department's decayed satisfaction, shrunk toward the portfolio's prior.

    `score` is in [0, 1] (0.5 = expectations met) and `gap` the same on a 1–7 scale (0 = met); both are
    None only with `no_data` (never answered: unknown, never average). `silent`: no response for
    silent_after_days (never included); a silent department keeps its verdict, decaying toward the prior.
    `evidence` is Σ of its responses' decayed weights (a response today weighs 1).
    """

    department_id: int
    name: str
    weight: float
    is_decision_maker: bool
    score: float | None
    band: str | None
    evidence: float
    responses: int
    last_response: datetime | None
    silent: bool
    no_data: bool
    dimensions: tuple[DimensionGap, ...] = ()


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Loyalty:
    """Decayed NPS shrunk toward the portfolio's, in [−100, 100], and the same as a score in [0, 1].

    Both are None only with `no_data` (nobody ever answered likelihood to recommend). `evidence` is Σ of
    the answers' decayed weights; `responses` counts them.
    """

    nps: float | None
    score: float | None
    responses: int
    evidence: float
    no_data: bool


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class AccountSatisfaction(_GapOfScore):
    """Account satisfaction (capped), how it was reached, and loyalty, kept apart.

    `score` is in [0, 1] (0.5 = expectations met), `gap` the same on a 1–7 scale; `no_data` says that no
    department that weighs has ever answered: `score` is then None, a state of its own (never safe,
    never average). `dimensions` are the decision-weighted verdicts per service dimension.
    """

    score: float | None
    uncapped: float | None
    coverage: float
    weakest: DepartmentSatisfaction | None
    capped: bool
    silent_deciding: tuple[int, ...]
    departments: tuple[DepartmentSatisfaction, ...]
    loyalty: Loyalty
    no_data: bool
    band: str | None
    dimensions: tuple[DimensionGap, ...] = ()


def dimension_score(*, expectation: float, perception: float, scale_min: float, scale_max: float) -> float:
    """Return clamp(0.5 + (perception − expectation) / (2·(max − min)), 0, 1); 0.5 = expectation met."""
    if not scale_max > scale_min:
        raise ValueError("scale_max must exceed scale_min")
    gap, span = perception - expectation, scale_max - scale_min
    if math.isinf(span):  # both ends of the scale are huge: quarters of them cannot overflow
        gap, span = perception / 4 - expectation / 4, scale_max / 4 - scale_min / 4
    # clamping the gap before dividing keeps a huge gap over a narrow scale from overflowing; dividing
    # before halving keeps a gap of the smallest subnormal span from underflowing to 0
    return 0.5 + 0.5 * (max(-span, min(span, gap)) / span)


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


def gap_points(score: float) -> float:
    """Return a score in [0, 1] as the gap to expectation in 1–7 scale points: 0.5 → 0, 0 → −6, 1 → +6.

    The dimension score is 0.5 + gap / (2·scale width), so this is perception − expectation rescaled to
    the 1–7 scale (and clamped to its width, as the score is).
    """
    return 2.0 * GAP_SCALE_POINTS * (score - 0.5)


def band(gap: float, params: ScoringParams) -> str:
    """Name the band of a gap in 1–7 points: well below, below, met (within ± gap_met_points) or above."""
    if gap < -params.gap_well_below_points:
        return WELL_BELOW
    if gap < -params.gap_met_points:
        return BELOW
    return MET if gap <= params.gap_met_points else ABOVE


@dataclass(slots=True)
class _Evidence:
    """Decayed evidence for one verdict: Σ w and Σ w·x over the points seen."""

    weight: float = 0.0
    total: float = 0.0

    def add(self, weight: float, value: float) -> None:
        self.weight += weight
        self.total += weight * value

    def shrunk(self, prior: float, strength: float) -> float:
        """Return (Σ w·x + k·prior) / (Σ w + k): the prior with no evidence, the data's mean with much."""
        return (self.total + strength * prior) / (self.weight + strength)


def _weight(as_of: datetime, at: datetime, params: ScoringParams) -> float:
    """Return 2^(−age / half-life) of an answer given at `at` (≤ as_of); 0 beyond the horizon."""
    age = (as_of - at).total_seconds() / SECONDS_PER_DAY
    return 0.0 if age > params.response_horizon_days() else 0.5 ** (age / params.half_life_days)


def _pooled(groups: Iterable[_Evidence], strength: float, default: float) -> float:
    """Return the precision-weighted mean of the groups' means: Σ f·m / Σ f with f = n / (n + k).

    f is the share of a group's own mean m in its shrunk verdict: a group with much evidence counts
    fully, one old answer barely, so neither a chatty department nor stale ones dominate the prior.
    Groups without evidence count nothing; none at all gives `default`.
    """
    numerator = denominator = 0.0
    for group in groups:
        if group.weight > 0:
            numerator += group.total / (group.weight + strength)
            denominator += group.weight / (group.weight + strength)
    return numerator / denominator if denominator > 0 else default


def _said(responses: Iterable[ResponseRecord], as_of: datetime) -> list[ResponseRecord]:
    """Responses with a score given by `as_of` (later ones did not exist yet)."""
    return [r for r in responses if r.score is not None and r.collected_at <= as_of]


def _recommendations(responses: Iterable[ResponseRecord], as_of: datetime) -> list[ResponseRecord]:
    return [r for r in responses if r.likelihood_to_recommend is not None and r.collected_at <= as_of]


def portfolio_priors(
    accounts: Iterable[Iterable[ResponseRecord]],
    *,
    as_of: datetime,
    params: ScoringParams,
    satisfaction_only: bool = False,
) -> Priors:
    """Return the portfolio's priors as of `as_of` from every account's responses.

    Satisfaction and each dimension: the precision-weighted mean over departments of their decayed mean
    scores; NPS: the same over accounts of their decayed mean votes (`_pooled`). With
    `satisfaction_only`, the dimensions and NPS keep their defaults (all `account_score` reads).
    """
    departments: dict[tuple[int, int], _Evidence] = defaultdict(_Evidence)
    dimensions: dict[tuple[int, int, str], _Evidence] = defaultdict(_Evidence)
    votes: list[_Evidence] = []
    for index, responses in enumerate(accounts):
        responses = list(responses)
        for r in _said(responses, as_of):
            weight = _weight(as_of, r.collected_at, params)
            departments[index, r.department_id].add(weight, _unit(r.score))
            if not satisfaction_only:
                for name, score in r.dimensions.items():
                    dimensions[index, r.department_id, name].add(weight, _unit(score))
        if satisfaction_only:
            continue
        account_votes = _Evidence()
        for r in _recommendations(responses, as_of):
            account_votes.add(_weight(as_of, r.collected_at, params), _nps_vote(r.likelihood_to_recommend))
        votes.append(account_votes)
    by_dimension: dict[str, list[_Evidence]] = defaultdict(list)
    for (_, _, name), evidence in dimensions.items():
        by_dimension[name].append(evidence)
    k = params.satisfaction_prior_strength
    satisfaction = _pooled(departments.values(), k, 0.5)
    if satisfaction_only:
        return Priors(satisfaction=satisfaction)
    return Priors(
        satisfaction=satisfaction,
        dimensions={name: _pooled(groups, k, satisfaction) for name, groups in sorted(by_dimension.items())},
        nps=100.0 * _pooled(votes, params.loyalty_prior_strength, 0.0),
    )


def _dimension_gap(name: str, score: float, evidence: float, params: ScoringParams) -> DimensionGap:
    return DimensionGap(dimension=name, score=score, band=band(gap_points(score), params), evidence=evidence)


def _worst_first(gaps: Iterable[DimensionGap]) -> tuple[DimensionGap, ...]:
    return tuple(sorted(gaps, key=lambda g: (g.score, g.dimension)))


def _heard(
    department: DepartmentRecord,
    responses: Iterable[ResponseRecord],
    as_of: datetime,
    params: ScoringParams,
    *,
    by_dimension: dict[str, _Evidence] | None = None,
) -> tuple[list[ResponseRecord], _Evidence, datetime | None]:
    """Return the department's responses scored by `as_of`, their decayed evidence and when it was last
    heard from (its earlier answer included); add each dimension's evidence to `by_dimension` if given."""
    said = _said(responses, as_of)
    overall = _Evidence()
    for r in said:
        weight = _weight(as_of, r.collected_at, params)
        overall.add(weight, _unit(r.score))
        if by_dimension is not None:
            for name, score in r.dimensions.items():
                by_dimension[name].add(weight, _unit(score))
    heard = [r.collected_at for r in said]
    if department.earlier_answer is not None and department.earlier_answer <= as_of:
        heard.append(department.earlier_answer)
    return said, overall, max(heard, default=None)


def department_satisfaction(
    department: DepartmentRecord,
    responses: Iterable[ResponseRecord],
    *,
    as_of: datetime,
    params: ScoringParams,
    priors: Priors,
) -> DepartmentSatisfaction:
    """Return the department's decayed satisfaction as of `as_of`, shrunk toward the prior.

    S = (Σ w·s + k·prior) / (Σ w + k), w = 2^(−age / half-life), k = satisfaction_prior_strength; the
    same per dimension toward that dimension's prior. Responses after `as_of` are ignored, so the same
    function gives the verdict of any past day.
    """
    by_dimension: dict[str, _Evidence] = defaultdict(_Evidence)
    said, overall, last = _heard(department, responses, as_of, params, by_dimension=by_dimension)
    k = params.satisfaction_prior_strength
    score = None if last is None else overall.shrunk(priors.satisfaction, k)
    gap = None if score is None else gap_points(score)
    return DepartmentSatisfaction(
        department_id=department.id,
        name=department.name,
        weight=department.weight,
        is_decision_maker=department.is_decision_maker,
        score=score,
        band=None if gap is None else band(gap, params),
        evidence=overall.weight,
        responses=len(said),
        last_response=last,
        silent=last is None or (as_of - last).total_seconds() / SECONDS_PER_DAY > params.silent_after_days,
        no_data=last is None,
        dimensions=_worst_first(
            _dimension_gap(name, evidence.shrunk(priors.dimension(name), k), evidence.weight, params)
            for name, evidence in by_dimension.items()
            if evidence.weight > 0
        ),
    )


def loyalty(
    responses: Iterable[ResponseRecord],
    *,
    as_of: datetime,
    params: ScoringParams,
    priors: Priors,
    earlier_answer: datetime | None = None,
) -> Loyalty:
    """Return the decayed NPS shrunk toward the portfolio's: promoters (9–10) vote +1, passives 0,
    detractors (0–6) −1; NPS = 100·(Σ w·vote + k·prior/100) / (Σ w + k), k = loyalty_prior_strength.

    `earlier_answer`: the latest answer older than the responses given; it keeps the account known.
    """
    answered = _recommendations(responses, as_of)
    votes = _Evidence()
    for r in answered:
        votes.add(_weight(as_of, r.collected_at, params), _nps_vote(r.likelihood_to_recommend))
    if not answered and (earlier_answer is None or earlier_answer > as_of):
        return Loyalty(nps=None, score=None, responses=0, evidence=0.0, no_data=True)
    share = votes.shrunk(priors.nps / 100.0, params.loyalty_prior_strength)
    return Loyalty(
        nps=100.0 * share,
        score=(share + 1.0) / 2.0,
        responses=len(answered),
        evidence=votes.weight,
        no_data=False,
    )


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
    priors: Priors,
) -> AccountSatisfaction:
    """Return Σ w·S / Σ w over the departments with a verdict, capped at the weakest deciding one + cap.

    A silent department keeps its decaying verdict in both the mean and the cap: silence forgives
    nothing faster than time does.
    """
    departments = list(departments)
    responses = list(responses)
    by_department = _by_department(departments, responses)
    rows = tuple(
        department_satisfaction(d, by_department[d.id], as_of=as_of, params=params, priors=priors)
        for d in departments
    )
    weights = _department_weights(departments)
    heard = [(w, d) for w, d in zip(weights, rows, strict=True) if d.score is not None]
    heard_weight = math.fsum(w for w, _ in heard)
    all_weight = math.fsum(weights)
    uncapped, score, weakest_at = _capped_mean(
        [(w, d.score, d.is_decision_maker) for w, d in heard], heard_weight, params
    )
    weakest = None if weakest_at is None else heard[weakest_at][1]
    gap = None if score is None else gap_points(score)
    earlier = [d.earlier_recommendation for d in departments if d.earlier_recommendation is not None]
    return AccountSatisfaction(
        score=score,
        uncapped=uncapped,
        coverage=heard_weight / all_weight if all_weight > 0 else 0.0,
        weakest=weakest,
        capped=score is not None and score < uncapped,
        silent_deciding=tuple(d.department_id for d in rows if d.is_decision_maker and d.silent),
        departments=rows,
        loyalty=loyalty(
            responses, as_of=as_of, params=params, priors=priors, earlier_answer=max(earlier, default=None)
        ),
        no_data=score is None,
        band=None if gap is None else band(gap, params),
        dimensions=_account_dimensions(heard, params),
    )


def account_score(
    departments: Iterable[DepartmentRecord],
    responses: Iterable[ResponseRecord],
    *,
    as_of: datetime,
    params: ScoringParams,
    priors: Priors,
) -> float | None:
    """Return `account_satisfaction(...).score` alone, without the departments' and dimensions' verdicts
    or loyalty: what an earlier day's satisfaction is compared with today's by."""
    departments = list(departments)
    by_department = _by_department(departments, list(responses))
    weights = _department_weights(departments)
    k = params.satisfaction_prior_strength
    heard = []
    for weight, department in zip(weights, departments, strict=True):
        _said, overall, last = _heard(department, by_department[department.id], as_of, params)
        if last is not None:
            heard.append((weight, overall.shrunk(priors.satisfaction, k), department.is_decision_maker))
    return _capped_mean(heard, math.fsum(w for w, _, _ in heard), params)[1]


def _by_department(
    departments: list[DepartmentRecord], responses: list[ResponseRecord]
) -> dict[int, list[ResponseRecord]]:
    by_department: dict[int, list[ResponseRecord]] = defaultdict(list)
    known = {d.id for d in departments}
    for r in responses:
        if r.department_id not in known:
            raise ValueError(f"response for unknown department {r.department_id}")
        by_department[r.department_id].append(r)
    return by_department


def _department_weights(departments: list[DepartmentRecord]) -> list[float]:
    if not all(math.isfinite(d.weight) and d.weight >= 0 for d in departments):
        raise ValueError("department weights must be finite and ≥ 0")
    return _relative([d.weight for d in departments])


def _capped_mean(
    heard: list[tuple[float, float, bool]], heard_weight: float, params: ScoringParams
) -> tuple[float | None, float | None, int | None]:
    """From the (relative weight, score, is decision maker) of the departments with a verdict and the sum
    of those weights, return the weighted mean, the same capped at the weakest deciding score + cap, and
    the weakest deciding one's position in `heard` (the first of equals; None without one)."""
    uncapped = math.fsum(w * s for w, s, _ in heard) / heard_weight if heard_weight > 0 else None
    deciding = [i for i, (_, _, decides) in enumerate(heard) if decides]
    weakest = min(deciding, key=lambda i: heard[i][1], default=None)
    score = uncapped
    if uncapped is not None and weakest is not None:
        score = min(uncapped, heard[weakest][1] + params.weakest_cap)
    return uncapped, score, weakest


def _account_dimensions(
    heard: list[tuple[float, DepartmentSatisfaction]], params: ScoringParams
) -> tuple[DimensionGap, ...]:
    """Per dimension, the decision-weighted mean of the departments' verdicts on it (evidence summed)."""
    parts: dict[str, list[tuple[float, DimensionGap]]] = defaultdict(list)
    for weight, department in heard:
        if weight > 0:
            for gap in department.dimensions:
                parts[gap.dimension].append((weight, gap))
    return _worst_first(
        _dimension_gap(
            name,
            math.fsum(w * g.score for w, g in weighed) / math.fsum(w for w, _ in weighed),
            math.fsum(g.evidence for _, g in weighed),
            params,
        )
        for name, weighed in parts.items()
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
