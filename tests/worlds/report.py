"""Print what the standard worlds look like and how well the oracle does in each.

    .venv/bin/python -m tests.worlds.report --accounts 2000 --runs 1000

Per world (contagion none / weak / strong, and the driver presets with weak contagion): generation
time, counts, population over the history, base rates at 90/180/365 days, co-churn along lanes, and
the oracle's AUC, contagion-only AUC and Brier skill at the horizon, over monthly origins.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from tests.worlds import metrics
from tests.worlds.config import world_config
from tests.worlds.generator import generate
from tests.worlds.truth import co_churn, gap_only_events, oracle_probabilities, origins, truth_at
from tests.worlds.world import World

WORLDS = (
    ("none", "balanced"),
    ("weak", "balanced"),
    ("strong", "balanced"),
    ("weak", "satisfaction"),
    ("weak", "service"),
    ("weak", "behaviour"),
)


def describe(world: World, *, horizon: int = 180, runs: int = 1000, every: int = 1) -> dict[str, float]:
    """The figures of one world; the oracle is evaluated at every `every`-th monthly origin."""
    accounts = world.accounts
    figures: dict[str, float] = {
        "generate_s": world.seconds,
        "accounts": float(len(accounts)),
        "exported_accounts": float(world.exported().sum()),
        "shippers": float((accounts.is_shipper & ~accounts.is_consignee).sum()),
        "distributors": float((accounts.is_shipper & accounts.is_consignee).sum()),
        "lanes": float(len(world.lanes)),
        "shipments": float(len(world.shipments)),
        "surveys": float(len(world.surveys)),
        "interactions": float(len(world.interactions)),
        "tickets": float(len(world.tickets)),
        "churned": float((accounts.churned <= world.last_day).sum()),
        "gap_only_events": float(gap_only_events(world)),
    }
    for day in (world.first_day, (world.first_day + world.last_day) // 2, world.last_day):
        figures[f"alive_day_{day - world.first_day}"] = float(
            ((accounts.born <= day) & (accounts.churned > day)).sum()
        )
    for h in (90, 180, 365):
        labels = [truth_at(world, origin, h, oracle=False).label for origin in origins(world, horizon=h)]
        figures[f"base_rate_{h}"] = float(np.mean(np.concatenate(labels)))
    figures.update({f"co_churn_{key}": value for key, value in co_churn(world).items()})
    started = time.perf_counter()
    rows = []
    chosen = origins(world, horizon=horizon)[::every]
    for origin in chosen:
        known = truth_at(world, origin, horizon, oracle=False)
        total, own = oracle_probabilities(world, origin, (horizon,), runs=runs)
        rows.append(
            (known.label, total[horizon][known.account], own[horizon][known.account], known.contagion_only)
        )
    figures["oracle_s_per_origin"] = (time.perf_counter() - started) / len(chosen)
    label, oracle, own, contagion_only = (np.concatenate(parts) for parts in zip(*rows, strict=True))
    for name, scores in (("oracle", oracle), ("oracle_own", own)):
        summary = metrics.summary(scores, label, contagion_only=contagion_only)
        for key in ("auc", "contagion_auc", "brier_skill", "top_decile_capture"):
            figures[f"{name}_{key}"] = summary[key]
    figures["contagion_only_share"] = float(contagion_only.sum() / label.sum())
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--horizon", type=int, default=180)
    parser.add_argument(
        "--every", type=int, default=1, help="evaluate the oracle at every n-th monthly origin"
    )
    args = parser.parse_args()
    for contagion, drivers in WORLDS:
        world = generate(
            world_config(accounts=args.accounts, contagion=contagion, drivers=drivers, seed=args.seed)
        )
        figures = describe(world, horizon=args.horizon, runs=args.runs, every=args.every)
        print(f"## contagion={contagion} drivers={drivers}", flush=True)
        print("  " + ", ".join(f"{key} {value:.3g}" for key, value in figures.items()), flush=True)


if __name__ == "__main__":
    main()
