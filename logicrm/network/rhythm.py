"""Shipment rhythm: the BG/NBD model of repeat transactions (DESIGN §4.6, issue 12).

Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way", Marketing Science 24(2). While
alive, a customer transacts as a Poisson process with rate λ ~ Gamma(r, α); after each repeat
transaction it drops out for good with probability p ~ Beta(a, b). A customer's history is summarised
by x (repeat transactions after the first), t_x (time of the last one) and T (length of observation),
both times counted from the first transaction in one unit (days or weeks, see `histories`). From the
population's (r, α, a, b), fitted by maximum likelihood, follow each customer's P(alive) and the number
of transactions to expect in the next t units.

Written here rather than taken from a library: `lifetimes` is unmaintained (last release 2020) and pins
pandas, autograd and dill; `btyd` is an alpha that pins autograd 1.4 and pymc < 5; `pymc-marketing`
pulls pymc, pytensor, arviz, xarray, matplotlib and scikit-learn into what is a 4-parameter likelihood.
The model is a few closed forms in numpy/scipy, checked against the published CDNOW fit.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.integrate import quad
from scipy.optimize import minimize
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

Unit = Literal["days", "weeks"]
UNIT_DAYS: dict[str, float] = {"days": 1.0, "weeks": 7.0}

# Where fits stay and where E[X(t)] is computed. Past these bounds a shape parameter only says that a
# limiting model fits: r → ∞, every customer has the same rate (r = 100 is a 10% spread); a → 0 or
# b → ∞, nobody drops out; b → 0, everybody drops out at the next transaction; a, b → ∞, everybody has
# the same dropout chance. And scipy's hyp2f1, which E[X(t)] needs, was measured against 50-digit mpmath
# and numerical integration: within these bounds, relative error ≤ 3e-8 where t/(α+T+t) ≥ 1e-4, bar
# isolated inf/NaN (caught below); beyond them, NaN or wrong digits as soon as t exceeds α + T.
SHAPE_BOUNDS = (1e-3, 1e2)
ALPHA_BOUNDS = (1e-6, 1e8)  # per time unit: mean rates r/α from 1e-8 to 1e8
_BOUNDS = np.array([SHAPE_BOUNDS, ALPHA_BOUNDS, SHAPE_BOUNDS, SHAPE_BOUNDS])  # r, α, a, b
_LOG_BOUNDS = np.log(_BOUNDS)
# E[X(t)]'s closed form divides by a − 1 (and, for x = 0, multiplies by a + b − 1, which is 0 where
# hyp2f1 has a pole); both singularities are removable. Within _NEAR of one, the value is the mean of the
# closed form at a ± _NUDGE: rounding then costs ~1e-11 relative and the interpolation ~1e-10.
_NEAR = 1e-5
_NUDGE = 2e-5
# Gradient (per customer, in log-parameters) below which a stalled optimiser is at the optimum: rounding
# leaves ≤ 1e-5 there; a real failure stops far away, with gradients of order 1.
_GRADIENT_FLOOR = 1e-4
_RESTARTS = 10
_NEGLIGIBLE_GAIN = 1e-9  # in the total log-likelihood


@dataclass(frozen=True, slots=True)
class BgNbdParams:
    """Population parameters: rate λ ~ Gamma(shape r, rate α), dropout p ~ Beta(a, b); α is per time unit."""

    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True, slots=True)
class BgNbdFit:
    """A maximum-likelihood fit: the parameters, the total log-likelihood and what it was fitted on."""

    params: BgNbdParams
    log_likelihood: float
    customers: float  # sum of the counts
    rows: int  # distinct (x, t_x, T) rows the likelihood was evaluated on
    iterations: int


@dataclass(frozen=True, slots=True)
class Histories:
    """(x, t_x, T) per key, keys in ascending order; times in the unit asked for."""

    keys: NDArray
    x: NDArray[np.int64]
    t_x: NDArray[np.float64]
    T: NDArray[np.float64]


def histories(keys: ArrayLike, day_offsets: ArrayLike, *, as_of: float, unit: Unit = "weeks") -> Histories:
    """Summarise events (key, day offset) as of a day into (x, t_x, T) per key that has an event by then.

    A day offset's whole part names its day, and a key's transactions are its distinct days: several
    shipments on one day are one transaction, since the model's dropout chance comes with each
    transaction and a busy day is not forty chances to leave. Events after `as_of` are ignored, so any
    past day can be replayed. x = transaction days − 1 (a single one gives x = 0), t_x = last − first
    and T = as_of − first, in `unit`. Keys without an event by `as_of` are left out: no history is
    its own state, not a score.
    """
    if unit not in UNIT_DAYS:
        raise ValueError(f"unit: expected one of {sorted(UNIT_DAYS)}, got {unit!r}")
    keys = np.asarray(keys)
    days = np.floor(np.asarray(day_offsets, dtype=float))
    if keys.ndim != 1 or keys.shape != days.shape:
        raise ValueError("keys and day_offsets: expected two 1-D sequences of the same length")
    if not np.isfinite(days).all():
        raise ValueError("day_offsets: every offset must be finite")
    if not np.isfinite(as_of):
        raise ValueError("as_of: must be finite")
    seen = days <= as_of
    keys, days = keys[seen], days[seen]
    order = np.lexsort((days, keys))
    keys, days = keys[order], days[order]
    distinct = np.ones(keys.size, dtype=bool)
    distinct[1:] = (keys[1:] != keys[:-1]) | (days[1:] != days[:-1])
    keys, days = keys[distinct], days[distinct]
    unique_keys, first_at, transactions = np.unique(keys, return_index=True, return_counts=True)
    first = days[first_at]
    last = days[first_at + transactions - 1]
    per_unit = UNIT_DAYS[unit]
    return Histories(
        keys=unique_keys,
        x=(transactions - 1).astype(np.int64),
        t_x=(last - first) / per_unit,
        T=(as_of - first) / per_unit,
    )


def aggregate(
    x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """Collapse customers into distinct (x, t_x, T) rows and how many customers share each."""
    x, t_x, T = _histories(x, t_x, T)
    rows, count = np.unique(np.column_stack((x, t_x, T)), axis=0, return_counts=True)
    return rows[:, 0].astype(np.int64), rows[:, 1], rows[:, 2], count


def log_likelihood(params: BgNbdParams, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> NDArray[np.float64]:
    """Return each customer's log-likelihood ln L(r, α, a, b | x, t_x, T) (FHL 2005, eq. 6)."""
    x, t_x, T = _histories(x, t_x, T)
    _check_params(params)
    theta = np.log([params.r, params.alpha, params.a, params.b])
    return _count_terms(theta, x)[0] + _timing_terms(theta, x, t_x, T)[0]


def fit(
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    count: ArrayLike | None = None,
    *,
    initial: BgNbdParams | None = None,
) -> BgNbdFit:
    """Fit (r, α, a, b) by maximum likelihood; `count` says how many customers share each row.

    Rows may repeat and counts may be any non-negative weights: the likelihood is Σ count·ln L. The
    optimiser is L-BFGS-B on the log-parameters, within SHAPE_BOUNDS and ALPHA_BOUNDS, with the
    analytic gradient; terms that depend on x alone are evaluated once per distinct x. Raises ValueError
    when nobody made a repeat transaction (dropout is then unidentified) and RuntimeError when the
    optimiser fails.
    """
    x, t_x, T = _histories(x, t_x, T)
    weight = np.ones(x.size) if count is None else np.asarray(count, dtype=float)
    if weight.shape != x.shape:
        raise ValueError("count: expected one count per row")
    if not (np.isfinite(weight).all() and (weight >= 0).all()):
        raise ValueError("count: every count must be finite and ≥ 0")
    customers = float(weight.sum())
    if not (weight * x).sum() > 0:
        raise ValueError("x: no repeat transaction in the data, so dropout cannot be estimated")
    if initial is None:
        # r = a = b = 1 and the population's mean rate r/α matching the observed one
        initial = BgNbdParams(r=1.0, alpha=float((weight * T).sum() / (weight * x).sum()), a=1.0, b=1.0)
    _check_params(initial)
    low, high = _LOG_BOUNDS.T
    start = np.clip(np.log([initial.r, initial.alpha, initial.a, initial.b]), low, high)

    x_values, x_index = np.unique(x, return_inverse=True)
    weight_per_x = np.bincount(x_index, weights=weight, minlength=x_values.size)

    def objective(theta: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        ll, grad = _total(theta, x_values, weight_per_x, x, t_x, T, weight)
        # per customer, so that tolerances mean the same for 100 or 100,000 customers
        return -ll / customers, -grad / customers

    result = _minimise(objective, start)
    iterations = result.nit
    # On a flat ridge (a limiting model nearby) L-BFGS-B's curvature memory goes stale and it stops early:
    # restart from where it stopped until a restart gains nothing in the log-likelihood.
    for _ in range(_RESTARTS):
        again = _minimise(objective, result.x)
        iterations += again.nit
        gained = (result.fun - again.fun) * customers
        if gained >= 0:
            result = again
        if gained < _NEGLIGIBLE_GAIN:
            break
    if not result.success and not _at_noise_floor(result, objective):
        raise RuntimeError(f"BG/NBD fit did not converge: {result.message}")
    # exp(log(100)) is 100.00000000000001: clip, so that a fit at a bound is within it
    r, alpha, a, b = np.clip(np.exp(result.x), *_BOUNDS.T)
    return BgNbdFit(
        params=BgNbdParams(r=float(r), alpha=float(alpha), a=float(a), b=float(b)),
        log_likelihood=float(-result.fun * customers),
        customers=customers,
        rows=int(x.size),
        iterations=int(iterations),
    )


def p_alive(params: BgNbdParams, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> NDArray[np.float64]:
    """Return P(alive at T | x, t_x, T): the chance the customer did not drop out after its last transaction.

    BG/NBD lets a customer drop out only right after a repeat transaction, so x = 0 gives exactly 1
    whatever T: one transaction and silence reads "alive, slow" (see `expected_transactions`).
    """
    x, t_x, T = _histories(x, t_x, T)
    _check_params(params)
    return expit(-_log_odds_dropped(params, x, t_x, T))


def expected_transactions(
    params: BgNbdParams, t: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> NDArray[np.float64]:
    """Return E[transactions in (T, T + t] | x, t_x, T] (FHL 2005, eq. 10); t in the unit of T, broadcast.

    Computed as P(alive)·(a + b + x − 1)/(a − 1)·[1 − ((α+T)/(α+T+t))^(a−1)·₂F₁(a+b−1−r, a−1;
    a+b+x−1; z)], z = t/(α+T+t): the paper's ₂F₁(r+x, b+x; a+b+x−1; z) after Euler's transformation,
    whose growth like (1 − z)^(a−1−r−x) no longer has to be cancelled by (1 − z)^(r+x), so large x and
    t stay finite. A brand-new customer (x = t_x = T = 0) gets the population's E[X(t)] (eq. 9).
    r, a and b must lie within SHAPE_BOUNDS, as every fit's do.
    """
    x, t_x, T = _histories(x, t_x, T)
    _check_params(params)
    low, high = SHAPE_BOUNDS
    if not all(low <= value <= high for value in (params.r, params.a, params.b)):
        raise ValueError(f"params: r, a and b must lie within [{low:g}, {high:g}] for E[X(t)], got {params}")
    t = np.asarray(t, dtype=float)
    if not (np.isfinite(t).all() and (t >= 0).all()):
        raise ValueError("t: every horizon must be finite and ≥ 0")
    t, x, t_x, T = np.broadcast_arrays(t, x, t_x, T)
    expected = np.array(_expected_closed_form(params.a, params, t, x, T))  # writable even when 0-d
    # Near a removable singularity, or where scipy's hyp2f1 fails on an integer parameter difference
    # (it returns inf for 2F1(1, 1; 101; 10/11)), take the mean at a ± _NUDGE: that moves a − 1, a + b − 1
    # and c − a − b together, at least _NEAR away from either.
    near = (np.abs(params.a - 1) < _NEAR) | ((x == 0) & (np.abs(params.a + params.b - 1) < _NEAR))
    redo = near | ~np.isfinite(expected)
    below = _expected_closed_form(params.a - _NUDGE, params, t[redo], x[redo], T[redo])
    above = _expected_closed_form(params.a + _NUDGE, params, t[redo], x[redo], T[redo])
    expected[redo] = (below + above) / 2
    # scipy's hyp2f1 also fails outright in places near z = 1 (NaN or inf for 2F1(−43.5, 22; 172; 0.99)):
    # those rows, rare, are integrated numerically
    for row in map(tuple, np.argwhere(~np.isfinite(expected))):
        expected[row] = _expected_by_integration(params, t[row], x[row], T[row])
    return expit(-_log_odds_dropped(params, x, t_x, T)) * expected


def _expected_closed_form(
    a: float, params: BgNbdParams, t: NDArray, x: NDArray, T: NDArray
) -> NDArray[np.float64]:
    """E[transactions in (T, T + t] | alive at T], with `a` overriding params.a; not finite where singular."""
    r, alpha, b = params.r, params.alpha, params.b
    z = t / (alpha + T + t)
    c = a + b + x - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        survivors = np.exp((a - 1) * np.log1p(-z)) * hyp2f1(a + b - 1 - r, a - 1, c, z)
        return c * (1 - survivors) / (a - 1)


def _expected_by_integration(params: BgNbdParams, t: float, x: int, T: float) -> float:
    """E[transactions in (T, T + t] | alive at T] = E[(1 − (1 + p·t/(α+T))^−(r+x)) / p], p ~ Beta(a, b+x)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    rate_scale = t / (alpha + T)
    log_norm = betaln(a, b + x)

    def integrand(p: float) -> float:
        bought = -np.expm1(-(r + x) * np.log1p(p * rate_scale)) / p
        return bought * np.exp((a - 1) * np.log(p) + (b + x - 1) * np.log1p(-p) - log_norm)

    value, _ = quad(integrand, 0, 1, points=[a / (a + b + x)], limit=200, epsabs=0, epsrel=1e-10)
    return value


def _log_odds_dropped(params: BgNbdParams, x: NDArray, t_x: NDArray, T: NDArray) -> NDArray[np.float64]:
    """Log odds of "dropped out after t_x" against "alive at T"; −inf when x = 0."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    odds = np.log(a) - np.log(b + np.maximum(x, 1) - 1) + (r + x) * np.log1p((T - t_x) / (alpha + t_x))
    return np.where(x > 0, odds, -np.inf)


def _count_terms(theta: NDArray[np.float64], x: NDArray) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """ln[Γ(r+x)/Γ(r)] + ln[B(a, b+x)/B(a, b)] for each x, and its gradient in (r, α, a, b)."""
    r, _, a, b = np.exp(theta)
    value = gammaln(r + x) - gammaln(r) + betaln(a, b + x) - betaln(a, b)
    gradient = np.stack(
        (
            digamma(r + x) - digamma(r),
            np.zeros(x.shape),
            digamma(a + b) - digamma(a + b + x),
            digamma(b + x) - digamma(b) - digamma(a + b + x) + digamma(a + b),
        )
    )
    return value, gradient


def _timing_terms(
    theta: NDArray[np.float64], x: NDArray, t_x: NDArray, T: NDArray
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The rest of ln L and its gradient in (r, α, a, b): ln[α^r (α+T)^−(r+x) + δ(x>0)·a/(b+x−1)·α^r (α+t_x)^−(r+x)].

    α^r is folded into each branch as (1 + T/α)^−r, so no term grows with r or α, and the branches are
    added in log space (logaddexp), so neither overflows for large x or T.
    """
    r, alpha, a, b = np.exp(theta)
    log_T = np.log(alpha + T)
    log_t_x = np.log(alpha + t_x)
    alive = -r * np.log1p(T / alpha) - x * log_T
    dropped_after = np.log(a) - np.log(b + np.maximum(x, 1) - 1) - r * np.log1p(t_x / alpha) - x * log_t_x
    dropped = np.where(x > 0, dropped_after, -np.inf)
    mixture = np.logaddexp(alive, dropped)
    # posterior share of "dropped out after t_x" (1 − P(alive)): the weight of that branch's derivatives
    share = np.exp(dropped - mixture)
    alive_d_alpha = (r * T / alpha - x) / (alpha + T)
    dropped_d_alpha = (r * t_x / alpha - x) / (alpha + t_x)
    gradient = np.stack(
        (
            -(1 - share) * np.log1p(T / alpha) - share * np.log1p(t_x / alpha),
            (1 - share) * alive_d_alpha + share * dropped_d_alpha,
            share / a,
            -share / (b + np.maximum(x, 1) - 1),
        )
    )
    return mixture, gradient


def _total(
    theta: NDArray[np.float64],
    x_values: NDArray,
    weight_per_x: NDArray[np.float64],
    x: NDArray,
    t_x: NDArray,
    T: NDArray,
    weight: NDArray[np.float64],
) -> tuple[float, NDArray[np.float64]]:
    """Σ weight·ln L and its gradient in log-parameters; the x-only terms once per distinct x."""
    counts, counts_grad = _count_terms(theta, x_values)
    timing, timing_grad = _timing_terms(theta, x, t_x, T)
    ll = counts @ weight_per_x + timing @ weight
    grad = counts_grad @ weight_per_x + timing_grad @ weight
    return float(ll), grad * np.exp(theta)


def _minimise(objective, start: NDArray[np.float64]):
    """One L-BFGS-B run within the bounds."""
    return minimize(
        objective,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=_LOG_BOUNDS,
        options={"maxiter": 1000, "ftol": 1e-15, "gtol": 1e-9},
    )


def _at_noise_floor(result, objective) -> bool:
    """True when L-BFGS-B stopped because its line search found no decrease, with the gradient ~0 anyway.

    That stop ("ABNORMAL") comes where rounding noise in a flat optimum outweighs what is left to gain:
    on customers with thousands of transactions each, the leftover gradient per customer was ≤ 1e-5.
    """
    _, grad = objective(result.x)
    low, high = _LOG_BOUNDS.T
    free = (result.x > low) & (result.x < high)
    return bool(np.isfinite(grad).all() and np.max(np.abs(grad[free]), initial=0.0) < _GRADIENT_FLOOR)


def _histories(x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> tuple[NDArray, NDArray, NDArray]:
    """Validate (x, t_x, T), broadcast to one shape: finite, x a whole number ≥ 0, 0 ≤ t_x ≤ T, t_x = 0 when x = 0."""
    x_in = np.asarray(x, dtype=float)
    t_x = np.asarray(t_x, dtype=float)
    T = np.asarray(T, dtype=float)
    try:
        x_in, t_x, T = np.broadcast_arrays(x_in, t_x, T)
    except ValueError:
        raise ValueError("x, t_x, T: expected arrays of the same shape (or that broadcast)") from None
    if not (np.isfinite(x_in).all() and np.isfinite(t_x).all() and np.isfinite(T).all()):
        raise ValueError("x, t_x, T: every value must be finite")
    if not ((x_in >= 0).all() and (x_in == np.floor(x_in)).all()):
        raise ValueError("x: repeat transactions must be whole numbers ≥ 0")
    if not ((t_x >= 0).all() and (t_x <= T).all()):
        raise ValueError("t_x: the last transaction must fall within [0, T]")
    if ((x_in == 0) & (t_x != 0)).any():
        raise ValueError("t_x: must be 0 when there is no repeat transaction (x = 0)")
    return x_in.astype(np.int64), t_x, T


def _check_params(params: BgNbdParams) -> None:
    """Every parameter must be finite and > 0."""
    values: Sequence[float] = (params.r, params.alpha, params.a, params.b)
    if not all(np.isfinite(v) and v > 0 for v in values):
        raise ValueError(f"params: r, alpha, a, b must be finite and > 0, got {params}")
