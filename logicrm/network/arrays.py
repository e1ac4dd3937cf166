"""The influence graph's arrays built straight from the records (the production path, DESIGN §4.7).

`build_graph` makes a networkx graph with a Python object per arc, the reference; `build_arrays` makes
the same `GraphArrays` as `GraphArrays.from_graph(build_graph(...))` with whole-array numpy steps.
"""

from collections.abc import Iterable
from operator import attrgetter

import numpy as np

from logicrm.network.graph import (
    _LARGEST,
    _LINK_AMOUNTS,
    AMOUNT_CEILING,
    DAYS_PER_MONTH,
    GraphArrays,
    LinkRecord,
    NodeRecord,
    _check_link,
    _either,
)
from logicrm.network.params import ScoringParams


def build_arrays(
    nodes: Iterable[NodeRecord], links: Iterable[LinkRecord], params: ScoringParams
) -> GraphArrays:
    """Build the arrays of `build_graph`'s graph straight from the records, in whole-array steps.

    The production path: no Python object per arc. Equal to `from_graph(build_graph(...))`: the same
    node order, pairs, forward arcs and validation errors, except that arcs into one node are ordered
    by tail (sums over arcs may differ in the last bits).
    """
    records, links = list(nodes), list(links)
    ids = np.fromiter(map(attrgetter("id"), records), np.int64, len(records))
    n, m, base = len(ids), len(links), max(len(ids), 1)
    if _repeats(ids).any():
        raise ValueError(f"duplicate customer {int(ids[_repeats(ids).argmax()])}")

    def column(name: str, dtype: type = np.float64) -> np.ndarray:
        return np.fromiter(map(attrgetter(name), links), dtype, m)

    declared_or_none = list(map(attrgetter("declared_monthly_volume"), links))
    has_declared = np.fromiter((d is not None for d in declared_or_none), bool, m)
    declared = np.fromiter((0.0 if d is None else d for d in declared_or_none), np.float64, m)
    amounts = np.stack([column(name) for name in _LINK_AMOUNTS if name != "declared_monthly_volume"])
    link_ids = column("id", np.int64)
    s, known_shipper = _rows_of(ids, column("shipper_id", np.int64))
    c, known_consignee = _rows_of(ids, column("consignee_id", np.int64))
    invalid = (
        _repeats(link_ids)
        | ~known_shipper
        | ~known_consignee
        | (s == c)
        | ~((amounts >= 0.0) & (amounts <= _LARGEST)).all(axis=0)
        | (has_declared & ~((declared >= 0.0) & (declared <= _LARGEST)))
    )
    if invalid.any():  # build_graph's error for the first invalid link
        first = int(invalid.argmax())
        _check_link(links[first], set(ids.tolist()), set(link_ids[:first].tolist()))
    with np.errstate(over="ignore"):
        window = declared * params.volume_window_days / DAYS_PER_MONTH
    volume = np.where((amounts[0] > 0) | ~has_declared, amounts[0], window)
    flows = np.minimum(np.stack([volume, *amounts[1:]]), AMOUNT_CEILING)  # LinkFlow's fields, per link

    # trades: the links from one shipper to one consignee, numbered in the order of their first link
    keys, first_link, trade = np.unique(s * base + c, return_index=True, return_inverse=True)
    by_first = np.argsort(first_link, kind="stable")
    renumber = np.empty_like(by_first)
    renumber[by_first] = np.arange(len(by_first))
    trade, keys = renumber[trade], keys[by_first]
    ts, tc = keys // base, keys % base
    trade_sums = np.stack([_sums(trade, row, len(keys)) for row in flows[:3]])
    down = _channels(params.alpha_down, trade_sums[0], _sums(c, flows[0], n)[tc])
    up = _channels(params.alpha_up, trade_sums[0], _sums(s, flows[0], n)[ts])
    # pairs: the trades between two customers either way, between rows lo < hi
    pair_keys, pair = np.unique(np.minimum(ts, tc) * base + np.maximum(ts, tc), return_inverse=True)
    pairs, lo, hi = len(pair_keys), pair_keys // base, pair_keys % base
    lohi = ts < tc

    def per_pair(values: np.ndarray, where: np.ndarray) -> np.ndarray:
        return _sums(pair, np.where(where, values, 0.0), pairs)

    both = np.bincount(pair, minlength=pairs) == 2
    # arc lo→hi carries trade lo→hi's down channel and trade hi→lo's up channel; unless both trade,
    # one is absent, and adding its 0 is exact where 1 − (1 − a)·1 would round
    channels = [per_pair(down, lohi), per_pair(up, ~lohi), per_pair(down, ~lohi), per_pair(up, lohi)]
    lohi_arc = np.where(both, _either(channels[0], channels[1]), channels[0] + channels[1])
    hilo_arc = np.where(both, _either(channels[2], channels[3]), channels[2] + channels[3])
    lower_first = ids[ts] < ids[tc]  # build_graph adds the trade from the lower id first
    business = [per_pair(row, lower_first) + per_pair(row, ~lower_first) for row in trade_sums]
    business = np.minimum(np.stack(business), AMOUNT_CEILING)  # saturated, as GraphArrays.from_graph

    # busiest nodes first (a stable sort, as from_graph's); forward arcs (the shipper's, or from the
    # earlier record when both trade) by head, then tail
    order = np.argsort(-(np.bincount(lo, minlength=n) + np.bincount(hi, minlength=n)), kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    forward = np.bincount(pair, lohi, minlength=pairs) > 0  # the pair's forward arc is lo→hi
    tail, head = rank[np.where(forward, lo, hi)], rank[np.where(forward, hi, lo)]
    arcs = np.lexsort((tail, head))
    fwd_src, fwd_dst = tail[arcs], head[arcs]
    influence = np.concatenate(
        [np.where(forward, lohi_arc, hilo_arc)[arcs], np.where(forward, hilo_arc, lohi_arc)[arcs]]
    )
    pair_row = np.empty(pairs, dtype=np.int64)
    pair_row[arcs] = np.arange(pairs)
    link_pair = pair_row[pair[trade]]
    rows = np.lexsort((link_ids, link_pair))
    link_pair, flows = link_pair[rows], flows[:, rows]
    pair_volume = business[0][arcs]
    src = np.concatenate([fwd_src, fwd_dst])
    nodes = tuple(ids[order].tolist())
    return GraphArrays(
        nodes=nodes,
        index={node: i for i, node in enumerate(nodes)},
        src=src,
        dst=np.concatenate([fwd_dst, fwd_src]),
        influence=influence,
        pair_volume=pair_volume,
        pair_shipments=business[1][arcs],
        pair_revenue=business[2][arcs],
        pair_cost=_sums(link_pair, flows[3], pairs),
        pair_links=np.bincount(link_pair, minlength=pairs),
        pair_both=both[arcs],
        node_volume=_sums(src, np.concatenate([pair_volume, pair_volume]), n),
        # billed trade by trade, as build_graph sums it
        node_revenue=np.minimum(_sums(ts, trade_sums[2], n)[order], AMOUNT_CEILING),
        out_ptr=np.concatenate([[0], np.cumsum(np.bincount(src, minlength=n))]),
        out_arc=np.argsort(src, kind="stable"),
        bwd_by_head=np.argsort(fwd_src, kind="stable"),
        link_index=dict(zip(link_ids[rows].tolist(), range(m), strict=True)),
        link_pair=link_pair,
        link_volume=flows[0],
        link_shipments=flows[1],
        link_revenue=flows[2],
        link_cost=flows[3],
        link_shipper=rank[s[rows]],
        link_consignee=rank[c[rows]],
    )


def _repeats(values: np.ndarray) -> np.ndarray:
    """Return which values already occurred earlier in the array."""
    repeated = np.ones(len(values), dtype=bool)
    repeated[np.unique(values, return_index=True)[1]] = False
    return repeated


def _rows_of(ids: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return each key's row in `ids` and whether it is there at all."""
    if not len(ids):
        return np.zeros(len(keys), dtype=np.int64), np.zeros(len(keys), dtype=bool)
    by_id = np.argsort(ids, kind="stable")
    rows = by_id[np.minimum(np.searchsorted(ids, keys, sorter=by_id), len(ids) - 1)]
    return rows, ids[rows] == keys


def _sums(keys: np.ndarray, weights: np.ndarray, length: int) -> np.ndarray:
    """Return the weights summed per key in 0..length − 1, in the order given (floats even when empty)."""
    return np.bincount(keys, weights, minlength=length).astype(np.float64, copy=False)


def _channels(alpha: float, volume: np.ndarray, total: np.ndarray) -> np.ndarray:
    """Return alpha times each share volume / total (0 where total is 0), as build_graph's channel."""
    return alpha * np.divide(volume, total, out=np.zeros_like(volume), where=total > 0)
