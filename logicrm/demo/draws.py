"""Random draws the demo steps share (from the plan's generator, so a seed fixes them all)."""

from __future__ import annotations

import math
import random


def poisson(rng: random.Random, lam: float) -> int:
    """Draw a Poisson count (Knuth for small means, normal approximation for large ones)."""
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def weighted(rng: random.Random, pairs) -> object:
    """Draw one item from (item, weight) pairs."""
    items, weights = zip(*pairs, strict=True)
    return rng.choices(items, weights)[0]


def clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))
