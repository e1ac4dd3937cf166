import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logicrm.network.arrays import build_arrays
from logicrm.network.cascade import exposures
from logicrm.network.graph import (
    CONSIGNEE,
    SHIPPER,
    GraphArrays,
    LinkRecord,
    NodeRecord,
    build_graph,
    saturate,
)
from logicrm.network.params import ScoringParams
from logicrm.network.risk import propagate_arrays
from logicrm.network.satisfaction import two_sided
from tests.network.strategies import ROLES, amounts

PARAMS = ScoringParams()
TOLERANCE = 1e-12
# volumes as the portfolio has them (none, a few, many), besides any finite amount
volumes = st.sampled_from([0.0, 0.0, 1.0, 3.0, 40.0, 1e6]) | amounts


@st.composite
def records(draw, *, max_customers: int = 9, max_links: int = 20):
    """Customers with ids in any order (isolated ones too) and links with ids in any order: parallel and
    reciprocal links, zero volumes, declared volumes with and without shipments."""
    ids = draw(st.lists(st.integers(-50, 10**6), min_size=2, max_size=max_customers, unique=True))
    nodes = [NodeRecord(i, f"customer {i}", draw(st.sampled_from(ROLES))) for i in ids]
    pairs = [(s, c) for s in ids for c in ids if s != c]
    chosen = draw(st.lists(st.sampled_from(pairs), max_size=max_links))
    reciprocal = draw(st.lists(st.sampled_from(chosen), max_size=3)) if chosen else []
    chosen += [(c, s) for s, c in reciprocal]
    link_ids = draw(st.lists(st.integers(0, 10**9), min_size=len(chosen), max_size=len(chosen), unique=True))
    links = [
        LinkRecord(
            k,
            s,
            c,
            draw(volumes),
            declared_monthly_volume=draw(st.none() | volumes),
            shipments_per_month=draw(volumes),
            revenue_per_month=draw(volumes),
            cost_per_month=draw(volumes),
        )
        for k, (s, c) in zip(link_ids, chosen, strict=True)
    ]
    return nodes, links


def close(a, b) -> bool:
    return bool(np.allclose(a, b, rtol=TOLERANCE, atol=TOLERANCE))


def by_pair(arrays: GraphArrays) -> dict:
    """Each pair's arcs and business, keyed by its forward arc's ends (independent of the arc order)."""
    p = arrays.pairs
    return {
        (arrays.nodes[arrays.src[k]], arrays.nodes[arrays.dst[k]]): (
            [arrays.influence[k], arrays.influence[k + p], arrays.pair_volume[k], arrays.pair_shipments[k],
             arrays.pair_revenue[k], arrays.pair_cost[k]],
            (int(arrays.pair_links[k]), bool(arrays.pair_both[k])),
        )
        for k in range(p)
    }  # fmt: skip


def by_link(arrays: GraphArrays) -> dict:
    """Each link's ends, pair (by its forward arc's ends) and flow, keyed by link id."""
    p = arrays.pairs
    return {
        link: (
            (arrays.nodes[arrays.link_shipper[row]], arrays.nodes[arrays.link_consignee[row]]),
            (arrays.nodes[arrays.src[arrays.link_pair[row]]], arrays.nodes[arrays.dst[arrays.link_pair[row] % p]]),
            [arrays.link_volume[row], arrays.link_shipments[row], arrays.link_revenue[row], arrays.link_cost[row]],
        )
        for link, row in arrays.link_index.items()
    }  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(records())
def test_arrays_from_records_equal_the_networkx_reference(case):
    nodes, links = case
    graph = build_graph(nodes, links, PARAMS)
    reference, arrays = GraphArrays.from_graph(graph), build_arrays(nodes, links, PARAMS)

    assert arrays.nodes == reference.nodes  # the same node order: busiest first
    assert arrays.index == reference.index
    assert close(arrays.node_volume, reference.node_volume)
    assert close(arrays.node_revenue, reference.node_revenue)
    assert np.array_equal(arrays.out_ptr, reference.out_ptr)
    pairs, expected = by_pair(arrays), by_pair(reference)
    assert pairs.keys() == expected.keys()
    for key, (amounts_, counts) in expected.items():
        assert close(pairs[key][0], amounts_), key
        assert pairs[key][1] == counts, key
    links_, expected_links = by_link(arrays), by_link(reference)
    assert links_.keys() == expected_links.keys()
    for link, (ends, pair, flow) in expected_links.items():
        assert links_[link][:2] == (ends, pair)
        assert close(links_[link][2], flow)
    # the layout propagation and cascades rely on
    p = arrays.pairs
    assert np.array_equal(arrays.src[:p], arrays.dst[p:]) and np.array_equal(arrays.dst[:p], arrays.src[p:])
    assert np.all(np.diff(arrays.dst[:p]) >= 0)
    assert np.all(np.diff(arrays.dst[p:][arrays.bwd_by_head]) >= 0)
    assert np.array_equal(arrays.src[arrays.out_arc], np.sort(arrays.src))
    for node in arrays.nodes:
        lanes = sorted(arrays.lanes(node))
        assert [lane.partner for lane in lanes] == sorted(graph.successors(node))
        for lane in lanes:
            arc, back = graph.edges[node, lane.partner], graph.edges[lane.partner, node]
            assert lane.direction == arc["direction"]
            assert close(
                [lane.influence, lane.influence_back, lane.shipments_per_month, lane.revenue_per_month],
                [
                    arc["influence"],
                    back["influence"],
                    saturate(arc["shipments_per_month"]),
                    saturate(arc["revenue_per_month"]),
                ],  # the arrays hold the business saturated
            )


@settings(max_examples=150, deadline=None)
@given(records(), st.randoms(use_true_random=False))
def test_scores_on_the_arrays_equal_those_on_the_reference(case, random):
    nodes, links = case
    reference, arrays = (
        GraphArrays.from_graph(build_graph(nodes, links, PARAMS)),
        build_arrays(nodes, links, PARAMS),
    )
    r0 = np.array([random.random() for _ in arrays.nodes])
    assert close(propagate_arrays(arrays, r0).risk, propagate_arrays(reference, r0).risk)
    expected, found = exposures(reference), exposures(arrays)
    assert close([found[node] for node in arrays.nodes], [expected[node] for node in arrays.nodes])
    satisfaction = {node: random.choice([None, random.random()]) for node in arrays.nodes}
    expected, found = two_sided(reference, satisfaction, PARAMS), two_sided(arrays, satisfaction, PARAMS)
    assert [found[node] is None for node in arrays.nodes] == [expected[node] is None for node in arrays.nodes]
    assert close([found[n] or 0.0 for n in arrays.nodes], [expected[n] or 0.0 for n in arrays.nodes])


SHIPS, RECEIVES = frozenset({SHIPPER}), frozenset({CONSIGNEE})


@pytest.mark.parametrize(
    ("nodes", "links", "message"),
    [
        ([NodeRecord(1, "a", SHIPS), NodeRecord(1, "b", SHIPS)], [], "duplicate customer 1"),
        (None, [LinkRecord(1, 1, 2, 1.0), LinkRecord(2, 1, 9, 1.0)], "link 2 refers to unknown customer 9"),
        ([], [LinkRecord(1, 1, 2, 1.0)], "link 1 refers to unknown customer 1"),
        (None, [LinkRecord(1, 1, 1, 1.0)], "to itself"),
        (None, [LinkRecord(5, 1, 2, 1.0), LinkRecord(5, 2, 1, 1.0)], "duplicate link 5"),
        (None, [LinkRecord(1, 1, 2, 1.0), LinkRecord(2, 1, 2, -1.0)], "link 2 has volume_90d -1.0"),
        (None, [LinkRecord(1, 1, 2, 0.0, declared_monthly_volume=math.nan)], "declared_monthly_volume nan"),
        (None, [LinkRecord(1, 1, 2, 1.0, revenue_per_month=math.inf)], "revenue_per_month inf"),
        (None, [LinkRecord(1, 1, 2, 1.0, cost_per_month=-math.inf)], "cost_per_month -inf"),
    ],
)
def test_bad_records_are_rejected_as_by_the_reference(nodes, links, message):
    nodes = [NodeRecord(1, "s", SHIPS), NodeRecord(2, "c", RECEIVES)] if nodes is None else nodes
    for build in (build_graph, build_arrays):
        with pytest.raises(ValueError, match=message):
            build(nodes, links, PARAMS)


def test_an_empty_portfolio_has_empty_arrays():
    arrays = build_arrays([NodeRecord(3, "alone", SHIPS)], [], PARAMS)
    assert arrays.nodes == (3,)
    assert arrays.pairs == 0 and arrays.link_index == {}
    assert arrays.lanes(3) == []
    assert propagate_arrays(arrays, np.array([0.25])).risk.tolist() == [0.25]


def _walked(arrays, center, depth, through):
    """The neighbourhood node by node: each reached node's partners in `lanes` order."""
    members, frontier = {center: 0}, [center]
    for distance in range(1, depth + 1):
        reached = []
        for node in frontier:
            if through(node):
                for lane in arrays.lanes(node):
                    if lane.partner not in members:
                        members[lane.partner] = distance
                        reached.append(lane.partner)
        frontier = reached
    return members


@settings(max_examples=150, deadline=None)
@given(records(), st.data())
def test_neighbourhood_is_the_walk_lane_by_lane(case, data):
    """What the graph answer draws: the accounts a walk lane by lane reaches, in its order, or the nearest
    and busiest `limit` of them."""
    arrays = build_arrays(*case, PARAMS)
    center = data.draw(st.sampled_from(arrays.nodes))
    depth = data.draw(st.integers(1, 3))
    closed = data.draw(st.sets(st.sampled_from(arrays.nodes)))
    limit = data.draw(st.none() | st.integers(1, 10))

    def through(node):  # the walk may not go on from a closed node
        return node not in closed

    members = _walked(arrays, center, depth, through)
    if limit is not None and len(members) > limit:
        volume = arrays.node_volume
        busiest = sorted(members, key=lambda n: (members[n], -float(volume[arrays.index[n]]), n))[:limit]
        members = {node: members[node] for node in busiest}
    found = arrays.neighbourhood(center, depth, limit=limit, through=through)
    assert found == (list(members), len(_walked(arrays, center, depth, through)))


@settings(max_examples=150, deadline=None)
@given(records(), st.data())
def test_pairs_within_are_the_lanes_filtered(case, data):
    """What the graph answer draws between its accounts: each pair once, from its shipper (from its lower
    node if the two ship both ways), as `lanes` gives it node by node."""
    arrays = build_arrays(*case, PARAMS)
    some = data.draw(st.lists(st.sampled_from(arrays.nodes), unique=True))
    assert arrays.pairs_within(some) == [
        (
            node,
            lane.partner,
            lane.shipments_per_month,
            lane.revenue_per_month,
            lane.influence,
            lane.influence_back,
        )
        for node in some
        for lane in arrays.lanes(node)
        if lane.partner in some
        and (lane.direction == "down" or (lane.direction == "both" and node < lane.partner))
    ]
