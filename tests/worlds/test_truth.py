"""The truth: labels read from the records, and an oracle that is exact, calibrated and unbeaten."""

from __future__ import annotations

import datetime as dt
import functools

import numpy as np
import pytest

from tests.worlds import generate, metrics, oracle_probabilities, origins, truth_at, world_config
from tests.worlds import signals as observed
from tests.worlds.truth import own_decision_cdf
from tests.worlds.world import CONTAGION, NEVER


@functools.cache
def _pooled(world, horizon: int = 180, *, every: int = 3, runs: int = 600):
    """Labels, oracle, own-only oracle and contagion-only flags over every n-th origin, and the truths."""
    known = [
        truth_at(world, origin, horizon, runs=runs) for origin in origins(world, horizon=horizon)[::every]
    ]
    label, oracle, own, contagion_only = (
        np.concatenate([getattr(k, name) for k in known])
        for name in ("label", "oracle", "oracle_own", "contagion_only")
    )
    return label, oracle, own, contagion_only, known


def test_origins_are_month_starts_whose_horizon_ends_by_today(make_world):
    world = make_world()
    dates = origins(world, horizon=180)
    assert all(date.day == 1 for date in dates)
    assert dates[0] >= world.date(world.first_day + 180)
    assert world.day(dates[-1]) + 180 <= world.last_day < world.day(dates[-1]) + 180 + 31


def test_labels_follow_the_churn_definition(make_world):
    world = make_world()
    accounts = world.accounts
    origin = origins(world, horizon=180)[6]
    t = world.day(origin)
    known = truth_at(world, origin, 180, oracle=False)
    at_risk = set(known.account)
    assert all(accounts.born[a] <= t < accounts.churned[a] for a in at_risk)
    assert not at_risk & set(np.flatnonzero(accounts.churned <= t))
    within = accounts.churned[known.account] <= t + 180
    assert np.array_equal(known.label == 1, within)  # no shipper falls silent before it churns here
    assert np.array_equal(known.leaving, accounts.decided[known.account] <= t)
    assert np.array_equal(known.contagion_only, within & (accounts.cause[known.account] == CONTAGION))
    late = truth_at(world, world.date(world.last_day - 100), 180, oracle=False)
    assert np.isnan(late.label).all() and not late.observed().any()


def test_a_shipper_silent_for_the_churn_gap_counts_as_churned():
    world = generate(world_config(accounts=60, years=1.0, seed=3))
    accounts, shipments, lanes = world.accounts, world.shipments, world.lanes
    shipper = next(
        int(a)
        for a in np.flatnonzero(accounts.is_shipper & (accounts.churned == NEVER) & (accounts.born == 0))
    )
    t = world.first_day + 60
    known = truth_at(world, world.date(t), 180, oracle=False)
    assert known.label[list(known.account).index(shipper)] == 0.0
    # Silence the shipper from day t + 30 on: the gap completes within 90 days of that, inside 180.
    mine = lanes.shipper[shipments.lane] == shipper
    last = shipments.shipped[mine & (shipments.shipped < t + 30)].max()
    keep = ~(mine & (shipments.shipped >= t + 30))
    for name in (
        "lane",
        "shipped",
        "promised",
        "delivered",
        "in_full",
        "damaged",
        "claim",
        "revenue",
        "cost",
    ):
        setattr(shipments, name, getattr(shipments, name)[keep])
    world._cache.clear()
    known = truth_at(world, world.date(t), 180, oracle=False)
    assert known.label[list(known.account).index(shipper)] == 1.0
    assert shipper not in truth_at(world, world.date(int(last) + 91), 30, oracle=False).account


def test_own_decisions_happen_as_often_as_the_exact_probability_says():
    predicted = realised = 0.0
    for seed in range(3):
        world = generate(world_config(accounts=300, seed=seed))
        accounts = world.accounts
        for t in range(world.first_day, world.last_day - 60, 60):
            undecided = np.flatnonzero((accounts.born <= t) & (accounts.decided > t))
            predicted += own_decision_cdf(world, undecided, t, 60)[:, -1].sum()
            realised += ((accounts.decided[undecided] > t) & (accounts.decided[undecided] <= t + 60)).sum()
    assert predicted > 500
    assert abs(realised - predicted) < 3.5 * np.sqrt(predicted)


@pytest.mark.parametrize("contagion", ["none", "strong"])
def test_the_oracle_is_calibrated_and_beats_the_base_rate(make_world, contagion):
    world = make_world(contagion=contagion)
    label, oracle, _own, _contagion_only, _ = _pooled(world)
    assert metrics.brier(oracle, label) < metrics.brier(np.full(len(label), label.mean()), label)
    assert metrics.brier_skill(oracle, label) > 0.15
    assert abs(oracle.mean() - label.mean()) < 0.1 * label.mean()
    for row in metrics.reliability(oracle, label):
        if row.count >= 200:  # rows of one account at several origins are correlated: a wide band
            assert abs(row.z()) < 4, row


def test_the_oracle_ranks_better_than_any_single_observable_signal(make_world):
    world = make_world(contagion="strong")
    label, oracle, _own, _contagion_only, parts = _pooled(world)
    oracle_auc = metrics.auc(oracle, label)
    for name in observed.NAMES:
        values = np.concatenate(
            [observed.signals(world, world.day(k.origin), k.account)[name] for k in parts]
        )
        auc = metrics.auc(values, label)
        assert oracle_auc > max(auc, 1 - auc) + 0.1, name


def test_contagion_is_what_the_oracle_adds_to_the_own_part(make_world):
    quiet = make_world(contagion="none")
    known = truth_at(quiet, origins(quiet, horizon=180)[10], 180)
    assert np.array_equal(known.oracle, known.oracle_own)
    label, oracle, own, contagion_only, _ = _pooled(make_world(contagion="strong"))
    assert (oracle >= own - 0.05).all() and oracle.mean() > own.mean() + 0.03
    assert contagion_only.sum() > 100
    # The oracle sees the partner's churn coming; the own part cannot.
    assert (
        metrics.subset_auc(oracle, label, contagion_only)
        > metrics.subset_auc(own, label, contagion_only) + 0.1
    )


def test_the_oracle_is_within_a_hundredth_of_its_expectation(make_world):
    world = make_world(contagion="strong")
    origin = origins(world, horizon=180)[8]
    first, _ = oracle_probabilities(world, origin, (180,), runs=2500, seed=1)
    second, _ = oracle_probabilities(world, origin, (180,), runs=2500, seed=2)
    simulated = ~np.isnan(first[180]) & (first[180] != second[180])
    assert simulated.sum() > 50
    # The two estimates differ by √2 standard errors: the standard error is below 0.01.
    assert np.std(first[180][simulated] - second[180][simulated]) / np.sqrt(2) < 0.01


def test_several_horizons_come_from_one_simulation(make_world):
    world = make_world(contagion="weak")
    origin = origins(world, horizon=365)[3]
    total, own = oracle_probabilities(world, origin, (90, 180, 365), runs=500)
    present = ~np.isnan(total[90])
    assert (total[90][present] <= total[180][present]).all() and (
        total[180][present] <= total[365][present]
    ).all()
    assert (own[90][present] <= own[365][present]).all()
    with pytest.raises(ValueError, match="dependency_maturity_days"):
        oracle_probabilities(world, origin, (400,))
    assert world.date(world.day(origin)) == origin and isinstance(origin, dt.date)
