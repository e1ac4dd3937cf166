"""The story: which accounts are troubled and how, which healthy VIPs the checks must leave alone.

Each pick marks the plan (a flag, a falling lane, a furious department, a contract to end); the later steps
read those marks to make the data that tells the story, and `describe` words it from that data.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from logicrm.customers.models import AcquisitionChannel, CustomerStatus, Tier
from logicrm.demo.network import add_lane
from logicrm.demo.plan import SILENT_AFTER_DAYS, SOURED_DAYS, WINDOW_DAYS, Company, DemoPlan
from logicrm.lanes.models import ServiceType


def pick_big_troubles(plan: DemoPlan) -> None:
    """A big shipper that is leaving, and a shipper whose main consignees are unhappy."""
    pure = sorted((c for c in plan.companies if c.role == "shipper"), key=lambda c: -plan.volume(c.index))
    falling = plan.rng.choice(pure[1:4])
    plan.flag("falling_volume", falling)
    for lane in plan.lanes_of(falling.index):
        lane.falling = True
    for shipper in pure[4:14]:
        own = [lane for lane in plan.lanes_of(shipper.index) if lane.shipper == shipper.index]
        singles = sorted(
            (
                lane
                for lane in own
                if plan.companies[lane.consignee].role == "consignee"
                and len(plan.partners[lane.consignee]) == 1
            ),
            key=lambda lane: -lane.monthly,
        )
        if len(own) >= 5 and len(singles) >= 3:
            break
    else:
        raise RuntimeError("no shipper fits the unhappy-consignees story")
    plan.flag("unhappy_consignees", shipper)
    key_lanes = singles[:3]
    rest = sum(lane.monthly for lane in own if lane not in key_lanes)
    boost = max(1.0, 3.0 * rest / sum(lane.monthly for lane in key_lanes))
    for lane in key_lanes:
        lane.monthly *= boost  # they carry three quarters of its volume: its fate rides on them
        lane.bad_from = WINDOW_DAYS - SOURED_DAYS
        lane.bad_on_time = 0.7
    plan.unhappy_consignees = [lane.consignee for lane in key_lanes]
    shipper.mood = 0.8
    for i in plan.unhappy_consignees:
        plan.companies[i].mood = -0.6


def mistier(plan: DemoPlan) -> None:
    """Deliberately get two tiers wrong: a big shipper made standard, a small consignee made VIP."""
    taken = plan.in_story()
    shippers = sorted(
        (c for c in plan.companies if c.role == "shipper" and c.index not in taken), key=lambda c: -c.value
    )
    underrated = shippers[plan.rng.randint(1, 3)]
    underrated.tier = Tier.STANDARD
    consignees = sorted(
        (c for c in plan.companies if c.role == "consignee" and c.index not in taken),
        key=lambda c: c.value,
    )
    overrated = consignees[plan.rng.randint(10, 60)]
    overrated.tier = Tier.VIP
    plan.flag("tier_mismatch", underrated)
    plan.flag("tier_mismatch", overrated)


def pick_furious_finance(plan: DemoPlan) -> None:
    """A shipper, a VIP where one is free, whose finance department is furious.

    Chosen before the healthy VIPs so that they can keep clear of it.
    """
    candidates = [c for c in plan.companies if c.is_shipper and c.index not in plan.in_story()]
    furious = plan.rng.choice([c for c in candidates if c.tier == Tier.VIP] or candidates)
    plan.flag("unhappy_deciding_department", furious)
    plan.furious[furious.index] = "finance"
    furious.mood = 0.7


def pick_healthy(plan: DemoPlan) -> None:
    """Steady, happy VIPs away from every trouble: no troubled partner either."""
    trouble = plan.in_story()
    near_trouble = trouble | {p for i in trouble for p in plan.partners[i]}
    candidates = [c for c in plan.companies if c.tier == Tier.VIP and c.index not in near_trouble]
    plan.rng.shuffle(candidates)
    wanted = {"shipper": 2, "consignee": 2, "distributor": 1}
    for company in candidates:
        if wanted.get(company.role, 0) > 0 and len(plan.partners[company.index]) > 0:
            wanted[company.role] -= 1
            plan.healthy.append(company.index)
    plan.healthy.sort()
    if len(plan.healthy) < 3:
        raise RuntimeError("too few healthy VIP candidates")
    for i in plan.healthy:
        plan.companies[i].mood = 1.1
        plan.calm |= {i, *plan.partners[i]}
    for i in plan.calm - set(plan.healthy):
        plan.companies[i].mood = max(plan.companies[i].mood, 0.4)


def pick_other_troubles(plan: DemoPlan) -> None:
    """The remaining troubled accounts, each away from the others and from the healthy ones."""
    consignee = _pick(plan, lambda c: c.role == "consignee" and c.tier in (Tier.VIP, Tier.KEY))
    plan.flag("unhappy_deciding_department", consignee)
    plan.furious[consignee.index] = "procurement"
    consignee.mood = 0.7  # everyone else there is content
    # a sizeable consignee moving its volume elsewhere (small ones drown in noise)
    falling = _pick(
        plan,
        lambda c: c.role == "consignee" and c.tier == Tier.KEY and len(plan.partners[c.index]) >= 2,
        lambda c: c.role == "consignee" and c.tier != Tier.STANDARD,
        biggest=8,
    )
    plan.flag("falling_volume", falling)
    for lane in plan.lanes_of(falling.index):
        lane.falling = True
    for tier in (Tier.KEY, Tier.STANDARD):
        plan.flag(
            "overdue_claim",
            _pick(
                plan, lambda c, t=tier: c.role == "consignee" and c.tier == t, lambda c: c.role == "consignee"
            ),
        )
    for tier in (Tier.KEY, Tier.STANDARD):
        company = _pick(plan, lambda c, t=tier: c.is_shipper and c.tier == t, lambda c: c.is_shipper)
        plan.flag("contract_expiring_no_renewal", company)
        plan.no_renewal.add(company.index)
    for _ in range(3):  # ending soon too, but the renewal is being negotiated: nothing to flag
        plan.renewing.add(_pick(plan, lambda c: c.is_shipper).index)
    plan.flag("contact_overdue", _pick(plan, lambda c: c.tier == Tier.VIP, lambda c: c.tier == Tier.KEY))
    plan.flag("contact_overdue", _pick(plan, lambda c: c.tier == Tier.KEY))
    silent = _pick(plan, lambda c: c.tier == Tier.KEY, lambda c: c.tier == Tier.STANDARD)
    plan.flag("silent_deciding_department", silent)
    plan.silent_dm.add(silent.index)


def newcomers(plan: DemoPlan) -> None:
    """Five new consignees have only a declared volume so far, and two pairs a lane not yet shipping."""
    rng = plan.rng

    def small_single_shipper(c: Company) -> bool:
        return c.role == "consignee" and c.tier == Tier.STANDARD and len(plan.partners[c.index]) == 1

    for _ in range(5):
        company = _pick(plan, small_single_shipper)
        company.acquired_on = plan.today - dt.timedelta(days=rng.randint(5, 25))
        company.channel = AcquisitionChannel.REFERRAL
        plan.newcomers.append(company.index)
        for lane in plan.lanes_of(company.index):
            lane.declared = round(lane.monthly * rng.uniform(0.8, 1.5), 1)
            lane.started_on = plan.today + dt.timedelta(days=rng.randint(3, 20))
    for lane in rng.sample(
        [lane for lane in plan.lanes if lane.declared is None and lane.shipper not in plan.calm], 2
    ):
        # an existing pair adds a lane that has not shipped yet
        extra = add_lane(
            plan, plan.companies[lane.shipper], plan.companies[lane.consignee], service=ServiceType.AIR
        )
        extra.declared = round(rng.uniform(4, 20), 1)
        extra.started_on = plan.today + dt.timedelta(days=rng.randint(3, 30))


def _pick(plan: DemoPlan, *predicates, biggest: int | None = None) -> Company:
    """Pick an active account in no story yet, meeting the first satisfiable predicate, optionally among
    the biggest few."""
    taken = plan.in_story() | plan.calm | plan.renewing | set(plan.newcomers)
    for predicate in predicates:
        options = [
            c
            for c in plan.companies
            if c.index not in taken and c.status == CustomerStatus.ACTIVE and predicate(c)
        ]
        if options:
            break
    else:
        raise RuntimeError("no account fits a troubled-account story")
    if biggest:
        options = sorted(options, key=lambda c: -plan.volume(c.index))[:biggest]
    return plan.rng.choice(options)


def describe(plan: DemoPlan) -> None:
    """Write one line per troubled account, from the generated data itself."""
    recent, trailing = defaultdict(int), defaultdict(int)
    horizon = plan.horizon
    for row in plan.shipments:
        age = (horizon - row[1]).days
        if age < 90:
            lane = plan.lanes[row[0]]
            for i in (lane.shipper, lane.consignee):
                trailing[i] += 1
                if age < 30:
                    recent[i] += 1
    for i in plan.troubled["falling_volume"]:
        mean = trailing[i] / 3
        plan.notes[i] = (
            f"{recent[i]} shipments in the last 30 days against a monthly mean of {mean:.0f} over 90 days"
        )
    for i, dept in plan.furious.items():
        plan.notes[i] = f"the {dept} department (deciding) rates us far below its expectations"
    for i in plan.troubled["unhappy_consignees"]:
        names = ", ".join(plan.companies[c].name for c in plan.unhappy_consignees)
        plan.notes[i] = f"own departments content, but its main consignees are unhappy: {names}"
    for company, _lane, _delivered, days, amount in plan.overdue_claims:
        plan.notes[company] = f"claim of {amount:,.2f} open for {days} days"
    for i in plan.no_renewal:
        plan.notes[i] = f"contract ends {plan.companies[i].profile['contract_end']}, no renewal opportunity"
    for i in plan.troubled["contact_overdue"]:
        last = max(x["at"] for x in plan.interactions if x["company"] == i)
        plan.notes[i] = f"{plan.companies[i].tier.value}, last contact {(horizon - last).days} days ago"
    for i in plan.silent_dm:
        dept = next(d["name"] for d in plan.departments if d["company"] == i and d.get("silenced"))
        plan.notes[i] = f"the {dept} department (deciding) has not answered for over {SILENT_AFTER_DAYS} days"
    for i in plan.troubled["tier_mismatch"]:
        company = plan.companies[i]
        plan.notes[i] = f"tier {company.tier.value} but expected revenue {company.value:,.0f} a year"
