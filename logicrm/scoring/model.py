"""The churn model learnt from the provider's own history (DESIGN §4.6): replay, fit, back-test, store.

Monthly origins are replayed as if each were today (scores.observe is point in time); each live account
at an origin is a row, labelled by whether it churned within the horizon after it. The own-evidence model
(network.churn.fit) is fitted on every labelled origin, calibrated on the latest ones; the coupling of
the network (how strongly a partner's churn carries over) is then fitted by maximum likelihood of the
propagated risks. The back-test refits on the origins whose labels were known at each later origin and
judges the predictions there: what the model would have said then against what happened.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from logicrm.customers.models import CustomerStatus
from logicrm.db import utcnow
from logicrm.errors import NotFound
from logicrm.network import churn
from logicrm.network.churn import ChurnModel, Evaluation
from logicrm.network.graph import GraphArrays
from logicrm.network.params import ScoringParams
from logicrm.scoring import held as held_scores
from logicrm.scoring import published, queries, scores, signals
from logicrm.scoring.models import ChurnModelRecord

ORIGIN_STEP_DAYS = 30
# the latest origins (a quarter of them) calibrate the model fitted on the others
CALIBRATION_SHARE = 0.25
# a back-test origin needs this many earlier origins whose labels were known by then
MIN_TRAINING_ORIGINS = 3
# a partner's churn this close before an account's own makes the account a follower (contagion)
FOLLOWER_DAYS = 180


@dataclass
class Origin:
    """One replayed moment: its live accounts' features, what happened to them, and its network."""

    now: dt.datetime
    ids: list[int]
    X: np.ndarray
    y: np.ndarray | None  # churned within the horizon; None while the horizon has not passed
    followers: np.ndarray  # churned after a partner did, within FOLLOWER_DAYS
    arrays: GraphArrays
    features: dict[int, dict[str, float]]
    departed: dict[int, list]


@dataclass(frozen=True)
class Fitted:
    """A fitted model with its training window and back-test."""

    model: ChurnModel
    origins: list[dt.datetime]
    pooled: Evaluation | None
    per_origin: list[dict]
    followers: Evaluation | None  # the back-test on accounts that churned only after a partner did


def origin_dates(params: ScoringParams, *, now: dt.datetime, history: signals.History) -> list[dt.datetime]:
    """Monthly origins, the latest one horizon_days before `now` (its labels just known), oldest first;
    none before the records hold a full evidence window (an origin that saw no shipments, surveys or
    contacts yet, of accounts older than the records, would teach the model that no evidence means the
    churn that followed)."""
    latest = now - dt.timedelta(days=params.horizon_days)
    dates = [latest - dt.timedelta(days=ORIGIN_STEP_DAYS * k) for k in reversed(range(params.model_origins))]
    if history.records_from is None:
        return []
    covered = history.records_from + max(params.volume_window_days, params.min_tenure_days)
    return [at for at in dates if queries.day_number(at) >= covered]


def replay(
    session: Session, params: ScoringParams, *, dates: Sequence[dt.datetime], history: signals.History
) -> list[Origin]:
    """Replay each date as of then, and label its accounts with what happened within the horizon."""
    return [_origin(session, params, history, at) for at in dates]


def _origin(session: Session, params: ScoringParams, history: signals.History, at: dt.datetime) -> Origin:
    seen = scores.observe(session, params, now=at, history=history)
    today = queries.day_number(at)
    ids = [
        row.id
        for row in seen.data.customers
        if row.status != CustomerStatus.PROSPECT
        and row.id not in seen.lapsed
        and history.first_seen.get(row.id, today + 1) <= today
        and seen.features.get(row.id) is not None  # evidence that failed to measure teaches nothing
    ]
    end = today + params.horizon_days
    y = (
        None
        if end > history.until
        else np.array([history.churned_between(c, today, end) for c in ids], float)
    )
    partners = _partners(seen)
    followers = np.array(
        [
            y is not None and bool(y[i]) and _followed(history, c, partners.get(c, ()), today, end)
            for i, c in enumerate(ids)
        ]
    )
    return Origin(
        now=at,
        ids=ids,
        X=np.array([[seen.features[c][name] for name in churn.FEATURE_NAMES] for c in ids]).reshape(
            len(ids), len(churn.FEATURE_NAMES)
        ),
        y=y,
        followers=followers,
        arrays=seen.arrays,
        features=seen.features,
        departed=seen.departed,
    )


def _partners(seen: scores.Observation) -> dict[int, set[int]]:
    partners = {node: {lane.partner for lane in seen.arrays.lanes(node)} for node in seen.arrays.nodes}
    for customer_id, left in seen.departed.items():
        partners.setdefault(customer_id, set()).update(partner for partner, _influence, _role in left)
    return partners


def _followed(history: signals.History, customer_id: int, partners, start: int, end: int) -> bool:
    """Whether the account's first churn event in (start, end] came after a partner's, within FOLLOWER_DAYS."""
    own = [day for day in history.events.get(customer_id, ()) if start < day <= end]
    if not own:
        return False
    first = min(own)
    return any(
        first - FOLLOWER_DAYS <= day < first
        for partner in partners
        for day in history.events.get(partner, ())
    )


def predict(origin: Origin, model: ChurnModel, params: ScoringParams) -> np.ndarray:
    """The model's network risk (probability of churn within the horizon) of each of the origin's rows."""
    own = scores.predict_own(model, *scores.feature_matrix(model, origin.features), origin.departed)
    coupled, propagation = scores.network_risk(origin.arrays, own, model=model, params=params)
    return model.calibrate_network(np.array([propagation.risk[coupled.index[c]] for c in origin.ids]))


def fit(origins: Sequence[Origin], params: ScoringParams) -> ChurnModel:
    """Fit the own-evidence model on the labelled origins (calibrated on the latest), then its coupling,
    then the calibration of the probabilities with partners in (on the latest origins again)."""
    labelled = [o for o in origins if o.y is not None]
    if not labelled:
        return scores.prior(params)
    X = np.vstack([o.X for o in labelled])
    y = np.concatenate([o.y for o in labelled])
    held = max(1, round(len(labelled) * CALIBRATION_SHARE))
    split = np.concatenate([np.full(len(o.ids), k >= len(labelled) - held) for k, o in enumerate(labelled)])
    model = churn.fit(
        X, y, horizon_days=params.horizon_days, min_events=params.min_churn_events, calibration_split=split
    )
    if not 0 < y.sum() < len(y):
        return model  # one outcome only: nothing to weigh the network against
    upper = 1.0 / max(params.alpha_down, params.alpha_up, 1e-9)

    def raw(coupling: float) -> np.ndarray:
        coupled = dataclasses.replace(model, coupling=coupling)
        return np.concatenate([predict(o, coupled, params) for o in labelled])

    def risks(coupling: float) -> np.ndarray:
        # each coupling judged calibrated: propagation adds to risks already at the base rate
        z = churn.logit(raw(coupling))
        a, b = churn.platt(z, y)
        return churn.sigmoid(a + b * z)

    coupling = churn.fit_coupling(risks, y, upper=upper)
    p = raw(coupling)
    calibrated_on = split if 0 < y[split].sum() < split.sum() else np.ones(len(y), dtype=bool)
    calibration = churn.platt(churn.logit(p[calibrated_on]), y[calibrated_on])
    return dataclasses.replace(model, coupling=coupling, network_calibration=calibration)


def backtest(
    origins: Sequence[Origin], params: ScoringParams
) -> tuple[Evaluation | None, list[dict], Evaluation | None]:
    """Refit on the origins whose labels were known at each later origin and judge it there; return the
    pooled evaluation, one per test origin, and the evaluation on contagion followers against the rest."""
    labelled = [o for o in origins if o.y is not None]
    predictions, outcomes, followers, per_origin = [], [], [], []
    for k, test in enumerate(labelled):
        known = [o for o in labelled[:k] if o.now + dt.timedelta(days=params.horizon_days) <= test.now]
        if len(known) < MIN_TRAINING_ORIGINS or not len(test.ids):
            continue
        model = fit(known, params)
        p = predict(test, model, params)
        base_rate = float(np.concatenate([o.y for o in known]).mean())
        evaluation = churn.evaluate(p, test.y, base_rate=base_rate)
        per_origin.append(
            {"origin": test.now.date().isoformat(), "method": model.method, **_plain(evaluation)}
        )
        predictions.append(p)
        outcomes.append(test.y)
        followers.append(test.followers)
    if not predictions:
        return None, [], None
    p, y, f = np.concatenate(predictions), np.concatenate(outcomes), np.concatenate(followers)
    pooled = churn.evaluate(p, y)
    # AUC of contagion: the followers among the churners against those who stayed
    keep = f | (y == 0)
    return pooled, per_origin, churn.evaluate(p[keep], f[keep].astype(float)) if f.any() else None


def fit_and_test(session: Session, params: ScoringParams, *, now: dt.datetime | None = None) -> Fitted:
    """Replay the history up to `now`, fit the model and back-test it."""
    now = now or utcnow()
    history = signals.history(session, params, now=now)
    dates = origin_dates(params, now=now, history=history)
    origins = replay(session, params, dates=dates, history=history)
    pooled, per_origin, followers = backtest(origins, params)
    return Fitted(fit(origins, params), dates, pooled, per_origin, followers)


# Storage ------------------------------------------------------------------------------------------------


def store(session: Session, *, fitted: Fitted, params: ScoringParams, activate: bool) -> ChurnModelRecord:
    """Keep a fitted model as the next version; make it the active one if asked."""
    model = fitted.model
    version = (session.scalar(select(func.max(ChurnModelRecord.version))) or 0) + 1
    record = ChurnModelRecord(
        **{name: list(value) if isinstance(value, tuple) else value for name, value in _fields(model)},
        version=version,
        inactive_days=params.churn_inactive_days,
        window_start=fitted.origins[0].date() if fitted.origins else None,
        window_end=fitted.origins[-1].date() if fitted.origins else None,
        origins=len(fitted.origins),
        metrics={
            "backtest": _plain(fitted.pooled) if fitted.pooled else None,
            "followers": _plain(fitted.followers) if fitted.followers else None,
        },
        backtest=fitted.per_origin,
        config_hash=params.config_hash(),
    )
    session.add(record)
    session.flush()
    if activate:
        make_active(session, version=version)
    return record


def make_active(session: Session, *, version: int) -> ChurnModelRecord:
    """Make one stored model the one health runs and answers use."""
    record = get(session, version=version)
    session.execute(update(ChurnModelRecord).values(active=ChurnModelRecord.version == version))
    session.flush()
    session.refresh(record)
    return record


def get(session: Session, *, version: int) -> ChurnModelRecord:
    """Return a stored model by version, or raise NotFound."""
    record = session.scalar(select(ChurnModelRecord).where(ChurnModelRecord.version == version))
    if record is None:
        raise NotFound(f"churn model {version} not found")
    return record


def get_active(session: Session) -> ChurnModelRecord | None:
    """Return the active stored model, if any."""
    return session.scalar(select(ChurnModelRecord).where(ChurnModelRecord.active.is_(True)))


def list_statement() -> Select:
    """Select the stored models, newest first."""
    return select(ChurnModelRecord).order_by(ChurnModelRecord.version.desc())


def unusable(params: ScoringParams, *, horizon_days: int, inactive_days: int, features) -> str | None:
    """Why a stored model cannot score under `params`, in words; None when it can. A model fitted for
    another target (horizon or inactivity) does not answer this one's question, and one fitted on a
    feature this version does not compute would read that feature as 0, nothing to worry about."""
    if (horizon_days, inactive_days) != (params.horizon_days, params.churn_inactive_days):
        return f"it was fitted for another target ({horizon_days}-day horizon, {inactive_days} days inactive)"
    unknown = sorted(set(features) - set(churn.FEATURE_NAMES))
    if unknown:
        return f"it was fitted on features this version does not compute ({', '.join(unknown)})"
    return None


def active(session: Session, params: ScoringParams) -> tuple[ChurnModel, int | None]:
    """The model scores use: the active stored one, else (none, or `unusable`) the prior at the configured
    base rate.

    It reads the active model's key columns, and its coefficients only when this process has not read
    that stored model yet (a stored model never changes; a new fit is a new row).
    """
    model, version, _passed_over = _in_force(session, params)
    return model, version


# what tells the active stored model apart and whether it can score (`unusable`)
_ACTIVE_KEY = (
    ChurnModelRecord.id,
    ChurnModelRecord.created_at,
    ChurnModelRecord.version,
    ChurnModelRecord.horizon_days,
    ChurnModelRecord.inactive_days,
    ChurnModelRecord.features,
)


def _in_force(session: Session, params: ScoringParams) -> tuple[ChurnModel, int | None, str | None]:
    """`active`'s model and version, and why the active stored model is passed over (None: it is used, or
    none is active)."""
    found = session.execute(select(*_ACTIVE_KEY).where(ChurnModelRecord.active.is_(True))).first()
    return _keyed(session, params, None if found is None else tuple(found))


def _keyed(
    session: Session, params: ScoringParams, key: tuple | None
) -> tuple[ChurnModel, int | None, str | None]:
    """`_in_force` for the active model's `_ACTIVE_KEY` values as read (None: none is active)."""
    if key is None:
        return scores.prior(params), None, None
    model_id, created_at, version, horizon_days, inactive_days, features = key
    why = unusable(params, horizon_days=horizon_days, inactive_days=inactive_days, features=features)
    if why is not None:
        return scores.prior(params), None, why
    url, identity = str(session.get_bind().url), (model_id, created_at)
    with _lock:
        held = _held.get(url)
    if held is None or held[0] != identity:
        held = identity, as_model(session.get(ChurnModelRecord, model_id))
        with _lock:
            _held[url] = held
    return held[1], version, None


# database URL -> (the stored model read last, as (id, created_at), and it as the pure core's model)
_held: dict[str, tuple[tuple[int, dt.datetime], ChurnModel]] = {}
_lock = threading.Lock()


def current_scores(
    session: Session, params: ScoringParams, *, max_age_s: float, in_request: bool = False
) -> scores.PortfolioScores:
    """The published scores under the model in force (held.current): what the API, the web pages and
    the health checks read.

    Every scored read asks this: the latest publication's head and the active model's key columns are
    one statement (a second reads the active model when nothing is published).
    """
    active_key = [
        select(column).where(ChurnModelRecord.active.is_(True)).limit(1).scalar_subquery()
        for column in _ACTIVE_KEY
    ]
    latest = published.head(session, config_hash=params.config_hash(), alongside=active_key)
    if latest is None:
        model, version, _passed_over = _in_force(session, params)
    else:
        found = None if latest.alongside[0] is None else latest.alongside
        model, version, _passed_over = _keyed(session, params, found)
    return held_scores.current(
        session,
        params,
        latest,
        model=model,
        model_version=version,
        max_age_s=max_age_s,
        in_request=in_request,
    )


def as_model(record: ChurnModelRecord) -> ChurnModel:
    """Return the stored model as the pure core's ChurnModel."""
    return ChurnModel(
        **{name: tuple(value) if isinstance(value, list) else value for name, value in _fields(record)}
    )


def _fields(source) -> list[tuple[str, object]]:
    """The ChurnModel fields' values as `source` (a model or its stored row) holds them."""
    return [(f.name, getattr(source, f.name)) for f in dataclasses.fields(ChurnModel)]


def _plain(evaluation: Evaluation) -> dict:
    return dataclasses.asdict(evaluation)


# The model card ---------------------------------------------------------------------------------------


def target(params: ScoringParams) -> str:
    """The event every risk figure is the probability of, in words."""
    return (
        f"the customer leaves within {params.horizon_days} days: its status is set to churned, or, for a "
        f"shipper, it sends no shipment for {params.churn_inactive_days} days"
    )


def card(session: Session, params: ScoringParams) -> dict:
    """Describe the model health runs and answers use: target, horizon, data window, evidence, the weight
    of each feature in plain words, and how it fared in its back-test."""
    record = get_active(session)
    model, version, passed_over = _in_force(session, params)
    weights = model.weights()
    events = record.events if record is not None and version is not None else 0
    if model.method == churn.PRIOR:
        if version is not None:
            found = f"({events} found)"
        elif record is None:
            found = "(no model fitted yet: `logicrm model fit`)"
        else:
            found = (
                f"(the active model {record.version} is not used: {passed_over}; "
                "`logicrm model fit` fits one that is)"
            )
        note = (
            f"cold-start prior: hand-set weights at a base rate of {params.prior_base_rate:.0%}; "
            f"learning needs at least {params.min_churn_events} churn events in the history {found}"
        )
    else:
        note = (
            f"learnt from {events} churn events in {record.samples} account-months of the provider's history"
        )
    stored = record if version is not None else None
    return {
        "version": version,
        "method": model.method,
        "note": note,
        "target": target(params),
        "horizon_days": model.horizon_days,
        "inactive_days": params.churn_inactive_days,
        "created_at": stored.created_at if stored else None,
        "window_start": stored.window_start if stored else None,
        "window_end": stored.window_end if stored else None,
        "origins": stored.origins if stored else 0,
        "events": events,
        "samples": stored.samples if stored else 0,
        "coupling": model.coupling,
        "features": [
            {
                "name": name,
                "means": churn.LABELS[name],
                "weight": weights[name],
                "step": step,
                "odds_ratio": math.exp(max(min(weights[name] * step, 50.0), -50.0)),
                "effect": _effect(weights[name] * step, step),
            }
            for name, step in zip(model.features, model.scales, strict=True)
        ],
        "metrics": stored.metrics if stored else {"backtest": None, "followers": None},
        "config_hash": stored.config_hash if stored else params.config_hash(),
    }


def _effect(log_odds: float, step: float) -> str:
    """The effect of one step of a feature (a standard deviation of the training data; a unit for the
    prior) in words: a person reads "×1.8 per 0.03", not a weight per a unit nobody ever sees."""
    if abs(log_odds) < 0.05:
        return "no effect"
    direction = "raises" if log_odds > 0 else "lowers"
    return f"{direction} the odds of leaving ×{math.exp(min(abs(log_odds), 50.0)):.2f} per {step:.2g}"


def backtest_report(session: Session) -> dict:
    """The active model's back-test: metrics pooled over the test origins, and per origin (empty, with a
    note saying so, while no model is fitted)."""
    record = get_active(session)
    if record is None:
        return {
            "version": None,
            "horizon_days": None,
            "note": "no churn model has been fitted yet (`logicrm model fit`): nothing was back-tested",
            "pooled": None,
            "followers": None,
            "origins": [],
        }
    return {
        "version": record.version,
        "horizon_days": record.horizon_days,
        "note": f"model {record.version} refitted at each of {len(record.backtest)} origins on the earlier "
        "origins whose outcomes were known then, and judged there",
        "pooled": record.metrics.get("backtest"),
        "followers": record.metrics.get("followers"),
        # stored as JSON: the origin's date comes back as its ISO text
        "origins": [{**row, "origin": dt.date.fromisoformat(row["origin"])} for row in record.backtest],
    }
