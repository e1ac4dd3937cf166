"""Benchmark the churn model against synthetic worlds whose truth is known (issue 12).

Per world (contagion none / weak / strong × two true driver weightings, tests.worlds): the history is
exported as CSV and loaded into a fresh SQLite database by `logicrm db upgrade` and `logicrm import`.
Then, at each scoring moment t (the latest one horizon days before the world's today, so outcomes are
known, and monthly before it), the model is fitted point in time on the history known at t (the
monthly origins replayed by scoring.model, exactly what `logicrm model fit` does at t, without leaking
outcomes after t) and every live account is scored at t by scoring.compute, the health run's scoring.
The scores are judged against the world's truth at t: the realised outcome within the horizon and
the oracle, P(churn within the horizon | the full latent state at t).

Figures, pooled over the scoring moments, on the accounts both sides hold at risk:
  AUC of network risk and its distance to the oracle's; contagion AUC (accounts that churned only
  after a partner did, against those who stayed) of network risk, own risk and the oracle; Brier skill
  against the base rate the provider knew at t (of its own history); reliability in a few bins; the
  share of accounts at or above risk_high and the share risk_high alerts (its capacity per manager).
  The records' ceiling (tests.worlds.ceiling): a learner of its own on the raw records, fitted at the
  same origins and judged on the same rows, splits the gap to the oracle into what the records cannot
  tell (oracle − records) and what the model leaves of what they can (records − model).

Usage: .venv/bin/python scripts/bench_model.py --accounts 300 --years 2.5 --moments 3
  --keep DIR keeps each loaded world's database under DIR and reuses it on later runs (loading is what
  costs; two versions of the code can then be compared on the very same data); --today fixes the worlds'
  last day, so that a later run generates the same worlds.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import itertools
import math
import platform
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from logicrm import create_app
from logicrm.cli import register_commands
from logicrm.customers import service as customers
from logicrm.errors import NotFound
from logicrm.health.rule_params import RuleParams
from logicrm.network import churn
from logicrm.scoring import model as churn_models
from logicrm.scoring import scores, signals
from logicrm.users import service as users
from logicrm.users.models import UserRole

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the worlds live in the test suite
from tests.worlds import ceiling as records_ceiling
from tests.worlds import export_csv, generate, metrics, truth_at, world_config

WORLDS = tuple(
    (contagion, drivers) for drivers in ("balanced", "behaviour") for contagion in ("none", "weak", "strong")
)
BINS = (0.0, 0.1, 0.2, 0.3, 0.5, 1.0)
TARGET_AUC_GAP = 0.03
ADMIN_EMAIL = "bench@bench.example"


@dataclass
class Scored:
    """The pooled rows of one world: outcome, truth and the model's figures per account and moment."""

    label: np.ndarray
    oracle: np.ndarray
    contagion_only: np.ndarray
    own: np.ndarray
    network: np.ndarray
    features: np.ndarray  # the model's inputs, one column per churn.FEATURE_NAMES
    known_rate: np.ndarray  # the base rate of the history known at the row's moment
    alerted: np.ndarray
    records: np.ndarray  # the records' ceiling: a flexible learner on the raw records (tests.worlds.ceiling)
    records_learners: list[str]
    records_importance: list[dict[str, float]]  # per moment: AUC lost when a kind of evidence is shuffled
    methods: list[str]
    couplings: list[float]
    unmatched: int  # accounts at risk in the truth the model did not score (or the reverse)


def load(world, directory: Path):
    """A SQLite database holding the world's history, loaded through the CLI; return the app.

    A database already loaded in `directory` (by an earlier run with --keep) is reused: loading is
    what costs, and features can then be compared on the very same data."""
    database = directory / "bench.db"
    app = create_app({"database_url": f"sqlite:///{database}"})
    register_commands(app)
    runner = app.test_cli_runner()
    if database.exists() and (directory / "loaded").exists():
        return app
    database.unlink(missing_ok=True)
    paths = export_csv(world, directory / "csv")
    for args in (["db", "upgrade"], *(["import", kind, str(path)] for kind, path in paths.items())):
        result = runner.invoke(args=args)
        if result.exit_code != 0:
            raise SystemExit(f"`logicrm {' '.join(args)}` failed: {result.output}")
    (directory / "loaded").touch()
    return app


def moments(world, *, horizon: int, count: int) -> list[dt.datetime]:
    """The scoring moments: the end of the day `horizon` days before today, and monthly before it
    (on the model's 30-day origin grid, so every moment's training origins are replayed once)."""
    last = world.config.today - dt.timedelta(days=horizon)
    return [
        dt.datetime.combine(
            last - dt.timedelta(days=churn_models.ORIGIN_STEP_DAYS * k), dt.time(23, 59, 59), dt.UTC
        )
        for k in reversed(range(count))
    ]


def score_world(world, app, *, horizon: int, count: int, runs: int) -> Scored:
    params = app.config["LOGICRM_SCORING"]
    rules: RuleParams = app.config["LOGICRM_RULES"]
    database = app.extensions["logicrm.db"]
    at = moments(world, horizon=horizon, count=count)
    rows = defaultdict(list)
    methods, couplings, unmatched = [], [], 0
    learners, importances = [], []
    records = records_ceiling.Records(world)
    with database.session_scope() as session:
        admin = _admin(session)
        ids = {c.external_ref: c.id for c in session.scalars(customers.list_statement(user=admin))}
        # one replay serves every moment: an origin's features and labels are point in time
        history = signals.history(session, params, now=at[-1])
        dates = sorted({d for now in at for d in churn_models.origin_dates(params, now=now, history=history)})
        replayed = churn_models.replay(session, params, dates=dates, history=history)
        # the records' ceiling learns at the model's origins, from the truth's rows there
        training = records_ceiling.rows(records, [world.day(d.date()) for d in dates], horizon)
        for now in at:
            known = [o for o in replayed if o.now + dt.timedelta(days=horizon) <= now]
            model = churn_models.fit(known, params)
            methods.append(model.method)
            couplings.append(model.coupling)
            scored = scores.compute(session, params, model=model, now=now)
            truth = truth_at(world, now.date(), horizon, runs=runs)
            at_risk = {ids[ref]: k for k, ref in enumerate(truth.ref) if ref in ids}
            both = [c for c in at_risk if c in scored.accounts]
            unmatched += len(truth.ref) - len(both)
            alerted = _alerted(scored, rules)
            picks = [at_risk[c] for c in both]
            rows["label"].append(truth.label[picks])
            rows["oracle"].append(truth.oracle[picks])
            rows["contagion_only"].append(truth.contagion_only[picks])
            rows["own"].append(np.array([scored.accounts[c].own.risk for c in both]))
            rows["network"].append(np.array([scored.accounts[c].network_risk for c in both]))
            rows["features"].append(
                np.array(
                    [[scored.accounts[c].features[f] for f in churn.FEATURE_NAMES] for c in both]
                ).reshape(len(both), len(churn.FEATURE_NAMES))
            )
            known_y = np.concatenate([o.y for o in known]) if known else np.array([params.prior_base_rate])
            rows["known_rate"].append(np.full(len(both), known_y.mean()))
            rows["alerted"].append(np.array([c in alerted for c in both]))
            day = world.day(now.date())
            judged = records.features(day)[0][truth.account[picks]]
            ceiling = records_ceiling.ceiling(training.labelled_by(day, horizon), judged, truth.label[picks])
            rows["records"].append(ceiling.p)
            learners.append(ceiling.learner)
            importances.append(ceiling.importance)
    pooled = {name: np.concatenate(parts) for name, parts in rows.items()}
    return Scored(
        **pooled,
        records_learners=learners,
        records_importance=importances,
        methods=methods,
        couplings=couplings,
        unmatched=unmatched,
    )


def _admin(session):
    """The benchmark's admin user (created on the first run over a database)."""
    try:
        return users.get_by_email(session, email=ADMIN_EMAIL)
    except NotFound:
        return users.create(session, name="Bench", email=ADMIN_EMAIL, role=UserRole.ADMIN)


def _alerted(scored: scores.PortfolioScores, rules: RuleParams) -> set[int]:
    """The accounts risk_high fires for: at or above its threshold, within each manager's capacity."""
    books = defaultdict(list)
    for account in scored.accounts.values():
        books[account.owner_id].append(account)
    alerted = set()
    for book in books.values():
        book.sort(key=lambda a: (-a.network_risk, a.customer_id))
        room = max(1, math.floor(rules.risk_high_capacity * len(book)))
        alerted.update(a.customer_id for a in book[:room] if a.network_risk >= rules.risk_high)
    return alerted


def figures(s: Scored, rules: RuleParams) -> dict[str, float | str]:
    y = s.label
    result = {
        "rows": len(y),
        "events": int(y.sum()),
        "followers": int(s.contagion_only.sum()),
        "auc": metrics.auc(s.network, y),
        "oracle_auc": metrics.auc(s.oracle, y),
        "own_auc": metrics.auc(s.own, y),
        "records_auc": metrics.auc(s.records, y),
        "contagion_auc": _subset(s.network, y, s.contagion_only),
        "contagion_own_auc": _subset(s.own, y, s.contagion_only),
        "contagion_oracle_auc": _subset(s.oracle, y, s.contagion_only),
        "brier_skill": _skill(s.network, y, s.known_rate),
        "oracle_brier_skill": _skill(s.oracle, y, s.known_rate),
        "own_brier_skill": _skill(s.own, y, s.known_rate),
        "records_brier_skill": _skill(s.records, y, s.known_rate),
        "records_learner": "/".join(sorted(set(s.records_learners))),
        "records_evidence": _evidence(s.records_importance),
        "top_decile": metrics.top_capture(s.network, y),
        "oracle_top_decile": metrics.top_capture(s.oracle, y),
        "mean_p": float(s.network.mean()),
        "base_rate": float(y.mean()),
        "above_threshold": float(np.mean(s.network >= rules.risk_high)),
        "alerted": float(s.alerted.mean()),
        "reliability": _reliability(s.network, y),
        "methods": "/".join(sorted(set(s.methods))),
        "coupling": float(np.mean(s.couplings)),
        "unmatched": s.unmatched,
    }
    result["auc_gap"] = result["oracle_auc"] - result["auc"]
    # the gap splits into what the records cannot tell and what the model leaves of what they can
    result["unreadable_gap"] = result["oracle_auc"] - result["records_auc"]
    result["model_gap"] = result["records_auc"] - result["auc"]
    result["best_signal"], result["best_signal_auc"] = _best_signal(s.features, y)
    return result


def _best_signal(features: np.ndarray, y: np.ndarray) -> tuple[str, float]:
    """The model's single input that ranks the leavers best on its own (each is 'higher = worse')."""
    aucs = {
        name: metrics.auc(features[:, k], y)
        for k, name in enumerate(churn.FEATURE_NAMES)
        if np.ptp(features[:, k]) > 0
    }
    best = max(aucs, key=aucs.get)
    return best, aucs[best]


def _evidence(importances: list[dict[str, float]]) -> str:
    """The kinds of evidence the records' ceiling leans on: the AUC each loses when shuffled, averaged
    over the moments, largest first."""
    kinds = sorted({kind for importance in importances for kind in importance})
    mean = {kind: float(np.mean([importance.get(kind, 0.0) for importance in importances])) for kind in kinds}
    return ", ".join(f"{kind} {loss:+.3f}" for kind, loss in sorted(mean.items(), key=lambda item: -item[1]))


def _subset(p, y, followers) -> float:
    return metrics.subset_auc(p, y, followers) if followers.any() else float("nan")


def _skill(p, y, known_rate) -> float:
    """1 − Brier / Brier of saying the base rate the provider knew at each moment."""
    reference = float(np.mean((known_rate - y) ** 2))
    return 1.0 - float(np.mean((p - y) ** 2)) / reference


def _reliability(p, y) -> str:
    which = np.clip(np.searchsorted(BINS, p, side="right") - 1, 0, len(BINS) - 2)
    cells = []
    for k in range(len(BINS) - 1):
        inside = which == k
        if inside.any():
            cells.append(f"{p[inside].mean():.2f}→{y[inside].mean():.2f} ({inside.sum()})")
    return "; ".join(cells)


COLUMNS = (
    ("world", "{}"),
    ("rows", "{:,}"),
    ("events", "{:,}"),
    ("followers", "{}"),
    ("methods", "{}"),
    ("coupling", "{:.2f}"),
    ("auc", "{:.3f}"),
    ("oracle_auc", "{:.3f}"),
    ("auc_gap", "{:+.3f}"),
    ("records_auc", "{:.3f}"),
    ("unreadable_gap", "{:+.3f}"),
    ("model_gap", "{:+.3f}"),
    ("records_learner", "{}"),
    ("own_auc", "{:.3f}"),
    ("best_signal", "{}"),
    ("best_signal_auc", "{:.3f}"),
    ("contagion_auc", "{:.3f}"),
    ("contagion_own_auc", "{:.3f}"),
    ("contagion_oracle_auc", "{:.3f}"),
    ("brier_skill", "{:.3f}"),
    ("own_brier_skill", "{:.3f}"),
    ("records_brier_skill", "{:.3f}"),
    ("oracle_brier_skill", "{:.3f}"),
    ("top_decile", "{:.3f}"),
    ("oracle_top_decile", "{:.3f}"),
    ("base_rate", "{:.3f}"),
    ("mean_p", "{:.3f}"),
    ("above_threshold", "{:.1%}"),
    ("alerted", "{:.1%}"),
)


def table(results: list[dict]) -> str:
    lines = ["| " + " | ".join(name for name, _ in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in results:
        lines.append("| " + " | ".join(fmt.format(row[name]) for name, fmt in COLUMNS) + " |")
    lines += ["", "Reliability of network risk (mean predicted → observed (rows), bins " + _bins() + "):", ""]
    lines += [f"- {row['world']}: {row['reliability']}" for row in results]
    lines += [
        "",
        "The records' ceiling: AUC lost when one kind of evidence is shuffled on the judged rows:",
        "",
    ]
    lines += [f"- {row['world']}: {row['records_evidence']}" for row in results]
    return "\n".join(lines)


def _bins() -> str:
    return ", ".join(f"[{low:.1f}, {high:.1f})" for low, high in itertools.pairwise(BINS))


def targets(results: list[dict]) -> list[str]:
    """Which of the issue's targets each world meets."""
    lines = []
    for row in results:
        contagion = not row["world"].startswith("none")
        checks = {
            "Brier skill > 0": row["brier_skill"] > 0,
            f"AUC within {TARGET_AUC_GAP} of oracle": row["auc_gap"] <= TARGET_AUC_GAP,
            "risk_high ≤ 10 %": row["alerted"] <= 0.10,
        }
        if contagion:
            checks["contagion AUC > own AUC on followers"] = row["contagion_auc"] > row["contagion_own_auc"]
        else:
            checks["network AUC ≥ own AUC"] = row["auc"] >= row["own_auc"] - 1e-9
        lines.append(
            f"- {row['world']}: "
            + ", ".join(f"{name} {'met' if ok else 'MISSED'}" for name, ok in checks.items())
        )
    return lines


@contextlib.contextmanager
def _folder(keep: Path | None, name: str):
    """The folder a world's database lives in: kept under `keep` for reuse, else a temporary one."""
    if keep is None:
        with tempfile.TemporaryDirectory() as directory:
            yield Path(directory)
    else:
        (keep / name).mkdir(parents=True, exist_ok=True)
        yield keep / name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=300)
    parser.add_argument("--years", type=float, default=2.5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--horizon", type=int, default=180, help="must equal the model's horizon_days")
    parser.add_argument("--moments", type=int, default=3, help="monthly scoring moments per world")
    parser.add_argument("--runs", type=int, default=1000, help="oracle Monte-Carlo runs per moment")
    parser.add_argument("--worlds", nargs="*", help="contagion:drivers pairs (default: all six)")
    parser.add_argument("--today", type=dt.date.fromisoformat, help="the worlds' last day (default: today)")
    parser.add_argument(
        "--keep", type=Path, help="keep each loaded database under this folder and reuse it on later runs"
    )
    args = parser.parse_args()
    worlds = [tuple(w.split(":")) for w in args.worlds] if args.worlds else WORLDS
    today = args.today or dt.datetime.now(dt.UTC).date()
    print(f"# machine: {platform.platform()}, Python {platform.python_version()}", flush=True)
    results = []
    for contagion, drivers in worlds:
        started = time.perf_counter()
        config = world_config(
            accounts=args.accounts,
            years=args.years,
            seed=args.seed,
            contagion=contagion,
            drivers=drivers,
            today=today,
        )
        world = generate(config)
        with _folder(
            args.keep, f"{contagion}-{drivers}-{args.accounts}-{args.years}-{args.seed}-{today}"
        ) as directory:
            app = load(world, directory)
            loaded = time.perf_counter() - started
            if app.config["LOGICRM_SCORING"].horizon_days != args.horizon:
                raise SystemExit("--horizon must equal the configured horizon_days")
            scored = score_world(world, app, horizon=args.horizon, count=args.moments, runs=args.runs)
            app.extensions["logicrm.db"].engine.dispose()
        row = {"world": f"{contagion}/{drivers}", **figures(scored, app.config["LOGICRM_RULES"])}
        results.append(row)
        print(
            f"# {row['world']}: loaded in {loaded:.0f} s, scored in {time.perf_counter() - started - loaded:.0f} s, "
            f"{row['unmatched']} accounts at risk unmatched",
            flush=True,
        )
    print()
    print(table(results))
    print()
    print("\n".join(targets(results)))


if __name__ == "__main__":
    main()
