"""The records' ceiling: it reads churn from the records alone, and only from what they show."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from tests.worlds import generate, metrics, truth_at, world_config
from tests.worlds.ceiling import Records, ceiling, rows

HORIZON = 45  # shorter than the shortest wind-down: every leaver within it has already decided


@functools.cache
def _judged(fade: float):
    """A world whose leavers ship at `fade` of their volume from the day they decide, 50–85 days before
    they churn: the ceiling fitted on the earlier origins, judged on the last four; and the oracle."""
    world = generate(
        world_config(
            accounts=300,
            years=2.0,
            seed=2,
            annual_hazard=0.8,
            fade_days=(50, 85),
            fade_start=fade,
            fade_floor=fade,
        )
    )
    records = Records(world)
    days = list(range(world.first_day + 180, world.last_day - HORIZON + 1, 30))
    train = rows(records, days[:-4], HORIZON)
    p, label, oracle = [], [], []
    for day in days[-4:]:
        truth = truth_at(world, world.date(day), HORIZON, runs=100)
        judged = ceiling(train.labelled_by(day, HORIZON), records.features(day)[0][truth.account])
        p.append(judged.p)
        label.append(truth.label)
        oracle.append(truth.oracle)
    return np.concatenate(p), np.concatenate(label), np.concatenate(oracle)


def test_a_wind_down_in_the_shipments_is_read_near_the_oracle():
    p, label, oracle = _judged(0.05)
    assert label.sum() >= 20
    assert metrics.auc(oracle, label) > 0.95  # the oracle knows who has decided
    assert metrics.auc(p, label) > metrics.auc(oracle, label) - 0.1


def test_without_the_wind_down_the_records_tell_far_less():
    visible, visible_label, _ = _judged(0.05)
    hidden, label, oracle = _judged(1.0)
    assert metrics.auc(oracle, label) > 0.95  # the same decisions, now invisible in the shipments
    assert metrics.auc(hidden, label) < metrics.auc(visible, visible_label) - 0.15


@pytest.mark.parametrize("day_offset", [200, 400])
def test_features_are_point_in_time(make_world, day_offset):
    """An account's features at t do not change when everything after t is taken away."""
    world = make_world(accounts=300, contagion="strong", years=2.0)
    t = world.first_day + day_offset
    records = Records(world)
    later = Records(world)
    for prefix, day, names in (
        ("", "shipped", ("lane", "shipper", "consignee", "delivered", "late", "damaged", "short", "claimed")),
        ("s_", "day", ("account", "department", "ltr", "tone", "gap", "operational", "relational", "weight")),
        ("i_", "day", ("account",)),
        ("t_", "opened", ("account", "kind", "response", "resolved")),
    ):
        known = getattr(later, prefix + day) < t + 1
        for name in (day, *names):
            setattr(later, prefix + name, getattr(later, prefix + name)[known])
    # what happened after t is still unknown at t: deliveries and answers after it are in the future
    later.delivered = np.where(later.delivered >= t + 1, 2.0**30, later.delivered)
    later.t_response = np.where(later.t_response >= t + 1, 2.0**30, later.t_response)
    later.t_resolved = np.where(later.t_resolved >= t + 1, 2.0**30, later.t_resolved)
    before, names = records.features(t)
    after, _ = later.features(t)
    alive = (world.accounts.born <= t) & (world.accounts.churned > t)
    np.testing.assert_allclose(after[alive], before[alive], equal_nan=True, err_msg=str(names))
