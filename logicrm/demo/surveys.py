"""Survey responses: each department's verdict on us, per dimension, at its own pace over the window.

Most departments answer around their company's mood; the story's furious departments rate us far below
their expectations throughout, the unhappy consignees' deciding departments since their lanes soured,
a leaving company's departments less and less until it goes (decline.py), and some departments have
fallen silent. Nobody answers before it became a customer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from logicrm.customers.models import Tier
from logicrm.demo import decline
from logicrm.demo.draws import clamp
from logicrm.demo.plan import SOURED_DAYS, WINDOW_DAYS, Company, DemoPlan
from logicrm.relations.models import Dimension

# What each department judges us on, and how much it cares (survey importance).
DIMENSIONS = {
    "logistics": {Dimension.TIMELINESS: 3, Dimension.RELIABILITY: 3, Dimension.CAPACITY: 2, Dimension.RESPONSIVENESS: 2, Dimension.COMPETENCE: 1.5},
    "procurement": {Dimension.RELIABILITY: 2, Dimension.IMPROVEMENT: 2.5, Dimension.RESPONSIVENESS: 2, Dimension.COMPETENCE: 2, Dimension.CAPACITY: 1.5},
    "finance": {Dimension.RESPONSIVENESS: 2, Dimension.COMPETENCE: 2.5, Dimension.IMPROVEMENT: 1.5, Dimension.ATTITUDE: 1},
    "warehouse": {Dimension.HANDOVER: 3, Dimension.TIMELINESS: 3, Dimension.ATTITUDE: 2, Dimension.RELIABILITY: 2.5, Dimension.RESPONSIVENESS: 1.5},
    "quality": {Dimension.RELIABILITY: 3, Dimension.COMPETENCE: 2, Dimension.IMPROVEMENT: 2, Dimension.HANDOVER: 1.5},
    "sales": {Dimension.TIMELINESS: 2, Dimension.RELIABILITY: 2, Dimension.RESPONSIVENESS: 2, Dimension.ATTITUDE: 1.5},
    "customer service": {Dimension.RESPONSIVENESS: 3, Dimension.ATTITUDE: 2.5, Dimension.COMPETENCE: 2},
    "store operations": {Dimension.HANDOVER: 3, Dimension.TIMELINESS: 2.5, Dimension.ATTITUDE: 2},
}  # fmt: skip
EXPECTATION = {Tier.VIP: 6.0, Tier.KEY: 5.6, Tier.STANDARD: 5.2}
SURVEY_CHANNELS = ("email survey", "quarterly review", "phone interview", "web form", "site visit")
COMMENTS = {
    "good": ("Drivers are punctual and the hand-over paperwork is always complete.",
             "Proactive updates on delays: exactly what we need.",
             "Quarterly reviews are useful; keep the improvement ideas coming."),
    "fair": ("Service is fine, but tracking updates could be faster.",
             "Occasional booking hiccups in peak season.",
             "Good drivers, slow answers from the office."),
    "bad": ("Too many late deliveries this quarter.",
            "Claims take far too long to settle.",
            "Nobody calls back when a truck is late."),
    "finance": ("Invoices keep arriving with surcharges we never agreed; three months of credit notes are still outstanding.",
                "Fourth invoice dispute this quarter. We are escalating to the CFO."),
    "procurement": ("Rates went up twice without notice; we are preparing a tender.",
                    "Benchmark shows we pay 12% above market for worse service."),
    "consignee": ("Trucks arrive outside our receiving window and pallets come in damaged.",
                  "We are telling our supplier to find another carrier."),
}  # fmt: skip


@dataclass
class _Respondent:
    """A department answering surveys, and how it feels about us."""

    company: Company
    number: int  # the department's index in the plan
    department: dict
    expectation: float  # its mean expectation on the 1–7 scale
    special: str | None  # "furious" throughout, "soured" since SOURED_DAYS, or None: its company's mood


def surveys(plan: DemoPlan) -> None:
    """Every department's responses over the window, from its last answer back at its yearly pace."""
    rng = plan.rng
    for number, dept in enumerate(plan.departments):
        company = plan.companies[dept["company"]]
        i = company.index
        special = None
        if plan.furious.get(i) == dept["name"]:
            special = "furious"
        elif i in plan.unhappy_consignees and dept["is_decision_maker"]:
            special = "soured"
        days = _answer_days(plan, company, dept)
        if not days:
            continue  # never answered
        expectation = EXPECTATION[company.tier] - (0.5 if i in plan.healthy else 0)
        who = _Respondent(company, number, dept, expectation, special)
        offset = rng.gauss(0, 0.35) if i not in plan.calm else abs(rng.gauss(0, 0.2))
        for ago in days:
            if ago >= WINDOW_DAYS:
                break
            if special == "furious":
                gap, comment_key = -4.0, plan.furious[i]
            elif special == "soured" and ago < SOURED_DAYS:
                gap, comment_key = -2.8, "consignee"
            else:
                souring = decline.souring(plan, i, decides=dept["is_decision_maker"], ago=ago)
                gap, comment_key = company.mood + offset - souring, None
            _response(plan, who, ago, gap, comment_key)


def _answer_days(plan: DemoPlan, company: Company, dept: dict) -> list[int]:
    """Days ago the department answered: when it last did, then back at its yearly pace while the company
    was a customer (none: never)."""
    rng = plan.rng
    i = company.index
    per_year = {Tier.VIP: 4, Tier.KEY: 3, Tier.STANDARD: 2}[company.tier] + rng.choice((-1, 0, 0, 1))
    per_year = max(per_year, 2)
    if (
        i in plan.silent_dm
        and dept["is_decision_maker"]
        and dept["name"] in ("procurement", "logistics", "warehouse")
        and not any(d.get("silenced") for d in plan.departments if d["company"] == i)
    ):
        dept["silenced"] = True
        last = rng.randint(215, 300)
    elif i not in plan.calm and not dept["is_decision_maker"] and rng.random() < 0.1:
        if rng.random() < 0.5:
            return []
        last = rng.randint(200, 330)
    elif i in plan.healthy:
        last = rng.randint(5, 45)
    elif i in plan.newcomers:
        if not dept["is_decision_maker"]:
            return []
        last = rng.randint(1, (plan.today - company.acquired_on).days)
    else:
        last = rng.randint(3, 150)
    last += decline.silent_days(plan, company)
    days = [last]
    while i not in plan.newcomers and days[-1] + 365 / per_year < WINDOW_DAYS:
        days.append(days[-1] + round(365 / per_year * rng.uniform(0.8, 1.2)))
    customer_for = (plan.today - company.acquired_on).days
    return [ago for ago in days if ago < customer_for]


def _response(plan: DemoPlan, who: _Respondent, ago: int, gap: float, comment_key: str | None) -> None:
    """One response `ago` days back: scores around `gap` (perception − expectation), a likelihood to
    recommend that follows them, sometimes a comment."""
    rng = plan.rng
    dept = who.department
    scores = []
    for dimension, importance in DIMENSIONS.get(dept["name"], DIMENSIONS["logistics"]).items():
        if who.special == "furious":
            exp_value = rng.choice((6, 7, 7))
            perception = exp_value - rng.choice((3, 4, 4, 5))
        else:
            exp_value = round(clamp(rng.gauss(who.expectation, 0.6), 3, 7))
            perception = round(clamp(exp_value + gap + rng.gauss(0, 0.6), 1, 7))
        scores.append((dimension, float(importance), float(exp_value), float(perception)))
    mean_gap = sum(p - e for _, _, e, p in scores) / len(scores)
    if who.company.index in plan.healthy:
        ltr = rng.choice((9, 10, 10))
    elif who.special == "furious":
        ltr = rng.randint(0, 3)
    else:
        ltr = round(clamp(7.2 + 1.6 * mean_gap + rng.gauss(0, 1.0), 0, 10))
    comment = None
    if comment_key:
        comment = rng.choice(COMMENTS[comment_key])
    elif rng.random() < 0.25:
        comment = rng.choice(COMMENTS["good" if mean_gap > 0.3 else "fair" if mean_gap > -0.7 else "bad"])
    at = plan.horizon - dt.timedelta(days=ago, hours=rng.randint(6, 15), minutes=rng.randint(0, 59))
    plan.surveys.append(
        {
            "company": who.company.index,
            "department": who.number,
            "contact": rng.choice(dept["contacts"]) if dept["contacts"] else None,
            "collected_at": at,
            "channel": rng.choice(SURVEY_CHANNELS),
            "scale_min": 1,
            "scale_max": 7,
            "likelihood_to_recommend": ltr,
            "comment": comment,
            "scores": scores,
        }
    )
