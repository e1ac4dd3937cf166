"""The latent factors: slowly mean-reverting discrete chains, and the survival they imply.

Each factor is an Ehrenfest chain on 2M + 1 levels: each day it steps up with probability
a·(2M − k)/(2M) or down with a·k/(2M). Its stationary law is Binomial(2M, ½), its mean reverts with
autocorrelation 1 − a/M a day, and its levels are scaled to unit variance. A level x adds
rate · phi(x) to the daily hazard, phi(x) = exp(−β x) / E[exp(−β x)], so the factor's average
contribution is exactly `rate`. Because the chains of an account are independent and their hazards
add up, the probability of surviving the next days factorises over chains and is computed exactly by
a forward recursion per chain: the same arithmetic the generator draws from, which makes the oracle
exact for the spontaneous part.
"""

from __future__ import annotations

import math

import numpy as np

M = 4
LEVELS = 2 * M + 1
STEPS = np.arange(LEVELS)
X = (STEPS - M) / math.sqrt(M / 2)  # unit-variance levels, −2.83 … 2.83
STATIONARY = np.array([math.comb(2 * M, k) for k in STEPS], dtype=float) / 2 ** (2 * M)


def step_probability(half_life_days: float) -> float:
    """The chain's move rate a for a mean-reversion half-life in days."""
    return M * (1 - 0.5 ** (1 / half_life_days))


def transition_matrix(a: float) -> np.ndarray:
    """Daily transition matrix of the chain with move rate a."""
    matrix = np.zeros((LEVELS, LEVELS))
    up, down = a * (2 * M - STEPS) / (2 * M), a * STEPS / (2 * M)
    matrix[STEPS[:-1], STEPS[:-1] + 1] = up[:-1]
    matrix[STEPS[1:], STEPS[1:] - 1] = down[1:]
    matrix[STEPS, STEPS] = 1 - up - down
    return matrix


def phi(sharpness: float) -> np.ndarray:
    """Hazard multiplier of each level, averaging 1 under the stationary law; low levels are risky."""
    return multiplier(-sharpness)


def multiplier(loading: float) -> np.ndarray:
    """exp(loading · x) of each level, averaging 1 under the stationary law."""
    weights = np.exp(loading * X)
    return weights / (STATIONARY @ weights)


def stationary_levels(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.binomial(2 * M, 0.5, size=n).astype(np.int8)


def step(rng: np.random.Generator, levels: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Move every chain one day (a: each chain's move rate)."""
    u = rng.random(levels.shape[0])
    up = a * (2 * M - levels) / (2 * M)
    down = a * levels / (2 * M)
    return (levels + (u < up) - ((u >= up) & (u < up + down))).astype(np.int8)


def chain_survival(
    levels: np.ndarray,
    a: np.ndarray,
    rate: np.ndarray,
    window: np.ndarray,
    window_rate: np.ndarray,
    multiplier: np.ndarray,
) -> np.ndarray:
    """P(no decision caused by each chain over days 1..D | its level on day 0), cumulative by day.

    levels (n,), a / rate / window_rate (n,): per chain; window (n, D) bool: the contract window on
    each future day; multiplier (LEVELS,): phi. Day d's level is drawn first, then its hazard
    rate + window·window_rate, times phi(level), acts: the generator's order. Returns (n, D).
    """
    n, days = window.shape
    result = np.ones((n, days))
    if n == 0:
        return result
    groups = {value: np.flatnonzero(a == value) for value in np.unique(a)}
    matrices = {value: transition_matrix(value) for value in groups}
    alpha = np.zeros((n, LEVELS))
    alpha[np.arange(n), levels] = 1.0
    for day in range(days):
        for value, members in groups.items():
            alpha[members] = alpha[members] @ matrices[value]
        hazard = (rate + window[:, day] * window_rate)[:, None] * multiplier[None, :]
        alpha *= np.exp(-hazard)
        result[:, day] = alpha.sum(axis=1)
    return result
