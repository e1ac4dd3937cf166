import csv
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad
from scipy.special import betaln, gammaln
from scipy.stats import beta as beta_distribution

from logicrm.network.rhythm import (
    ALPHA_BOUNDS,
    SHAPE_BOUNDS,
    BgNbdParams,
    aggregate,
    expected_transactions,
    fit,
    histories,
    log_likelihood,
    p_alive,
)

CDNOW = Path(__file__).resolve().parent.parent / "data" / "cdnow_customers_summary.csv"
# Fader, Hardie & Lee (2005), Table 1 / section 5: the maximum-likelihood fit to the CDNOW sample
PUBLISHED = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
PUBLISHED_LOG_LIKELIHOOD = -9582.4


def cdnow():
    with CDNOW.open() as file:
        rows = list(csv.DictReader(file))
    return tuple(np.array([float(row[column]) for row in rows]) for column in ("frequency", "recency", "T"))


def simulate(params, T, rng, *, horizon=0.0):
    """Draw BG/NBD customers observed over [0, T]: x, t_x, whether each is alive at T, its count in (T, T + horizon]."""
    rate = rng.gamma(params.r, 1 / params.alpha, T.size)
    dropout = np.maximum(rng.beta(params.a, params.b, T.size), 1e-12)
    # repeat transactions until and including the one after which the customer drops out
    lives = rng.geometric(dropout)
    arrivals = rng.poisson(rate * T)
    x = np.minimum(lives, arrivals)
    # the x-th of `arrivals` uniform arrival times on [0, T]
    t_x = np.where(x > 0, T * rng.beta(np.maximum(x, 1), arrivals - x + 1), 0.0)
    alive = arrivals < lives
    future = np.where(alive, np.minimum(rng.poisson(rate * horizon), lives - x), 0)
    return x, t_x, alive, future


def expected_by_quadrature(params, t, x, t_x, T):
    """P(alive)·E[(1 − e^(−λpt))/p | alive], integrating λ ~ Gamma(r+x, α+T) in closed form and p ~ Beta(a, b+x) numerically.

    (1 − e^(−λpt))/p is what a customer alive at T with rate λ and dropout p buys in the next t; the
    integral over p runs over its quantiles so that a Beta piled up near 0 (large x) is not missed.
    """
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    dropout = beta_distribution(a, b + x)

    def bought(u):
        p = dropout.ppf(u)
        return -np.expm1(-(r + x) * np.log1p(p * t / (alpha + T))) / p

    given_alive, _ = quad(bought, 0, 1, epsabs=0, epsrel=1e-11, limit=500)
    return float(p_alive(params, x, t_x, T)) * given_alive


# --- the published CDNOW results -------------------------------------------------------------------


def test_fit_reproduces_the_published_cdnow_estimates():
    # The paper gives 3 decimals (r = 0.243 …) and one for the log-likelihood: the tolerances are
    # absolute, 1e-3 on each parameter (twice the rounding half-unit) and 0.05 (the half-unit) on ln L.
    result = fit(*cdnow())
    assert result.customers == 2357
    for name in ("r", "alpha", "a", "b"):
        assert getattr(result.params, name) == pytest.approx(getattr(PUBLISHED, name), abs=1e-3), name
    assert result.log_likelihood == pytest.approx(PUBLISHED_LOG_LIKELIHOOD, abs=0.05)


def test_fit_on_aggregated_cdnow_rows_is_the_same_fit():
    x, t_x, T = cdnow()
    rows = aggregate(x, t_x, T)
    assert rows[0].size < x.size and rows[3].sum() == x.size
    whole, grouped = fit(x, t_x, T), fit(*rows)
    assert grouped.rows == rows[0].size
    assert grouped.log_likelihood == pytest.approx(whole.log_likelihood, abs=1e-8)
    for name in ("r", "alpha", "a", "b"):
        assert getattr(grouped.params, name) == pytest.approx(getattr(whole.params, name), rel=1e-7)


def test_conditional_expectation_matches_the_paper():
    # FHL 2005, section 5: a customer with x = 2, t_x = 30.43, T = 38.86 (weeks) is expected to make
    # 1.226 purchases in the next 39 weeks; given to 3 decimals, so ± the half-unit 5e-4.
    assert float(expected_transactions(PUBLISHED, 39, 2, 30.43, 38.86)) == pytest.approx(1.226, abs=5e-4)


def test_the_documented_example():
    # docs/scoring.md, "Shipment rhythm": the paper's customer, then the same customer still silent
    T = [38.86, 52.0, 78.0]
    np.testing.assert_allclose(p_alive(PUBLISHED, 2, 30.43, T), [0.727, 0.594, 0.385], atol=5e-4)
    np.testing.assert_allclose(
        expected_transactions(PUBLISHED, 39, 2, 30.43, T), [1.226, 0.798, 0.369], atol=5e-4
    )


def test_new_customer_expectation_matches_the_spreadsheet():
    # Hardie's BG/NBD spreadsheet (as quoted by lifetimes' tests): E[X(t)] for the fitted CDNOW model.
    # A customer seen only at time 0 (x = t_x = T = 0) is the population's E[X(t)] (FHL 2005, eq. 9).
    # Given to 4 decimals, from the spreadsheet's own optimum, which differs from ours in the fifth
    # digit of the parameters: absolute 5e-4.
    params = fit(*cdnow()).params
    weeks = np.array([0.1429, 1.0, 3.00, 31.8571, 32.00, 78.00])
    published = np.array([0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576])
    np.testing.assert_allclose(expected_transactions(params, weeks, 0, 0, 0), published, atol=5e-4)


# --- formulas against independent references --------------------------------------------------------


def test_log_likelihood_is_the_textbook_formula():
    # FHL 2005 eq. 6, written with gammaln/betaln for small histories where nothing overflows
    params = BgNbdParams(r=0.7, alpha=3.0, a=1.3, b=2.2)
    x, t_x, T = np.array([0, 1, 4, 12]), np.array([0.0, 2.5, 9.0, 30.0]), np.array([5.0, 10.0, 20.0, 31.0])
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    counts = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    alive = np.exp(counts + betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + T))
    dropped = np.exp(counts + betaln(a + 1, b + x - 1) - betaln(a, b) - (r + x) * np.log(alpha + t_x))
    textbook = np.log(alive + np.where(x > 0, dropped, 0.0))
    np.testing.assert_allclose(log_likelihood(params, x, t_x, T), textbook, rtol=1e-12)
    # P(alive) is the alive branch's share of the likelihood (Fader, Hardie & Lee 2008, note 021)
    np.testing.assert_allclose(p_alive(params, x, t_x, T), alive / np.exp(textbook), rtol=1e-12)


@pytest.mark.parametrize(
    ("params", "t", "x", "t_x", "T"),
    [
        (PUBLISHED, 39, 2, 30.43, 38.86),
        (BgNbdParams(r=0.243, alpha=4.414, a=1.0, b=2.426), 39, 2, 30.43, 38.86),  # a = 1: removable
        (BgNbdParams(r=0.243, alpha=4.414, a=1 + 3e-7, b=2.426), 5, 2, 30.43, 38.86),
        (BgNbdParams(r=0.5, alpha=10.0, a=0.4, b=0.6), 20, 0, 0, 50),  # x = 0, a + b = 1: removable
        (BgNbdParams(r=0.5, alpha=10.0, a=0.3, b=0.4), 20, 0, 0, 50),  # a + b − 1 < 0
        (BgNbdParams(r=2.0, alpha=30.0, a=3.0, b=0.3), 100, 5000, 690, 700),  # large x, long silence
        (BgNbdParams(r=2.0, alpha=30.0, a=3.0, b=0.3), 100, 5000, 700, 700),  # large x, busy to the end
        (BgNbdParams(r=0.05, alpha=0.2, a=0.2, b=80.0), 2, 40, 1900, 2000),
        (BgNbdParams(r=20.0, alpha=1.0, a=6.0, b=1.0), 1, 0, 0, 0),
        (BgNbdParams(r=1.5, alpha=2.0, a=0.6, b=3.0), 5000, 3, 10, 20),  # t ≫ T: z near 1
        (BgNbdParams(r=1.0, alpha=1.0, a=2.0, b=1.0), 10, 99, 0, 0),  # scipy: inf (c − a − b = 99)
        (BgNbdParams(r=66.5, alpha=1.0, a=23.0, b=1.0), 98, 149, 0, 0),  # scipy: inf near z = 1
    ],
)
def test_expectation_equals_numerical_integration(params, t, x, t_x, T):
    assert float(expected_transactions(params, t, x, t_x, T)) == pytest.approx(
        expected_by_quadrature(params, t, x, t_x, T), rel=1e-8
    )


def test_p_alive_and_expectation_are_calibrated_on_simulated_customers():
    # Under the model, each customer's "alive at T" is Bernoulli(P(alive)) given its history, and its
    # next-period count has mean E[X]: totals over 200,000 simulated customers must agree within 4σ.
    rng = np.random.default_rng(20050201)
    T = rng.uniform(27, 39, 200_000)
    x, t_x, alive, future = simulate(PUBLISHED, T, rng, horizon=39.0)
    alive_probability = p_alive(PUBLISHED, x, t_x, T)
    expected = expected_transactions(PUBLISHED, 39.0, x, t_x, T)
    for group in (x == 0, (x >= 1) & (x <= 2), (x >= 3) & (x <= 6), x >= 7):
        p = alive_probability[group]
        assert abs(p.sum() - alive[group].sum()) <= 4 * np.sqrt((p * (1 - p)).sum()) + 1e-9
        spread = np.sqrt(((future[group] - expected[group]) ** 2).sum())
        assert abs(expected[group].sum() - future[group].sum()) <= 4 * spread
    assert (alive_probability[x == 0] == 1).all() and alive[x == 0].all()


# --- properties ------------------------------------------------------------------------------------

shapes = st.floats(*SHAPE_BOUNDS)
parameters = st.builds(BgNbdParams, r=shapes, alpha=st.floats(0.01, 1000), a=shapes, b=shapes)
# populations worth fitting: up to a few hundred transactions per customer over T ≤ 100
fitted_parameters = st.builds(
    BgNbdParams,
    r=st.floats(0.05, 20),
    alpha=st.floats(0.1, 50),
    a=st.floats(0.05, 20),
    b=st.floats(0.05, 50),
)


@st.composite
def customer_histories(draw):
    T = draw(st.floats(0, 2000))
    x = draw(st.integers(0, 5000))
    t_x = 0.0 if x == 0 else draw(st.floats(0, T))
    return x, t_x, T


@given(params=parameters, history=customer_histories(), later=st.floats(0, 1000), earlier=st.floats(0, 1))
def test_p_alive_is_a_probability_falling_with_silence(params, history, later, earlier):
    x, t_x, T = history
    alive = float(p_alive(params, x, t_x, T))
    assert 0 <= alive <= 1
    if x == 0:
        assert alive == 1  # BG/NBD: dropout only ever follows a repeat transaction
    # a longer silence since the last transaction (T grows, or t_x moves back) never raises it
    assert float(p_alive(params, x, t_x, T + later)) <= alive
    assert float(p_alive(params, x, t_x * earlier, T)) <= alive


@given(params=parameters, history=customer_histories(), t=st.floats(0, 1000), more=st.floats(0.01, 10))
def test_expectation_is_nonnegative_and_grows_with_the_horizon(params, history, t, more):
    x, t_x, T = history
    shorter, longer = expected_transactions(params, [t, t * (1 + more) + more], x, t_x, T)
    assert np.isfinite([shorter, longer]).all()
    assert 0 <= shorter <= longer * (1 + 1e-9)
    assert float(expected_transactions(params, 0, x, t_x, T)) == 0


@settings(max_examples=15, deadline=None)
@given(params=fitted_parameters, seed=st.integers(0, 2**32 - 1))
def test_fit_is_a_local_maximum_at_least_as_likely_as_the_truth(params, seed):
    rng = np.random.default_rng(seed)
    T = rng.uniform(1, 100, 300)
    x, t_x, _, _ = simulate(params, T, rng)
    if x.sum() == 0:
        with pytest.raises(ValueError, match="x: no repeat transaction"):
            fit(x, t_x, T)
        return
    result = fit(x, t_x, T)
    assert result.log_likelihood >= log_likelihood(params, x, t_x, T).sum() - 1e-6
    fitted = np.array([result.params.r, result.params.alpha, result.params.a, result.params.b])
    low, high = np.array([SHAPE_BOUNDS, ALPHA_BOUNDS, SHAPE_BOUNDS, SHAPE_BOUNDS]).T
    for step in np.vstack((np.eye(4), -np.eye(4))) * 1e-3:
        nearby = fitted * np.exp(step)
        if ((nearby >= low) & (nearby <= high)).all():  # a fit at a bound may gain beyond it
            assert log_likelihood(BgNbdParams(*nearby), x, t_x, T).sum() <= result.log_likelihood + 1e-6


@settings(max_examples=8, deadline=None)
@given(params=fitted_parameters, seed=st.integers(0, 2**32 - 1), copies=st.integers(2, 5))
def test_fit_is_invariant_to_aggregation(params, seed, copies):
    rng = np.random.default_rng(seed)
    T = rng.integers(10, 60, 150).astype(float)  # whole weeks: many customers share a row
    x, t_x, _, _ = simulate(params, T, rng)
    t_x = np.round(t_x)
    if x.sum() == 0:
        return
    counted = fit(x, t_x, T, count=np.full(x.size, copies))
    repeated = fit(np.repeat(x, copies), np.repeat(t_x, copies), np.repeat(T, copies))
    grouped = fit(*aggregate(np.repeat(x, copies), np.repeat(t_x, copies), np.repeat(T, copies)))
    for other in (repeated, grouped):
        assert other.customers == counted.customers == x.size * copies
        assert other.log_likelihood == pytest.approx(counted.log_likelihood, rel=1e-9, abs=1e-6)
        np.testing.assert_allclose(
            p_alive(other.params, x, t_x, T), p_alive(counted.params, x, t_x, T), atol=1e-4
        )


# --- scale and extremes ----------------------------------------------------------------------------


def test_fit_on_100k_customers_recovers_the_truth():
    # the speed case: 100,000 customers over up to two years in days, aggregated first
    rng = np.random.default_rng(12)
    truth = BgNbdParams(r=0.8, alpha=20.0, a=0.6, b=3.0)
    T = rng.integers(30, 730, 100_000).astype(float)
    x, t_x, _, _ = simulate(truth, T, rng)
    t_x = np.round(t_x)
    result = fit(*aggregate(x, t_x, T))
    assert result.customers == 100_000
    for name in ("r", "alpha", "a", "b"):
        assert getattr(result.params, name) == pytest.approx(getattr(truth, name), rel=0.05), name


def test_fit_reaches_the_maximum_on_thousands_of_transactions_per_customer():
    rng = np.random.default_rng(7)
    truth = BgNbdParams(r=21.0, alpha=0.52, a=0.4, b=33.0)
    T = rng.uniform(1, 700, 2000)
    x, t_x, _, _ = simulate(truth, T, rng)
    assert x.max() > 5000
    result = fit(x, t_x, T)
    assert result.log_likelihood >= log_likelihood(truth, x, t_x, T).sum() - 1e-6
    assert np.isfinite(expected_transactions(result.params, 30, x, t_x, T)).all()


@pytest.mark.parametrize(
    ("truth", "bound"),
    [
        (BgNbdParams(r=1e5, alpha=7e5, a=1.0, b=5.0), ("r", SHAPE_BOUNDS[1])),  # identical rates
        (BgNbdParams(r=2.0, alpha=20.0, a=0.01, b=1e4), ("b", SHAPE_BOUNDS[1])),  # nobody drops out
    ],
)
def test_fit_stops_at_a_bound_for_a_limiting_population(truth, bound):
    rng = np.random.default_rng(7)
    T = rng.uniform(1, 700, 2000)
    x, t_x, _, _ = simulate(truth, T, rng)
    result = fit(x, t_x, T)
    name, value = bound
    assert getattr(result.params, name) == pytest.approx(value)
    # the bound costs nothing that matters: P(alive) is the truth's to within 0.01 on average
    gap = np.abs(p_alive(result.params, x, t_x, T) - p_alive(truth, x, t_x, T))
    assert gap.mean() < 0.01
    assert np.isfinite(expected_transactions(result.params, 30, x, t_x, T)).all()


def test_large_histories_stay_finite():
    params = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
    x, t_x, T = np.array([10**6, 10**6, 3]), np.array([1e7, 9e6, 1.0]), np.array([1e7, 1e7, 1e7])
    assert np.isfinite(log_likelihood(params, x, t_x, T)).all()
    alive = p_alive(params, x, t_x, T)
    assert alive[0] > 0.99 and alive[1] == 0 and alive[2] < 1e-6
    expected = expected_transactions(params, 52, x, t_x, T)
    assert np.isfinite(expected).all() and expected[0] > 1 and expected[2] < 1e-6


# --- validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "t_x", "T", "message"),
    [
        ([1, 2, 3], [1.0, 2.0], [2.0, 3.0], "same shape"),
        ([1.5], [1.0], [2.0], "x: repeat transactions must be whole numbers"),
        ([-1], [0.0], [2.0], "x: repeat transactions must be whole numbers"),
        ([1], [3.0], [2.0], r"t_x: the last transaction must fall within \[0, T\]"),
        ([0], [1.0], [2.0], "t_x: must be 0 when there is no repeat transaction"),
        ([1], [np.nan], [2.0], "must be finite"),
    ],
)
def test_bad_histories_are_refused_by_name(x, t_x, T, message):
    for call in (
        lambda: fit(x, t_x, T),
        lambda: p_alive(PUBLISHED, x, t_x, T),
        lambda: expected_transactions(PUBLISHED, 1, x, t_x, T),
    ):
        with pytest.raises(ValueError, match=message):
            call()


def test_bad_fit_inputs_are_refused_by_name():
    with pytest.raises(ValueError, match="x: no repeat transaction"):
        fit([0, 0], [0.0, 0.0], [5.0, 9.0])
    with pytest.raises(ValueError, match="count: expected one count per row"):
        fit([1, 2], [1.0, 2.0], [5.0, 9.0], count=[1])
    with pytest.raises(ValueError, match="count: every count must be finite and ≥ 0"):
        fit([1, 2], [1.0, 2.0], [5.0, 9.0], count=[1, -1])
    with pytest.raises(ValueError, match="params: r, alpha, a, b must be finite and > 0"):
        p_alive(BgNbdParams(r=0.0, alpha=1.0, a=1.0, b=1.0), [1], [1.0], [2.0])
    with pytest.raises(ValueError, match="t: every horizon must be finite and ≥ 0"):
        expected_transactions(PUBLISHED, -1, [1], [1.0], [2.0])
    with pytest.raises(
        ValueError, match=r"params: r, a and b must lie within \[0.001, 100\] for E\[X\(t\)\]"
    ):
        expected_transactions(BgNbdParams(r=1e4, alpha=1.0, a=1.0, b=1.0), 1, [1], [1.0], [2.0])


def test_zero_counts_drop_rows():
    x, t_x, T = cdnow()
    noise = (np.array([40]), np.array([1.0]), np.array([2.0]))  # an implausible row, weighted out
    padded = [np.concatenate((column, extra)) for column, extra in zip((x, t_x, T), noise, strict=True)]
    result = fit(*padded, count=np.concatenate((np.ones(x.size), [0.0])))
    assert result.customers == 2357
    assert result.log_likelihood == pytest.approx(fit(x, t_x, T).log_likelihood, abs=1e-8)


# --- histories from event days ---------------------------------------------------------------------


def test_histories_count_shipping_days_as_of_a_day():
    keys = [7, 7, 7, 7, 3, 3, 9, 5]
    days = [0.0, 0.2, 14.9, 28.0, 10.0, 40.0, 50.0, 21.0]  # key 9 only ships after as_of
    summary = histories(keys, days, as_of=35.0, unit="weeks")
    assert summary.keys.tolist() == [3, 5, 7]
    # 3: one shipping day by day 35 (day 40 is later); 5: one; 7: days 0 (twice), 14, 28
    assert summary.x.tolist() == [0, 0, 2]
    np.testing.assert_allclose(summary.t_x, [0.0, 0.0, 4.0])
    np.testing.assert_allclose(summary.T, [25 / 7, 2.0, 5.0])
    in_days = histories(keys, days, as_of=35.0, unit="days")
    np.testing.assert_allclose(in_days.t_x, [0.0, 0.0, 28.0])
    np.testing.assert_allclose(in_days.T, [25.0, 14.0, 35.0])


def test_histories_replay_the_past_and_feed_the_model():
    rng = np.random.default_rng(3)
    keys = rng.integers(0, 300, 5000)
    days = rng.uniform(0, 700, 5000)
    now, before = histories(keys, days, as_of=700.0), histories(keys, days, as_of=350.0)
    assert set(before.keys) <= set(now.keys)
    assert (now.t_x <= now.T).all() and ((now.x > 0) | (now.t_x == 0)).all()
    # the same keys' histories as of the earlier day only ever had fewer transactions
    earlier = dict(zip(before.keys.tolist(), before.x.tolist(), strict=True))
    assert all(
        earlier[key] <= x for key, x in zip(now.keys.tolist(), now.x.tolist(), strict=True) if key in earlier
    )
    assert np.isfinite(p_alive(PUBLISHED, now.x, now.t_x, now.T)).all()


def test_histories_refuse_bad_input_by_name():
    with pytest.raises(ValueError, match="unit: expected one of"):
        histories([1], [0.0], as_of=1.0, unit="months")
    with pytest.raises(ValueError, match="keys and day_offsets"):
        histories([1, 2], [0.0], as_of=1.0)
    with pytest.raises(ValueError, match="day_offsets: every offset must be finite"):
        histories([1], [np.inf], as_of=1.0)
    with pytest.raises(ValueError, match="as_of: must be finite"):
        histories([1], [0.0], as_of=np.nan)
    empty = histories([1], [5.0], as_of=1.0)
    assert empty.keys.size == 0 and empty.x.size == 0
