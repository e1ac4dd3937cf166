"""How the lanes run, and the two years of shipments they carried.

Each lane ships at its monthly volume shaped by season and weekday, on time or late at its own rate;
a falling account's lanes fade over the last two months and the soured lanes run late since they soured;
a leaving account's lanes thin out and may run late before it goes (decline.py).
Each lane draws from a generator seeded by the lane, so its shipments do not depend on the others.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict

from logicrm.customers.models import Tier
from logicrm.demo.draws import clamp, poisson, weighted
from logicrm.demo.plan import WINDOW_DAYS, DemoPlan, Lane

# Mild seasonality (peak season Sep–Nov, Chinese New Year): a healthy account must not look like it is leaving.
MONTH_FACTOR = (0.97, 0.95, 1.0, 1.0, 1.0, 0.99, 0.97, 0.95, 1.02, 1.06, 1.08, 1.0)
CHINESE_NEW_YEAR_FACTOR = 0.9  # February, lanes leaving China
WEEKDAY_FACTOR = (1.1, 1.1, 1.1, 1.1, 1.0, 0.45, 0.15)
FALL_FACTOR = 0.2  # a falling account keeps this share of its volume in the last 30 days
FADE_FLOOR = 0.1  # a leaving account's lane thins to this share of its volume, then stops
MINUTES = [dt.timedelta(minutes=m) for m in range(7 * 24 * 60 + 1)]  # offsets up to a week, reused


def lane_quality(plan: DemoPlan) -> None:
    """Each shipper's on-time target, and how each lane runs against it: quiet on the healthy accounts."""
    rng = plan.rng
    for company in plan.companies:
        if company.is_shipper:
            target = (
                0.95
                if company.index in plan.healthy
                else weighted(
                    rng, ((0.9, 2), (0.92, 3), (0.95, 4), (0.97, 1 if company.tier == Tier.VIP else 0))
                )
            )
            company.profile["on_time_target"] = target
    for lane in plan.lanes:
        shipper = plan.companies[lane.shipper]
        target = shipper.profile["on_time_target"]
        quiet = lane.shipper in plan.calm and lane.consignee in plan.calm
        lane.on_time = min(0.995, target + (0.03 if quiet else rng.gauss(0.025, 0.015)))
        lane.in_full = rng.uniform(0.99, 0.998) if quiet else rng.uniform(0.982, 0.998)
        lane.damage = rng.uniform(0.001, 0.004) if quiet else rng.uniform(0.002, 0.009)
        lane.margin = clamp(rng.gauss(0.15, 0.06), -0.05, 0.32)
        lane.trend = rng.uniform(0.0, 0.06) if quiet else clamp(rng.gauss(0.03, 0.08), -0.2, 0.25)
        # healthy accounts ship on a schedule, and a leaving one cuts back on schedule too (no noise)
        lane.steady = lane.falling or lane.shipper in plan.healthy or lane.consignee in plan.healthy
        if not quiet and lane.bad_from is None and rng.random() < 0.05:
            lane.on_time = target - rng.uniform(0.06, 0.14)  # a lane that simply runs badly
            lane.damage *= 2.5
        if lane.bad_from is not None:
            lane.damage = 0.03


def shipments(plan: DemoPlan) -> None:
    """Every lane's shipments over the window, then the damaged ones behind the overdue claims."""
    factors = {asia: _day_factors(plan, asia=asia) for asia in (False, True)}
    day_starts = [
        dt.datetime.combine(plan.start + dt.timedelta(days=d), dt.time(), tzinfo=dt.UTC)
        for d in range(WINDOW_DAYS)
    ]
    for lane in plan.lanes:
        if lane.declared is None:
            _lane_shipments(plan, lane, factors[lane.asia_origin], day_starts)
    _overdue_claim_shipments(plan)


def _day_factors(plan: DemoPlan, *, asia: bool) -> list[float]:
    """Each day's share of a normal day's volume: season and weekday (and Chinese New Year from Asia)."""
    factors = []
    for d in range(WINDOW_DAYS):
        day = plan.start + dt.timedelta(days=d)
        factor = MONTH_FACTOR[day.month - 1] * WEEKDAY_FACTOR[day.weekday()] * 7 / sum(WEEKDAY_FACTOR)
        if asia and day.month == 2:
            factor *= CHINESE_NEW_YEAR_FACTOR
        factors.append(factor)
    return factors


def _lane_shipments(plan: DemoPlan, lane: Lane, factors: list[float], day_starts: list[dt.datetime]) -> None:
    """Ship the lane's volume day by day: Poisson counts (a steady rhythm on scheduled lanes)."""
    rng = random.Random(lane.seed)
    random_ = rng.random  # the hot loop: ~130k shipments
    horizon, out, minutes = plan.horizon, plan.shipments, MINUTES
    first = max(0, (lane.started_on - plan.start).days)
    last = WINDOW_DAYS if lane.ended_on is None else min(WINDOW_DAYS, (lane.ended_on - plan.start).days)
    fade_from, fade_to = lane.fading or (last, last)
    last = min(last, fade_to)
    daily = lane.monthly * 12 / 365
    transit = dt.timedelta(hours=lane.transit_h)
    early = min(12.0, lane.transit_h * 0.2) * 60
    late_low, late_span = lane.late_h[0] * 60, (lane.late_h[1] - lane.late_h[0]) * 60
    price, cost_share = lane.price, 1 - lane.margin
    carry = random_()  # scheduled lanes ship on a rhythm rather than at random
    for day in range(first, last):
        lam = daily * factors[day] * (1 + lane.trend * (day - WINDOW_DAYS) / 365)
        if day >= fade_from:
            lam *= 1 - (1 - FADE_FLOOR) * (day - fade_from) / (fade_to - fade_from)
        if lane.falling:
            to_go = WINDOW_DAYS - day
            if to_go <= 30:
                lam *= FALL_FACTOR
            elif to_go <= 60:
                lam *= FALL_FACTOR + (1 - FALL_FACTOR) * (to_go - 30) / 30
        if lane.steady:
            carry += lam
            n = int(carry)
            carry -= n
        else:
            n = poisson(rng, lam)
        if not n:
            continue
        bad = lane.bad_from is not None and day >= lane.bad_from
        on_time = lane.bad_on_time if bad else lane.on_time
        damage = (lane.bad_damage or lane.damage) if bad else lane.damage
        base = day_starts[day]
        for _ in range(n):
            shipped = base + minutes[300 + int(random_() * 900)]  # 05:00–20:00
            promised = shipped + transit
            if random_() < on_time:
                delivered = promised - minutes[int(random_() * early)]
            else:
                delivered = promised + minutes[int(late_low + random_() * late_span)]
            revenue = round(price * (0.92 + 0.16 * random_()), 2)
            cost = revenue * cost_share * (0.96 + 0.08 * random_())
            in_full, damaged, claim = True, False, 0.0
            if delivered >= horizon:
                delivered = None  # still on its way
            else:
                in_full = random_() < lane.in_full
                damaged = random_() < damage
                if damaged and random_() < 0.65:
                    claim = round(revenue * (0.3 + 2.2 * random_()), 2)
                if delivered > promised:
                    cost *= 1.04
            out.append(
                (
                    lane.index,
                    shipped,
                    promised,
                    delivered,
                    in_full,
                    damaged,
                    claim,
                    revenue,
                    round(cost, 2),
                )
            )


def _overdue_claim_shipments(plan: DemoPlan) -> None:
    """The shipments behind the overdue claims: damaged on arrival, a big claim."""
    by_lane: dict[int, list[int]] = defaultdict(list)
    for position, row in enumerate(plan.shipments):
        by_lane[row[0]].append(position)
    for company, days, amount in zip(
        plan.troubled["overdue_claim"], (48, 33), (23_750.0, 8_420.0), strict=True
    ):
        lanes = [lane for lane in plan.lanes_of(company) if by_lane[lane.index]]
        lane = max(lanes, key=lambda lane: lane.monthly)
        target = plan.horizon - dt.timedelta(days=days + 1)
        position = min(
            (p for p in by_lane[lane.index] if plan.shipments[p][3] is not None),
            key=lambda p: abs(plan.shipments[p][3] - target),
        )
        row = list(plan.shipments[position])
        row[4], row[5], row[6] = False, True, amount
        plan.shipments[position] = tuple(row)
        plan.overdue_claims.append((company, lane.index, row[3], days, amount))
        plan.claimed.add(position)
