"""Customer network: one node per customer, two influence arcs per trading pair (DESIGN §4.7)."""

import sys
from collections import defaultdict
from collections.abc import Callable, Container, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import networkx as nx
import numpy as np

from logicrm.memory import paused_gc
from logicrm.network.params import ScoringParams

SHIPPER = "shipper"
CONSIGNEE = "consignee"
DAYS_PER_MONTH = 30
# Every volume and amount of money a link brings into the graph saturates here, so that sums over any
# portfolio that fits in memory (fewer than 1e8 links) stay finite: shares, cascades and exposures never
# meet inf or NaN, whatever finite values the records hold.
AMOUNT_CEILING = 1e300


def saturate(amount: float) -> float:
    """Return the amount clamped into [−AMOUNT_CEILING, AMOUNT_CEILING]."""
    return max(-AMOUNT_CEILING, min(AMOUNT_CEILING, amount))


@dataclass(frozen=True, slots=True)
class NodeRecord:
    """One customer; a distributor has both roles and is still one node."""

    id: int
    name: str
    roles: frozenset[str]
    tier: str = "standard"


@dataclass(frozen=True, slots=True)
class LinkRecord:
    """One shipper → consignee link with its trailing volume and monthly business.

    `volume_90d` counts shipments in the trailing volume window; `declared_monthly_volume` stands in for
    it (scaled to the window) while the window holds no shipment. `revenue_per_month` is billed to the
    shipper; `cost_per_month` is what serving the link costs the provider.
    """

    id: int
    shipper_id: int
    consignee_id: int
    volume_90d: float
    declared_monthly_volume: float | None = None
    shipments_per_month: float = 0.0
    revenue_per_month: float = 0.0
    cost_per_month: float = 0.0


class LinkFlow(NamedTuple):
    """What one link carries, as stored on the graph for cascades."""

    volume: float
    shipments_per_month: float
    revenue_per_month: float
    cost_per_month: float = 0.0


def link_volume(link: LinkRecord, params: ScoringParams) -> float:
    """Return the link's volume over the trailing window, falling back to its declared volume (saturated)."""
    if link.volume_90d > 0 or link.declared_monthly_volume is None:
        return min(link.volume_90d, AMOUNT_CEILING)
    return min(link.declared_monthly_volume * params.volume_window_days / DAYS_PER_MONTH, AMOUNT_CEILING)


@paused_gc()
def build_graph(
    nodes: Iterable[NodeRecord], links: Iterable[LinkRecord], params: ScoringParams
) -> nx.DiGraph:
    """Build the influence graph: per trading pair, arcs both ways carrying influence and the pair's business.

    Arc u→v has `influence` a_uv, `direction` ('down' shipper→consignee, 'up', or 'both' when the two
    also trade the other way; independent channels combine as 1 − Π(1 − a)), and the pair's totals over
    its links in both directions: `volume`, `shipments_per_month`, `revenue_per_month`, `link_ids`.
    The graph attribute `links` maps each link id to its LinkFlow, `link_ends` to its (shipper, consignee).
    """
    records: dict[int, NodeRecord] = {}
    for node in nodes:
        if node.id in records:
            raise ValueError(f"duplicate customer {node.id}")
        records[node.id] = node
    flows: dict[int, LinkFlow] = {}
    ends: dict[int, tuple[int, int]] = {}
    trades: dict[tuple[int, int], _Trade] = {}
    inbound: dict[int, float] = defaultdict(float)
    outbound: dict[int, float] = defaultdict(float)
    for link in links:
        _check_link(link, records, flows)
        flow = flows[link.id] = LinkFlow(
            link_volume(link, params),
            min(link.shipments_per_month, AMOUNT_CEILING),
            min(link.revenue_per_month, AMOUNT_CEILING),
            min(link.cost_per_month, AMOUNT_CEILING),
        )
        ends[link.id] = (link.shipper_id, link.consignee_id)
        key = (link.shipper_id, link.consignee_id)
        trade = trades.get(key)
        if trade is None:
            trade = trades[key] = _Trade()
        trade.add(link.id, flow)
        inbound[link.consignee_id] += flow.volume
        outbound[link.shipper_id] += flow.volume

    def channel(trade: _Trade, alpha: float, total: float) -> float:
        # the share first: alpha · volume would lose the precision of a subnormal volume
        return alpha * (trade.volume / total) if total > 0 else 0.0

    volume: dict[int, float] = defaultdict(float)
    billed_shipments: dict[int, float] = defaultdict(float)
    billed_revenue: dict[int, float] = defaultdict(float)
    arcs = []
    for (shipper, consignee), trade in trades.items():
        billed_shipments[shipper] += trade.shipments_per_month
        billed_revenue[shipper] += trade.revenue_per_month
        back = trades.get((consignee, shipper))
        if back is not None and (consignee, shipper) < (shipper, consignee):
            continue  # the reciprocal pair was handled from its other direction
        totals = _Trade().merge(trade)
        if back is not None:
            totals.merge(back)
        attrs = {
            "volume": totals.volume,
            "shipments_per_month": totals.shipments_per_month,
            "revenue_per_month": totals.revenue_per_month,
            "link_ids": tuple(sorted(totals.link_ids)),
        }
        down = channel(trade, params.alpha_down, inbound[consignee])
        up = channel(trade, params.alpha_up, outbound[shipper])
        if back is None:
            arcs.append((shipper, consignee, {"influence": down, "direction": "down", **attrs}))
            arcs.append((consignee, shipper, {"influence": up, "direction": "up", **attrs}))
        else:
            # the consignee also ships to the shipper: each arc has a down and an up channel
            back_down = channel(back, params.alpha_down, inbound[shipper])
            back_up = channel(back, params.alpha_up, outbound[consignee])
            arcs.append(
                (shipper, consignee, {"influence": _either(down, back_up), "direction": "both", **attrs})
            )
            arcs.append(
                (consignee, shipper, {"influence": _either(up, back_down), "direction": "both", **attrs})
            )
        volume[shipper] += totals.volume
        volume[consignee] += totals.volume
    graph = nx.DiGraph(links=flows, link_ends=ends)
    graph.add_nodes_from(
        (
            node.id,
            {
                "name": node.name,
                "roles": node.roles,
                "tier": node.tier,
                "volume": volume[node.id],
                "shipments_per_month": billed_shipments[node.id],
                "revenue_per_month": billed_revenue[node.id],
            },
        )
        for node in records.values()
    )
    graph.add_edges_from(arcs)
    return graph


class _Trade:
    """Running totals of the links between two customers."""

    __slots__ = ("link_ids", "revenue_per_month", "shipments_per_month", "volume")

    def __init__(self) -> None:
        self.volume = self.shipments_per_month = self.revenue_per_month = 0.0
        self.link_ids: list[int] = []

    def add(self, link_id: int, flow: LinkFlow) -> None:
        self.volume += flow.volume
        self.shipments_per_month += flow.shipments_per_month
        self.revenue_per_month += flow.revenue_per_month
        self.link_ids.append(link_id)

    def merge(self, other: "_Trade") -> "_Trade":
        self.volume += other.volume
        self.shipments_per_month += other.shipments_per_month
        self.revenue_per_month += other.revenue_per_month
        self.link_ids += other.link_ids
        return self


def _either(a: float, b: float) -> float:
    """Return the chance that either of two independent channels transmits."""
    return 1.0 - (1.0 - a) * (1.0 - b)


def _check_link(link: LinkRecord, customers: Container[int], seen: Container[int]) -> None:
    if link.id in seen:
        raise ValueError(f"duplicate link {link.id}")
    for end in (link.shipper_id, link.consignee_id):
        if end not in customers:
            raise ValueError(f"link {link.id} refers to unknown customer {end}")
    if link.shipper_id == link.consignee_id:
        raise ValueError(f"link {link.id} ships from customer {link.shipper_id} to itself")
    declared = link.declared_monthly_volume
    # one chain of comparisons per link (build_graph's hot loop); NaN fails every comparison
    if not (
        0.0 <= link.volume_90d <= _LARGEST
        and 0.0 <= link.shipments_per_month <= _LARGEST
        and 0.0 <= link.revenue_per_month <= _LARGEST
        and 0.0 <= link.cost_per_month <= _LARGEST
        and (declared is None or 0.0 <= declared <= _LARGEST)
    ):
        for field in _LINK_AMOUNTS:
            value = getattr(link, field)
            if value is not None and not 0.0 <= value <= _LARGEST:
                raise ValueError(f"link {link.id} has {field} {value}: it must be finite and ≥ 0")


_LARGEST = sys.float_info.max
_LINK_AMOUNTS = (
    "volume_90d",
    "declared_monthly_volume",
    "shipments_per_month",
    "revenue_per_month",
    "cost_per_month",
)


_PAIR_BUSINESS = ("volume", "shipments_per_month", "revenue_per_month")


def _saturated(amounts: list) -> np.ndarray:
    """Return amounts as a float array clamped like `saturate` (graphs not made by build_graph too)."""
    return np.clip(np.array(amounts, dtype=np.float64), -AMOUNT_CEILING, AMOUNT_CEILING)


class Lane(NamedTuple):
    """One trading partner of an account with the business between them (both directions summed)."""

    partner: Hashable
    direction: str  # 'down': the account ships to the partner, 'up': receives from it, 'both'
    influence: float  # the account's influence on the partner (arc account → partner)
    influence_back: float  # the partner's on the account
    shipments_per_month: float
    revenue_per_month: float


@dataclass(frozen=True, eq=False)
class GraphArrays:
    """The graph as flat arrays, built once, for propagation and cascades without networkx.

    Arcs come in reverse pairs: arc p (p < pairs, the forward half, sorted by head) is u→v and arc
    p + pairs is v→u; an arc absent from the graph is present here with influence 0. Pair p's business
    (`pair_*`) is the sum over its links in both directions (its cost: over the links the graph records);
    `pair_both` says the two trade both ways (direction 'both'; otherwise the forward arc is the shipper's,
    'down'). `out_ptr`/`out_arc` list each node's out-arcs
    and `bwd_by_head` orders the reverse half by head. Per link row (`link_index`): its pair, its flow and
    the rows of its shipper and consignee (−1 on graphs that do not record the ends).
    """

    nodes: tuple[Hashable, ...]
    index: dict[Hashable, int]
    src: np.ndarray
    dst: np.ndarray
    influence: np.ndarray
    pair_volume: np.ndarray
    pair_shipments: np.ndarray
    pair_revenue: np.ndarray
    pair_cost: np.ndarray
    pair_links: np.ndarray
    pair_both: np.ndarray
    node_volume: np.ndarray
    node_revenue: np.ndarray
    out_ptr: np.ndarray
    out_arc: np.ndarray
    bwd_by_head: np.ndarray
    link_index: dict[int, int]
    link_pair: np.ndarray
    link_volume: np.ndarray
    link_shipments: np.ndarray
    link_revenue: np.ndarray
    link_cost: np.ndarray
    link_shipper: np.ndarray
    link_consignee: np.ndarray

    @property
    def pairs(self) -> int:
        """Return the number of reverse-arc pairs."""
        return len(self.pair_volume)

    @classmethod
    @paused_gc()
    def from_graph(cls, graph: nx.DiGraph, *, weight: str = "influence") -> "GraphArrays":
        """Flatten a graph whose arcs carry `weight` (and, if built by build_graph, the pair business)."""
        slot: dict[tuple[Hashable, Hashable], int] = {}
        forward: list[tuple[Hashable, Hashable, dict]] = []
        backward: list[dict | None] = []
        for u, successors in graph.adjacency():
            for v, data in successors.items():
                if u == v:
                    raise ValueError(f"self-loop on {u!r}")
                p = slot.get((v, u))
                if p is None:
                    slot[u, v] = len(forward)
                    forward.append((u, v, data))
                    backward.append(None)
                else:
                    backward[p] = data
        # on build_graph's graphs, make the forward half exactly the down arcs
        for p, (u, v, data) in enumerate(forward):
            if data.get("direction") == "up" and backward[p] is not None:
                forward[p], backward[p] = (v, u, backward[p]), data
        # busiest nodes first: the random reads and writes of propagation then mostly hit cache
        nodes = tuple(sorted(graph.nodes, key=lambda node: -len(graph.pred[node]) - len(graph.succ[node])))
        index = {node: i for i, node in enumerate(nodes)}
        # forward arcs sorted by head: propagation multiplies each node's forward in-factors as a segment
        fwd_dst = np.array([index[v] for _, v, _ in forward], dtype=np.int64)
        order = np.argsort(fwd_dst, kind="stable")
        fwd_dst = fwd_dst[order]
        forward = [forward[p] for p in order.tolist()]
        backward = [backward[p] for p in order.tolist()]
        fwd_src = np.array([index[u] for u, _, _ in forward], dtype=np.int64)
        src = np.concatenate([fwd_src, fwd_dst])
        influence = np.array(
            [data[weight] for _, _, data in forward]
            + [0.0 if data is None else data[weight] for data in backward],
            dtype=np.float64,
        )

        business = _saturated(
            [[data.get(key, 0.0) for key in _PAIR_BUSINESS] for _, _, data in forward]
        ).reshape(-1, len(_PAIR_BUSINESS))
        pair_volume = business[:, 0]
        link_ids = [data.get("link_ids", ()) for _, _, data in forward]
        link_pair = np.repeat(np.arange(len(forward)), [len(ids) for ids in link_ids])
        link_ids = [link for ids in link_ids for link in ids]
        flows: dict[int, LinkFlow] = graph.graph.get("links", {})
        link_flows = _saturated([flows[link] for link in link_ids]).reshape(-1, len(LinkFlow._fields))
        recorded = graph.graph.get("link_ends", {})
        link_ends = np.array([recorded.get(link, (None, None)) for link in link_ids], dtype=object).reshape(
            -1, 2
        )
        revenue = dict(graph.nodes(data="revenue_per_month", default=0.0))
        n = len(nodes)
        return cls(
            nodes=nodes,
            index=index,
            src=src,
            dst=np.concatenate([fwd_dst, fwd_src]),
            influence=influence,
            pair_volume=pair_volume,
            pair_shipments=business[:, 1],
            pair_revenue=business[:, 2],
            pair_cost=np.bincount(link_pair, link_flows[:, 3], minlength=len(forward)),
            pair_links=np.bincount(link_pair, minlength=len(forward)),
            pair_both=np.array([data.get("direction") == "both" for _, _, data in forward], dtype=bool),
            node_volume=np.bincount(src, np.concatenate([pair_volume, pair_volume]), minlength=n),
            node_revenue=_saturated([revenue[node] for node in nodes]),
            out_ptr=np.concatenate([[0], np.cumsum(np.bincount(src, minlength=n))]),
            out_arc=np.argsort(src, kind="stable"),
            bwd_by_head=np.argsort(fwd_src, kind="stable"),
            link_index={link: row for row, link in enumerate(link_ids)},
            link_pair=link_pair,
            link_volume=link_flows[:, 0],
            link_shipments=link_flows[:, 1],
            link_revenue=link_flows[:, 2],
            link_cost=link_flows[:, 3],
            link_shipper=np.array([index.get(end, -1) for end in link_ends[:, 0].tolist()], dtype=np.int64),
            link_consignee=np.array([index.get(end, -1) for end in link_ends[:, 1].tolist()], dtype=np.int64),
        )

    def lanes(self, node: Hashable) -> list["Lane"]:
        """Return the node's lanes, one per trading partner, for arrays of build_graph's graph or records."""
        return self._lanes_of(self._out_arcs(self.index[node]))

    def neighbourhood(
        self,
        center: Hashable,
        depth: int,
        *,
        limit: int | None = None,
        through: Callable[[Hashable], bool] | None = None,
    ) -> tuple[list[Hashable], int]:
        """Return the nodes within `depth` lanes of `center` and how many there were.

        The nodes come in the order a breadth-first walk over each node's lanes (in `lanes` order) reaches
        them; the walk goes on only from the nodes `through` accepts (every node by default). With `limit`,
        only that many are kept when there are more: the nearest first and, at one distance, the busiest
        (`node_volume`), then the lowest node.
        """
        rows, distances = [np.array([self.index[center]])], [0]
        seen = np.zeros(len(self.nodes), dtype=bool)
        seen[rows[0]] = True
        frontier = rows[0]
        for distance in range(1, depth + 1):
            if through is not None:
                frontier = frontier[[through(self.nodes[row]) for row in frontier.tolist()]]
            reached = self.dst[self.out_arc[self._positions(frontier)]]
            _, first = np.unique(reached, return_index=True)
            frontier = reached[np.sort(first)]
            frontier = frontier[~seen[frontier]]
            seen[frontier] = True
            rows.append(frontier)
            distances += [distance] * len(frontier)
        rows, distance_of = np.concatenate(rows), np.array(distances)
        total = len(rows)
        if limit is not None and total > limit:
            ids = np.array([self.nodes[row] for row in rows.tolist()])
            kept = np.lexsort((ids, -self.node_volume[rows], distance_of))[:limit]
            rows = rows[kept]
        return [self.nodes[row] for row in rows.tolist()], total

    def pairs_within(
        self, nodes: Sequence[Hashable]
    ) -> list[tuple[Hashable, Hashable, float, float, float, float]]:
        """Return each trading pair among `nodes` once, as (from, to, shipments per month, revenue per month,
        influence from → to, influence to → from): from its shipper, or from the lower node of a pair
        trading both ways; by node of `nodes` in turn, then in `lanes` order (what `lanes` gives for each
        node, filtered, with only the kept pairs worked out)."""
        rows = np.fromiter((self.index[node] for node in nodes), np.int64, len(nodes))
        inside = np.zeros(len(self.nodes), dtype=bool)
        inside[rows] = True
        counts = self.out_ptr[rows + 1] - self.out_ptr[rows]
        arcs, owners = self.out_arc[self._positions(rows)], np.repeat(rows, counts)
        kept = inside[self.dst[arcs]]
        arcs, owners = arcs[kept], owners[kept]
        forward = arcs < self.pairs
        pair = np.where(forward, arcs, arcs - self.pairs)
        both = self.pair_both[pair]
        # a lane going down (the owner ships) is drawn; one trading both ways from its lower node
        drawn = forward & ~both
        for k in np.flatnonzero(both).tolist():
            drawn[k] = self.nodes[owners[k]] < self.nodes[self.dst[arcs[k]]]
        arcs, owners, pair = arcs[drawn], owners[drawn], pair[drawn]
        back = np.where(arcs < self.pairs, arcs + self.pairs, arcs - self.pairs)
        return list(
            zip(
                [self.nodes[row] for row in owners.tolist()],
                [self.nodes[row] for row in self.dst[arcs].tolist()],
                self.pair_shipments[pair].tolist(),
                self.pair_revenue[pair].tolist(),
                self.influence[arcs].tolist(),
                self.influence[back].tolist(),
                strict=True,
            )
        )

    def _positions(self, rows: np.ndarray) -> np.ndarray:
        """Positions in `out_arc` of the out-arcs of `rows`, row by row."""
        starts, counts = self.out_ptr[rows], self.out_ptr[rows + 1] - self.out_ptr[rows]
        # positions start..end of every row's slice of out_arc, one after the other
        return np.arange(int(counts.sum())) + np.repeat(starts - np.cumsum(counts) + counts, counts)

    def _out_arcs(self, row: int) -> np.ndarray:
        return self.out_arc[self.out_ptr[row] : self.out_ptr[row + 1]]

    def _lanes_of(self, arcs: np.ndarray) -> list["Lane"]:
        """The lanes of out-arcs `arcs`, each seen from the arc's tail."""
        forward = arcs < self.pairs
        pair = np.where(forward, arcs, arcs - self.pairs)
        direction = np.where(self.pair_both[pair], "both", np.where(forward, "down", "up"))
        return [
            Lane(self.nodes[j], *lane)
            for j, *lane in zip(
                self.dst[arcs].tolist(),
                direction.tolist(),
                self.influence[arcs].tolist(),
                self.influence[np.where(forward, arcs + self.pairs, pair)].tolist(),
                self.pair_shipments[pair].tolist(),
                self.pair_revenue[pair].tolist(),
                strict=True,
            )
        ]

    def vector(self, values: Mapping[Hashable, float], *, default: float | None = None) -> np.ndarray:
        """Return per-node values in index order; a node missing from `values` takes `default`."""
        if default is None:
            missing = [node for node in self.nodes if node not in values]
            if missing:
                raise ValueError(f"no value for nodes {missing[:5]}")
        return np.fromiter((values.get(node, default) for node in self.nodes), np.float64, len(self.nodes))

    def mapping(self, vector: np.ndarray) -> dict[Hashable, float]:
        """Return a per-node vector as {node: value}."""
        return dict(zip(self.nodes, vector.tolist(), strict=True))
