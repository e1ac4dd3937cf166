"""Building the plan: in memory and deterministic."""

from __future__ import annotations

from logicrm.demo import build_plan
from tests.demo.conftest import SEED, TODAY


def test_plan_is_deterministic():
    """The same seed and day give the same network, to the shipment; another seed gives another."""
    first, second = build_plan(seed=SEED, today=TODAY), build_plan(seed=SEED, today=TODAY)
    assert [c.name for c in first.companies] == [c.name for c in second.companies]
    assert first.shipments == second.shipments
    assert first.troubled == second.troubled and first.healthy == second.healthy
    other = build_plan(seed=SEED + 1, today=TODAY)
    assert [c.name for c in other.companies] != [c.name for c in first.companies]
