import itertools
import math

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logicrm.network import churn
from logicrm.network.cascade import expected_loss, what_if
from logicrm.network.graph import CONSIGNEE, SHIPPER, GraphArrays, LinkRecord, NodeRecord, build_graph
from logicrm.network.params import ScoringParams
from logicrm.network.risk import (
    NotConverged,
    OwnRisk,
    explain,
    propagate,
    propagate_arrays,
    propagate_reference,
)
from logicrm.network.satisfaction import two_sided
from tests import worked_examples
from tests.network.strategies import networks

PARAMS = ScoringParams()
# grids keep r0 and a away from values so tiny that the 1e-12 stopping rule decides the answer
probabilities = st.integers(0, 20).map(lambda k: k / 20)
couplings = st.integers(0, 18).map(lambda k: k / 20)  # up to 0.9: loops settle well within max_iter


@st.composite
def graphs(draw, *, max_nodes=9, influence=couplings):
    """A random directed graph (cycles welcome) with influences and own risks."""
    n = draw(st.integers(1, max_nodes))
    ordered = [(u, v) for u in range(n) for v in range(n) if u != v]
    arcs = draw(st.lists(st.sampled_from(ordered), unique=True, max_size=len(ordered))) if ordered else []
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n))
    for u, v in arcs:
        graph.add_edge(u, v, influence=draw(influence))
    r0 = {i: draw(probabilities) for i in range(n)}
    return graph, r0


@st.composite
def trees(draw, *, max_nodes=7):
    """A random tree with arcs in one or both directions along each edge."""
    n = draw(st.integers(1, max_nodes))
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n))
    for child in range(1, n):
        parent = draw(st.integers(0, child - 1))
        ends = draw(st.sampled_from([(parent, child), (child, parent), "both"]))
        for u, v in [(parent, child), (child, parent)] if ends == "both" else [ends]:
            graph.add_edge(u, v, influence=draw(st.integers(0, 4).map(lambda k: k / 4)))
    r0 = {i: draw(st.integers(0, 4).map(lambda k: k / 4)) for i in range(n)}
    return graph, r0


def exact_cascade(graph, r0):
    """Return each node's independent-cascade churn probability by enumerating live arcs."""
    arcs = list(graph.edges)
    risk = dict.fromkeys(graph, 0.0)
    for live in itertools.product([False, True], repeat=len(arcs)):
        p_live = math.prod(graph.edges[a]["influence"] if on else 1 - graph.edges[a]["influence"]
                           for a, on in zip(arcs, live, strict=True))  # fmt: skip
        if p_live == 0:
            continue
        kept = nx.DiGraph([a for a, on in zip(arcs, live, strict=True) if on])
        kept.add_nodes_from(graph)
        for i in graph:
            # i stays only if no node that reaches it over live arcs churned on its own
            stays = math.prod(1 - r0[j] for j in nx.ancestors(kept, i) | {i})
            risk[i] += p_live * (1 - stays)
    return risk


def test_design_worked_example():
    graph = nx.DiGraph()
    graph.add_edge("shipper", "consignee", influence=0.6)
    graph.add_edge("consignee", "shipper", influence=0.5)
    r0 = {"shipper": 0.5, "consignee": 0.0}
    for run in (propagate, propagate_reference):
        risk = run(graph, r0)
        # a node-level noisy-OR would echo the shipper's risk back: 1 − 0.5·(1 − 0.5·0.3) = 0.575
        assert risk == pytest.approx({"shipper": 0.5, "consignee": 0.3}, abs=1e-15)


@settings(max_examples=150, deadline=None)
@given(graphs())
def test_vectorised_equals_reference(case):
    graph, r0 = case
    fast, slow = propagate(graph, r0), propagate_reference(graph, r0)
    assert max(abs(fast[i] - slow[i]) for i in graph) < 1e-9


@settings(max_examples=100, deadline=None)
@given(graphs(influence=st.sampled_from([0.0, 0.5, 1.0])))
def test_certain_transmission_is_exact(case):
    # a = 1 from a sure churner makes a factor 1 − a·m exactly 0, which the vectorised path divides out
    graph, r0 = case
    r0 = {i: float(p >= 0.5) for i, p in r0.items()}
    fast, slow = propagate(graph, r0), propagate_reference(graph, r0)
    assert max(abs(fast[i] - slow[i]) for i in graph) < 1e-9


@settings(max_examples=100, deadline=None)
@given(graphs())
def test_risk_bounded_below_by_own_risk(case):
    graph, r0 = case
    risk = propagate(graph, r0)
    for i in graph:
        assert r0[i] - 1e-12 <= risk[i] <= 1.0


@settings(max_examples=50, deadline=None)
@given(graphs())
def test_isolated_node_keeps_own_risk(case):
    graph, r0 = case
    graph.add_node("alone")
    r0["alone"] = 0.37
    assert propagate(graph, r0)["alone"] == pytest.approx(0.37, abs=1e-15)


@settings(max_examples=50, deadline=None)
@given(graphs())
def test_zero_influence_gives_own_risk(case):
    graph, r0 = case
    nx.set_edge_attributes(graph, 0.0, "influence")
    assert propagate(graph, r0) == pytest.approx(r0, abs=1e-15)


@settings(max_examples=100, deadline=None)
@given(graphs(), st.data())
def test_raising_own_risk_never_lowers_risk(case, data):
    graph, r0 = case
    node = data.draw(st.sampled_from(sorted(graph)))
    before = propagate(graph, r0)
    after = propagate(graph, {**r0, node: data.draw(st.floats(r0[node], 1.0))})
    assert all(after[i] >= before[i] - 1e-9 for i in graph)


@settings(max_examples=100, deadline=None)
@given(graphs(), st.data())
def test_raising_influence_never_lowers_risk(case, data):
    graph, r0 = case
    if not graph.number_of_edges():
        return
    u, v = data.draw(st.sampled_from(sorted(graph.edges)))
    before = propagate(graph, r0)
    graph.edges[u, v]["influence"] = data.draw(st.floats(graph.edges[u, v]["influence"], 0.9))
    after = propagate(graph, r0)
    assert all(after[i] >= before[i] - 1e-9 for i in graph)


@settings(max_examples=60, deadline=None)
@given(trees())
def test_forest_risk_is_the_exact_cascade_probability(case):
    graph, r0 = case
    exact = exact_cascade(graph, r0)
    for run in (propagate, propagate_reference):
        risk = run(graph, r0)
        assert max(abs(risk[i] - exact[i]) for i in graph) < 1e-9


def test_forest_of_two_trees():
    graph = nx.DiGraph()
    graph.add_edge(0, 1, influence=0.5)
    graph.add_edge(1, 2, influence=0.5)
    graph.add_edge(3, 4, influence=1.0)
    graph.add_edge(4, 3, influence=1.0)
    r0 = {0: 0.2, 1: 0.0, 2: 0.0, 3: 0.5, 4: 0.1}
    assert propagate(graph, r0) == pytest.approx(exact_cascade(graph, r0), abs=1e-12)


def test_not_converged_raises():
    graph = nx.cycle_graph(3, create_using=nx.DiGraph)
    nx.set_edge_attributes(graph, 0.9, "influence")
    r0 = dict.fromkeys(graph, 0.1)
    for run in (propagate, propagate_reference):
        with pytest.raises(NotConverged):
            run(graph, r0, max_iter=2)


def test_propagate_rejects_out_of_range_inputs():
    graph = nx.DiGraph()
    graph.add_edge(0, 1, influence=1.5)
    with pytest.raises(ValueError, match="influence"):
        propagate(graph, {0: 0.1, 1: 0.1})
    graph.edges[0, 1]["influence"] = 0.5
    with pytest.raises(ValueError, match="own risk"):
        propagate(graph, {0: -0.1, 1: 0.1})
    with pytest.raises(ValueError, match="no value"):
        propagate(graph, {0: 0.1})


def test_custom_weight_attribute():
    graph = nx.DiGraph()
    graph.add_edge(0, 1, w=0.5)
    assert propagate(graph, {0: 1.0, 1: 0.0}, weight="w")[1] == pytest.approx(0.5)


# the average account's risk, which explanations call the baseline
BASE = 0.05


def own_of(contributions: dict[str, float]) -> OwnRisk:
    """An own risk shaped as the churn model's: the baseline's logit plus each feature's contribution."""
    z = math.log(BASE / (1 - BASE)) + math.fsum(contributions.values())
    return OwnRisk(float(churn.sigmoid(z)))


@settings(max_examples=150, deadline=None)
@given(networks(), st.data())
def test_any_finite_amounts_keep_the_propagation_guarantees(case, data):
    nodes, links = case
    graph = build_graph(nodes, links, PARAMS)
    r0 = {node.id: data.draw(probabilities) for node in nodes}
    fast, slow = propagate(graph, r0), propagate_reference(graph, r0)
    assert max(abs(fast[i] - slow[i]) for i in graph) < 1e-9
    assert all(r0[i] - 1e-12 <= fast[i] <= 1.0 for i in graph)
    arrays = GraphArrays.from_graph(graph)
    own = {node: OwnRisk(r0[node]) for node in arrays.nodes}
    claims = {node: {"claims": 1.0} for node in arrays.nodes}
    result = propagate_arrays(arrays, arrays.vector({k: v.risk for k, v in own.items()}))
    for explanation in explain(arrays, result, own, PARAMS, contributions=claims, baseline=BASE).values():
        assert math.fsum(d.share for d in explanation.drivers) == pytest.approx(explanation.risk, abs=1e-12)


def test_own_drivers_share_own_risk_whatever_the_contributions():
    # contributions summing beyond the largest float are split in proportion, not turned into NaN
    huge = {"claims": 1.7e308, "otif_gap": 1.7e308, "contract_ending": 0.0}
    graph = nx.DiGraph()
    graph.add_node("a")
    arrays = GraphArrays.from_graph(graph)
    explanation = explain(
        arrays,
        propagate_arrays(arrays, np.array([0.9])),
        {"a": OwnRisk(0.9)},
        PARAMS,
        contributions={"a": huge},
        baseline=BASE,
    )["a"]
    shares = {d.key: d.share for d in explanation.drivers}
    assert shares["claims"] == shares["otif_gap"] == pytest.approx((0.9 - BASE) / 2)


def _explained_star():
    """A consignee 'c' served by shippers 's1' (2/3 of volume) and 's2', with own drivers."""
    graph = nx.DiGraph()
    for s, a in (("s1", 0.4), ("s2", 0.2)):
        graph.add_edge(s, "c", influence=a)
        graph.add_edge("c", s, influence=0.5)
    contributions = {"s1": {"claims": 2.5}, "s2": {}, "c": {"dissatisfaction": 2.0, "overdue_tickets": 0.8}}
    own = {node: own_of(parts) for node, parts in contributions.items()}
    arrays = GraphArrays.from_graph(graph)
    result = propagate_arrays(arrays, arrays.vector({k: v.risk for k, v in own.items()}))
    return arrays, result, own, contributions


def test_explanation_shares_sum_to_network_risk():
    arrays, result, own, contributions = _explained_star()
    explained = explain(arrays, result, own, PARAMS, contributions=contributions, baseline=BASE)
    for node, explanation in explained.items():
        assert explanation.risk == pytest.approx(result.risk[arrays.index[node]])
        assert math.fsum(d.share for d in explanation.drivers) == pytest.approx(explanation.risk, abs=1e-12)
        shares = [d.share for d in explanation.drivers if d.kind != "other"]
        assert shares == sorted(shares, reverse=True)
    c = explained["c"]
    by_key = {d.key: d.share for d in c.drivers}
    assert by_key[None] == pytest.approx(BASE)  # baseline
    own_part = by_key["dissatisfaction"] + by_key["overdue_tickets"]
    assert own_part + by_key[None] == pytest.approx(own["c"].risk)
    assert by_key["dissatisfaction"] / by_key["overdue_tickets"] == pytest.approx(
        contributions["c"]["dissatisfaction"] / contributions["c"]["overdue_tickets"]
    )
    assert by_key["s1"] + by_key["s2"] == pytest.approx(c.risk - own["c"].risk)
    assert by_key["s1"] > by_key["s2"]  # larger share of volume, riskier shipper


def test_explanation_top_and_other():
    arrays, result, own, contributions = _explained_star()
    c = explain(arrays, result, own, PARAMS, contributions=contributions, baseline=BASE, nodes=["c"], top=2)[
        "c"
    ]
    assert [d.kind for d in c.drivers][-1] == "other"
    assert len(c.drivers) == 3
    assert math.fsum(d.share for d in c.drivers) == pytest.approx(c.risk, abs=1e-12)


def test_explanation_without_drivers_is_baseline():
    graph = nx.DiGraph()
    graph.add_node("a")
    arrays = GraphArrays.from_graph(graph)
    own = {"a": own_of({})}
    result = propagate_arrays(arrays, np.array([own["a"].risk]))
    (driver,) = explain(arrays, result, own, PARAMS, contributions={"a": {}}, baseline=BASE)["a"].drivers
    assert driver.kind == "baseline"
    assert driver.share == pytest.approx(own["a"].risk)


def test_explanation_zero_own_risk():
    arrays, result, _own, _contributions = _explained_star()
    zero = {node: OwnRisk(0.0) for node in arrays.nodes}
    none = {node: {} for node in arrays.nodes}
    result = propagate_arrays(arrays, np.zeros(len(arrays.nodes)))
    explained = explain(arrays, result, zero, PARAMS, contributions=none, baseline=BASE)
    assert all(e.drivers == () for e in explained.values())


# the worked example's own parameters, as stated on the page: recalibrated defaults leave it intact
DOC_EXAMPLE = ScoringParams(
    alpha_down=0.6, alpha_up=0.5, beta_two_sided=0.4, cascade_threshold=0.5, volume_window_days=90,
    explain_top=5, horizon_days=180,
)  # fmt: skip
# the cold-start model of the page: the hand-set prior weights, an average account at 8% within 180 days
DOC_MODEL = churn.prior_model(horizon_days=180, base_rate=0.08)


def test_scoring_doc_worked_example():
    shipper, consignee = frozenset({SHIPPER}), frozenset({CONSIGNEE})
    names = {1: "S1", 2: "S2", 3: "C1", 4: "D", 5: "C2"}
    roles = {1: shipper, 2: shipper, 3: consignee, 4: shipper | consignee, 5: consignee}
    links = [
        LinkRecord(1, 1, 3, 60.0, shipments_per_month=20.0, revenue_per_month=4000.0),
        LinkRecord(2, 2, 3, 60.0, shipments_per_month=20.0, revenue_per_month=3000.0),
        LinkRecord(3, 1, 4, 90.0, shipments_per_month=30.0, revenue_per_month=6000.0),
        LinkRecord(4, 4, 5, 30.0, shipments_per_month=10.0, revenue_per_month=1500.0),
    ]
    graph = build_graph([NodeRecord(i, n, roles[i]) for i, n in names.items()], links, DOC_EXAMPLE)
    satisfaction = {1: 0.70, 2: 0.50, 3: 0.40, 4: 0.60, 5: 0.80}
    features = {
        1: {"otif_gap": 0.1, "contract_ending": 1.0},
        2: {},
        3: {"overdue_tickets": math.log(3), "detractors": 0.5},
        4: {"volume_drop": 0.2},
        5: {},
    }
    X = DOC_MODEL.matrix(list(features.values()))
    own = {i: OwnRisk(float(p)) for i, p in zip(features, DOC_MODEL.predict(X), strict=True)}
    contributions = {i: DOC_MODEL.contributions(x) for i, x in zip(features, X, strict=True)}
    r0 = {i: o.risk for i, o in own.items()}
    arrays = GraphArrays.from_graph(graph)
    result = propagate_arrays(arrays, arrays.vector(r0))
    risk = arrays.mapping(result.risk)
    two = two_sided(graph, satisfaction, DOC_EXAMPLE)

    by_name = {n: i for i, n in names.items()}
    expected = {row[0]: row[1:] for row in worked_examples.table("accounts")}
    assert expected == {
        n: [f"{satisfaction[i]:.4f}", f"{two[i]:.4f}", f"{r0[i]:.4f}", f"{risk[i]:.4f}"]
        for n, i in by_name.items()
    }

    def label(driver):
        named = {"neighbour": f"neighbour {names.get(driver.key)}", "own": f"own {driver.key}"}
        return named.get(driver.kind, driver.kind)

    c1 = explain(
        arrays,
        result,
        own,
        DOC_EXAMPLE,
        contributions=contributions,
        baseline=float(DOC_MODEL.predict(np.zeros((1, X.shape[1])))[0]),
        nodes=[3],
    )[3]
    assert worked_examples.table("explanation") == [[label(d), f"{d.share:.4f}"] for d in c1.drivers]

    cascade = what_if(arrays, remove_customers=[1])
    expected_revenue = expected_loss(arrays, r0, remove_customers=[1])
    assert worked_examples.table("what-if") == [
        ["lost by round", "; ".join(", ".join(names[i] for i in r) for r in cascade.rounds)],
        ["links cut", str(cascade.links_cut)],
        ["shipments/month lost", f"{cascade.shipments_per_month_lost:.2f}"],
        ["revenue/month lost", f"{cascade.revenue_per_month_lost:.2f}"],
        ["expected revenue/month lost", f"{expected_revenue:.2f}"],
    ]
