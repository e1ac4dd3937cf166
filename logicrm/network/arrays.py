"""The influence graph's arrays built straight from the records (the production path, DESIGN §4.7).

`build_graph` makes a networkx graph with a Python object per arc, the reference; `build_arrays` makes
the same `GraphArrays` as `GraphArrays.from_graph(build_graph(...))` in whole-array numpy steps: one
sort groups the links into pairs, bincounts sum their volumes per pair and direction, a second sort
orders the forward arcs by head.
"""

import operator
from collections.abc import Iterable
from itertools import repeat
from operator import attrgetter

import numpy as np

from logicrm.network.graph import (
    _LARGEST,
    AMOUNT_CEILING,
    DAYS_PER_MONTH,
    GraphArrays,
    LinkRecord,
    NodeRecord,
    _check_link,
    _either,
)
from logicrm.network.params import ScoringParams

_FLOWS = ("volume_90d", "shipments_per_month", "revenue_per_month", "cost_per_month")  # LinkFlow's order


def build_arrays(
    nodes: Iterable[NodeRecord], links: Iterable[LinkRecord], params: ScoringParams
) -> GraphArrays:
    """Build the arrays of `build_graph`'s graph straight from the records, in whole-array steps.

    The production path: no Python object per arc. Equal to `from_graph(build_graph(...))`, with the
    same node order, pairs, forward arcs and validation errors; arcs into one node are ordered by tail
    and links keep their order, so sums over arcs or links may differ in the last bits.
    """
    records, links = list(nodes), list(links)
    ids = np.fromiter(map(attrgetter("id"), records), np.int64, len(records))
    n, m = len(ids), len(links)
    if _repeats(ids).any():
        raise ValueError(f"duplicate customer {int(ids[_repeats(ids).argmax()])}")

    def column(name: str, dtype: type = np.float64) -> np.ndarray:
        return np.fromiter(map(attrgetter(name), links), dtype, m)

    declared_or_none = list(map(attrgetter("declared_monthly_volume"), links))
    has_declared = np.fromiter(map(operator.is_not, declared_or_none, repeat(None)), bool, m)
    declared = np.array(declared_or_none, dtype=np.float64).reshape(m)  # None becomes NaN
    amounts = np.stack([column(name) for name in _FLOWS])
    link_ids = column("id", np.int64)
    s, known_shipper = _rows_of(ids, column("shipper_id", np.int64))
    c, known_consignee = _rows_of(ids, column("consignee_id", np.int64))
    given = declared[has_declared]
    if not (
        known_shipper.all()
        and known_consignee.all()
        and (s != c).all()
        and _in_range(amounts.min(initial=0.0))
        and _in_range(amounts.max(initial=0.0))
        and _in_range(given.min(initial=0.0))
        and _in_range(given.max(initial=0.0))  # NaN fails every comparison, as in _check_link
        and not _repeats(link_ids).any()
    ):  # build_graph's error for the first invalid link
        invalid = (
            ~known_shipper
            | ~known_consignee
            | (s == c)
            | ~_in_range(amounts).all(axis=0)
            | (has_declared & ~_in_range(declared))
            | _repeats(link_ids)
        )
        first = int(invalid.argmax())
        _check_link(links[first], set(ids.tolist()), set(link_ids[:first].tolist()))
    with np.errstate(over="ignore", invalid="ignore"):
        window = declared * params.volume_window_days / DAYS_PER_MONTH
    volume = np.where((amounts[0] > 0) | ~has_declared, amounts[0], window)
    flows = np.minimum(np.stack([volume, *amounts[1:]]), AMOUNT_CEILING)  # LinkFlow's fields, per link

    # pairs: the links between two customers either way, between rows lo < hi; per pair and direction
    # (0: hi→lo, 1: lo→hi) its links' counts and sums, each in the links' order as build_graph adds them
    lo, hi = np.minimum(s, c), np.maximum(s, c)
    pair_keys, pair = np.unique(lo * max(n, 1) + hi, return_inverse=True)
    pairs, lo, hi = len(pair_keys), pair_keys // max(n, 1), pair_keys % max(n, 1)
    slot = 2 * pair + (s < c)
    trades = np.bincount(slot, minlength=2 * pairs).reshape(pairs, 2) > 0
    sums = [_sums(slot, row, 2 * pairs).reshape(pairs, 2) for row in flows[:3]]
    inbound, outbound = _sums(c, flows[0], n), _sums(s, flows[0], n)
    down_from_lo = _channels(params.alpha_down, sums[0][:, 1], inbound[hi])
    up_from_hi = _channels(params.alpha_up, sums[0][:, 1], outbound[lo])
    down_from_hi = _channels(params.alpha_down, sums[0][:, 0], inbound[lo])
    up_from_lo = _channels(params.alpha_up, sums[0][:, 0], outbound[hi])
    # arc lo→hi carries trade lo→hi's down channel and trade hi→lo's up channel; unless both trade, one is
    # absent, and adding its 0 is exact where 1 − (1 − a)·1 would round
    both = trades.all(axis=1)
    lo_hi = np.where(both, _either(down_from_lo, up_from_lo), down_from_lo + up_from_lo)
    hi_lo = np.where(both, _either(down_from_hi, up_from_hi), down_from_hi + up_from_hi)
    business = np.minimum(np.stack([row.sum(axis=1) for row in sums]), AMOUNT_CEILING)  # as from_graph

    # busiest nodes first (a stable sort, as from_graph's); the forward arc is the shipper's (from lo when
    # both trade, lo coming first in the records, as from_graph finds it); forward arcs by head, then tail
    order = np.argsort(-(np.bincount(lo, minlength=n) + np.bincount(hi, minlength=n)), kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    forward = trades[:, 1]
    tail, head = rank[np.where(forward, lo, hi)], rank[np.where(forward, hi, lo)]
    arcs = np.argsort(head * n + tail)
    fwd_src, fwd_dst = tail[arcs], head[arcs]
    pair_row = np.empty(pairs, dtype=np.int64)
    pair_row[arcs] = np.arange(pairs)
    link_pair = pair_row[pair]
    pair_volume = business[0][arcs]
    src = np.concatenate([fwd_src, fwd_dst])
    ordered = tuple(ids[order].tolist())
    return GraphArrays(
        nodes=ordered,
        index=dict(zip(ordered, range(n), strict=True)),
        src=src,
        dst=np.concatenate([fwd_dst, fwd_src]),
        influence=np.concatenate(
            [np.where(forward, lo_hi, hi_lo)[arcs], np.where(forward, hi_lo, lo_hi)[arcs]]
        ),
        pair_volume=pair_volume,
        pair_shipments=business[1][arcs],
        pair_revenue=business[2][arcs],
        pair_cost=_sums(link_pair, flows[3], pairs),
        pair_links=np.bincount(link_pair, minlength=pairs),
        pair_both=both[arcs],
        node_volume=_sums(src, np.concatenate([pair_volume, pair_volume]), n),
        node_revenue=np.minimum(_sums(s, flows[2], n)[order], AMOUNT_CEILING),
        out_ptr=np.concatenate([[0], np.cumsum(np.bincount(src, minlength=n))]),
        out_arc=np.argsort(src, kind="stable"),
        bwd_by_head=np.argsort(fwd_src * n + fwd_dst),  # by tail, then head: a stable sort by tail
        link_index=dict(zip(link_ids.tolist(), range(m), strict=True)),
        link_pair=link_pair,
        link_volume=flows[0],
        link_shipments=flows[1],
        link_revenue=flows[2],
        link_cost=flows[3],
        link_shipper=rank[s],
        link_consignee=rank[c],
    )


def _repeats(values: np.ndarray) -> np.ndarray:
    """Return which values already occurred earlier in the array (all False fast when none repeats)."""
    repeated = np.zeros(len(values), dtype=bool)
    if len(values) > 1 and (np.diff(np.sort(values)) == 0).any():
        repeated[:] = True
        repeated[np.unique(values, return_index=True)[1]] = False
    return repeated


def _rows_of(ids: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return each key's row in `ids` and whether it is there at all (a lookup table when ids are dense)."""
    if not len(ids):
        return np.zeros(len(keys), dtype=np.int64), np.zeros(len(keys), dtype=bool)
    low, span = int(ids.min()), int(ids.max()) - int(ids.min()) + 1
    if span <= 4 * len(ids) + 1024:
        table = np.full(span, -1, dtype=np.int64)
        table[ids - low] = np.arange(len(ids))
        inside = (keys >= low) & (keys < low + span)
        rows = np.where(inside, table[np.where(inside, keys - low, 0)], -1)
        return np.maximum(rows, 0), rows >= 0
    by_id = np.argsort(ids, kind="stable")
    rows = by_id[np.minimum(np.searchsorted(ids, keys, sorter=by_id), len(ids) - 1)]
    return rows, ids[rows] == keys


def _in_range(amounts):
    """Return whether amounts are finite and ≥ 0, as _check_link requires (elementwise for arrays)."""
    return (amounts >= 0.0) & (amounts <= _LARGEST)


def _sums(keys: np.ndarray, weights: np.ndarray, length: int) -> np.ndarray:
    """Return the weights summed per key in 0..length − 1, in the order given (floats even when empty)."""
    return np.bincount(keys, weights, minlength=length).astype(np.float64, copy=False)


def _channels(alpha: float, volume: np.ndarray, total: np.ndarray) -> np.ndarray:
    """Return alpha times each share volume / total (0 where total is 0), as build_graph's channel."""
    return alpha * np.divide(volume, total, out=np.zeros_like(volume), where=total > 0)
