"""What really happened and what was knowable: realised labels and the oracle probability.

An origin is a date t: everything dated on or before t is history, and the label window is the days
t+1 … t+H. An account is at risk at t when it was acquired, is not churned, and (with the shipper
role) shipped within the last `churn_gap_days` days. Its event is the first of: its status set to
churned, or (shipper role) `churn_gap_days` days without a shipment — computed from the world's
shipments exactly as a model must compute it from the imported data.

The oracle is P(event within H | the world's full latent state at t): every account's factor levels,
frailty, wind-down length and contract schedule; who has already decided to leave; and the network
with its dependency shares, including partners that churned within the contagion window before t. The
spontaneous part is exact (latent.chain_survival); the cascade is simulated forward `runs` times from
that state (trigger times settled in time order over the lanes, vectorised over runs). Accounts with no partner
that can infect them within H get the exact value. The oracle counts the status event only: the
churn gap cannot complete before a churn that the floor on shippers' volume and the wind-down make
certain comes first, except by a chance that the tests measure (gap_only_events).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from tests.worlds import latent
from tests.worlds.world import CONTAGION, NEVER, World

CHUNK_RUNS = 250  # runs simulated together: bounds the memory of the (runs × lanes) arrays


@dataclass
class Truth:
    """The accounts at risk at one origin, with their realised outcome and their oracle probability."""

    origin: dt.date
    horizon: int
    account: np.ndarray  # indices into world.accounts
    ref: list[str]
    label: np.ndarray  # 1.0 churned within the horizon, 0.0 not, NaN censored (t + H after today)
    contagion_only: np.ndarray  # churned within the horizon after a partner did, through the cascade
    leaving: np.ndarray  # had already decided to leave at the origin (winding down)
    oracle: np.ndarray | None = None  # P(churn within H | latent state at t); None when not asked
    oracle_own: np.ndarray | None = None  # the same without any contagion (spontaneous churn only)

    def observed(self) -> np.ndarray:
        """Mask of the uncensored rows."""
        return ~np.isnan(self.label)


def origins(world: World, *, warmup_days: int = 180, horizon: int = 0) -> list[dt.date]:
    """The first day of each month from `warmup_days` after the history starts, up to the last origin
    whose horizon ends by today (all of them with horizon 0)."""
    first = world.date(world.first_day + warmup_days)
    last = world.date(world.last_day - horizon)
    month = dt.date(first.year, first.month, 1)
    result = []
    while month <= last:
        if month >= first:
            result.append(month)
        month = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return result


def truth_at(
    world: World, origin: dt.date, horizon: int = 180, *, oracle: bool = True, runs: int = 2500, seed: int = 0
) -> Truth:
    """Labels of the accounts at risk at `origin`, and (unless oracle=False) their oracle."""
    t = world.day(origin)
    accounts = world.accounts
    at_risk = at_risk_accounts(world, t)
    event = np.array([next_event(world, account, t) for account in at_risk], dtype=np.int64)
    label = (event <= t + horizon).astype(float)
    if t + horizon > world.last_day:
        label[:] = np.nan
    result = Truth(
        origin=origin,
        horizon=horizon,
        account=at_risk,
        ref=[accounts.ref[account] for account in at_risk],
        label=label,
        contagion_only=(label == 1)
        & (accounts.cause[at_risk] == CONTAGION)
        & (accounts.churned[at_risk] <= t + horizon),
        leaving=accounts.decided[at_risk] <= t,
    )
    if oracle:
        total, own = oracle_probabilities(world, origin, (horizon,), runs=runs, seed=seed)
        result.oracle, result.oracle_own = total[horizon][at_risk], own[horizon][at_risk]
    return result


# ------------------------------------------------------------------------------------------ labels


def _shipping_days(world: World) -> list[np.ndarray]:
    """Sorted days each shipper shipped (its first day as a customer counts as one), cached."""
    if "shipping_days" not in world._cache:
        accounts, shipments = world.accounts, world.shipments
        shipper = world.lanes.shipper[shipments.lane]
        order = np.argsort(shipper, kind="stable")
        days = shipments.shipped[order].astype(np.int64)
        bounds = np.searchsorted(shipper[order], np.arange(len(accounts) + 1))
        world._cache["shipping_days"] = [
            np.unique(np.append(days[bounds[i] : bounds[i + 1]], accounts.born[i]))
            if accounts.is_shipper[i]
            else None
            for i in range(len(accounts))
        ]
    return world._cache["shipping_days"]


def at_risk_accounts(world: World, t: int) -> np.ndarray:
    """Accounts acquired by day t, not churned, and (shippers) not silent for the churn gap."""
    accounts = world.accounts
    candidates = np.flatnonzero((accounts.born <= t) & (accounts.churned > t))
    gap = world.config.churn_gap_days
    days = _shipping_days(world)
    keep = [
        account
        for account in candidates
        if days[account] is None
        or t - days[account][np.searchsorted(days[account], t, side="right") - 1] < gap
    ]
    return np.array(keep, dtype=np.int64)


def next_event(world: World, account: int, t: int) -> int:
    """The first churn event after day t: the status date, or a shipper's churn gap completing."""
    event = int(world.accounts.churned[account])
    days = _shipping_days(world)[account]
    if days is not None:
        after = days[np.searchsorted(days, t, side="right") - 1 :]
        gaps = np.flatnonzero(np.diff(np.append(after, NEVER)) > world.config.churn_gap_days)
        if len(gaps):
            event = min(event, int(after[gaps[0]]) + world.config.churn_gap_days)
    return event


def gap_only_events(world: World) -> int:
    """Churn events by the gap rule that come before the account's status churn (or without one)
    within the history: the events the oracle does not model."""
    count = 0
    for account in np.flatnonzero(world.accounts.is_shipper):
        days = _shipping_days(world)[account]
        churned = int(world.accounts.churned[account])
        completions = days[:-1][np.diff(days) > world.config.churn_gap_days] + world.config.churn_gap_days
        completions = np.append(completions, days[-1] + world.config.churn_gap_days)
        in_history = (completions >= world.first_day) & (completions <= world.last_day)
        count += int(np.any((completions < churned) & in_history))
    return count


# ------------------------------------------------------------------------------------------ oracle


def own_decision_cdf(world: World, accounts: np.ndarray, t: int, days: int) -> np.ndarray:
    """P(account decides to leave on its own by day t + 1 + k), k = 0 … days − 1, given the latent
    state at the end of day t (exact)."""
    world_accounts, chains, config = world.accounts, world.chains, world.config
    position = np.full(len(world_accounts), -1)
    position[accounts] = np.arange(len(accounts))
    selected = np.flatnonzero(
        (position[chains.account] >= 0) & ((chains.hazard_rate > 0) | (chains.window_rate > 0))
    )
    owner = chains.account[selected]
    future = t + 1 + np.arange(days)
    term = world_accounts.contract_term[owner]
    end = world_accounts.contract_start[owner] + term
    window = np.zeros((len(selected), days), dtype=bool)
    windowed = term > 0
    window[windowed] = (end[windowed, None] - future[None, :]) % term[
        windowed, None
    ] < config.contract_window_days
    survival = latent.chain_survival(
        chains.levels[selected, t], chains.move_rate[selected], chains.hazard_rate[selected], window,
        chains.window_rate[selected], latent.phi(config.drivers.sharpness),
    )  # fmt: skip
    log_survival = np.outer(-world_accounts.baseline_hazard[accounts], np.arange(1, days + 1))
    np.add.at(log_survival, position[owner], np.log(survival))
    return -np.expm1(log_survival)


def oracle_probabilities(
    world: World, origin: dt.date, horizons=(180,), *, runs: int = 2500, seed: int = 0
) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    """Oracle P(churn within h) of every account for each horizon h, with and without contagion.

    Arrays are indexed by account; accounts not present at the origin get NaN. The Monte-Carlo
    standard error is at most 0.5 / sqrt(runs) (0.01 at the default).
    """
    config = world.config
    horizon = max(horizons)
    if horizon > config.dependency_maturity_days:
        raise ValueError("the oracle is exact only for horizons up to dependency_maturity_days")
    window = config.contagion.window_days
    t = world.day(origin)
    accounts, lanes = world.accounts, world.lanes
    present = (accounts.born <= t) & (accounts.churned > t)
    undecided = np.flatnonzero(present & (accounts.decided > t))
    cdf = own_decision_cdf(world, undecided, t, horizon)

    # Own decision only: exact.
    total = {h: np.full(len(accounts), np.nan) for h in horizons}
    own = {h: np.full(len(accounts), np.nan) for h in horizons}
    leaving = np.flatnonzero(present & (accounts.decided <= t))
    for h in horizons:
        for result in (total, own):
            result[h][leaving] = accounts.churned[leaving] <= t + h
        latest = h - accounts.fade[undecided]  # the decision must come by t + h − fade
        own[h][undecided] = np.where(
            latest >= 1, cdf[np.arange(len(undecided)), np.clip(latest - 1, 0, None)], 0.0
        )
        total[h][undecided] = own[h][undecided]

    # The cascade: arcs into undecided accounts from partners present now or churned within the window.
    recent = (accounts.churned <= t) & (accounts.churned > t - window)
    node = present | recent
    arcs = []  # (source, target, probability, effective day)
    live = (lanes.start <= t) & (lanes.end > t - window) & node[lanes.shipper] & node[lanes.consignee]
    for down, coupling in ((True, config.contagion.down), (False, config.contagion.up)):
        if coupling <= 0:
            continue
        source = np.where(down, lanes.shipper, lanes.consignee)[live]
        target = np.where(down, lanes.consignee, lanes.shipper)[live]
        share = (lanes.dependency_down if down else lanes.dependency_up)[live]
        effective = (lanes.effective_down if down else lanes.effective_up)[live]
        keep = present[target] & (accounts.decided[target] > t) & (effective <= t + horizon)
        arcs.append((source[keep], target[keep], np.minimum(coupling * share[keep], 0.999), effective[keep]))
    if not arcs or not sum(len(arc[0]) for arc in arcs):
        return total, own
    source, target, probability, effective = (np.concatenate(parts) for parts in zip(*arcs, strict=True))
    order = np.argsort(target, kind="stable")
    source, target, probability, effective = (
        source[order],
        target[order],
        probability[order],
        effective[order],
    )

    nodes = np.flatnonzero(node)
    index = np.full(len(accounts), -1)
    index[nodes] = np.arange(len(nodes))
    undecided_index = index[undecided]
    targets, starts = np.unique(target, return_index=True)
    target_index = index[targets]
    fade = accounts.fade[nodes]
    # Days the source's churn already lies in the past (the arc's clock has run that long unfired).
    elapsed = np.maximum(t - accounts.churned[source], 0)
    rate = -np.log1p(-probability) / window
    infected = np.isin(undecided, targets)  # their oracle needs the simulation
    sampled = infected | np.isin(undecided, source)  # their own decision is drawn in it
    hits = {h: np.zeros(len(nodes)) for h in horizons}
    rng = np.random.default_rng([config.seed, seed, t])
    lag = 1 + config.fade_days[0]  # shortest time from a partner's churn to a triggered churn
    fixed = np.where(accounts.decided[nodes] <= t, accounts.churned[nodes], NEVER)
    source_index = index[source]
    target_fade = fade[target_index]
    done = 0
    while done < runs:  # arrays are (nodes or arcs, runs): the reductions run along contiguous rows
        batch = min(CHUNK_RUNS, runs - done)
        done += batch
        decision = np.full((len(nodes), batch), NEVER, dtype=np.int32)
        uniform = rng.random((len(undecided), batch))
        for column in np.flatnonzero(sampled):
            step = np.searchsorted(cdf[column], uniform[column])
            decision[undecided_index[column]] = np.where(step < horizon, t + 1 + step, NEVER)
        event = np.where(decision < NEVER, decision + fade[:, None], fixed[:, None]).astype(np.int32)
        clock = elapsed[:, None] + rng.exponential(1 / rate[:, None], size=(len(rate), batch))
        delay = np.where(clock <= window, np.maximum(np.ceil(clock), 1), NEVER).astype(np.int32)
        own_decision = decision[target_index]
        # In time order, a stage of `lag` days at a time: an event at day d can only be triggered by
        # one before d − lag, so each stage settles every event up to its cutoff exactly.
        cutoff = t
        while cutoff < t + horizon:
            origin_event = event[source_index]
            valid = (origin_event <= cutoff) & (origin_event >= effective[:, None])
            earliest = np.minimum.reduceat(np.where(valid, origin_event + delay, NEVER), starts, axis=0)
            decided_now = np.minimum(own_decision, earliest)
            candidate = np.where(decided_now < NEVER, decided_now + target_fade[:, None], NEVER)
            settled = event[target_index]
            event[target_index] = np.where(settled > cutoff, candidate, settled)
            cutoff += lag
        for h in horizons:
            hits[h] += (event <= t + h).sum(axis=1)
    for h in horizons:
        mc = hits[h][index[undecided[infected]]] / runs
        total[h][undecided[infected]] = mc
    return total, own


# ------------------------------------------------------------------------------------------ co-churn


def co_churn(world: World, within_days: int = 180) -> dict[str, float]:
    """How often a partner churns within `within_days` after an account it shares a lane with, against
    the base rate of churning within that many days (lift 1: no more co-churn than chance).

    Counted over the lanes each churn ended during the history (one per lane and direction, the
    partner still a customer at the time); `down` is a shipper's churn followed by its consignee's,
    `up` a consignee's followed by its shipper's.
    """
    accounts, lanes = world.accounts, world.lanes
    result = {}
    ended = np.flatnonzero(
        (lanes.end >= world.first_day)
        & (lanes.end <= world.last_day - within_days)
        & (lanes.end > lanes.start)
    )
    for direction, left, right in (
        ("down", lanes.shipper, lanes.consignee),
        ("up", lanes.consignee, lanes.shipper),
    ):
        churned, partner = left[ended], right[ended]
        cause = (accounts.churned[churned] == lanes.end[ended]) & (
            accounts.churned[partner] > lanes.end[ended]
        )
        after = accounts.churned[partner[cause]] - lanes.end[ended][cause]
        result[f"{direction}_pairs"] = float(cause.sum())
        result[f"{direction}_followed"] = (
            float(np.mean(after <= within_days)) if cause.any() else float("nan")
        )
    labels = [
        truth_at(world, origin, within_days, oracle=False).label
        for origin in origins(world, horizon=within_days)
    ]
    base = float(np.nanmean(np.concatenate(labels)))
    result["base_rate"] = base
    pairs = result["down_pairs"] + result["up_pairs"]
    followed = (np.nan_to_num(result["down_followed"]) * result["down_pairs"]
                + np.nan_to_num(result["up_followed"]) * result["up_pairs"])  # fmt: skip
    result["lift"] = followed / pairs / base if pairs else float("nan")
    return result
