"""The two years behind "now": who was won when, who left when, and who followed whom out.

Accounts leave on their own, at a yearly rate that is higher for small, standard accounts, or after a
partner: when a shipper leaves, each of its consignees follows with a chance that grows with the share of
its inbound volume the shipper carried, weeks to months later (double churn); a consignee's leaving can
take along a shipper that sent it much of its volume. A few shippers go quiet instead: their shipments
stop and their status stays active. Departures run in date order, so a follower can set off followers of
its own; a consignee left with no shipper that stays finds another within weeks. Departures continue past
`today`: those accounts are in decline at "now" and still active.

The story's accounts, the calm ones around the healthy VIPs and the shippers whose lanes carry a story
consignee's figures neither arrive late nor leave, so the story's figures at "now" hold. `decline` makes
the records that announce each departure.
"""

from __future__ import annotations

import datetime as dt
import heapq
import math

from logicrm.customers.models import CustomerStatus, Tier
from logicrm.demo.decline import draw_signals
from logicrm.demo.draws import weighted
from logicrm.demo.network import add_lane, affinity
from logicrm.demo.plan import WINDOW_DAYS, Company, DemoPlan, Lane, Leaving
from logicrm.lanes.models import LinkStatus

DAY = dt.timedelta(days=1)
WON_SHARE = 0.08  # of the companies were won during the window
LEAVING_RATE = 0.13  # a year, of an ordinary account leaving on its own (see _leaving_rate)
TIER_RATE = {Tier.VIP: 0.35, Tier.KEY: 0.7, Tier.STANDARD: 1.2}
BIG_SHIPPER = 25  # a shipper reaching this many consignees hardly ever leaves on its own
FIRST_DEPARTURE = 150  # days into the window: every departure has months of history before it
MIN_TENURE = 120  # days: nobody leaves sooner after being won
AHEAD_DAYS = 120  # departures continue this long after today (in decline now, leaving later)
DECLINE_DAYS = (75, 210)  # how long a departure on its own is announced
QUIET_DECLINE_DAYS = (60, 150)
QUIET_SHIPPERS = 4  # shippers that stop shipping without a status change; the last one only lately
FOLLOW_DOWN = 0.8  # chance a consignee follows its shipper out, times the shipper's share of its inbound
FOLLOW_UP = 0.9  # chance a shipper follows a consignee out, times the consignee's share of its outbound
FOLLOW_DAYS = (14, 150)  # a follower leaves this long after its partner
REPLACEMENT_DAYS = (14, 60)  # a consignee that lost its every shipper and stays gets a new one this soon


def fixed(plan: DemoPlan) -> set[int]:
    """Accounts that neither arrive late nor leave: the story's, the calm ones, those with a lane yet to
    start, and the shippers of the consignees whose story is told by their lanes."""
    story = plan.in_story() | plan.calm | plan.renewing | set(plan.newcomers)
    story |= {
        end for lane in plan.lanes if lane.declared is not None for end in (lane.shipper, lane.consignee)
    }
    by_lanes = {*plan.troubled["falling_volume"], *plan.troubled["overdue_claim"], *plan.healthy}
    return story | {lane.shipper for lane in plan.lanes if lane.consignee in by_lanes}


def arrivals(plan: DemoPlan) -> None:
    """Some companies were won during the window, one small shipper only weeks ago; a consignee whose
    every shipper is newer came with them; lanes start once both ends are customers."""
    rng = plan.rng
    held = fixed(plan)
    free = [c for c in plan.companies if c.index not in held]
    won = rng.sample(free, round(WON_SHARE * len(plan.companies)))
    for company in won:
        company.acquired_on = plan.today - rng.randint(60, WINDOW_DAYS - 30) * DAY
    newest = rng.choice(
        [c for c in free if c.role == "shipper" and c not in won and 2 <= len(plan.partners[c.index]) <= 6]
    )
    newest.acquired_on = plan.today - rng.randint(40, 60) * DAY  # too new to score at "now"
    changed = {c.index for c in won} | {newest.index}
    for company in free:
        shippers = [plan.companies[s] for s in plan.partners[company.index] if plan.companies[s].is_shipper]
        if company.role == "consignee" and shippers and all(s.index in changed for s in shippers):
            first = min(s.acquired_on for s in shippers)
            if first > company.acquired_on:
                company.acquired_on = first + rng.randint(0, 20) * DAY
                changed.add(company.index)
    for lane in plan.lanes:
        if lane.declared is None and {lane.shipper, lane.consignee} & changed:
            both = max(plan.companies[lane.shipper].acquired_on, plan.companies[lane.consignee].acquired_on)
            lane.started_on = min(both + rng.randint(0, 30) * DAY, plan.today - DAY)


def departures(plan: DemoPlan) -> None:
    """Who left when: on their own, after a partner, or by going quiet; in date order, up to a while
    after today."""
    rng = plan.rng
    held = fixed(plan)
    first_day = plan.start + FIRST_DEPARTURE * DAY
    last_day = plan.today + AHEAD_DAYS * DAY
    queue: list[tuple[dt.date, int, int, int | None, bool]] = []  # (day, order, company, after, quiet)

    def push(day: dt.date, company: int, after: int | None, quiet: bool = False) -> None:
        heapq.heappush(queue, (day, len(queue) + len(plan.leaving), company, after, quiet))

    quiet = _quiet_shippers(plan, held)
    spared = held | {c.index for c in quiet}  # partners that never follow anyone out
    for n, company in enumerate(quiet):
        if n == len(quiet) - 1:  # stopped lately: not quiet for 90 days yet at "now"
            stop = plan.today - rng.randint(30, 75) * DAY
        else:
            stop = plan.today - rng.randint(100, WINDOW_DAYS - FIRST_DEPARTURE - 60) * DAY
        push(stop, company.index, None, quiet=True)
    for company in plan.companies:
        if company.index in held or company in quiet:
            continue
        first = max(first_day, company.acquired_on + MIN_TENURE * DAY)
        span = (last_day - first).days
        if first <= plan.today and rng.random() < 1 - math.exp(-_leaving_rate(plan, company) * span / 365):
            push(first + rng.randint(0, span) * DAY, company.index, None)
    while queue:
        day, _order, i, after, goes_quiet = heapq.heappop(queue)
        if i not in plan.leaving:
            _leave(plan, plan.companies[i], day, after, goes_quiet, spared, push)


def _quiet_shippers(plan: DemoPlan, held: set[int]) -> list[Company]:
    """Small shippers, won before the window, that will stop shipping."""
    options = [
        c
        for c in plan.companies
        if c.role == "shipper" and c.index not in held and c.acquired_on < plan.start and c.capacity <= 12
    ]
    return plan.rng.sample(options, min(QUIET_SHIPPERS, len(options)))


def _leaving_rate(plan: DemoPlan, company: Company) -> float:
    """Yearly rate of leaving on one's own: higher for standard accounts, far lower for big shippers."""
    rate = LEAVING_RATE * TIER_RATE[company.tier]
    if company.is_shipper:
        rate *= 0.15 if company.capacity >= BIG_SHIPPER else 1.3
    return rate


def _leave(
    plan: DemoPlan, company: Company, day: dt.date, after: int | None, quiet: bool, spared: set[int], push
) -> None:
    """Record the departure, end the lanes, set off followers (none `spared`), and find orphaned consignees
    a new shipper."""
    rng = plan.rng
    i = company.index
    if quiet:
        since = day - rng.randint(*QUIET_DECLINE_DAYS) * DAY
    elif after is None:
        since = day - rng.randint(*DECLINE_DAYS) * DAY
    else:
        since = plan.leaving[after].on  # a follower's decline starts with its partner's leaving
    since = max(since, company.acquired_on + 30 * DAY, plan.start)
    live = [lane for lane in plan.lanes_of(i) if _carries(plan, lane, day)]
    inbound = _flows(plan, day, by="consignee")
    outbound = _flows(plan, day, by="shipper")
    plan.leaving[i] = Leaving(
        on=day,
        since=min(since, day - DAY),
        quiet=quiet,
        after=after,
        signals=draw_signals(rng, follower=after is not None, quiet=quiet),
        severity=rng.uniform(1.2, 2.8),
    )
    if not quiet and day <= plan.today:
        company.status, company.churned_on = CustomerStatus.CHURNED, day
        for lane in plan.lanes_of(i):
            if lane.ended_on is None or lane.ended_on > day:
                lane.ended_on, lane.status = max(day, lane.started_on), LinkStatus.ENDED
    # what each partner still shipping with it had riding on it: its share of their volume, and its
    # monthly volume with it (a pair trades one way only)
    riding: dict[int, tuple[bool, float, float]] = {}
    for lane in live:
        down = lane.shipper == i
        partner = lane.consignee if down else lane.shipper
        _, share, monthly = riding.get(partner, (down, 0.0, 0.0))
        total = inbound[partner] if down else outbound[partner]
        riding[partner] = (down, share + lane.monthly / total, monthly + lane.monthly)
    for partner, (down, share, monthly) in sorted(riding.items()):
        if partner in spared or partner in plan.leaving:
            continue
        if rng.random() < (FOLLOW_DOWN if down else FOLLOW_UP) * share:
            push(day + rng.randint(*FOLLOW_DAYS) * DAY, partner, i)
        elif down and share > 0.999:
            _replace_shipper(plan, plan.companies[partner], monthly, day, spared)


def _carries(plan: DemoPlan, lane: Lane, day: dt.date) -> bool:
    """Whether the lane ships on that day: started, not ended, and neither end gone (or gone quiet)."""
    if lane.declared is not None or lane.started_on >= day or (lane.ended_on and lane.ended_on <= day):
        return False
    return all(
        end not in plan.leaving or plan.leaving[end].on > day for end in (lane.shipper, lane.consignee)
    )


def _flows(plan: DemoPlan, day: dt.date, *, by: str) -> dict[int, float]:
    """Expected monthly volume on the lanes shipping that day, per consignee (inbound) or shipper."""
    totals: dict[int, float] = {}
    for lane in plan.lanes:
        if _carries(plan, lane, day):
            end = getattr(lane, by)
            totals[end] = totals.get(end, 0.0) + lane.monthly
    return totals


def _replace_shipper(
    plan: DemoPlan, consignee: Company, monthly: float, day: dt.date, spared: set[int]
) -> None:
    """A consignee whose only shipper left, and that stays, gets a new one of ours within weeks."""
    rng = plan.rng
    start = day + rng.randint(*REPLACEMENT_DAYS) * DAY
    if start >= plan.today:
        return
    options = [
        (s, affinity(s, consignee) * s.capacity)
        for s in plan.companies
        if s.is_shipper
        and s.index not in spared
        and s.index not in plan.leaving
        and s.index != consignee.index
        and s.acquired_on < start
        and s.index not in plan.partners[consignee.index]
    ]
    if not options:
        return
    shipper = weighted(rng, options)
    lane = add_lane(plan, shipper, consignee)
    lane.monthly = monthly * rng.uniform(0.5, 1.0)
    lane.started_on = start
    plan.partners[shipper.index].add(consignee.index)
    plan.partners[consignee.index].add(shipper.index)


def contracts(plan: DemoPlan) -> None:
    """A shipper that left had its last contract end then; one won weeks ago signed it when won."""
    rng = plan.rng
    for company in plan.companies:
        if not company.is_shipper:
            continue
        if company.churned_on is not None:
            end = company.churned_on - DAY
            start = max(company.acquired_on, end - 365 * rng.choice((1, 2, 2, 3)) * DAY)
            company.profile.update(contract_start=start, contract_end=end)
        elif company.profile["contract_start"] > plan.today:
            company.profile["contract_start"] = company.acquired_on


def followers(plan: DemoPlan) -> dict[int, int]:
    """Companies churned by today after a partner left: company → that partner."""
    return {
        i: leaving.after
        for i, leaving in sorted(plan.leaving.items())
        if leaving.after is not None and not leaving.quiet and leaving.on <= plan.today
    }


def quiet_shippers(plan: DemoPlan) -> list[int]:
    """Shippers that stopped shipping by today, their status unchanged."""
    return sorted(i for i, leaving in plan.leaving.items() if leaving.quiet and leaving.on <= plan.today)


def leaving_soon(plan: DemoPlan) -> list[int]:
    """Companies in decline today that leave after it."""
    return sorted(i for i, leaving in plan.leaving.items() if leaving.since <= plan.today < leaving.on)
