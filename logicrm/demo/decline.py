"""What announces a departure in the leaver's own records, from its `since` to its `on` (history.py).

Each leaver shows its own draw of the signals, so that no single one gives every departure away:
- thinning: the volume on its lanes falls towards a tenth, then stops (always, for a shipper going quiet);
- late: its lanes run late and damage more;
- souring: its deciding departments' verdicts fall by its severity, the others' by less;
- lapsing: it stops answering surveys and taking our calls half-way;
- grievances: complaints about late deliveries and claims for damaged ones.
A follower (it leaves because a partner did) shows fewer of them: its reason is the partner, not us.
`lanes` and `grievances` are steps; `souring` and `silent_days` are read by the survey and interaction steps.
"""

from __future__ import annotations

import datetime as dt
import random

from logicrm.demo.plan import Company, DemoPlan, Leaving
from logicrm.demo.tickets import add_ticket
from logicrm.tickets.models import Severity, TicketKind

SIGNALS = ("thinning", "late", "souring", "lapsing", "grievances")
SIGNAL_CHANCE = {  # (leaving on its own, following a partner)
    "thinning": (0.85, 0.6),
    "late": (0.5, 0.2),
    "souring": (0.8, 0.4),
    "lapsing": (0.6, 0.6),
    "grievances": (0.55, 0.3),
}
LATE_ON_TIME_DROP = (0.12, 0.3)
LATE_DAMAGE_FACTOR = (2.0, 4.0)
OTHER_DEPARTMENTS_SOURING = 0.4  # share of the severity a department that does not decide feels
COMPLAINTS = (1, 4)
CLAIMS = (0, 2)
COMPLAINT_SUBJECTS = (
    "Late again on {origin} → {destination}: third time this month",
    "Delivery missed our receiving window, {origin} → {destination}",
    "Escalation: repeated delays {origin} → {destination}",
)


def draw_signals(rng: random.Random, *, follower: bool, quiet: bool) -> tuple[str, ...]:
    """The signals one leaver shows, in the order of SIGNALS (a tuple: its repr does not depend on
    string hashing, so the plan reads the same in every process)."""
    drawn = [rng.random() < SIGNAL_CHANCE[signal][follower] for signal in SIGNALS]
    return tuple(s for s, shown in zip(SIGNALS, drawn, strict=True) if shown or (quiet and s == "thinning"))


def lanes(plan: DemoPlan) -> None:
    """Thin the leavers' lanes until they go, and let the late ones run late and damage more."""
    rng = plan.rng
    for i, leaving in sorted(plan.leaving.items()):
        since, on = (leaving.since - plan.start).days, (leaving.on - plan.start).days
        for lane in plan.lanes_of(i):
            if lane.declared is not None:
                continue
            if "thinning" in leaving.signals and (lane.fading is None or lane.fading[1] > on):
                lane.fading = (since, on)  # the end that goes first sets the pace
            if "late" in leaving.signals and lane.bad_from is None:
                lane.bad_from = since
                lane.bad_on_time = lane.on_time - rng.uniform(*LATE_ON_TIME_DROP)
                lane.bad_damage = lane.damage * rng.uniform(*LATE_DAMAGE_FACTOR)


def souring(plan: DemoPlan, company: int, *, decides: bool, ago: int) -> float:
    """How far below its usual verdict a department of a leaver rates us `ago` days before today."""
    leaving = plan.leaving.get(company)
    if leaving is None or "souring" not in leaving.signals:
        return 0.0
    day = plan.today - dt.timedelta(days=ago)
    if day <= leaving.since:
        return 0.0
    progress = min(1.0, (day - leaving.since) / (leaving.on - leaving.since))
    return leaving.severity * progress * (1.0 if decides else OTHER_DEPARTMENTS_SOURING)


def silent_days(plan: DemoPlan, company: Company) -> int:
    """Days since the company last talked to us: since it left, or since it fell silent on the way."""
    leaving = plan.leaving.get(company.index)
    if leaving is None:
        return 0
    if "lapsing" in leaving.signals:
        return max(0, (plan.today - _silent_from(leaving)).days)
    return max(0, (plan.today - leaving.on).days) if not leaving.quiet else 0


def _silent_from(leaving: Leaving) -> dt.date:
    return leaving.since + (leaving.on - leaving.since) / 2


def grievances(plan: DemoPlan) -> None:
    """Complaints about the leavers' late deliveries and claims for their damaged ones, while in decline."""
    rng = plan.rng
    angry = {i: leaving for i, leaving in plan.leaving.items() if "grievances" in leaving.signals}
    rows_of: dict[int, list[tuple]] = {}
    for row in plan.shipments:
        lane = plan.lanes[row[0]]
        for end in (lane.shipper, lane.consignee):
            if end in angry and row[3] is not None:
                rows_of.setdefault(end, []).append(row)
    for i, leaving in sorted(angry.items()):
        start = dt.datetime.combine(leaving.since, dt.time(), tzinfo=dt.UTC)
        end = min(dt.datetime.combine(leaving.on, dt.time(), tzinfo=dt.UTC), plan.horizon)
        rows = [row for row in rows_of.get(i, ()) if start <= row[3] < end]
        late = [row for row in rows if row[3] > row[2]]
        damaged = [row for row in rows if row[5]]
        for row in rng.sample(late, min(len(late), rng.randint(*COMPLAINTS))):
            lane = plan.lanes[row[0]]
            subject = rng.choice(COMPLAINT_SUBJECTS).format(origin=lane.origin, destination=lane.destination)
            severity = Severity.HIGH if rng.random() < 0.4 else Severity.MEDIUM
            opened = row[3] + dt.timedelta(hours=rng.uniform(1, 30))
            add_ticket(
                plan, i, TicketKind.COMPLAINT, opened=opened, subject=subject, severity=severity, lane=lane
            )
        for row in rng.sample(damaged, min(len(damaged), rng.randint(*CLAIMS))):
            claim = row[6] or round(row[7] * rng.uniform(0.5, 2.5), 2)
            opened = row[3] + dt.timedelta(hours=rng.uniform(6, 72))
            add_ticket(
                plan,
                i,
                TicketKind.CLAIM,
                opened=opened,
                subject="Damaged again on arrival: we expect full compensation",
                severity=Severity.HIGH,
                lane=plan.lanes[row[0]],
                claim=claim,
            )
