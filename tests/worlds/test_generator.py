"""The generator: deterministic, believable base rates, consistent records, contagion and driver
weights that really change what happens."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from tests.worlds import generate, metrics, origins, truth_at, world_config
from tests.worlds import signals as observed
from tests.worlds.truth import co_churn, gap_only_events
from tests.worlds.world import CONTAGION, NEVER, OWN


def _base_rate(world, horizon: int) -> float:
    labels = [
        truth_at(world, origin, horizon, oracle=False).label for origin in origins(world, horizon=horizon)
    ]
    return float(np.mean(np.concatenate(labels)))


def test_the_same_seed_gives_the_same_world_and_another_seed_another():
    config = world_config(accounts=40, years=1.0, contagion="strong", seed=7)
    first, second = generate(config), generate(config)
    assert first.accounts.ref == second.accounts.ref
    for name in ("churned", "decided", "cause", "source", "referred_by"):
        assert np.array_equal(getattr(first.accounts, name), getattr(second.accounts, name))
    assert np.array_equal(first.chains.levels, second.chains.levels)
    assert np.array_equal(first.shipments.shipped, second.shipments.shipped)
    assert np.array_equal(first.shipments.delivered, second.shipments.delivered, equal_nan=True)
    assert first.surveys == second.surveys and first.tickets == second.tickets
    assert first.interactions == second.interactions and first.contacts == second.contacts
    other = generate(world_config(accounts=40, years=1.0, contagion="strong", seed=8))
    assert not np.array_equal(first.shipments.shipped[:100], other.shipments.shipped[:100])


@pytest.mark.parametrize("contagion", ["none", "weak", "strong"])
def test_base_rates_are_believable_and_the_population_stays_level(make_world, contagion):
    world = make_world(contagion=contagion)
    assert 0.05 <= _base_rate(world, 90) <= 0.15
    assert 0.20 <= _base_rate(world, 365) <= 0.40
    accounts = world.accounts
    alive = [
        ((accounts.born <= day) & (accounts.churned > day)).sum() for day in (world.first_day, world.last_day)
    ]
    assert 0.85 <= alive[1] / alive[0] <= 1.15


def test_the_base_rate_follows_the_configured_hazard(make_world):
    calm = generate(world_config(accounts=1000, contagion="weak", seed=1, annual_hazard=0.16))
    assert _base_rate(calm, 180) < 0.75 * _base_rate(make_world(), 180)


def test_records_are_consistent_with_who_churned_when(make_world):
    world = make_world()
    accounts, lanes, shipments = world.accounts, world.lanes, world.shipments
    assert (lanes.shipper != lanes.consignee).all()
    assert accounts.is_shipper[lanes.shipper].all() and accounts.is_consignee[lanes.consignee].all()
    # A lane ends exactly when its first end churns (within the simulation), and nothing ships
    # outside its life.
    first_churn = np.minimum(accounts.churned[lanes.shipper], accounts.churned[lanes.consignee])
    assert np.array_equal(lanes.end, np.where(first_churn <= world.last_day, first_churn, NEVER))
    day = shipments.shipped.astype(int)
    assert (day >= lanes.start[shipments.lane]).all() and (day < lanes.end[shipments.lane]).all()
    # Churn follows the decision by the wind-down; the status day is after the account arrived.
    churned = accounts.churned < NEVER
    assert np.array_equal(accounts.churned[churned], (accounts.decided + accounts.fade)[churned])
    assert (accounts.churned[churned] > accounts.born[churned]).all()
    for records, moment in ((world.surveys, "day"), (world.interactions, "day"), (world.tickets, "opened")):
        account = np.array([record["account"] for record in records])
        when = np.array([record[moment] for record in records])
        assert (when >= accounts.born[account]).all() and (when < accounts.churned[account]).all()
    assert gap_only_events(world) == 0  # a living shipper never falls silent for the churn gap


def test_a_leaving_shipper_ships_less_then_stops(make_world):
    world = make_world()
    accounts, shipments = world.accounts, world.shipments
    shipper = world.lanes.shipper[shipments.lane]
    leavers = np.flatnonzero(
        accounts.is_shipper & (accounts.churned <= world.last_day) & (accounts.born < accounts.decided - 90)
    )
    before = after = 0
    for account in leavers:
        mine = shipments.shipped[shipper == account]
        decided, churned = accounts.decided[account], accounts.churned[account]
        before += ((mine >= decided - 90) & (mine < decided)).sum() / 90
        after += ((mine >= decided) & (mine < churned)).sum() / (churned - decided)
        assert (mine < churned).all()
    assert len(leavers) > 20 and after < 0.5 * before


def test_every_account_has_deciding_departments_with_contacts(make_world):
    world = make_world()
    departments = world.departments
    assert set(departments.account[departments.deciding]) == set(range(len(world.accounts)))
    assert all(departments.contacts[index] for index in range(len(departments.name)))
    scores = [value for survey in world.surveys for value in survey["scores"].values()]
    assert all(1 <= e <= 7 and 1 <= p <= 7 for e, p, _ in scores)
    assert all(0 <= survey["ltr"] <= 10 for survey in world.surveys)


def test_contagion_causes_churn_only_where_couplings_say_so_and_only_from_a_partner(make_world):
    quiet, strong = make_world(contagion="none"), make_world(contagion="strong")
    assert set(quiet.accounts.cause[quiet.accounts.churned < NEVER]) == {OWN}
    accounts = strong.accounts
    infected = np.flatnonzero(accounts.cause == CONTAGION)
    assert len(infected) > 30
    pairs = set(zip(strong.lanes.shipper, strong.lanes.consignee, strict=True))
    for account in infected:
        source = accounts.source[account]
        assert (source, account) in pairs or (account, source) in pairs
        assert accounts.churned[source] < accounts.decided[account] <= accounts.churned[source] + 90


def test_contagion_raises_co_churn_along_lanes(make_world):
    quiet, weak, strong = (make_world(contagion=level) for level in ("none", "weak", "strong"))
    followed = {
        name: co_churn(world) for name, world in (("none", quiet), ("weak", weak), ("strong", strong))
    }
    assert followed["none"]["lift"] < 1.3 < followed["strong"]["lift"]
    assert (
        followed["none"]["down_followed"]
        < followed["weak"]["down_followed"]
        < followed["strong"]["down_followed"]
    )
    for direction in ("down", "up"):
        none, heavy = (followed[name][f"{direction}_followed"] for name in ("none", "strong"))
        assert heavy > 1.8 * none and heavy > none + 0.1


@functools.cache
def _signal_aucs(world) -> dict[str, float]:
    """AUC of each single signal against the 180-day labels, over every other monthly origin."""
    labels, values = [], []
    for origin in origins(world, horizon=180)[::2]:
        known = truth_at(world, origin, 180, oracle=False)
        labels.append(known.label)
        values.append(observed.signals(world, world.day(origin), known.account))
    label = np.concatenate(labels)
    return {name: metrics.auc(np.concatenate([v[name] for v in values]), label) for name in observed.NAMES}


@pytest.mark.parametrize(("drivers", "signal"), [("satisfaction", "survey_gap"), ("service", "complaints")])
def test_the_true_driver_weights_decide_which_signal_carries_the_information(make_world, drivers, signal):
    informed = _signal_aucs(make_world(contagion="none", drivers=drivers))[signal]
    for other in {"satisfaction", "service", "behaviour"} - {drivers}:
        assert informed > _signal_aucs(make_world(contagion="none", drivers=other))[signal] + 0.03
    # Where satisfaction has no weight, the surveys tell nothing.
    assert abs(_signal_aucs(make_world(contagion="none", drivers="behaviour"))["survey_gap"] - 0.5) < 0.03
