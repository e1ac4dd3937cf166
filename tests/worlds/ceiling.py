"""The records' ceiling: how well a flexible learner ranks churn from the exported records alone.

The oracle knows the latent state; no model sees it. This learner sees what a perfect analyst could
compute from the CSV files `logicrm import` takes, as of each origin (records dated on or before it,
outcomes such as deliveries and ticket answers only once they happened), with no code shared with
LogiCRM's features: per account, shipments per direction (volume in several windows, its trend, against
the declared volume and against its partners' own trend; lateness, damage, in-full, claims), survey
answers per department (latest and windowed gaps, likelihood to recommend, the comment's tone, how
often they answer; deciding departments weighted by their decision weight), contacts, tickets by kind
with their answer and resolution times, the contract's end, the static attributes, and the partners:
lanes lost to a partner's churn (by their declared share) and partners winding down.

It is labelled by the truth's label (read from the records: the status set to churned, or a shipper's
churn gap, within the horizon) at training origins whose horizon ended by the judged moment, and
judged at that moment: the same split as the model's back-test.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from tests.worlds import metrics, names
from tests.worlds.generator import OPERATIONAL
from tests.worlds.truth import truth_at
from tests.worlds.world import NEVER, World

WINDOWS = (30, 90, 365)
TONE = {comment: tone for tone, comments in names.COMMENTS.items() for comment in comments if comment}
VALIDATION_ORIGINS = 4  # the latest training origins that choose between the learners


@dataclass
class Rows:
    """Accounts at risk at some origins, their features (one column per name) and labels."""

    account: np.ndarray
    origin: np.ndarray  # day of each row's origin
    x: np.ndarray
    y: np.ndarray
    names: list[str]

    def labelled_by(self, day: int, horizon: int) -> Rows:
        """The rows whose horizon ended by `day`: what a fit at that day may learn from."""
        known = self.origin + horizon <= day
        return Rows(self.account[known], self.origin[known], self.x[known], self.y[known], self.names)


@dataclass
class Ceiling:
    """The learner's probabilities for the rows judged, and what it was."""

    p: np.ndarray
    learner: str
    importance: dict[str, float]  # AUC lost on the judged rows when a group of features is shuffled


def group(name: str) -> str:
    """The evidence a feature comes from: its name's first part (`out_late_365` → `out`)."""
    return name.split("_", 1)[0]


class Records:
    """The world's exported records, arranged once for computing features at any origin."""

    def __init__(self, world: World):
        self.world = world
        accounts, lanes, shipments = world.accounts, world.lanes, world.shipments
        self.size = len(accounts)
        first = world.first_day
        kept = shipments.shipped >= first
        lane = shipments.lane[kept]
        self.lane = lane
        self.shipper, self.consignee = lanes.shipper[lane], lanes.consignee[lane]
        self.shipped = shipments.shipped[kept]
        self.delivered = np.nan_to_num(shipments.delivered[kept], nan=NEVER)
        self.late = (shipments.delivered[kept] > shipments.promised[kept]).astype(float)
        self.damaged = shipments.damaged[kept].astype(float)
        self.short = (~shipments.in_full[kept]).astype(float)
        self.claimed = (shipments.claim[kept] > 0).astype(float)

        surveys = [s for s in world.surveys if s["day"] >= first]
        self.s_account = np.array([s["account"] for s in surveys], dtype=int)
        self.s_department = np.array([s["department"] for s in surveys], dtype=int)
        self.s_day = np.array([s["day"] for s in surveys])
        self.s_ltr = np.array([s["ltr"] for s in surveys], dtype=float)
        self.s_tone = np.array([TONE.get(s["comment"], 0) for s in surveys], dtype=float)
        self.s_gap = np.array([_gap(s["scores"], None) for s in surveys])
        self.s_operational = np.array([_gap(s["scores"], True) for s in surveys])
        self.s_relational = np.array([_gap(s["scores"], False) for s in surveys])
        departments = world.departments
        self.s_weight = np.where(departments.deciding, departments.weight, 0.0)[self.s_department]
        self.departments = np.bincount(departments.account, minlength=self.size)
        self.deciding = np.bincount(departments.account, weights=departments.deciding, minlength=self.size)

        contacts = [i for i in world.interactions if i["day"] >= first]
        self.i_account = np.array([i["account"] for i in contacts], dtype=int)
        self.i_day = np.array([i["day"] for i in contacts])

        tickets = [t for t in world.tickets if t["opened"] >= first]
        self.t_account = np.array([t["account"] for t in tickets], dtype=int)
        self.t_kind = np.array([t["kind"] for t in tickets])
        self.t_opened = np.array([t["opened"] for t in tickets])
        self.t_response = np.array([t["first_response"] for t in tickets])
        self.t_resolved = np.array([t["resolved"] for t in tickets])

        self.codes = {
            field: np.unique(np.array(getattr(accounts, field)), return_inverse=True)[1].astype(float)
            for field in ("tier", "channel", "industry", "region")
        }

    def features(self, t: int) -> tuple[np.ndarray, list[str]]:
        """Every account's features as of the end of day t: (accounts, features), and their names."""
        world, size = self.world, self.size
        accounts, lanes = world.accounts, world.lanes
        columns: dict[str, np.ndarray] = {}
        seen = self.shipped < t + 1
        delivered = self.delivered < t + 1
        lane_alive = (lanes.start <= t) & (lanes.end > t)
        trends = {}
        for direction, owner in (("out", self.shipper), ("in", self.consignee)):
            counts = {w: _count(owner, self.shipped, t, w, size) for w in WINDOWS}
            for w in WINDOWS:
                columns[f"{direction}_log_n_{w}"] = np.log1p(counts[w])
            base = counts[365] - counts[90]
            for w in (30, 90):
                columns[f"{direction}_trend_{w}"] = np.log((counts[w] + 0.5) / w) - np.log(
                    (counts[365] - counts[w] + 0.5) / (365 - w)
                )
            trends[direction] = columns[f"{direction}_trend_30"]
            last = np.full(size, -np.inf)
            np.maximum.at(last, owner[seen], self.shipped[seen])
            columns[f"{direction}_since_last"] = np.minimum(t + 1 - last, 400.0)
            ends = lanes.shipper if direction == "out" else lanes.consignee
            declared = np.bincount(ends[lane_alive], weights=lanes.base_rate[lane_alive], minlength=size)
            columns[f"{direction}_lanes"] = np.bincount(ends[lane_alive], minlength=size).astype(float)
            columns[f"{direction}_vs_declared"] = np.log((counts[90] + 0.5) / (3 * declared + 0.5))
            half = _count(owner, self.shipped, t, 180, size)
            columns[f"{direction}_vs_declared_180"] = np.log((half + 0.5) / (180 / 30.44 * declared + 0.5))
            for w in (30, 60):  # the latest weeks against the year before them, in Poisson standard errors
                recent = _count(owner, self.shipped, t, w, size)
                expected = (counts[365] - recent) / (365 - w) * w
                columns[f"{direction}_z_{w}"] = (recent - expected) / np.sqrt(expected + 1)
            columns[f"{direction}_base_vs_declared"] = np.log((base / 275 * 30.44 + 0.5) / (declared + 0.5))
            for w in (90, 365):
                window = delivered & (self.delivered >= t + 1 - w)
                n = np.bincount(owner[window], minlength=size)
                for name, values in (("late", self.late), ("damaged", self.damaged), ("short", self.short),
                                     ("claims", self.claimed)):  # fmt: skip
                    hits = np.bincount(owner[window], weights=values[window], minlength=size)
                    prior = values[delivered].mean() if delivered.any() else 0.0  # shrinks rare shippers
                    columns[f"{direction}_{name}_{w}"] = (hits + 0.5 * prior) / (n + 0.5)
        # Each lane's own trend against its partner's: a leaving account's lanes all fade, while its
        # partners' other lanes do not.
        recent = _count(self.lane, self.shipped, t, 30, len(lanes))
        year = _count(self.lane, self.shipped, t, 365, len(lanes))
        lane_rate = np.log((recent + 0.5) / 30) - np.log((year - recent + 0.5) / 335)
        for direction, ends, partners, partner_trend in (
            ("out", lanes.shipper, lanes.consignee, trends["in"]),
            ("in", lanes.consignee, lanes.shipper, trends["out"]),
        ):
            alive = np.flatnonzero(lane_alive & (year > 0))
            weight = year[alive].astype(float)
            total = np.bincount(ends[alive], weights=weight, minlength=size)
            excess = np.bincount(
                ends[alive],
                weights=weight * (lane_rate[alive] - partner_trend[partners[alive]]),
                minlength=size,
            )
            columns[f"{direction}_vs_partners"] = np.where(total > 0, excess / np.maximum(total, 1), 0.0)
            partner = np.bincount(
                ends[alive], weights=weight * partner_trend[partners[alive]], minlength=size
            )
            columns[f"partners_{direction}_trend"] = np.where(total > 0, partner / np.maximum(total, 1), 0.0)
        # Partners lost to their churn, by the lost lanes' declared share of the account's lanes.
        churned = accounts.churned
        for direction, ends, partners in (
            ("out", lanes.shipper, lanes.consignee),
            ("in", lanes.consignee, lanes.shipper),
        ):
            declared = np.bincount(ends[lane_alive], weights=lanes.base_rate[lane_alive], minlength=size)
            for w in (90, 180):
                lost = (lanes.end <= t) & (lanes.end > t - w) & (churned[partners] == lanes.end)
                volume = np.bincount(ends[lost], weights=lanes.base_rate[lost], minlength=size)
                columns[f"partners_{direction}_lost_{w}"] = volume / (volume + declared + 1e-9)
        # Surveys: each department's latest answer, then windows; deciding departments by their weight.
        answered = np.flatnonzero(self.s_day < t + 1)
        latest = np.full(len(world.departments.name), -1)
        np.maximum.at(latest, self.s_department[answered], answered)
        has = latest >= 0
        pick = latest[has]
        weight = self.s_weight[pick]
        owner = self.s_account[pick]
        total = np.bincount(owner, weights=weight, minlength=size)
        for name, values in (("gap", self.s_gap), ("operational", self.s_operational),
                             ("relational", self.s_relational), ("ltr", self.s_ltr), ("tone", self.s_tone)):  # fmt: skip
            summed = np.bincount(owner, weights=weight * values[pick], minlength=size)
            columns[f"survey_latest_{name}"] = np.where(total > 0, summed / np.maximum(total, 1e-9), np.nan)
        worst = np.full(size, np.inf)
        deciding = weight > 0
        np.minimum.at(worst, owner[deciding], self.s_gap[pick][deciding])
        columns["survey_worst_deciding_gap"] = np.where(np.isinf(worst), np.nan, worst)
        age = np.full(size, np.inf)
        np.minimum.at(age, owner, t + 1 - self.s_day[pick])
        columns["survey_age"] = np.minimum(age, 800.0)
        # Every answer so far, the deciding departments' by their weight, halving in weight each year.
        decay = self.s_weight[answered] * 0.5 ** ((t + 1 - self.s_day[answered]) / 365)
        total = np.bincount(self.s_account[answered], weights=decay, minlength=size)
        for name, values in (("gap", self.s_gap), ("operational", self.s_operational), ("ltr", self.s_ltr),
                             ("tone", self.s_tone)):  # fmt: skip
            summed = np.bincount(self.s_account[answered], weights=decay * values[answered], minlength=size)
            columns[f"survey_decayed_{name}"] = np.where(total > 0, summed / np.maximum(total, 1e-9), np.nan)
        for w in (180, 365):
            window = answered[self.s_day[answered] >= t + 1 - w]
            owners = self.s_account[window]
            n = np.bincount(owners, minlength=size)
            columns[f"survey_answers_{w}"] = n / np.maximum(self.departments, 1)
            weights = self.s_weight[window]
            total = np.bincount(owners, weights=weights, minlength=size)
            for name, values in (("gap", self.s_gap), ("ltr", self.s_ltr), ("tone", self.s_tone)):
                summed = np.bincount(owners, weights=weights * values[window], minlength=size)
                columns[f"survey_{name}_{w}"] = np.where(total > 0, summed / np.maximum(total, 1e-9), np.nan)
        # Contacts: how often, against their own past, and how long since the last.
        counts = {w: _count(self.i_account, self.i_day, t, w, size) for w in (90, 180, 365)}
        for w, n in counts.items():
            columns[f"contacts_log_n_{w}"] = np.log1p(n)
        columns["contacts_trend_90"] = np.log((counts[90] + 0.5) / 90) - np.log(
            (counts[365] - counts[90] + 0.5) / 275
        )
        last = np.full(size, -np.inf)
        before = self.i_day < t + 1
        np.maximum.at(last, self.i_account[before], self.i_day[before])
        columns["contacts_since_last"] = np.minimum(t + 1 - last, 800.0)
        # Against the accounts of the same tier (whose contact cadence differs), alive at t.
        alive = (accounts.born <= t) & (accounts.churned > t)
        tier = self.codes["tier"].astype(int)
        for name in ("contacts_log_n_180", "contacts_log_n_365", "survey_answers_365"):
            means = np.bincount(tier[alive], weights=columns[name][alive]) / np.maximum(
                np.bincount(tier[alive]), 1
            )
            columns[f"{name}_vs_tier"] = columns[name] - means[tier]
        # Tickets by kind, and how fast they were answered and resolved.
        for kind in ("complaint", "claim", "request"):
            mine = self.t_kind == kind
            for w in (90, 365):
                columns[f"tickets_{kind}_{w}"] = _count(self.t_account[mine], self.t_opened[mine], t, w, size)
        for name, done in (("response", self.t_response), ("resolution", self.t_resolved)):
            window = (done < t + 1) & (self.t_opened >= t + 1 - 365)
            n = np.bincount(self.t_account[window], minlength=size)
            hours = np.bincount(
                self.t_account[window], weights=np.log(done[window] - self.t_opened[window]), minlength=size
            )
            columns[f"tickets_{name}_log_days"] = np.where(n > 0, hours / np.maximum(n, 1), np.nan)
        # The account itself and its contract.
        for field, codes in self.codes.items():
            columns[f"static_{field}"] = codes
        columns["static_shipper"] = accounts.is_shipper.astype(float)
        columns["static_consignee"] = accounts.is_consignee.astype(float)
        columns["static_tenure"] = np.minimum(t - accounts.acquired, 5000).astype(float)
        columns["static_referred"] = (accounts.referred_by >= 0).astype(float)
        columns["static_log_value"] = np.log1p(np.where(accounts.is_shipper, accounts.annual_value, 0.0))
        columns["static_on_time_target"] = np.where(accounts.is_shipper, accounts.on_time_target, np.nan)
        columns["static_departments"] = self.departments.astype(float)
        columns["static_deciding"] = self.deciding
        term = accounts.contract_term
        contract = accounts.is_shipper & (term > 0)
        end = accounts.contract_start + term
        columns["contract_days_to_end"] = np.where(
            contract, (end - (t + 1)) % np.maximum(term, 1), np.nan
        ).astype(float)
        # The contract term's hazard acts within 90 days of an end, weighed by a weak relationship.
        soon = np.where(contract, columns["contract_days_to_end"] < 270, False)
        columns["contract_soon"] = soon.astype(float)
        columns["contract_soon_contacts"] = soon * columns["contacts_log_n_365_vs_tier"]
        names_ = list(columns)
        return np.column_stack([columns[name] for name in names_]), names_


def _gap(scores: dict, operational: bool | None) -> float:
    """Mean perception − expectation over a survey's dimensions (all, operational or the others)."""
    gaps = [
        perceived - expected
        for dimension, (expected, perceived, _) in scores.items()
        if operational is None or (dimension in OPERATIONAL) == operational
    ]
    return float(np.mean(gaps)) if gaps else np.nan


def _count(keys: np.ndarray, when: np.ndarray, t: int, width: int, size: int) -> np.ndarray:
    """Records per key dated within the `width` days ending with day t."""
    inside = (when >= t + 1 - width) & (when < t + 1)
    return np.bincount(keys[inside], minlength=size).astype(float)


def rows(records: Records, days, horizon: int) -> Rows:
    """The accounts at risk at each origin day, with their features and realised labels."""
    world = records.world
    parts = []
    for day in days:
        truth = truth_at(world, world.date(day), horizon, oracle=False)
        x, feature_names = records.features(day)
        parts.append((truth.account, np.full(len(truth.account), day), x[truth.account], truth.label))
    account, origin, x, y = (np.concatenate([p[k] for p in parts]) for k in range(4))
    return Rows(account=account, origin=origin, x=x, y=y, names=feature_names)


def _learners(names_: list[str]) -> dict:
    categorical = [
        name in ("static_tier", "static_channel", "static_industry", "static_region") for name in names_
    ]
    return {
        "boosting": lambda: HistGradientBoostingClassifier(
            learning_rate=0.03,
            max_iter=150,
            max_depth=3,
            min_samples_leaf=100,
            l2_regularization=1.0,
            categorical_features=np.array(categorical),
            early_stopping=False,
            random_state=0,
        ),
        "logistic": lambda: _Logistic(np.array(categorical)),
    }


class _Logistic:
    """An L2 logistic regression on standardised features, missing values at the mean with a flag,
    categories one-hot."""

    def __init__(self, categorical: np.ndarray):
        self.categorical = categorical

    def _design(self, x: np.ndarray) -> np.ndarray:
        numeric = x[:, ~self.categorical]
        missing = np.isnan(numeric)
        numeric = np.where(missing, self.mean, numeric)
        parts = [(numeric - self.mean) / self.scale, missing[:, self.flags].astype(float)]
        for k, levels in zip(np.flatnonzero(self.categorical), self.levels, strict=True):
            parts.append((x[:, k, None] == levels[None, :]).astype(float))
        return np.hstack(parts)

    def fit(self, x, y):
        numeric = x[:, ~self.categorical]
        self.mean = np.nanmean(numeric, axis=0)
        self.mean = np.where(np.isnan(self.mean), 0.0, self.mean)
        self.scale = np.nanstd(numeric, axis=0)
        self.scale = np.where((self.scale > 0) & ~np.isnan(self.scale), self.scale, 1.0)
        self.flags = np.isnan(numeric).any(axis=0)
        self.levels = [np.unique(x[:, k]) for k in np.flatnonzero(self.categorical)]
        self.model = LogisticRegression(C=0.05, max_iter=2000).fit(self._design(x), y)
        return self

    def predict_proba(self, x):
        return self.model.predict_proba(self._design(x))


def ceiling(train: Rows, test_x: np.ndarray, test_y: np.ndarray | None = None, *, seed: int = 0) -> Ceiling:
    """Fit the learners on the training rows, pick the one that ranks the latest training origins
    best when fitted on the earlier ones, refit it on all, and predict the judged rows. With their
    labels, also how much AUC each group of features carries (shuffled together, 3 times)."""
    learners = _learners(train.names)
    keep = ~np.isnan(train.y)
    x, y, origin = train.x[keep], train.y[keep], train.origin[keep]
    days = np.unique(origin)
    held = origin >= days[-min(VALIDATION_ORIGINS, len(days) // 2)]
    scores = {}
    for name, make in learners.items():
        fitted = make().fit(x[~held], y[~held])
        scores[name] = metrics.auc(fitted.predict_proba(x[held])[:, 1], y[held])
    learner = max(scores, key=scores.get)
    model = learners[learner]().fit(x, y)
    p = model.predict_proba(test_x)[:, 1]
    importance = {}
    if test_y is not None:
        rng = np.random.default_rng(seed)
        base = metrics.auc(p, test_y)
        for evidence in sorted({group(n) for n in train.names}):
            columns = [k for k, n in enumerate(train.names) if group(n) == evidence]
            losses = []
            for _ in range(3):
                shuffled = test_x.copy()
                shuffled[:, columns] = test_x[rng.permutation(len(test_x))][:, columns]
                losses.append(base - metrics.auc(model.predict_proba(shuffled)[:, 1], test_y))
            importance[evidence] = float(np.mean(losses))
    return Ceiling(p=p, learner=learner, importance=importance)
