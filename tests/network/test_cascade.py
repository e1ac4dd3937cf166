import math

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logicrm.network.cascade import expected_loss, exposures, what_if
from logicrm.network.graph import CONSIGNEE, SHIPPER, GraphArrays, LinkRecord, NodeRecord, build_graph
from logicrm.network.params import ScoringParams
from logicrm.network.risk import propagate
from tests.network.strategies import networks as extreme_networks

PARAMS = ScoringParams()
ROLES = {"s": frozenset({SHIPPER}), "c": frozenset({CONSIGNEE}), "d": frozenset({SHIPPER, CONSIGNEE})}


def network(*links):
    """Build arrays from (link id, shipper, consignee, volume) with names like 's1', 'c2', 'd3'."""
    names = sorted({name for _, s, c, _ in links for name in (s, c)})
    ids = {name: i for i, name in enumerate(names, start=1)}
    nodes = [NodeRecord(ids[name], name, ROLES[name[0]]) for name in names]
    records = [
        LinkRecord(
            link, ids[s], ids[c], volume, shipments_per_month=volume / 3, revenue_per_month=volume * 10
        )
        for link, s, c, volume in links
    ]
    return GraphArrays.from_graph(build_graph(nodes, records, PARAMS)), ids


def named(result, ids):
    names = {i: name for name, i in ids.items()}
    return [sorted(names[i] for i in r) for r in result.rounds]


def test_single_sourced_consignee_is_lost_and_multi_sourced_stays():
    arrays, ids = network((1, "s1", "c1", 30), (2, "s1", "c2", 30), (3, "s2", "c2", 40))
    result = what_if(arrays, remove_customers=[ids["s1"]])
    assert named(result, ids) == [["s1"], ["c1"]]  # c2 keeps 40/70 of its volume
    assert result.lost == {ids["s1"]: 0, ids["c1"]: 1}
    assert result.links_cut == 2
    assert result.shipments_per_month_lost == pytest.approx(20)
    assert result.revenue_per_month_lost == pytest.approx(600)


def test_distributor_cascades_further():
    arrays, ids = network(
        (1, "s1", "d1", 200), (2, "s2", "d1", 20),  # d1 depends on s1
        (3, "d1", "c1", 50), (4, "d1", "c2", 50), (5, "s3", "c2", 60),
        (6, "s3", "c3", 10),
    )  # fmt: skip
    result = what_if(arrays, remove_customers=[ids["s1"]])
    # d1 keeps 120 of 320; then c1 and s2 lose their only partner, while c2 keeps 60 of 110
    assert named(result, ids) == [["s1"], ["d1"], ["c1", "s2"]]
    assert result.links_cut == 4  # s1–d1, then s2–d1, d1–c1, d1–c2
    assert result.revenue_per_month_lost == pytest.approx(10 * (200 + 20 + 50 + 50))
    assert ids["c2"] not in result.lost


def test_shipper_losing_its_consignees_is_lost_too():
    arrays, ids = network((1, "s1", "c1", 10), (2, "s2", "c1", 90), (3, "s2", "c2", 10))
    result = what_if(arrays, remove_customers=[ids["c1"]])
    assert named(result, ids) == [["c1"], ["s1", "s2"], ["c2"]]


def test_threshold_is_strict_and_configurable():
    arrays, ids = network((1, "s1", "c1", 50), (2, "s2", "c1", 50))
    assert named(what_if(arrays, remove_customers=[ids["s1"]]), ids) == [["s1"]]  # exactly half stays
    stricter = what_if(arrays, remove_customers=[ids["s1"]], threshold=0.6)
    assert named(stricter, ids) == [["s1"], ["c1"], ["s2"]]


def test_removed_links_cut_and_cascade():
    arrays, ids = network((1, "s1", "c1", 30), (2, "s1", "c1", 10), (3, "s2", "c1", 20), (4, "s2", "c2", 5))
    result = what_if(arrays, remove_links=[1])
    # c1 keeps 30/60: stays; s1 keeps 10/40: lost, then c1 is left with 20/60
    assert named(result, ids) == [[], ["s1"], ["c1"], ["s2"], ["c2"]]
    assert result.links_cut == 4
    assert result.revenue_per_month_lost == pytest.approx(10 * 65)


def test_removed_link_and_its_shipper_count_once():
    arrays, ids = network((1, "s1", "c1", 30), (2, "s1", "c1", 10), (3, "s2", "c1", 100))
    result = what_if(arrays, remove_customers=[ids["s1"]], remove_links=[1, 1])
    assert result.links_cut == 2
    assert result.shipments_per_month_lost == pytest.approx(40 / 3)
    assert named(result, ids) == [["s1"]]


def test_accounts_without_volume_never_cascade():
    arrays, ids = network((1, "s1", "c1", 0), (2, "s1", "c2", 10))
    result = what_if(arrays, remove_customers=[ids["s1"]])
    assert named(result, ids) == [["s1"], ["c2"]]
    assert result.links_cut == 2


def test_unknown_ids_rejected():
    arrays, _ = network((1, "s1", "c1", 10))
    with pytest.raises(ValueError, match="unknown"):
        what_if(arrays, remove_customers=[99])
    with pytest.raises(ValueError, match="unknown"):
        what_if(arrays, remove_links=[99])
    with pytest.raises(ValueError, match="threshold"):
        what_if(arrays, threshold=0)


def test_what_if_accepts_a_graph():
    graph = nx.DiGraph()
    graph.add_edge("a", "b", influence=0.5, volume=3.0, link_ids=())
    graph.add_edge("b", "a", influence=0.5, volume=3.0, link_ids=())
    assert what_if(graph, remove_customers=["a"]).lost == {"a": 0, "b": 1}


def test_expected_loss_sets_removed_risk_to_one():
    arrays, ids = network((1, "s1", "c1", 30), (2, "s2", "c1", 30))
    r0 = {i: 0.1 for i in ids.values()}
    graph = nx.DiGraph()
    for k in range(2 * arrays.pairs):
        graph.add_edge(
            arrays.nodes[arrays.src[k]], arrays.nodes[arrays.dst[k]], influence=arrays.influence[k]
        )
    risk = propagate(graph, {**r0, ids["s1"]: 1.0})
    expected = sum(risk[i] * arrays.node_revenue[arrays.index[i]] for i in ids.values())
    assert expected_loss(arrays, r0, remove_customers=[ids["s1"]]) == pytest.approx(expected)
    assert expected_loss(arrays, r0, remove_customers=[ids["s1"]]) >= 300  # s1's own revenue at r = 1


@st.composite
def networks(draw):
    names = [f"d{i}" for i in range(draw(st.integers(2, 8)))]
    pairs = [(s, c) for s in names for c in names if s != c]
    chosen = draw(st.lists(st.sampled_from(pairs), min_size=1, max_size=14))
    return network(*[(k, s, c, draw(st.integers(0, 50))) for k, (s, c) in enumerate(chosen, start=1)])


@settings(max_examples=60, deadline=None)
@given(networks(), st.sampled_from([0.3, 0.5, 0.8]))
def test_exposure_is_the_single_departure_cascade(case, threshold):
    arrays, _ = case
    exposure = exposures(arrays, threshold=threshold)
    for node in arrays.nodes:
        cascade = what_if(arrays, remove_customers=[node], threshold=threshold)
        assert exposure[node] == pytest.approx(cascade.revenue_per_month_lost)


@settings(max_examples=60, deadline=None)
@given(networks(), st.data())
def test_cascade_rounds_are_consistent(case, data):
    arrays, _ = case
    removed = data.draw(st.lists(st.sampled_from(arrays.nodes), max_size=3, unique=True))
    result = what_if(arrays, remove_customers=removed)
    assert sorted(result.rounds[0]) == sorted(removed)
    assert all(result.rounds[1:])  # no empty round after round 0
    # every survivor with volume keeps at least the threshold share
    for node in set(arrays.nodes) - set(result.lost):
        i = arrays.index[node]
        kept = sum(
            arrays.pair_volume[arc % arrays.pairs]
            for arc in arrays.out_arc[arrays.out_ptr[i] : arrays.out_ptr[i + 1]]
            if arrays.nodes[arrays.dst[arc]] not in result.lost
        )
        assert kept >= 0.5 * arrays.node_volume[i] - 1e-9


@settings(max_examples=150, deadline=None)
@given(extreme_networks(), st.data())
def test_any_finite_amounts_give_finite_cascades_and_exposures(case, data):
    nodes, links = case
    graph = build_graph(nodes, links, PARAMS)
    arrays = GraphArrays.from_graph(graph)
    removed = data.draw(st.lists(st.sampled_from(arrays.nodes), max_size=2, unique=True))
    cut = data.draw(st.lists(st.sampled_from([link.id for link in links]), max_size=2, unique=True))
    result = what_if(arrays, remove_customers=removed, remove_links=cut)
    assert math.isfinite(result.shipments_per_month_lost) and result.shipments_per_month_lost >= 0
    assert math.isfinite(result.revenue_per_month_lost) and result.revenue_per_month_lost >= 0
    r0 = {node.id: data.draw(st.floats(0.0, 1.0)) for node in nodes}
    loss = expected_loss(arrays, r0, remove_customers=removed)
    assert math.isfinite(loss) and loss >= 0
    assert all(math.isfinite(x) and x >= 0 for x in exposures(arrays).values())
