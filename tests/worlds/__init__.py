"""Synthetic worlds with known truth, for measuring churn risk against what really happened (issue 12).

A world is a logistics provider's history generated from a seed, independent of the demo generator:
accounts whose latent state drives noisy records, churn by a hazard with a spontaneous and a
contagious part, and the exact knowledge of who churned, why, and how likely it was.

    from tests.worlds import generate, world_config, export_csv, truth_at, origins, metrics
    world = generate(world_config(accounts=1000, contagion="weak", drivers="balanced", seed=1))
    export_csv(world, "out/")                      # customers.csv … tickets.csv for `logicrm import`
    for origin in origins(world, horizon=180):     # monthly origins whose horizon ends by today
        known = truth_at(world, origin, 180)          # at-risk accounts: label, oracle, contagion_only
        metrics.summary(known.oracle[known.observed()], known.label[known.observed()])

`python -m tests.worlds.report` prints the figures of the standard worlds (counts, base rates,
co-churn, oracle AUC and Brier skill).

Parameters (WorldConfig; presets through world_config)
    accounts (at the start; arrivals keep the population level), today and years (the exported
    history ends today), seed; shipper / distributor shares (the rest are consignees);
    annual_hazard (average spontaneous decisions to leave per account-year) split by `drivers`, the
    true driver weights (DRIVERS: balanced, satisfaction, service, behaviour; sharpness = how much a
    factor's level moves its hazard); `contagion` couplings (CONTAGION: none, weak, strong = DESIGN's
    α↓ 0.6, α↑ 0.5) and their window; `signals`, how strongly each factor shows in its records;
    factor half-lives, contract window, dependency maturity, wind-down length and shape, the churn
    gap N (90 days), lane and shipper volumes.

What is latent (known to the world and the oracle, never exported)
    Per account: a static frailty (industry, tier, acquisition channel, plus an unobserved part),
    and slowly mean-reverting factors (latent.py: Ehrenfest chains of 9 levels, unit variance):
    service experienced, relationship strength, its own business; per department a satisfaction.
    The spontaneous hazard adds up, per factor, share × phi(level), phi = exp(−sharpness·level)
    normalised to mean 1: deciding departments' satisfaction (weighted by decision weight; other
    departments' satisfaction carries none), service, relationship, business, and for shippers a
    contract term (days before each contract end, weighed by the relationship) — plus the frailty.
    Also latent: the day an account decides to leave (it then winds down for 21–75 days before
    its status is churned), the dependency share of each lane for each end (its share of the
    dependent's volume when the lane began), and the contagion draws.

How churn happens
    Each day an account decides to leave with probability 1 − exp(−hazard), or because a partner
    churned: when an account churns, each lane's dependent partner decides to leave with probability
    coupling × share (down: shipper → consignee, up: consignee → shipper), at a moment within the
    contagion window (constant hazard: the independent cascade of DESIGN §4.7). A pre-existing
    account depends on a partner it gained only after `dependency_maturity_days`; a new account
    depends on its founding partners at once. On churning its lanes end; a shipper whose outbound
    volume falls below the floor, or a consignee left with no shipper, gains a new partner. New
    accounts arrive as a new shipper with some new consignees, a new consignee, or a distributor.

What is observed (exported, importable)
    Customers (roles, tier, industry, region, acquisition channel and referrer, acquired_on, status
    and churned_on, the shipper contract in force, annual value, on-time target; consignee sites),
    departments (decision weight, decision maker) and contacts; lanes (start, end, declared volume);
    shipments by a renewal process per lane (its rhythm: gamma gaps) on an intensity of base rate ×
    both ends' business × their wind-downs (from the decision at once to 50 %, then to 25 % on the
    last day) × weekday and season, with lateness, in-full, damage and claims driven by both ends'
    service; survey answers per department at the tier's cadence (unhappy departments answer less),
    perception − expectation per dimension on 1–7 from the department's satisfaction (and service for
    operational dimensions), likelihood to recommend; visits and calls at a rate set by the tier and
    relationship; complaints (after late deliveries and from poor service), claims (damage) and
    requests, answered and resolved slower where service is poor. Renewal opportunities are
    generated (world.opportunities) but not exported: LogiCRM cannot import opportunities.

The truth (truth.py)
    For an origin t: the accounts at risk (acquired, not churned, a shipper not silent for N days),
    their label (the status set to churned, or a shipper's N silent days, within t+1 … t+H, read from
    the records exactly as a model must; censored when t+H is after today), whether the churn was
    contagion-only, whether the account had already decided to leave, and the oracle: P(churn within
    H | the full latent state at t). Its spontaneous part is exact (a forward recursion per factor
    chain: the hazards add up, so survival factorises); the cascade is simulated forward from the
    state at t (2,500 runs by default: standard error ≤ 0.01), and accounts no partner can infect
    within H get the exact value. Lanes gained after t cannot matter within H ≤ the maturity delay, so
    the oracle needs no future arrivals. It counts the status event; the churn gap completing first
    is made near-impossible by the shipper volume floor and the wind-down (gap_only_events measures it).

Speed: a 2,000-account, 3-year world (3,700–4,900 accounts over its life, 700,000–800,000
shipments) generates in 4–7 s; its oracle takes 1–4 s per origin at 2,500 runs (contagion costs).
"""

from tests.worlds import metrics
from tests.worlds.config import CONTAGION, DRIVERS, Contagion, Drivers, Signals, WorldConfig, world_config
from tests.worlds.export import IMPORT_ORDER, export_csv
from tests.worlds.generator import generate
from tests.worlds.truth import Truth, co_churn, oracle_probabilities, origins, truth_at
from tests.worlds.world import World

__all__ = [
    "CONTAGION",
    "DRIVERS",
    "IMPORT_ORDER",
    "Contagion",
    "Drivers",
    "Signals",
    "Truth",
    "World",
    "WorldConfig",
    "co_churn",
    "export_csv",
    "generate",
    "metrics",
    "oracle_probabilities",
    "origins",
    "truth_at",
    "world_config",
]
