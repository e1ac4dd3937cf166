"""The churn model (DESIGN §4.6): the probability that an account churns within a stated horizon, from its
own evidence, learnt from the provider's history; and how such probabilities are judged.

Churn is the customer's status set to churned, or (for a shipper) no shipment for `inactive_days` days,
within `horizon_days` of the moment scored. The model is a logistic regression over the features below,
each computed point in time (scoring.queries replays any past date). Until the history holds enough
churn events it runs on hand-set weights (the cold-start prior) with its intercept set to the observed
base rate; then it is learnt (scikit-learn, L2-regularised, standardised features) and calibrated on
later origins than it was fitted on. Network effects enter afterwards, through propagation with learnt
coupling (scoring.scores), so a partner's trouble reaches an account once.

Pure: numpy, scipy and scikit-learn only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from scipy import special
from scipy.optimize import minimize_scalar

from logicrm.memory import pickled_by_fields


@dataclass(frozen=True, slots=True)
class Feature:
    name: str
    prior_weight: float  # logit per unit, the cold-start prior
    describes: str  # what one unit means, for the model card and explanations


# Every feature is 0 for "nothing to worry about" or "no data" (no data has its own indicator), and
# bounded, so a weight reads as "logit per unit".
FEATURES: tuple[Feature, ...] = (
    Feature("dissatisfaction", 3.0, "shortfall of account satisfaction below 'expectations met' (0–1)"),
    Feature("satisfaction_drop", 3.0, "fall of account satisfaction over the drop window (0–1)"),
    Feature("weakest_deciding_shortfall", 1.5, "shortfall of the weakest deciding department (0–1)"),
    Feature("detractors", 1.0, "negative shrunk NPS, as a share (0–1)"),
    Feature("silent_deciding_department", 0.5, "a deciding department stopped answering (0/1)"),
    Feature("no_survey_data", 0.3, "no survey answer from any department (0/1)"),
    Feature("shipping_stopped", 3.0, "1 − P(alive) of the shipper's shipment rhythm (BG/NBD)"),
    Feature("volume_drop", 2.0, "fall of the shipper's recent shipment rate against its trailing rate (0–1)"),
    # The evidence below arrived with the learnt model (docs/scoring.md): its prior weight is 0, because
    # each overlaps a hand-weighted feature above (volume_drop, shipping_stopped, inbound_drop), and
    # weighing both before any churn is seen would count the same evidence twice; the fit gives it weight.
    Feature(
        "volume_shortfall",
        0.0,
        "fall of the shipper's latest 30/60 days below its year's rate, in Poisson standard errors "
        "(1 = 4 or more)",
    ),
    Feature("shipment_gap", 0.0, "days since the shipper's last shipment, in lapse periods (0–1)"),
    Feature(
        "inbound_drop",
        2.0,
        "fall of the consignee's recent inbound shipments below what its shippers' other lanes did (0–1)",
    ),
    Feature(
        "inbound_below_declared",
        0.0,
        "shortfall of the consignee's inbound shipments over half a year below what its lanes declare (0–1)",
    ),
    Feature("otif_gap", 6.0, "shrunk on-time-in-full rate below its target (0–1)"),
    Feature("claims", 5.0, "shrunk share of shipments damaged or claimed (0–1)"),
    Feature("overdue_tickets", 0.6, "log(1 + tickets open past their SLA)"),
    Feature(
        "contact_overdue", 0.6, "days since the last contact beyond the tier's cadence, in cadences (0–1)"
    ),
    Feature("contract_ending", 1.0, "contract ends within the warning window and no renewal is open (0/1)"),
    Feature("too_new", 0.0, "too little history to score on behaviour (0/1)"),
)
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
LABELS: Mapping[str, str] = {f.name: f.describes for f in FEATURES}
MIN_SCALE = 0.1
PRIOR = "prior"
LEARNT = "learnt"
_EPS = 1e-12


def logit(p):
    """Return log(p / (1 − p)), p kept away from 0 and 1."""
    return special.logit(np.clip(np.asarray(p, dtype=float), _EPS, 1.0 - _EPS))


sigmoid = special.expit  # 1 / (1 + e^−z), without overflow


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class RiskSignals:
    """One account's own evidence at one moment, as scoring.queries measured it (point in time).

    Satisfaction figures are in [0, 1] with 0.5 = expectations met (None: no data). Counts cover the
    trailing volume window; a shipper's volume and rhythm are its outbound lanes only (a lane's volume is
    routed by its shipper, so its decline is the shipper's evidence, never the consignee's), while service
    quality (on time, damage) counts every lane the account is an end of: both ends live it.
    """

    satisfaction: float | None = None
    satisfaction_before: float | None = None
    weakest_deciding: float | None = None
    nps: float | None = None  # shrunk NPS, −100…100
    silent_deciding_department: bool = False
    no_survey_data: bool = True
    is_shipper: bool = False
    p_alive: float | None = None  # BG/NBD, shippers with enough rhythm to judge
    volume_recent: float = 0.0
    volume_window: float = 0.0
    volume_recent_twice: float = 0.0  # outbound shipments in twice the recent days
    volume_year: float = 0.0  # outbound shipments in the year up to now
    days_since_shipment: float | None = None  # a shipper's last shipment (None: none in the rhythm window)
    # a consignee's inbound lanes: shipments in the recent days, in the window, and the recent shipments
    # its shippers' trends on their other lanes predict (scoring.signals.inbound)
    inbound_recent: float = 0.0
    inbound_window: float = 0.0
    inbound_expected: float = 0.0
    inbound_half_year: float = 0.0  # a consignee's inbound shipments over half a year
    declared_half_year: float = 0.0  # what its open inbound lanes declare for half a year
    delivered: int = 0
    on_time: int = 0
    otif_target: float | None = None
    shipments: int = 0
    troubled: int = 0
    overdue_tickets: int = 0
    days_since_contact: float | None = None  # None: never contacted
    cadence_days: float = 60.0
    contract_days_left: float | None = None
    contract_warning_days: float = 90.0
    renewal_open: bool = False
    too_new: bool = False


@dataclass(frozen=True, slots=True)
class PortfolioRates:
    """The portfolio's rates, toward which an account's own rates are shrunk by their evidence."""

    on_time: float = 0.9
    troubled: float = 0.02
    prior_strength: float = 20.0  # shipments' worth of portfolio evidence
    otif_target: float = 0.95  # when the account has none (a consignee: its shippers' promise)
    volume_trend_min_shipments: float = 20.0
    window_over_recent: float = 3.0  # volume window / recent window
    recent_days: float = 30.0
    inactive_days: float = 90.0  # a shipper this long without a shipment has churned
    contact_overdue_cap: float = 1.0


def features(s: RiskSignals, rates: PortfolioRates) -> dict[str, float]:
    """Turn an account's evidence into the model's features (0 = nothing to worry about, or no data).

    Rates are shrunk toward the portfolio's by their evidence (beta-binomial posterior mean): two
    shipments, one late, read as a little below the portfolio, not as half late.
    """
    k = rates.prior_strength
    on_time = (s.on_time + k * rates.on_time) / (s.delivered + k)
    troubled = (s.troubled + k * rates.troubled) / (s.shipments + k)
    target = rates.otif_target if s.otif_target is None else s.otif_target
    volume_drop = 0.0
    if s.is_shipper and s.volume_window > 0:
        recent_rate = s.volume_recent / s.volume_window * rates.window_over_recent
        confidence = min(1.0, s.volume_window / rates.volume_trend_min_shipments)
        volume_drop = confidence * _clamp(1.0 - recent_rate)
    inbound_drop = 0.0
    if s.inbound_expected > 0:
        confidence = min(1.0, s.inbound_window / rates.volume_trend_min_shipments)
        inbound_drop = confidence * _clamp(1.0 - s.inbound_recent / s.inbound_expected)
    # the consignee's level, shrunk toward "as declared" by `k` shipments: a lane declared at 2 a month
    # that saw 1 in half a year reads as a shortfall of a third, not 92 %
    inbound_below_declared = (
        _clamp(1.0 - (s.inbound_half_year + k) / (s.declared_half_year + k))
        if s.declared_half_year > 0
        else 0.0
    )
    if s.days_since_contact is None:
        contact = rates.contact_overdue_cap
    else:
        contact = min(rates.contact_overdue_cap, max(0.0, s.days_since_contact / s.cadence_days - 1.0))
    contract_ending = (
        s.is_shipper
        and s.contract_days_left is not None
        and s.contract_days_left <= s.contract_warning_days
        and not s.renewal_open
    )
    return {
        "dissatisfaction": _shortfall(s.satisfaction),
        "satisfaction_drop": (
            _clamp(s.satisfaction_before - s.satisfaction)
            if s.satisfaction is not None and s.satisfaction_before is not None
            else 0.0
        ),
        "weakest_deciding_shortfall": _shortfall(s.weakest_deciding),
        "detractors": 0.0 if s.nps is None else _clamp(-s.nps / 100.0),
        "silent_deciding_department": float(s.silent_deciding_department),
        "no_survey_data": float(s.no_survey_data),
        "shipping_stopped": (
            _clamp(1.0 - s.p_alive) if s.is_shipper and s.p_alive is not None and not s.too_new else 0.0
        ),
        "volume_drop": 0.0 if s.too_new else volume_drop,
        "volume_shortfall": 0.0 if s.too_new or not s.is_shipper else _shortfall_in_errors(s, rates),
        "shipment_gap": (
            _clamp(s.days_since_shipment / rates.inactive_days)
            if s.is_shipper and s.days_since_shipment is not None and not s.too_new
            else 0.0
        ),
        "inbound_drop": 0.0 if s.too_new else inbound_drop,
        "inbound_below_declared": 0.0 if s.too_new else inbound_below_declared,
        "otif_gap": _clamp(target - on_time) if s.delivered else 0.0,
        "claims": _clamp(troubled) if s.shipments else 0.0,
        "overdue_tickets": math.log(1 + max(0, s.overdue_tickets)),
        "contact_overdue": contact,
        "contract_ending": float(contract_ending),
        "too_new": float(s.too_new),
    }


# a shipper this many Poisson standard errors below its year's rate reads as 1
SHORTFALL_ERRORS = 4.0


def _shortfall_in_errors(s: RiskSignals, rates: PortfolioRates) -> float:
    """How far the shipper's latest recent days, or twice those, fall below the rate of the year before
    them, in Poisson standard errors (the larger of the two), as a share of SHORTFALL_ERRORS. The error
    of a small expectation is at least 1 shipment: a shipper with a few shipments a year cannot fall
    many errors."""
    worst = 0.0
    for days, recent in (
        (rates.recent_days, s.volume_recent),
        (2 * rates.recent_days, s.volume_recent_twice),
    ):
        if days >= 365.0:  # no year left before them to compare with
            continue
        expected = max(0.0, s.volume_year - recent) / (365.0 - days) * days
        worst = max(worst, (expected - recent) / math.sqrt(expected + 1.0))
    return _clamp(worst / SHORTFALL_ERRORS)


def _shortfall(score: float | None) -> float:
    """How far a satisfaction in [0, 1] falls short of 'expectations met' (0.5), as a share of it."""
    return 0.0 if score is None else _clamp((0.5 - score) / 0.5)


def _clamp(x: float) -> float:
    return min(1.0, max(0.0, float(x)))


@dataclass(frozen=True)
class ChurnModel:
    """A fitted (or prior) model: standardised logistic regression, then Platt calibration on the logit."""

    method: str  # PRIOR or LEARNT
    horizon_days: int
    features: tuple[str, ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]
    coefficients: tuple[float, ...]  # per standardised feature
    intercept: float
    calibration: tuple[float, float] = (0.0, 1.0)  # p = sigmoid(a + b·logit(raw))
    coupling: float = 1.0  # scale of the network's couplings, learnt from co-churn
    # the same map on the probabilities once partners are in: propagation adds partners' risk to an own
    # risk already calibrated to the base rate, so the sum must be brought back to what happens
    network_calibration: tuple[float, float] = (0.0, 1.0)
    events: int = 0  # churn events in the training data
    samples: int = 0

    def matrix(self, rows: Sequence[Mapping[str, float] | None]) -> np.ndarray:
        """Return the feature matrix of `rows` (feature name → value; missing counts 0). A row that is None
        (its evidence could not be measured) is the average account: the model's baseline, not a verdict."""
        return np.array(
            [self.means if row is None else [row.get(name, 0.0) for name in self.features] for row in rows],
            dtype=float,
        ).reshape(len(rows), len(self.features))

    def linear(self, X: np.ndarray) -> np.ndarray:
        """Return the uncalibrated logit of each row."""
        z = (X - np.asarray(self.means)) / np.asarray(self.scales)
        return self.intercept + z @ np.asarray(self.coefficients)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Return the calibrated probability of churn within the horizon, per row."""
        a, b = self.calibration
        return sigmoid(a + b * self.linear(X))

    def calibrate_network(self, p):
        """Map probabilities with partners in (own or propagated) onto the observed rate; monotone, so an
        account's risk with its partners never reads below its own."""
        a, b = self.network_calibration
        if (a, b) == (0.0, 1.0):
            return np.asarray(p, dtype=float)
        return sigmoid(a + b * logit(p))

    def contributions(self, x: Sequence[float]) -> dict[str, float]:
        """Return each feature's calibrated contribution to the row's logit, against the average account."""
        return self.contributions_of(np.asarray([x], dtype=float))[0]

    def contributions_of(self, X: np.ndarray) -> list[dict[str, float]]:
        """`contributions` of each row of the feature matrix `X`, in one pass over it."""
        z = (np.asarray(X, dtype=float) - np.asarray(self.means)) / np.asarray(self.scales)
        _a, b = self.calibration
        parts = (b * np.asarray(self.coefficients, dtype=float)) * z
        return [dict(zip(self.features, row, strict=True)) for row in parts.tolist()]

    def weights(self) -> dict[str, float]:
        """Return the logit per unit of each feature (as a person reads it), calibration included."""
        _a, b = self.calibration
        return {
            name: float(b * w / s)
            for name, w, s in zip(self.features, self.coefficients, self.scales, strict=True)
        }


def prior_model(*, horizon_days: int, base_rate: float, X: np.ndarray | None = None) -> ChurnModel:
    """Return the cold-start model: hand-set weights, intercept set so the mean prediction is `base_rate`.

    With a sample `X` the intercept matches the base rate on it; without, on an account with all
    features at 0.
    """
    weights = np.array([f.prior_weight for f in FEATURES])
    linear = X @ weights if X is not None and len(X) else np.zeros(1)
    intercept = _intercept_for(linear, base_rate)
    return ChurnModel(
        method=PRIOR,
        horizon_days=horizon_days,
        features=FEATURE_NAMES,
        means=tuple(0.0 for _ in FEATURES),
        scales=tuple(1.0 for _ in FEATURES),
        coefficients=tuple(float(w) for w in weights),
        intercept=intercept,
    )


def _intercept_for(linear: np.ndarray, base_rate: float) -> float:
    """The intercept whose mean sigmoid(intercept + linear) equals base_rate."""
    target = min(max(base_rate, 1e-4), 1.0 - 1e-4)
    result = minimize_scalar(
        lambda c: (float(np.mean(sigmoid(c + linear))) - target) ** 2, bounds=(-20.0, 20.0), method="bounded"
    )
    return float(result.x)


def fit(
    X: np.ndarray,
    y: np.ndarray,
    *,
    horizon_days: int,
    min_events: int,
    regularisation: float = 1.0,
    calibration_split: np.ndarray | None = None,
) -> ChurnModel:
    """Fit the churn model on rows X (features) and labels y (churned within the horizon).

    Fewer than `min_events` churn events: the prior, at the observed base rate. Otherwise a standardised
    L2 logistic regression; `calibration_split` marks the rows (the latest origins) held out to fit a
    Platt calibration when they hold events of both kinds.
    """
    y = np.asarray(y, dtype=float)
    events = int(y.sum())
    base_rate = float(y.mean()) if len(y) else 0.1
    if events < min_events or events == len(y):
        return replace(
            prior_model(horizon_days=horizon_days, base_rate=base_rate, X=X), events=events, samples=len(y)
        )
    from sklearn.linear_model import LogisticRegression  # only fitting needs it: seconds off every start-up

    train = np.ones(len(y), dtype=bool) if calibration_split is None else ~calibration_split
    if y[train].sum() < min_events or y[train].sum() == train.sum():
        train = np.ones(len(y), dtype=bool)
    means, scales = X[train].mean(axis=0), X[train].std(axis=0)
    # a feature nearly constant in training would read a later, ordinary value as dozens of standard
    # deviations out: standardise by at least a tenth of a unit (every feature is on a 0–1-like scale)
    scales = np.maximum(scales, MIN_SCALE)
    regression = LogisticRegression(C=regularisation, max_iter=1000)
    regression.fit((X[train] - means) / scales, y[train])
    model = ChurnModel(
        method=LEARNT,
        horizon_days=horizon_days,
        features=FEATURE_NAMES,
        means=tuple(map(float, means)),
        scales=tuple(map(float, scales)),
        coefficients=tuple(map(float, regression.coef_[0])),
        intercept=float(regression.intercept_[0]),
        events=events,
        samples=len(y),
    )
    held = ~train
    if held.any() and 0 < y[held].sum() < held.sum():
        model = replace(model, calibration=platt(model.linear(X[held]), y[held]))
    return model


def platt(linear: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Fit p = sigmoid(a + b·linear) by maximum likelihood (b ≥ 0: calibration never reverses a ranking)."""
    from sklearn.linear_model import LogisticRegression

    regression = LogisticRegression(C=1e6, max_iter=1000)
    regression.fit(np.asarray(linear).reshape(-1, 1), y)
    a, b = float(regression.intercept_[0]), float(regression.coef_[0][0])
    return (a, b) if b > 0 else (float(logit(np.mean(y))), 0.0)


def fit_coupling(predict, y: np.ndarray, *, upper: float) -> float:
    """Return the coupling scale γ in [0, upper] that maximises the likelihood of `predict(γ)` for y."""
    y = np.asarray(y, dtype=float)

    def loss(gamma: float) -> float:
        p = np.clip(predict(gamma), _EPS, 1.0 - _EPS)
        return -float(np.sum(y * np.log(p) + (1.0 - y) * np.log1p(-p)))

    return float(minimize_scalar(loss, bounds=(0.0, upper), method="bounded", options={"xatol": 1e-3}).x)


# Judging predictions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    """How probabilities fared against what happened."""

    samples: int
    events: int
    base_rate: float
    auc: float | None
    pr_auc: float | None
    brier: float
    brier_skill: float | None  # 1 − Brier / Brier of predicting the base rate (> 0: better than it)
    top_decile_capture: float | None  # share of events among the 10% highest predictions
    reliability: list[dict] = field(default_factory=list)  # per bin: mean predicted, observed, count


def evaluate(p: np.ndarray, y: np.ndarray, *, base_rate: float | None = None, bins: int = 10) -> Evaluation:
    """Judge probabilities p against outcomes y; the Brier skill is against `base_rate` (default: y's)."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    p, y = np.asarray(p, dtype=float), np.asarray(y, dtype=float)
    events = int(y.sum())
    rate = float(y.mean()) if len(y) else 0.0
    reference = rate if base_rate is None else base_rate
    both = 0 < events < len(y)
    brier = float(np.mean((p - y) ** 2)) if len(y) else 0.0
    reference_brier = float(np.mean((reference - y) ** 2)) if len(y) else 0.0
    top = max(1, math.ceil(len(p) / 10))
    order = np.argsort(-p, kind="stable")
    return Evaluation(
        samples=len(y),
        events=events,
        base_rate=rate,
        auc=float(roc_auc_score(y, p)) if both else None,
        pr_auc=float(average_precision_score(y, p)) if both else None,
        brier=brier,
        brier_skill=1.0 - brier / reference_brier if reference_brier > 0 else None,
        top_decile_capture=float(y[order[:top]].sum() / events) if events else None,
        reliability=reliability(p, y, bins=bins),
    )


def reliability(p: np.ndarray, y: np.ndarray, *, bins: int = 10) -> list[dict]:
    """Return, per probability bin of width 1/bins, the mean prediction, the observed rate and the count."""
    edges = np.minimum((np.asarray(p) * bins).astype(int), bins - 1)
    table = []
    for k in range(bins):
        inside = edges == k
        if inside.any():
            table.append(
                {
                    "bin": f"{k / bins:.1f}–{(k + 1) / bins:.1f}",
                    "predicted": float(np.mean(p[inside])),
                    "observed": float(np.mean(y[inside])),
                    "count": int(inside.sum()),
                }
            )
    return table
