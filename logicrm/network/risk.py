"""Network risk by non-backtracking message passing (DESIGN §4.7) and explanations (§4.8); own risk (§4.6)
comes from logicrm.network.churn."""

import math
import operator
import sys
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from itertools import accumulate

import networkx as nx
import numpy as np

from logicrm.memory import paused_gc, pickled_by_fields
from logicrm.network.graph import GraphArrays
from logicrm.network.params import ScoringParams

# An arc that surely transmits (a·m = 1) has factor 0; flooring it keeps logs finite, and any product
# that still contains the floor is below 1e-150, i.e. zero for a probability.
_FACTOR_FLOOR = 1e-150
_LARGEST = sys.float_info.max


class NotConverged(RuntimeError):
    """Message passing did not settle within max_iter sweeps."""


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Driver:
    """One share of an account's network risk.

    kind is 'baseline' (the average account's risk), 'own' (key: feature name), 'neighbour' (key: its
    node id), 'departed' (key: a partner that left lately) or 'other' (the drivers beyond the top ones,
    summed).
    """

    kind: str
    key: Hashable | None
    share: float


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class OwnRisk:
    """Own churn risk r0, the input of propagation: `evidence` is the churn model's probability from the
    account's own evidence, raised by the partners that left lately (their shares of r0 in `departed`).

    The features' contributions to the logit are not kept here: `explain` turns them into drivers, and
    the published scores hold one of these per account (issue 13, target 6)."""

    risk: float
    evidence: float | None = None  # None: risk is all own evidence
    departed: tuple[Driver, ...] = ()

    @property
    def from_evidence(self) -> float:
        """The probability from the account's own evidence alone, without the partners that left."""
        return self.risk if self.evidence is None else self.evidence


@dataclass(frozen=True, eq=False)
class Propagation:
    """Network risk per node and the converged message on every arc, in GraphArrays order."""

    risk: np.ndarray
    messages: np.ndarray
    sweeps: int


def propagate(
    graph: nx.DiGraph,
    own_risk: Mapping[Hashable, float],
    *,
    weight: str = "influence",
    tol: float = 1e-12,
    max_iter: int = 10_000,
) -> dict[Hashable, float]:
    """Return network risk r per node by non-backtracking message passing (vectorised)."""
    arrays = GraphArrays.from_graph(graph, weight=weight)
    result = propagate_arrays(arrays, arrays.vector(own_risk), tol=tol, max_iter=max_iter)
    return arrays.mapping(result.risk)


def propagate_arrays(
    arrays: GraphArrays, own_risk: np.ndarray, *, tol: float = 1e-12, max_iter: int = 10_000
) -> Propagation:
    """Run the message passing on prebuilt arrays; own_risk is r0 in node index order.

    Messages are updated half by half (the forward arcs p < pairs, then their reverses) from the
    freshest values: a Gauss–Seidel sweep. From m = r0 of the sender the messages only grow, so this
    converges to the same fixed point as the reference's synchronous sweeps, in about half as many
    sweeps on shipper/consignee graphs, where down messages depend only on up messages and vice versa.
    The product over k→j, k ≠ i is the product over all arcs into j divided by the reverse arc's factor.
    """
    r0 = np.asarray(own_risk, dtype=np.float64)
    _check_probabilities(r0, "own risk", len(arrays.nodes))
    _check_probabilities(arrays.influence, "influence", len(arrays.influence))
    n, pairs = len(arrays.nodes), arrays.pairs
    halves = (slice(0, pairs), slice(pairs, 2 * pairs))
    src = [arrays.src[h] for h in halves]
    influence = [arrays.influence[h] for h in halves]
    miss = [1.0 - a for a in influence]
    keep = 1.0 - r0
    survive = [keep[s] for s in src]  # 1 − m, starting from m = r0 of the sender
    factors = [np.empty(pairs), np.empty(pairs)]
    # per half, the arcs in head order as segments; the forward half is stored in that order already
    by_head = [None, arrays.bwd_by_head]
    heads = [arrays.dst[halves[0]], arrays.dst[halves[1]][arrays.bwd_by_head]]
    starts = [np.flatnonzero(np.diff(head, prepend=-1)) for head in heads]
    segment_heads = [head[start] for head, start in zip(heads, starts, strict=True)]
    into = [np.ones(n), np.ones(n)]  # per node, Π (1 − a·m) over its in-arcs of each half
    scratch, spare = np.empty(pairs), np.empty(pairs)
    can_be_certain = bool(pairs) and arrays.influence.max() == 1.0  # only a = 1 can make a factor 0

    def refresh(h: int) -> None:
        # 1 − a·m = (1 − a) + a·(1 − m)
        np.multiply(influence[h], survive[h], out=factors[h])
        np.add(factors[h], miss[h], out=factors[h])
        if can_be_certain:
            np.maximum(factors[h], _FACTOR_FLOOR, out=factors[h])
        if pairs:
            ordered = (
                factors[h] if by_head[h] is None else np.take(factors[h], by_head[h], out=spare, mode="clip")
            )
            into[h][segment_heads[h]] = np.multiply.reduceat(ordered, starts[h])

    refresh(0)
    refresh(1)
    sweeps = 0
    while True:
        sweeps += 1
        change = 0.0
        for h in (0, 1):
            # dividing out the reverse arc's factor leaves the product over k→j, k ≠ i
            new = np.take(into[0] * into[1] * keep, src[h], out=scratch, mode="clip")
            np.divide(new, factors[1 - h], out=new)
            np.subtract(new, survive[h], out=spare)
            # max |Δ| from two reductions (cheaper than writing |Δ| first)
            change = max(change, float(spare.max(initial=0.0)), -float(spare.min(initial=0.0)))
            survive[h], scratch = new, survive[h]
            refresh(h)
        if change < tol:
            break
        if sweeps == max_iter:
            raise NotConverged(f"messages still changing by {change:.3g} after {max_iter} sweeps")
    # never below r0: 1 − (1 − r0)·1 may round an ulp under it, and a partner never lowers a risk
    risk = np.maximum(r0, 1.0 - (1.0 - r0) * into[0] * into[1])
    return Propagation(risk=risk, messages=1.0 - np.concatenate(survive), sweeps=sweeps)


def _check_probabilities(values: np.ndarray, what: str, size: int) -> None:
    if values.shape != (size,):
        raise ValueError(f"{what} must have shape ({size},), got {values.shape}")
    if size and not (values.min() >= 0.0 and values.max() <= 1.0):
        raise ValueError(f"{what} must lie in [0, 1]")


@paused_gc()
def propagate_reference(
    graph: nx.DiGraph,
    own_risk: Mapping[Hashable, float],
    *,
    weight: str = "influence",
    tol: float = 1e-12,
    max_iter: int = 10_000,
) -> dict[Hashable, float]:
    """Return network risk by synchronous message updates arc by arc over networkx (the specification)."""
    if any(node in graph.succ[node] for node in graph):
        raise ValueError("self-loops are not allowed")
    senders = {j: [(k, data[weight]) for k, data in graph.pred[j].items()] for j in graph}
    position = {j: {k: p for p, (k, _) in enumerate(senders[j])} for j in graph}
    messages = {(j, i): float(own_risk[j]) for j, i in graph.edges}

    def factors(j: Hashable) -> list[float]:
        return [1.0 - a * messages[k, j] for k, a in senders[j]]

    for _ in range(max_iter):
        updated = {}
        for j in graph:
            keep = 1.0 - own_risk[j]
            into_j = factors(j)
            # prefix[p] · suffix[p + 1] is the product over all senders but the p-th, without division
            prefix = list(accumulate(into_j, operator.mul, initial=1.0))
            suffix = list(accumulate(reversed(into_j), operator.mul, initial=1.0))[::-1]
            for i in graph.succ[j]:
                p = position[j].get(i)
                others = prefix[-1] if p is None else prefix[p] * suffix[p + 1]
                updated[j, i] = 1.0 - keep * others
        change = max((abs(updated[arc] - messages[arc]) for arc in messages), default=0.0)
        messages = updated
        if change < tol:
            break
    else:
        raise NotConverged(f"messages still changing by {change:.3g} after {max_iter} sweeps")
    return {i: 1.0 - (1.0 - own_risk[i]) * math.prod(factors(i)) for i in graph}


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Explanation:
    """An account's network risk and own risk, with driver shares summing to the network risk."""

    risk: float
    own_risk: float
    drivers: tuple[Driver, ...]


def explain(
    arrays: GraphArrays,
    propagation: Propagation,
    own: Mapping[Hashable, OwnRisk],
    params: ScoringParams,
    *,
    contributions: Mapping[Hashable, Mapping[str, float]],
    baseline: float,
    nodes: Iterable[Hashable] | None = None,
    top: int | None = None,
) -> dict[Hashable, Explanation]:
    """Attribute each account's network risk r to its drivers, largest first.

    r0 goes to the baseline (the average account's risk) and, for the rest, to own drivers in proportion
    to their positive logit contributions (`contributions`: per account, each feature's part of its
    logit); r − r0 goes to in-neighbours j in proportion to −log(1 − a_ji·m_ji), their terms in
    −log(1 − r). The top drivers are named, the rest summed as 'other'.
    """
    top = params.explain_top if top is None else top
    r0 = np.array([own[node].risk for node in arrays.nodes])
    terms = -np.log1p(-np.minimum(arrays.influence * propagation.messages, 1.0 - 1e-16))
    spread = propagation.risk - r0
    totals = np.bincount(arrays.dst, terms, minlength=len(arrays.nodes))
    arcs = np.flatnonzero(terms > 0)
    shares = spread[arrays.dst[arcs]] * terms[arcs] / totals[arrays.dst[arcs]]
    arcs, shares = arcs[shares > 0], shares[shares > 0]
    order = np.lexsort((-shares, arrays.dst[arcs]))
    arcs, shares = arcs[order], shares[order]
    heads = arrays.dst[arcs]
    wanted = arrays.nodes if nodes is None else nodes
    result = {}
    for node in wanted:
        i = arrays.index[node]
        lo, hi = np.searchsorted(heads, [i, i + 1])
        neighbours = [
            Driver("neighbour", arrays.nodes[j], s)
            for j, s in zip(arrays.src[arcs[lo:hi]].tolist(), shares[lo:hi].tolist(), strict=True)
        ]
        drivers = _own_drivers(own[node], contributions[node], baseline) + neighbours
        drivers.sort(key=lambda d: d.share, reverse=True)
        named, rest = drivers[:top], drivers[top:]
        if rest:
            named.append(Driver("other", None, math.fsum(d.share for d in rest)))
        result[node] = Explanation(float(propagation.risk[i]), own[node].risk, tuple(named))
    return result


def _own_drivers(own: OwnRisk, contributions: Mapping[str, float], baseline: float) -> list[Driver]:
    evidence = own.from_evidence
    base = min(baseline, evidence)
    positive = {k: c for k, c in contributions.items() if c > 0}
    if not positive:
        drivers = [Driver("baseline", None, evidence)] if evidence > 0 else []
        return [*drivers, *own.departed]
    # contributions relative to the largest: the same proportions, and a sum that cannot overflow
    largest = max(positive.values())
    relative = {k: c / largest for k, c in positive.items()}
    total = math.fsum(relative.values())
    drivers = [Driver("own", k, (evidence - base) * c / total) for k, c in relative.items()]
    return [Driver("baseline", None, base), *drivers, *own.departed]
