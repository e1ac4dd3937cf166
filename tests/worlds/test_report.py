"""The report's figures of a world are the ones the parts compute."""

from __future__ import annotations

from tests.worlds.report import describe
from tests.worlds.truth import co_churn


def test_describe_gathers_the_figures_of_a_world(make_world):
    world = make_world(accounts=200, contagion="strong")
    figures = describe(world, runs=200, every=6)
    assert figures["accounts"] == len(world.accounts) and figures["shipments"] == len(world.shipments)
    assert 0 < figures["base_rate_90"] < figures["base_rate_180"] < figures["base_rate_365"] < 1
    assert figures["co_churn_lift"] == co_churn(world)["lift"]
    assert 0.5 < figures["oracle_auc"] <= 1 and figures["oracle_brier_skill"] > 0
    assert figures["oracle_contagion_auc"] > figures["oracle_own_contagion_auc"]
