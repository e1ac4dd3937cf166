import math

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings

from logicrm.network.graph import (
    AMOUNT_CEILING,
    CONSIGNEE,
    SHIPPER,
    GraphArrays,
    LinkRecord,
    NodeRecord,
    build_graph,
    link_volume,
)
from logicrm.network.params import ScoringParams
from tests.network.strategies import networks

PARAMS = ScoringParams()
SHIPS = frozenset({SHIPPER})
RECEIVES = frozenset({CONSIGNEE})
BOTH = SHIPS | RECEIVES


def customers(**roles):
    return [NodeRecord(id=i, name=name, roles=r) for i, (name, r) in enumerate(roles.items(), start=1)]


def test_influence_is_coupling_times_volume_share():
    # shippers 1, 2 → consignee 3; shipper 1 also → consignee 4
    nodes = customers(s1=SHIPS, s2=SHIPS, c3=RECEIVES, c4=RECEIVES)
    links = [LinkRecord(10, 1, 3, 60.0), LinkRecord(11, 2, 3, 30.0), LinkRecord(12, 1, 4, 30.0)]
    graph = build_graph(nodes, links, PARAMS)
    influence = nx.get_edge_attributes(graph, "influence")
    assert influence[1, 3] == pytest.approx(0.6 * 60 / 90)  # α↓ · w(c←s)
    assert influence[2, 3] == pytest.approx(0.6 * 30 / 90)
    assert influence[1, 4] == pytest.approx(0.6)
    assert influence[3, 1] == pytest.approx(0.5 * 60 / 90)  # α↑ · w(s←c)
    assert influence[4, 1] == pytest.approx(0.5 * 30 / 90)
    assert influence[3, 2] == pytest.approx(0.5)
    assert graph.edges[1, 3]["direction"] == "down"
    assert graph.edges[3, 1]["direction"] == "up"
    assert graph.nodes[1]["volume"] == 90.0
    assert graph.nodes[3]["volume"] == 90.0


def test_distributor_is_one_node_with_both_roles():
    nodes = customers(s=SHIPS, d=BOTH, c=RECEIVES)
    graph = build_graph(nodes, [LinkRecord(1, 1, 2, 40.0), LinkRecord(2, 2, 3, 20.0)], PARAMS)
    assert graph.number_of_nodes() == 3
    assert graph.nodes[2]["roles"] == BOTH
    assert graph.nodes[2]["volume"] == 60.0  # inbound and outbound
    assert sorted(graph.edges) == [(1, 2), (2, 1), (2, 3), (3, 2)]


def test_parallel_links_add_volumes():
    nodes = customers(s=SHIPS, c=RECEIVES, other=SHIPS)
    links = [
        LinkRecord(1, 1, 2, 10.0, shipments_per_month=3, revenue_per_month=100),
        LinkRecord(2, 1, 2, 20.0, shipments_per_month=7, revenue_per_month=200),
        LinkRecord(3, 3, 2, 30.0),
    ]
    graph = build_graph(nodes, links, PARAMS)
    arc = graph.edges[1, 2]
    assert arc["volume"] == 30.0
    assert arc["link_ids"] == (1, 2)
    assert arc["shipments_per_month"] == 10
    assert arc["revenue_per_month"] == 300
    assert arc["influence"] == pytest.approx(0.6 * 30 / 60)
    assert graph.nodes[1]["revenue_per_month"] == 300  # billed to the shipper
    assert graph.nodes[2]["revenue_per_month"] == 0


def test_declared_volume_stands_in_until_shipments_exist():
    assert link_volume(LinkRecord(1, 1, 2, 0.0, declared_monthly_volume=5.0), PARAMS) == 15.0
    assert link_volume(LinkRecord(1, 1, 2, 4.0, declared_monthly_volume=5.0), PARAMS) == 4.0
    assert link_volume(LinkRecord(1, 1, 2, 0.0), PARAMS) == 0.0
    sixty = ScoringParams(volume_window_days=60)
    assert link_volume(LinkRecord(1, 1, 2, 0.0, declared_monthly_volume=5.0), sixty) == 10.0


def test_pair_without_volume_has_no_influence():
    nodes = customers(s=SHIPS, c=RECEIVES)
    graph = build_graph(nodes, [LinkRecord(1, 1, 2, 0.0)], PARAMS)
    assert graph.edges[1, 2]["influence"] == 0.0
    assert graph.edges[2, 1]["influence"] == 0.0


def test_reciprocal_trade_combines_channels():
    # 1 ships 30 to 2, 2 ships 10 to 1 and 10 to 3
    nodes = customers(a=BOTH, b=BOTH, c=RECEIVES)
    links = [LinkRecord(1, 1, 2, 30.0), LinkRecord(2, 2, 1, 10.0), LinkRecord(3, 2, 3, 10.0)]
    graph = build_graph(nodes, links, PARAMS)
    down_12 = 0.6 * 30 / 30  # 2 receives only from 1
    up_12 = 0.5 * 10 / 20  # 1 is half of 2's outbound
    assert graph.edges[1, 2]["influence"] == pytest.approx(1 - (1 - down_12) * (1 - up_12))
    down_21 = 0.6 * 10 / 10
    up_21 = 0.5 * 30 / 30
    assert graph.edges[2, 1]["influence"] == pytest.approx(1 - (1 - down_21) * (1 - up_21))
    assert graph.edges[1, 2]["direction"] == "both"
    assert graph.edges[1, 2]["volume"] == 40.0
    assert graph.edges[1, 2]["link_ids"] == (1, 2)


@pytest.mark.parametrize(
    ("links", "message"),
    [
        ([LinkRecord(1, 1, 9, 1.0)], "unknown customer 9"),
        ([LinkRecord(1, 1, 1, 1.0)], "to itself"),
        ([LinkRecord(1, 1, 2, 1.0), LinkRecord(1, 1, 2, 1.0)], "duplicate link 1"),
        ([LinkRecord(1, 1, 2, -1.0)], "volume_90d -1.0: it must be finite and ≥ 0"),
        ([LinkRecord(1, 1, 2, 0.0, declared_monthly_volume=math.nan)], "declared_monthly_volume nan"),
        ([LinkRecord(1, 1, 2, 1.0, revenue_per_month=math.inf)], "revenue_per_month inf"),
        ([LinkRecord(1, 1, 2, 1.0, shipments_per_month=-math.inf)], "shipments_per_month -inf"),
    ],
)
def test_bad_links_are_rejected(links, message):
    with pytest.raises(ValueError, match=message):
        build_graph(customers(s=SHIPS, c=RECEIVES), links, PARAMS)


def test_duplicate_customer_rejected():
    with pytest.raises(ValueError, match="duplicate customer 1"):
        build_graph([NodeRecord(1, "a", SHIPS), NodeRecord(1, "b", SHIPS)], [], PARAMS)


def test_arrays_pair_arcs_with_their_reverses():
    nodes = customers(s1=SHIPS, s2=SHIPS, d=BOTH, c=RECEIVES)
    links = [
        LinkRecord(1, 1, 3, 50.0, shipments_per_month=5, revenue_per_month=10),
        LinkRecord(2, 2, 3, 50.0),
        LinkRecord(3, 3, 4, 20.0, revenue_per_month=7),
        LinkRecord(4, 3, 4, 5.0),
    ]
    graph = build_graph(nodes, links, PARAMS)
    arrays = GraphArrays.from_graph(graph)
    p = arrays.pairs
    assert p == 3
    assert np.array_equal(arrays.src[:p], arrays.dst[p:])
    assert np.array_equal(arrays.dst[:p], arrays.src[p:])
    assert np.all(np.diff(arrays.dst[:p]) >= 0)  # forward half sorted by head
    assert np.all(np.diff(arrays.dst[p:][arrays.bwd_by_head]) >= 0)
    for arc in range(2 * p):
        u, v = arrays.nodes[arrays.src[arc]], arrays.nodes[arrays.dst[arc]]
        assert arrays.influence[arc] == graph.edges[u, v]["influence"]
        assert arrays.pair_volume[arc % p] == graph.edges[u, v]["volume"]
        assert graph.edges[u, v]["direction"] == ("down" if arc < p else "up")
    assert arrays.mapping(arrays.node_volume) == {1: 50.0, 2: 50.0, 3: 125.0, 4: 25.0}
    assert arrays.mapping(arrays.node_revenue) == {1: 10.0, 2: 0.0, 3: 7.0, 4: 0.0}
    row = arrays.link_index[3]
    assert arrays.link_volume[row] == 20.0
    assert arrays.link_revenue[row] == 7.0
    assert arrays.pair_links[arrays.link_pair[row]] == 2
    for node, i in arrays.index.items():
        out = arrays.out_arc[arrays.out_ptr[i] : arrays.out_ptr[i + 1]]
        assert sorted(arrays.nodes[j] for j in arrays.dst[out]) == sorted(graph.successors(node))


def test_arrays_add_missing_reverse_arcs_with_zero_influence():
    graph = nx.DiGraph()
    graph.add_edge("a", "b", influence=0.3)
    graph.add_node("z")
    arrays = GraphArrays.from_graph(graph)
    assert arrays.pairs == 1
    assert sorted(arrays.influence.tolist()) == [0.0, 0.3]
    assert arrays.link_volume.shape == (0,)
    assert arrays.vector({"a": 1.0}, default=0.0).sum() == 1.0
    with pytest.raises(ValueError, match="no value"):
        arrays.vector({"a": 1.0})


def test_arrays_reject_self_loops():
    graph = nx.DiGraph()
    graph.add_edge("a", "a", influence=0.3)
    with pytest.raises(ValueError, match="self-loop"):
        GraphArrays.from_graph(graph)


@settings(max_examples=200, deadline=None)
@given(networks())
def test_any_finite_amounts_give_finite_influences_and_business(case):
    nodes, links = case
    graph = build_graph(nodes, links, PARAMS)
    arrays = GraphArrays.from_graph(graph)
    assert all(0.0 <= a <= 1.0 for a in arrays.influence)
    for values in (arrays.pair_volume, arrays.pair_shipments, arrays.pair_revenue, arrays.node_volume,
                   arrays.node_revenue, arrays.link_volume, arrays.link_revenue):  # fmt: skip
        assert np.isfinite(values).all() and (values >= 0).all()
    # a link's amounts saturate, so whatever it declares, its share of a partner's volume is a share
    for u, v, a in graph.edges(data="influence"):
        assert a <= max(PARAMS.alpha_down, PARAMS.alpha_up) or graph.edges[u, v]["direction"] == "both"


def test_amounts_saturate_at_the_ceiling():
    nodes = customers(s=SHIPS, c=RECEIVES)
    links = [
        LinkRecord(1, 1, 2, 0.0, declared_monthly_volume=1.7e308, revenue_per_month=1.7e308),
        LinkRecord(2, 1, 2, 1e308, shipments_per_month=1e308),
    ]
    graph = build_graph(nodes, links, PARAMS)
    assert graph.graph["links"][1] == (AMOUNT_CEILING, 0.0, AMOUNT_CEILING, 0.0)
    assert graph.edges[1, 2]["volume"] == 2 * AMOUNT_CEILING
    assert graph.edges[1, 2]["influence"] == pytest.approx(PARAMS.alpha_down)
