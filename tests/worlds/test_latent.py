"""The latent chains: their law, and the exact survival the oracle computes from them."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tests.worlds import latent


def test_chain_has_unit_variance_and_a_stationary_binomial_law():
    matrix = latent.transition_matrix(latent.step_probability(120))
    assert (matrix >= 0).all() and np.allclose(matrix.sum(axis=1), 1)
    assert np.allclose(latent.STATIONARY @ matrix, latent.STATIONARY)
    mean, variance = latent.STATIONARY @ latent.X, latent.STATIONARY @ latent.X**2
    assert abs(mean) < 1e-12 and variance == pytest.approx(1)


def test_half_life_is_the_mean_reversion_half_life():
    a = latent.step_probability(120)
    matrix = np.linalg.matrix_power(latent.transition_matrix(a), 120)
    # From the top level, the expected level after one half-life is half of it.
    assert matrix[-1] @ latent.X == pytest.approx(latent.X[-1] / 2)


def test_phi_averages_one_and_makes_low_levels_risky():
    phi = latent.phi(1.8)
    assert latent.STATIONARY @ phi == pytest.approx(1)
    assert (np.diff(phi) < 0).all()
    assert np.allclose(latent.phi(0.0), 1)


def test_step_moves_as_the_transition_matrix_says():
    rng = np.random.default_rng(0)
    a = 0.4
    levels = np.full(200_000, 2, dtype=np.int8)
    moved = latent.step(rng, levels, np.full(len(levels), a))
    frequencies = np.bincount(moved, minlength=latent.LEVELS) / len(levels)
    assert np.allclose(frequencies, latent.transition_matrix(a)[2], atol=0.005)


def test_chain_survival_equals_the_sum_over_every_path():
    a, days, rate, window_rate = 0.6, 3, 0.05, 0.2
    window = np.array([[False, True, True]])
    phi = latent.phi(1.5)
    matrix = latent.transition_matrix(a)
    start = 3
    # Brute force: for each horizon, every path of levels up to it, its probability times its survival.
    expected = []
    for horizon in range(1, days + 1):
        total = 0.0
        for path in itertools.product(range(latent.LEVELS), repeat=horizon):
            steps = zip((start, *path[:-1]), path, strict=True)
            probability = np.prod([matrix[before, after] for before, after in steps])
            hazard = sum((rate + window[0, day] * window_rate) * phi[level] for day, level in enumerate(path))
            total += probability * np.exp(-hazard)
        expected.append(total)
    result = latent.chain_survival(
        np.array([start]), np.array([a]), np.array([rate]), window, np.array([window_rate]), phi
    )
    assert result[0] == pytest.approx(expected)


def test_chain_survival_without_hazard_is_certain_and_with_a_flat_one_is_exponential():
    levels = np.array([0, 4, 8])
    none = latent.chain_survival(
        levels, np.full(3, 0.1), np.zeros(3), np.zeros((3, 30), bool), np.zeros(3), latent.phi(2)
    )
    assert np.allclose(none, 1)
    flat = latent.chain_survival(levels, np.full(3, 0.1), np.full(3, 0.01), np.zeros((3, 30), bool), np.zeros(3),
                                 np.ones(latent.LEVELS))  # fmt: skip
    assert np.allclose(flat, np.exp(-0.01 * np.arange(1, 31)))
