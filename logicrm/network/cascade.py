"""What-if cascade (DESIGN §4.9): who and what the provider loses if accounts or links go."""

from collections.abc import Collection, Hashable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

import networkx as nx
import numpy as np

from logicrm.network.graph import GraphArrays
from logicrm.network.risk import propagate_arrays


class RoundBusiness(NamedTuple):
    """The business one round of a cascade cuts, per month over the volume window."""

    volume: float
    shipments_per_month: float
    revenue_per_month: float
    cost_per_month: float
    links_cut: int


@dataclass(frozen=True, slots=True)
class CascadeResult:
    """Accounts lost by round (round 0: removed), the round each was lost in, and the business cut (in all
    and per round; round 0 also holds what the changes to links take)."""

    rounds: list[list[Hashable]]
    lost: dict[Hashable, int]
    links_cut: int
    shipments_per_month_lost: float
    revenue_per_month_lost: float
    by_round: list[RoundBusiness]


def what_if(
    graph: nx.DiGraph | GraphArrays,
    *,
    remove_customers: Collection[Hashable] = (),
    remove_links: Collection[int] = (),
    reduce_links: Mapping[int, float] | None = None,
    threshold: float = 0.5,
) -> CascadeResult:
    """Remove accounts and links, then lose, round by round, every account keeping < threshold of its volume.

    An account's volume is that of all its links, both roles of a distributor included; a lost account's
    links are cut, which may push its partners below the threshold in the next round. Accounts with no
    original volume never cascade. `reduce_links` maps links to the share in (0, 1] of their volume,
    shipments, revenue and cost taken in round 0 (share 1: the link is cut, as in `remove_links`). The work
    per round is proportional to the links it cuts.
    """
    arrays = graph if isinstance(graph, GraphArrays) else GraphArrays.from_graph(graph)
    removed = node_rows(arrays.index, remove_customers, "customers")
    shares = dict.fromkeys(remove_links, 1.0) | {
        link: share for link, share in (reduce_links or {}).items() if link not in remove_links
    }
    if not all(0.0 < share <= 1.0 for share in shares.values()):
        raise ValueError("a link's share taken must lie in (0, 1]")
    link_rows = node_rows(arrays.link_index, list(shares), "links")
    taken = np.array([shares[link] for link in sorted(shares, key=arrays.link_index.__getitem__)])
    rounds, business = _cascade(arrays, removed, link_rows, threshold, taken)
    named = [[arrays.nodes[i] for i in r.tolist()] for r in rounds]
    totals = business.sum(axis=0)
    return CascadeResult(
        rounds=named,
        lost={node: k for k, members in enumerate(named) for node in members},
        links_cut=int(totals[4]),
        shipments_per_month_lost=float(totals[1]),
        revenue_per_month_lost=float(totals[2]),
        by_round=[RoundBusiness(*row[:4].tolist(), int(row[4])) for row in business],
    )


def node_rows(index: Mapping[Hashable, int], keys: Collection[Hashable], what: str) -> np.ndarray:
    """Return the distinct array rows of `keys`; unknown keys are an error."""
    unknown = [key for key in keys if key not in index]
    if unknown:
        raise ValueError(f"unknown {what}: {unknown[:5]}")
    return np.unique(np.array([index[key] for key in keys], dtype=np.int64))


def _cascade(
    arrays: GraphArrays,
    removed: np.ndarray,
    link_rows: np.ndarray,
    threshold: float,
    taken: np.ndarray | None = None,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Return the accounts lost by round and, per round, the business cut as rows of (volume, shipments,
    revenue, cost, links cut). `taken` is the share of each of `link_rows` taken in round 0 (default all)."""
    if not 0 < threshold <= 1:
        raise ValueError("threshold must lie in (0, 1]")
    n, pairs = len(arrays.nodes), arrays.pairs
    # np.zeros maps fresh zero pages lazily, so these cost what the cascade touches, not n or pairs
    lost = np.zeros(n, dtype=bool)
    lost_volume = np.zeros(n)
    pair_cut = np.zeros(pairs, dtype=bool)
    # the part of a pair already gone with the links taken: volume, shipments, revenue, cost, links cut
    pair_gone: dict[int, np.ndarray] = {}
    taken = np.ones(len(link_rows)) if taken is None else taken
    by_round = [np.zeros(5)]
    touched = []
    for row, share in zip(link_rows.tolist(), taken.tolist(), strict=True):
        p = int(arrays.link_pair[row])
        flow = np.array([
            share * arrays.link_volume[row], share * arrays.link_shipments[row], share * arrays.link_revenue[row],
            share * arrays.link_cost[row], float(share == 1.0),
        ])  # fmt: skip
        pair_gone[p] = pair_gone.get(p, 0.0) + flow
        by_round[0] += flow
        ends = arrays.src[[p, p + pairs]]
        lost_volume[ends] += flow[0]
        touched.append(ends)
    lost[removed] = True
    rounds = [removed]
    frontier = removed
    affected = np.unique(np.concatenate(touched)) if touched else removed[:0]
    while True:
        arcs = _out_arcs(arrays, frontier)
        cut = arcs % pairs if pairs else arcs
        cut, first = np.unique(cut, return_index=True)
        fresh = ~pair_cut[cut]
        cut, arcs = cut[fresh], arcs[first][fresh]
        pair_cut[cut] = True
        business = np.stack([
            arrays.pair_volume[cut], arrays.pair_shipments[cut], arrays.pair_revenue[cut], arrays.pair_cost[cut],
            arrays.pair_links[cut].astype(np.float64),
        ])  # fmt: skip
        if pair_gone:
            for k in np.flatnonzero(np.isin(cut, list(pair_gone))).tolist():
                business[:, k] -= pair_gone[int(cut[k])]
        by_round[-1] += business.sum(axis=1)
        partners = arrays.dst[arcs]
        staying = ~lost[partners]
        np.add.at(lost_volume, partners[staying], business[0][staying])
        affected = np.union1d(affected, partners[staying])
        volume = arrays.node_volume[affected]
        below = (volume > 0) & (volume - lost_volume[affected] < threshold * volume) & ~lost[affected]
        frontier = affected[below]
        if not len(frontier):
            return rounds, np.array(by_round)
        lost[frontier] = True
        rounds.append(frontier)
        by_round.append(np.zeros(5))
        affected = frontier[:0]


def _out_arcs(arrays: GraphArrays, nodes: np.ndarray) -> np.ndarray:
    """Return the out-arcs of `nodes`, concatenated."""
    starts, ends = arrays.out_ptr[nodes], arrays.out_ptr[nodes + 1]
    lengths = ends - starts
    offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
    return arrays.out_arc[offsets]


def expected_loss(
    graph: nx.DiGraph | GraphArrays,
    own_risk: Mapping[Hashable, float],
    *,
    remove_customers: Collection[Hashable],
    tol: float = 1e-12,
    max_iter: int = 10_000,
) -> float:
    """Return Σ r_i·revenue_i per month under §4.7 with the removed accounts' r0 set to 1.

    revenue_i is what account i is billed per month (as shipper). This is the whole expected loss given
    the removal, not its excess over the baseline with nobody removed.
    """
    arrays = graph if isinstance(graph, GraphArrays) else GraphArrays.from_graph(graph)
    r0 = arrays.vector(own_risk)
    r0[node_rows(arrays.index, remove_customers, "customers")] = 1.0
    risk = propagate_arrays(arrays, r0, tol=tol, max_iter=max_iter).risk
    return float(risk @ arrays.node_revenue)


def exposures(arrays: GraphArrays, *, threshold: float = 0.5) -> dict[Hashable, float]:
    """Return, for every account, the revenue per month the cascade loses if that account alone leaves.

    Most departures push no partner below the threshold; their loss is just their own links' revenue,
    found for all accounts at once. Only the others run a cascade.
    """
    pairs = arrays.pairs
    n = len(arrays.nodes)
    both = np.concatenate([arrays.pair_revenue, arrays.pair_revenue])
    loss = np.bincount(arrays.src, both, minlength=n) if pairs else np.zeros(n)
    partner_volume = arrays.node_volume[arrays.dst]
    left = partner_volume - np.concatenate([arrays.pair_volume, arrays.pair_volume])
    tips = (partner_volume > 0) & (left < threshold * partner_volume)
    no_links = np.empty(0, dtype=np.int64)
    for i in np.unique(arrays.src[tips]).tolist():
        loss[i] = _cascade(arrays, np.array([i]), no_links, threshold)[1][:, 2].sum()
    return arrays.mapping(loss)
