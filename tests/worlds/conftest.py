"""Worlds shared by the tests of this package: generated once per session, per parameter set."""

from __future__ import annotations

import functools

import pytest

from tests.worlds import World, generate, world_config


@functools.cache
def _world(accounts: int, contagion: str, drivers: str, seed: int, years: float) -> World:
    return generate(
        world_config(accounts=accounts, contagion=contagion, drivers=drivers, seed=seed, years=years)
    )


@pytest.fixture(scope="session")
def make_world():
    """make_world(accounts=…, contagion=…, drivers=…, seed=…, years=…): a cached world."""

    def make(
        accounts: int = 1000,
        contagion: str = "weak",
        drivers: str = "balanced",
        seed: int = 1,
        years: float = 3.0,
    ) -> World:
        return _world(accounts, contagion, drivers, seed, years)

    return make
