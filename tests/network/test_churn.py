"""The churn model's pure core: features from evidence, the prior, fitting and calibration, judging."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logicrm.network import churn
from logicrm.network.churn import FEATURE_NAMES, PortfolioRates, RiskSignals
from tests import worked_examples

RATES = PortfolioRates()
BEHAVIOUR = ("shipping_stopped", "volume_drop")


def _features(**signals) -> dict[str, float]:
    return churn.features(RiskSignals(**signals), RATES)


# Features -----------------------------------------------------------------------------------------------


# decided: an account nobody ever contacted is a warning sign, not a blank (a new one is `too_new`)
def test_an_account_without_any_evidence_has_only_the_no_survey_and_never_contacted_signals():
    assert _features() == {
        name: float(name in ("no_survey_data", "contact_overdue")) for name in FEATURE_NAMES
    }


def test_an_account_contacted_today_without_other_evidence_has_only_the_no_survey_indicator():
    for is_shipper in (False, True):
        read = _features(is_shipper=is_shipper, days_since_contact=0.0)
        assert read == {name: float(name == "no_survey_data") for name in FEATURE_NAMES}


def test_a_fall_in_standard_errors_needs_the_evidence_for_it():
    """A shipper with a few shipments a year and none lately is within noise; one with hundreds is not;
    no year of shipments, or no shipper role, is no evidence (0)."""
    # docs/scoring.md: six a year, none lately, is 0.8 errors short; 100, none lately, 4.3
    few = _features(is_shipper=True, volume_year=6, volume_recent=0, volume_recent_twice=0)
    many = _features(is_shipper=True, volume_year=100, volume_recent=0, volume_recent_twice=0)
    assert few["volume_shortfall"] == pytest.approx(0.20, abs=0.005) and many["volume_shortfall"] == 1.0
    steady = _features(is_shipper=True, volume_year=365, volume_recent=30, volume_recent_twice=60)
    assert steady["volume_shortfall"] == 0.0
    assert _features(is_shipper=True)["volume_shortfall"] == 0.0
    assert _features(volume_year=300)["volume_shortfall"] == 0.0


def test_a_consignee_level_is_shrunk_toward_its_declared_volume():
    """One shipment in half a year on a lane declaring 2 a month reads as a third short, not 92 %
    (docs/scoring.md); no
    declared volume is no evidence; more than declared is nothing to worry about."""
    read = _features(inbound_half_year=1, declared_half_year=12)["inbound_below_declared"]
    k = RATES.prior_strength
    assert read == pytest.approx(1 - (1 + k) / (12 + k)) and read < 0.4
    assert _features(inbound_half_year=0, declared_half_year=0)["inbound_below_declared"] == 0.0
    assert _features(inbound_half_year=50, declared_half_year=12)["inbound_below_declared"] == 0.0


def test_a_new_account_has_none_of_the_behaviour_evidence():
    new = _features(
        is_shipper=True, too_new=True, volume_year=300, days_since_shipment=80.0, inbound_half_year=0,
        declared_half_year=60,
    )  # fmt: skip
    for name in ("volume_shortfall", "shipment_gap", "inbound_below_declared"):
        assert new[name] == 0.0, name


def test_two_shipments_one_late_read_near_the_portfolio_rate_not_as_half_late():
    gap = _features(delivered=2, on_time=1, shipments=2, troubled=1)
    portfolio_gap = RATES.otif_target - RATES.on_time
    assert gap["otif_gap"] == pytest.approx(portfolio_gap, abs=0.04)  # raw: 0.45
    assert gap["claims"] == pytest.approx(RATES.troubled, abs=0.05)  # raw: 0.5


def test_a_thousand_shipments_half_late_read_as_half_late():
    read = _features(delivered=1000, on_time=500, shipments=1000, troubled=500)
    assert read["otif_gap"] == pytest.approx(RATES.otif_target - 0.5, abs=0.01)
    assert read["claims"] == pytest.approx(0.5, abs=0.01)


@settings(max_examples=200, deadline=None)
@given(delivered=st.integers(0, 10_000), late_share=st.floats(0, 1), target=st.floats(0.5, 1.0))
def test_a_shrunk_rate_lies_between_the_account_own_and_the_portfolio(delivered, late_share, target):
    on_time = delivered - round(delivered * late_share)
    gap = _features(delivered=delivered, on_time=on_time, otif_target=target)["otif_gap"]
    if not delivered:
        assert gap == 0.0
        return
    own, portfolio = _clamp(target - on_time / delivered), _clamp(target - RATES.on_time)
    assert min(own, portfolio) - 1e-12 <= gap <= max(own, portfolio) + 1e-12


def _clamp(x: float) -> float:
    return min(1.0, max(0.0, x))


STOPPED_SHIPPER = {"is_shipper": True, "p_alive": 0.1, "volume_recent": 0.0, "volume_window": 60.0}


def test_a_shipper_that_stopped_shipping_reads_so_unless_it_is_too_new():
    settled = _features(**STOPPED_SHIPPER)
    assert settled["shipping_stopped"] == pytest.approx(0.9)
    assert settled["volume_drop"] == pytest.approx(1.0)
    assert settled["too_new"] == 0.0
    new = _features(**STOPPED_SHIPPER, too_new=True)
    assert {name: new[name] for name in (*BEHAVIOUR, "too_new")} == {
        "shipping_stopped": 0.0,
        "volume_drop": 0.0,
        "too_new": 1.0,
    }


def test_a_consignee_has_no_volume_or_rhythm_features_nor_a_contract():
    consignee = {**STOPPED_SHIPPER, "is_shipper": False, "contract_days_left": 10.0}
    read = _features(**consignee)
    assert [read[name] for name in (*BEHAVIOUR, "contract_ending")] == [0.0, 0.0, 0.0]
    assert _features(**{**consignee, "is_shipper": True})["contract_ending"] == 1.0


def test_a_volume_drop_on_little_volume_weighs_by_its_evidence():
    # 5 shipments in the window, none lately: a quarter of the confidence 20 shipments would give
    read = _features(is_shipper=True, volume_recent=0.0, volume_window=5.0)
    assert read["volume_drop"] == pytest.approx(5.0 / RATES.volume_trend_min_shipments)


def test_a_consignee_receiving_less_than_its_shippers_trend_predicts_reads_an_inbound_drop():
    # its shippers' other lanes predicted 10 shipments lately; it received 4 of its 30 in the window
    read = _features(inbound_recent=4.0, inbound_window=30.0, inbound_expected=10.0)
    assert read["inbound_drop"] == pytest.approx(0.6)
    assert read["volume_drop"] == 0.0  # the lanes' own decline stays the shippers' evidence
    assert _features(inbound_recent=12.0, inbound_window=30.0, inbound_expected=10.0)["inbound_drop"] == 0.0
    # 5 shipments in the window: a quarter of the confidence of 20
    little = _features(inbound_recent=0.0, inbound_window=5.0, inbound_expected=1.5)["inbound_drop"]
    assert little == pytest.approx(5.0 / RATES.volume_trend_min_shipments)
    assert (
        _features(inbound_recent=0.0, inbound_window=30.0, inbound_expected=10.0, too_new=True)[
            "inbound_drop"
        ]
        == 0.0
    )


signals = st.builds(
    RiskSignals,
    satisfaction=st.none() | st.floats(0, 1),
    satisfaction_before=st.none() | st.floats(0, 1),
    weakest_deciding=st.none() | st.floats(0, 1),
    nps=st.none() | st.floats(-100, 100),
    silent_deciding_department=st.booleans(),
    no_survey_data=st.booleans(),
    is_shipper=st.booleans(),
    p_alive=st.none() | st.floats(0, 1),
    volume_recent=st.floats(0, 1e6),
    volume_window=st.floats(0, 1e6),
    inbound_recent=st.floats(0, 1e6),
    inbound_window=st.floats(0, 1e6),
    inbound_expected=st.floats(0, 1e6),
    delivered=st.integers(0, 10**6),
    shipments=st.integers(0, 10**6),
    overdue_tickets=st.integers(0, 10**4),
    days_since_contact=st.none() | st.floats(0, 1e5),
    cadence_days=st.floats(1, 400),
    contract_days_left=st.none() | st.floats(-1e4, 1e4),
    renewal_open=st.booleans(),
    too_new=st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(signals, st.data())
def test_every_feature_is_finite_and_bounded(s, data):
    on_time = data.draw(st.integers(0, s.delivered))
    troubled = data.draw(st.integers(0, s.shipments))
    read = churn.features(RiskSignals(**{**_as_dict(s), "on_time": on_time, "troubled": troubled}), RATES)
    assert list(read) == list(FEATURE_NAMES)
    for name, value in read.items():
        assert math.isfinite(value), name
        assert value >= 0.0, name
        if name != "overdue_tickets":  # log(1 + tickets): unbounded by design, a weight per e-fold
            assert value <= 1.0, name
    if not s.is_shipper or s.too_new:
        assert read["shipping_stopped"] == read["volume_drop"] == 0.0


def _as_dict(s: RiskSignals) -> dict:
    return {name: getattr(s, name) for name in RiskSignals.__slots__}


# The prior ------------------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(base_rate=st.floats(0.01, 0.9), seed=st.integers(0, 2**16))
def test_the_prior_predicts_the_base_rate_on_average_over_its_sample(base_rate, seed):
    X = np.random.default_rng(seed).beta(0.6, 2.0, size=(200, len(FEATURE_NAMES)))  # mostly near 0
    model = churn.prior_model(horizon_days=180, base_rate=base_rate, X=X)
    assert model.method == churn.PRIOR
    assert model.predict(X).mean() == pytest.approx(base_rate, abs=1e-3)
    assert model.weights() == pytest.approx({f.name: f.prior_weight for f in churn.FEATURES})


def test_the_prior_without_a_sample_gives_the_base_rate_to_an_account_with_nothing_to_worry_about():
    model = churn.prior_model(horizon_days=90, base_rate=0.08)
    assert model.horizon_days == 90
    assert model.predict(np.zeros((1, len(FEATURE_NAMES))))[0] == pytest.approx(0.08, abs=1e-4)


# Fitting --------------------------------------------------------------------------------------------------

TRUE_WEIGHTS = {
    "dissatisfaction": 2.5,
    "shipping_stopped": 3.0,
    "otif_gap": 4.0,
    "contact_overdue": 1.0,
    "contract_ending": 1.2,
}
TRUE_INTERCEPT = -3.2


def _world(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of bounded features, their true churn probability, and outcomes drawn from it."""
    rng = np.random.default_rng(seed)
    X = rng.beta(0.6, 2.0, size=(n, len(FEATURE_NAMES)))
    for binary in ("contract_ending", "silent_deciding_department", "no_survey_data", "too_new"):
        X[:, FEATURE_NAMES.index(binary)] = rng.random(n) < 0.15
    weights = np.array([TRUE_WEIGHTS.get(name, 0.0) for name in FEATURE_NAMES])
    truth = churn.sigmoid(TRUE_INTERCEPT + X @ weights)
    return X, truth, (rng.random(n) < truth).astype(float)


@pytest.fixture(scope="module")
def learnt():
    X, _truth, y = _world(8000, seed=1)
    split = np.arange(len(y)) >= 0.75 * len(y)  # the latest quarter calibrates
    return churn.fit(X, y, horizon_days=180, min_events=30, calibration_split=split)


def test_a_fit_on_a_known_logistic_truth_ranks_as_well_as_the_truth(learnt):
    X, truth, y = _world(8000, seed=2)
    assert learnt.method == churn.LEARNT and learnt.events > 30 and learnt.samples == 8000
    judged, oracle = churn.evaluate(learnt.predict(X), y), churn.evaluate(truth, y)
    assert judged.auc >= oracle.auc - 0.02
    assert judged.brier_skill > 0.0 and judged.brier_skill >= oracle.brier_skill - 0.02
    # the features that matter weigh most, in the truth's order
    weights = learnt.weights()
    heaviest = sorted(weights, key=weights.get, reverse=True)[: len(TRUE_WEIGHTS)]
    assert set(heaviest) == set(TRUE_WEIGHTS)
    assert weights["otif_gap"] > weights["shipping_stopped"] > weights["dissatisfaction"]


def test_a_fit_on_a_known_logistic_truth_is_calibrated(learnt):
    X, _truth, y = _world(20000, seed=3)
    p = learnt.predict(X)
    # the calibration is fitted on the 2,000 held rows: their own mean misses the world's by a standard
    # error of about 0.011 (base rate near 0.38), so 0.01 would be one standard error; 0.025 is over two
    assert p.mean() == pytest.approx(y.mean(), abs=0.025)
    for row in churn.reliability(p, y, bins=5):
        if row["count"] >= 300:
            assert row["observed"] == pytest.approx(row["predicted"], abs=0.04), row


def test_contributions_add_up_to_the_calibrated_logit(learnt):
    X, _truth, _y = _world(5, seed=4)
    baseline = learnt.calibration[0] + learnt.calibration[1] * learnt.intercept
    for row in X:
        logit = baseline + sum(learnt.contributions(row).values())
        assert churn.sigmoid(logit) == pytest.approx(learnt.predict(row[None, :])[0])


def test_fewer_events_than_needed_give_the_prior_at_the_observed_base_rate():
    X, _truth, y = _world(400, seed=5)
    y = np.zeros_like(y)
    y[:12] = 1.0
    model = churn.fit(X, y, horizon_days=180, min_events=30)
    assert (model.method, model.events, model.samples) == (churn.PRIOR, 12, 400)
    assert model.predict(X).mean() == pytest.approx(12 / 400, abs=1e-3)


def test_a_history_where_everyone_left_gives_the_prior():
    X, _truth, _y = _world(100, seed=6)
    model = churn.fit(X, np.ones(100), horizon_days=180, min_events=30)
    assert model.method == churn.PRIOR


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(4, 200),
    seed=st.integers(0, 2**16),
    direction=st.floats(-3, 3),
)
def test_platt_calibration_never_reverses_a_ranking(n, seed, direction):
    rng = np.random.default_rng(seed)
    linear = rng.normal(size=n)
    y = (rng.random(n) < churn.sigmoid(direction * linear)).astype(float)
    if not 0 < y.sum() < n:
        y[0], y[-1] = 0.0, 1.0
    a, b = churn.platt(linear, y)
    assert b >= 0.0
    if b == 0.0:  # no usable slope: the observed rate for everyone
        assert churn.sigmoid(a) == pytest.approx(y.mean())


def test_platt_on_a_reversed_score_falls_back_to_the_observed_rate():
    linear = np.linspace(-3, 3, 100)
    y = (linear < 0).astype(float)
    assert churn.platt(linear, y) == (pytest.approx(churn.logit(0.5)), 0.0)


def test_fit_coupling_recovers_a_known_coupling():
    rng = np.random.default_rng(7)
    own = rng.uniform(0.02, 0.3, 20000)
    exposure = rng.uniform(0, 0.8, 20000) * (rng.random(20000) < 0.4)  # a partner's churn, if any

    def predict(gamma: float) -> np.ndarray:
        return 1.0 - (1.0 - own) * (1.0 - np.clip(gamma * exposure, 0.0, 1.0))

    y = (rng.random(20000) < predict(0.6)).astype(float)
    assert churn.fit_coupling(predict, y, upper=1.25) == pytest.approx(0.6, abs=0.08)
    # no contagion in the outcomes: the coupling goes to (near) zero
    y_alone = (rng.random(20000) < own).astype(float)
    assert churn.fit_coupling(predict, y_alone, upper=1.25) < 0.1


# the learnt worked example of docs/scoring.md: its account at the new origin, and the features it uses
DOC_ACCOUNT = {"dissatisfaction": 0.2, "otif_gap": 0.0, "inbound_drop": 0.4}


def test_scoring_doc_learnt_worked_example():
    """Fit the page's small history as `logicrm model fit` would (the earlier origins fit, the latest
    calibrates) and compare every figure the page prints."""
    history = worked_examples.table("learnt-history")
    used = tuple(DOC_ACCOUNT)
    X = np.zeros((len(history), len(FEATURE_NAMES)))
    for i, row in enumerate(history):
        for name, value in zip(used, row[2:5], strict=True):
            X[i, FEATURE_NAMES.index(name)] = float(value)
    y = np.array([row[5] == "yes" for row in history], dtype=float)
    origins = [int(row[0]) for row in history]
    calibrating = np.array([origin == max(origins) for origin in origins])
    model = churn.fit(X, y, horizon_days=180, min_events=3, calibration_split=calibrating)

    assert model.method == churn.LEARNT
    # a feature that is 0 in every row is 0 standardised too: it learns nothing and weighs nothing
    assert all(model.coefficients[k] == 0.0 for k, name in enumerate(FEATURE_NAMES) if name not in used)
    weights = model.weights()
    assert worked_examples.table("learnt-fit") == [
        [
            name,
            f"{model.means[k]:.4f}",
            f"{model.scales[k]:.4f}",
            f"{model.coefficients[k]:.3f}",
            f"{weights[name]:.3f}",
        ]
        for name in used
        for k in [FEATURE_NAMES.index(name)]
    ]
    a, b = model.calibration
    assert worked_examples.table("learnt-model") == [
        ["rows (fitted + calibrating)", f"{int((~calibrating).sum())} + {int(calibrating.sum())}"],
        ["churn events", str(model.events)],
        ["intercept c", f"{model.intercept:.3f}"],
        ["calibration a", f"{a:.3f}"],
        ["calibration b", f"{b:.3f}"],
    ]

    x = model.matrix([DOC_ACCOUNT])
    z = (x[0] - np.asarray(model.means)) / np.asarray(model.scales)
    contributions = model.contributions(x[0])
    linear = float(model.linear(x)[0])
    assert worked_examples.table("learnt-account") == [
        *(
            [name, f"{DOC_ACCOUNT[name]:.2f}", f"{z[k]:+.3f}", f"{contributions[name]:+.3f}"]
            for name in used
            for k in [FEATURE_NAMES.index(name)]
        ),
        ["logit c + Σ w·z", "", "", f"{linear:+.3f}"],
        ["probability sigmoid(a + b·logit)", "", "", f"{float(model.predict(x)[0]):.3f}"],
    ]


# Judging ----------------------------------------------------------------------------------------------

P = np.array([0.1, 0.4, 0.35, 0.8])
Y = np.array([0.0, 0.0, 1.0, 1.0])


def test_evaluate_on_a_hand_computed_case():
    judged = churn.evaluate(P, Y, bins=2)
    assert (judged.samples, judged.events, judged.base_rate) == (4, 2, 0.5)
    assert judged.auc == pytest.approx(0.75)  # 3 of the 4 (churner, stayer) pairs ordered right
    assert judged.pr_auc == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    assert judged.brier == pytest.approx((0.01 + 0.16 + 0.4225 + 0.04) / 4)
    assert judged.brier_skill == pytest.approx(1 - 0.158125 / 0.25)
    assert judged.top_decile_capture == 0.5  # the top row (of 4, rounded up) is one of the 2 churners
    assert judged.reliability == [
        {
            "bin": "0.0–0.5",
            "predicted": pytest.approx(0.85 / 3),
            "observed": pytest.approx(1 / 3),
            "count": 3,
        },
        {"bin": "0.5–1.0", "predicted": 0.8, "observed": 1.0, "count": 1},
    ]


def test_brier_skill_against_a_stated_base_rate():
    judged = churn.evaluate(P, Y, base_rate=0.25)
    assert judged.base_rate == 0.5  # what happened
    assert judged.brier_skill == pytest.approx(1 - 0.158125 / 0.3125)  # against the 25 % one would say


def test_evaluate_without_events_of_both_kinds_has_no_ranking_figures():
    judged = churn.evaluate(P, np.zeros(4))
    assert judged.auc is judged.pr_auc is judged.brier_skill is judged.top_decile_capture is None
    assert judged.brier == pytest.approx(np.mean(P**2))


def test_reliability_puts_a_certainty_in_the_last_bin_and_skips_empty_bins():
    table = churn.reliability(np.array([0.0, 0.05, 1.0]), np.array([0.0, 0.0, 1.0]), bins=10)
    assert [(row["bin"], row["count"]) for row in table] == [("0.0–0.1", 2), ("0.9–1.0", 1)]
