"""Customer network: one node per customer, two influence arcs per trading pair (DESIGN §4.7)."""

from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

import networkx as nx
import numpy as np

from logicrm.network.params import ScoringParams

SHIPPER = "shipper"
CONSIGNEE = "consignee"
DAYS_PER_MONTH = 30


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
    shipper.
    """

    id: int
    shipper_id: int
    consignee_id: int
    volume_90d: float
    declared_monthly_volume: float | None = None
    shipments_per_month: float = 0.0
    revenue_per_month: float = 0.0


class LinkFlow(NamedTuple):
    """What one link carries, as stored on the graph for cascades."""

    volume: float
    shipments_per_month: float
    revenue_per_month: float


def link_volume(link: LinkRecord, params: ScoringParams) -> float:
    """Return the link's volume over the trailing window, falling back to its declared volume."""
    if link.volume_90d > 0 or link.declared_monthly_volume is None:
        return link.volume_90d
    return link.declared_monthly_volume * params.volume_window_days / DAYS_PER_MONTH


def build_graph(nodes: Iterable[NodeRecord], links: Iterable[LinkRecord], params: ScoringParams) -> nx.DiGraph:
    """Build the influence graph: per trading pair, arcs both ways carrying influence and the pair's business.

    Arc u→v has `influence` a_uv, `direction` ('down' shipper→consignee, 'up', or 'both' when the two
    also trade the other way; independent channels combine as 1 − Π(1 − a)), and the pair's totals over
    its links in both directions: `volume`, `shipments_per_month`, `revenue_per_month`, `link_ids`.
    The graph attribute `links` maps each link id to its LinkFlow.
    """
    graph = nx.DiGraph()
    for node in nodes:
        if node.id in graph:
            raise ValueError(f"duplicate customer {node.id}")
        graph.add_node(
            node.id, name=node.name, roles=node.roles, tier=node.tier, volume=0.0,
            shipments_per_month=0.0, revenue_per_month=0.0,
        )  # fmt: skip

    flows: dict[int, LinkFlow] = {}
    directed: dict[tuple[int, int], list[int]] = defaultdict(list)
    inbound: dict[int, float] = defaultdict(float)
    outbound: dict[int, float] = defaultdict(float)
    for link in links:
        _check_link(graph, link, flows)
        flow = LinkFlow(link_volume(link, params), link.shipments_per_month, link.revenue_per_month)
        flows[link.id] = flow
        directed[link.shipper_id, link.consignee_id].append(link.id)
        inbound[link.consignee_id] += flow.volume
        outbound[link.shipper_id] += flow.volume
        shipper = graph.nodes[link.shipper_id]
        shipper["shipments_per_month"] += flow.shipments_per_month
        shipper["revenue_per_month"] += flow.revenue_per_month

    def channel(shipper: int, consignee: int, alpha: float, total: float) -> float:
        volume = sum(flows[i].volume for i in directed[shipper, consignee])
        return alpha * volume / total if total > 0 else 0.0

    arcs = []
    for shipper, consignee in list(directed):
        pair = (shipper, consignee)
        reverse = (consignee, shipper)
        if reverse in directed and reverse < pair:
            continue  # the reciprocal pair was handled from its other direction
        link_ids = tuple(sorted(directed[pair] + directed.get(reverse, [])))
        totals = {
            "volume": sum(flows[i].volume for i in link_ids),
            "shipments_per_month": sum(flows[i].shipments_per_month for i in link_ids),
            "revenue_per_month": sum(flows[i].revenue_per_month for i in link_ids),
            "link_ids": link_ids,
        }
        down = channel(shipper, consignee, params.alpha_down, inbound[consignee])
        up = channel(shipper, consignee, params.alpha_up, outbound[shipper])
        if reverse in directed:
            # consignee also ships to shipper: each arc has a down and an up channel
            back_down = channel(consignee, shipper, params.alpha_down, inbound[shipper])
            back_up = channel(consignee, shipper, params.alpha_up, outbound[consignee])
            arcs.append((shipper, consignee, _either(down, back_up), "both", totals))
            arcs.append((consignee, shipper, _either(up, back_down), "both", totals))
        else:
            arcs.append((shipper, consignee, down, "down", totals))
            arcs.append((consignee, shipper, up, "up", totals))
        for node in pair:
            graph.nodes[node]["volume"] += totals["volume"]
    graph.add_edges_from((u, v, {"influence": a, "direction": d, **t}) for u, v, a, d, t in arcs)
    graph.graph["links"] = flows
    return graph


def _either(a: float, b: float) -> float:
    return 1.0 - (1.0 - a) * (1.0 - b)


def _check_link(graph: nx.DiGraph, link: LinkRecord, seen: dict[int, LinkFlow]) -> None:
    if link.id in seen:
        raise ValueError(f"duplicate link {link.id}")
    for end in (link.shipper_id, link.consignee_id):
        if end not in graph:
            raise ValueError(f"link {link.id} refers to unknown customer {end}")
    if link.shipper_id == link.consignee_id:
        raise ValueError(f"link {link.id} ships from customer {link.shipper_id} to itself")
    if link.volume_90d < 0 or (link.declared_monthly_volume or 0) < 0:
        raise ValueError(f"link {link.id} has a negative volume")


@dataclass(frozen=True, eq=False)
class GraphArrays:
    """The graph as flat arrays, built once, for propagation and cascades without networkx.

    Arcs come in reverse pairs: arc p (p < pairs) is u→v and arc p + pairs is v→u; an arc absent from
    the graph is present here with influence 0. Pair p's business (`pair_*`) is the sum over its links.
    """

    nodes: tuple[Hashable, ...]
    index: dict[Hashable, int]
    src: np.ndarray
    dst: np.ndarray
    influence: np.ndarray
    pair_volume: np.ndarray
    pair_shipments: np.ndarray
    pair_revenue: np.ndarray
    pair_links: np.ndarray
    node_volume: np.ndarray
    node_revenue: np.ndarray
    out_ptr: np.ndarray
    out_arc: np.ndarray
    link_index: dict[int, int]
    link_pair: np.ndarray
    link_volume: np.ndarray
    link_shipments: np.ndarray
    link_revenue: np.ndarray

    @property
    def pairs(self) -> int:
        """Return the number of reverse-arc pairs."""
        return len(self.pair_volume)

    @classmethod
    def from_graph(cls, graph: nx.DiGraph, *, weight: str = "influence") -> "GraphArrays":
        """Flatten a graph whose arcs carry `weight` (and, if built by build_graph, the pair business)."""
        nodes = tuple(graph.nodes)
        index = {node: i for i, node in enumerate(nodes)}
        pair_of: dict[tuple[Hashable, Hashable], int] = {}
        forward: list[tuple[Hashable, Hashable, dict]] = []
        backward: dict[int, float] = {}
        # 'down' arcs first so that, for build_graph's graphs, one half of the arcs is all down arcs
        ordered = sorted(graph.edges(data=True), key=lambda arc: arc[2].get("direction") == "up")
        for u, v, data in ordered:
            if u == v:
                raise ValueError(f"self-loop on {u!r}")
            pair = pair_of.get((v, u))
            if pair is None:
                pair_of[u, v] = len(forward)
                forward.append((u, v, data))
            else:
                backward[pair] = float(data[weight])
        pairs = len(forward)
        src = np.fromiter((index[u] for u, _, _ in forward), np.int64, pairs)
        dst = np.fromiter((index[v] for _, v, _ in forward), np.int64, pairs)
        influence = np.zeros(2 * pairs)
        influence[:pairs] = [float(data[weight]) for _, _, data in forward]
        influence[pairs + np.fromiter(backward, np.int64, len(backward))] = list(backward.values())

        def pair_attr(name: str) -> np.ndarray:
            return np.fromiter((data.get(name, 0.0) for _, _, data in forward), np.float64, pairs)

        pair_volume = pair_attr("volume")
        flows: dict[int, LinkFlow] = graph.graph.get("links", {})
        link_ids = [(link, p) for p, (_, _, data) in enumerate(forward) for link in data.get("link_ids", ())]
        link_flows = np.array([flows[link] for link, _ in link_ids], dtype=np.float64).reshape(-1, 3)
        n = len(nodes)
        all_src = np.concatenate([src, dst])
        out_arc = np.argsort(all_src, kind="stable")
        return cls(
            nodes=nodes,
            index=index,
            src=all_src,
            dst=np.concatenate([dst, src]),
            influence=influence,
            pair_volume=pair_volume,
            pair_shipments=pair_attr("shipments_per_month"),
            pair_revenue=pair_attr("revenue_per_month"),
            pair_links=np.fromiter((len(data.get("link_ids", ())) for _, _, data in forward), np.int64, pairs),
            node_volume=np.bincount(all_src, np.concatenate([pair_volume, pair_volume]), minlength=n),
            node_revenue=np.fromiter(
                (graph.nodes[node].get("revenue_per_month", 0.0) for node in nodes), np.float64, n
            ),
            out_ptr=np.concatenate([[0], np.cumsum(np.bincount(all_src, minlength=n))]),
            out_arc=out_arc,
            link_index={link: row for row, (link, _) in enumerate(link_ids)},
            link_pair=np.fromiter((p for _, p in link_ids), np.int64, len(link_ids)),
            link_volume=link_flows[:, 0],
            link_shipments=link_flows[:, 1],
            link_revenue=link_flows[:, 2],
        )

    def vector(self, values: "dict[Hashable, float] | Iterable", *, default: float | None = None) -> np.ndarray:
        """Return per-node values in index order; a node missing from `values` takes `default`."""
        if default is None:
            missing = [node for node in self.nodes if node not in values]
            if missing:
                raise ValueError(f"no value for nodes {missing[:5]}")
        return np.fromiter((values.get(node, default) for node in self.nodes), np.float64, len(self.nodes))

    def mapping(self, vector: np.ndarray) -> dict[Hashable, float]:
        """Return a per-node vector as {node: value}."""
        return dict(zip(self.nodes, vector.tolist(), strict=True))
