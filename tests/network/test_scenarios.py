import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logicrm.network.risk import propagate_arrays
from logicrm.network.scenarios import Scenario, baseline, link_shares, run
from tests.network.test_cascade import named, network
from tests.network.test_cascade import networks as cascade_networks

WINDOW = 90.0


def play(arrays, scenario, *, own=0.1, threshold=0.5):
    own_risk = {node: own for node in arrays.nodes}
    return run(arrays, arrays, own_risk, scenario, threshold=threshold, window_days=WINDOW)


def rounds(result, ids):
    return named(result.cascade, ids)


def test_volume_cut_takes_its_share_of_every_lane_the_shipper_pays_for():
    arrays, ids = network((1, "s1", "c1", 30), (2, "s1", "c2", 30), (3, "s2", "c2", 40))
    half = play(arrays, Scenario(volume_cuts={ids["s1"]: 0.5}))
    # c1 keeps exactly half of 30 and s1 half of 60: the threshold is strict, nobody goes
    assert rounds(half, ids) == [[]]
    first = half.rounds[0]
    assert (first.volume, first.revenue_per_month, first.links_cut) == pytest.approx((30, 300, 0))
    deeper = play(arrays, Scenario(volume_cuts={ids["s1"]: 0.6}))
    # c1 keeps 12/30 and s1 24/60: both go in round 1 with what is left of their lanes; c2 keeps 40/70
    assert rounds(deeper, ids) == [[], ["c1", "s1"]]
    assert [r.volume for r in deeper.rounds] == pytest.approx([36, 24])
    assert [r.revenue_per_month for r in deeper.rounds] == pytest.approx([360, 240])
    assert [r.links_cut for r in deeper.rounds] == [0, 2]


def test_pause_takes_its_weeks_of_the_volume_window():
    arrays, ids = network((1, "s1", "c1", 30), (2, "s1", "c2", 30))
    assert link_shares(arrays, Scenario(paused_links={1: 4}), window_days=WINDOW) == {
        1: pytest.approx(28 / 90)
    }
    short = play(arrays, Scenario(paused_links={1: 4}))
    assert rounds(short, ids) == [[]]
    assert short.rounds[0].revenue_per_month == pytest.approx(300 * 28 / 90)
    # 7 weeks take 49/90 of c1's only lane: c1 goes in round 1 with the rest of it; s1 keeps 30/60
    longer = play(arrays, Scenario(paused_links={1: 7}))
    assert rounds(longer, ids) == [[], ["c1"]]
    assert [r.revenue_per_month for r in longer.rounds] == pytest.approx([300 * 49 / 90, 300 * 41 / 90])
    # a pause as long as the window takes the whole lane
    whole = play(arrays, Scenario(paused_links={1: 13}))
    assert whole.rounds[0].links_cut == 1 and whole.rounds[0].revenue_per_month == pytest.approx(300)


def test_moved_consignee_leaves_and_a_moved_distributor_keeps_its_shipping():
    arrays, ids = network((1, "s1", "c1", 30), (2, "s1", "c2", 30), (3, "s2", "c2", 40))
    moved = play(arrays, Scenario(moved_consignees=[ids["c2"]]))
    # c2 receives only: it leaves in round 0 with both its lanes; s2 had only c2
    assert rounds(moved, ids) == [["c2"], ["s2"]]
    assert moved.departed == [ids["c2"]]
    assert moved.rounds[0].links_cut == 2 and moved.rounds[0].revenue_per_month == pytest.approx(700)
    arrays, ids = network((1, "s1", "d1", 50), (2, "d1", "c1", 50))
    distributor = play(arrays, Scenario(moved_consignees=[ids["d1"]]))
    # d1 keeps its 50 as shipper (half: it stays); s1 has nothing left
    assert rounds(distributor, ids) == [[], ["s1"]]
    assert distributor.departed == []


def test_lane_removal_has_an_expected_loss_and_raises_the_risk_of_those_left():
    arrays, ids = network((1, "s1", "c1", 30), (2, "s1", "c2", 30), (3, "s2", "c2", 40))
    own = {node: 0.1 for node in arrays.nodes}
    base = propagate_arrays(arrays, arrays.vector(own)).risk
    result = play(arrays, Scenario(remove_links=[1]))
    # s1 keeps 30/60 and stays; c1 has nothing left and goes in round 1
    assert rounds(result, ids) == [[], ["c1"]]
    # round 0: link 1's revenue is lost for certain, beyond the share s1 was already expected to take
    s1 = arrays.index[ids["s1"]]
    assert result.rounds[0].expected_revenue_per_month_lost == pytest.approx(300 * (1 - base[s1]))
    assert result.expected_revenue_per_month_lost > 0
    # round 1: c1 at r = 1 raises s1's risk on the revenue it keeps
    start = arrays.vector(own)
    start[arrays.index[ids["c1"]]] = 1.0
    after = propagate_arrays(arrays, start).risk
    kept = arrays.node_revenue.copy()
    kept[s1] -= 300
    expected = after @ kept + 300 - base @ arrays.node_revenue
    assert result.rounds[1].expected_revenue_per_month_lost == pytest.approx(expected)
    assert set(result.risk_rises) >= {ids["s1"]}
    assert ids["c1"] not in result.risk_rises  # lost, not rising
    before, later = result.risk_rises[ids["s1"]]
    assert later > before


def test_removal_only_expected_loss_is_the_cascade_reference():
    from logicrm.network.cascade import expected_loss

    arrays, ids = network((1, "s1", "c1", 30), (2, "s1", "d1", 60), (3, "d1", "c2", 20), (4, "s2", "c2", 10))
    own = {node: 0.2 for node in arrays.nodes}
    result = run(
        arrays, arrays, own, Scenario(remove_customers=[ids["s1"]]), threshold=0.5, window_days=WINDOW
    )
    reference = expected_loss(arrays, own, remove_customers=[ids["s1"]]) - expected_loss(
        arrays, own, remove_customers=[]
    )
    assert result.expected_revenue_per_month_lost == pytest.approx(reference)


def test_bad_changes_are_refused():
    arrays, ids = network((1, "s1", "c1", 30))
    with pytest.raises(ValueError, match="unknown links"):
        play(arrays, Scenario(paused_links={99: 2}))
    with pytest.raises(ValueError, match="at least 1"):
        play(arrays, Scenario(paused_links={1: 0}))
    with pytest.raises(ValueError, match="not in"):
        play(arrays, Scenario(volume_cuts={ids["s1"]: 1.5}))
    with pytest.raises(ValueError, match="unknown customers"):
        play(arrays, Scenario(moved_consignees=[99]))


def outcome(result):
    """What a scenario's answer says, comparable between two runs."""
    return (
        result.cascade.rounds,
        [x for r in result.rounds for x in (r.volume, r.revenue_per_month, r.margin_per_month, r.links_cut)],
        [r.expected_revenue_per_month_lost for r in result.rounds],
    )


@st.composite
def cut_cases(draw):
    arrays, _ids = draw(cascade_networks())
    shippers = sorted({int(s) for s in arrays.link_shipper.tolist()})
    shipper = arrays.nodes[draw(st.sampled_from(shippers))]
    return arrays, shipper, [draw(st.sampled_from([0.1, 0.3, 0.5, 0.7, 1.0])) for _ in range(2)]


@settings(max_examples=80, deadline=None)
@given(cut_cases())
def test_cutting_nothing_is_the_baseline(case):
    arrays, shipper, _ = case
    assert outcome(play(arrays, Scenario(volume_cuts={shipper: 0.0}))) == outcome(play(arrays, Scenario()))
    assert play(arrays, Scenario(volume_cuts={shipper: 0.0})).rounds[0].expected_revenue_per_month_lost == 0


@settings(max_examples=80, deadline=None)
@given(cut_cases())
def test_cutting_everything_is_removing_the_shippers_lanes(case):
    arrays, shipper, _ = case
    row = arrays.index[shipper]
    links = [link for link, r in arrays.link_index.items() if arrays.link_shipper[r] == row]
    cut, removed = (
        play(arrays, Scenario(volume_cuts={shipper: 1.0})),
        play(arrays, Scenario(remove_links=links)),
    )
    assert cut.cascade.rounds == removed.cascade.rounds
    for a, b in zip(outcome(cut)[1:], outcome(removed)[1:], strict=True):
        assert a == pytest.approx(b)


@settings(max_examples=80, deadline=None)
@given(cut_cases())
def test_a_deeper_cut_loses_at_least_as_much(case):
    arrays, shipper, shares = case
    small, large = sorted(shares)
    less, more = (play(arrays, Scenario(volume_cuts={shipper: share})) for share in (small, large))
    assert set(less.cascade.lost) <= set(more.cascade.lost)
    total = lambda result: sum(r.revenue_per_month for r in result.rounds)  # noqa: E731
    assert total(less) <= total(more) + 1e-9
    assert sum(r.volume for r in less.rounds) <= sum(r.volume for r in more.rounds) + 1e-9
    assert less.expected_revenue_per_month_lost <= more.expected_revenue_per_month_lost + 1e-9


@settings(max_examples=60, deadline=None)
@given(cut_cases())
def test_a_kept_baseline_answers_as_the_one_computed_in_the_run(case):
    arrays, shipper, shares = case
    own_risk = {node: 0.1 for node in arrays.nodes}
    kept = baseline(arrays, own_risk)
    for scenario in (
        Scenario(),
        Scenario(volume_cuts={shipper: shares[0]}),
        Scenario(remove_customers=[shipper]),
    ):
        computed = run(arrays, arrays, own_risk, scenario, threshold=0.5, window_days=WINDOW)
        reused = run(arrays, arrays, own_risk, scenario, threshold=0.5, window_days=WINDOW, base_risk=kept)
        assert outcome(reused) == outcome(computed) and reused.risk_rises == computed.risk_rises
