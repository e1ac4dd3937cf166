"""Single observable signals of a world at an origin, each oriented so that higher means riskier.

The naive baselines a model must beat and the oracle must dominate. Each uses only records dated on
or before the origin, as a model reading the imported data would.
"""

from __future__ import annotations

import numpy as np

from tests.worlds.world import World

NAMES = ("survey_gap", "recommend", "late_share", "volume_drop", "days_since_contact", "complaints")


def _tables(world: World) -> dict[str, np.ndarray]:
    if "signal_tables" not in world._cache:
        deciding = world.departments.deciding
        surveys = [s for s in world.surveys if deciding[s["department"]]]
        world._cache["signal_tables"] = {
            "survey_account": np.array([s["account"] for s in surveys], dtype=int),
            "survey_day": np.array([s["day"] for s in surveys]),
            "survey_gap": np.array([np.mean([p - e for e, p, _ in s["scores"].values()]) for s in surveys]),
            "survey_ltr": np.array([s["ltr"] for s in surveys], dtype=float),
            "contact_account": np.array([x["account"] for x in world.interactions], dtype=int),
            "contact_day": np.array([x["day"] for x in world.interactions]),
            "ticket_account": np.array(
                [x["account"] for x in world.tickets if x["kind"] != "request"], dtype=int
            ),
            "ticket_day": np.array([x["opened"] for x in world.tickets if x["kind"] != "request"]),
        }
    return world._cache["signal_tables"]


def _mean_by_account(accounts: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    count = np.bincount(accounts, minlength=n)
    total = np.bincount(accounts, weights=values, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count


def _fill(values: np.ndarray) -> np.ndarray:
    """No data reads as the typical account: the median of those with data (or 0)."""
    known = values[~np.isnan(values)]
    return np.where(np.isnan(values), np.median(known) if len(known) else 0.0, values)


def signals(world: World, t: int, accounts: np.ndarray) -> dict[str, np.ndarray]:
    """Each signal's value for `accounts` as of the end of day t."""
    n = len(world.accounts)
    tables = _tables(world)
    result = {}
    recent = (tables["survey_day"] < t + 1) & (tables["survey_day"] >= t + 1 - 365)
    for name, column in (("survey_gap", "survey_gap"), ("recommend", "survey_ltr")):
        mean = _mean_by_account(tables["survey_account"][recent], tables[column][recent], n)
        result[name] = -_fill(mean[accounts])

    shipments, lanes = world.shipments, world.lanes
    delivered = (shipments.delivered < t + 1) & (shipments.delivered >= t + 1 - 90)
    late = (shipments.delivered > shipments.promised)[delivered]
    lane = shipments.lane[delivered]
    ends = np.concatenate([lanes.shipper[lane], lanes.consignee[lane]])
    result["late_share"] = _fill(
        _mean_by_account(ends, np.concatenate([late, late]).astype(float), n)[accounts]
    )

    def volume(first: int, last: int) -> np.ndarray:
        window = (shipments.shipped >= first) & (shipments.shipped < last)
        lane_ids = shipments.lane[window]
        return (np.bincount(lanes.shipper[lane_ids], minlength=n)
                + np.bincount(lanes.consignee[lane_ids], minlength=n)).astype(float)  # fmt: skip

    now, before = volume(t + 1 - 90, t + 1), volume(t + 1 - 180, t + 1 - 90)
    result["volume_drop"] = -np.log((now[accounts] + 1) / (before[accounts] + 1))

    seen = tables["contact_day"] < t + 1
    last_contact = np.full(n, -np.inf)
    np.maximum.at(last_contact, tables["contact_account"][seen], tables["contact_day"][seen])
    last_contact = np.maximum(last_contact, world.accounts.born.astype(float))
    result["days_since_contact"] = t + 1 - last_contact[accounts]

    opened = (tables["ticket_day"] < t + 1) & (tables["ticket_day"] >= t + 1 - 180)
    result["complaints"] = np.bincount(tables["ticket_account"][opened], minlength=n)[accounts].astype(float)
    return result
