"""The people: each company's departments and contacts, our users, and their interactions with clients.

Departments follow a template per role (a shipper's logistics and procurement decide, a consignee's
warehouse too), more of them for bigger accounts; contacts are named in the region's style.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from logicrm.customers.models import Tier
from logicrm.demo import decline
from logicrm.demo.draws import weighted
from logicrm.demo.names import person_name
from logicrm.demo.plan import WINDOW_DAYS, Company, DemoPlan
from logicrm.relations.models import InteractionKind
from logicrm.rulebook.document import DEFAULTS
from logicrm.users.models import UserRole

ADMIN_EMAIL = "admin@demo.logicrm.example"
USERS = (
    ("admin", "Ada Admin", ADMIN_EMAIL, UserRole.ADMIN),
    ("manager", "Marco Bianchi", "marco.bianchi@demo.logicrm.example", UserRole.MANAGER),
    ("am0", "Chen Jing", "chen.jing@demo.logicrm.example", UserRole.ACCOUNT_MANAGER),
    ("am1", "Jonas Weber", "jonas.weber@demo.logicrm.example", UserRole.ACCOUNT_MANAGER),
    ("am2", "Emma Janssen", "emma.janssen@demo.logicrm.example", UserRole.ACCOUNT_MANAGER),
    ("planner", "Priya Nair", "priya.nair@demo.logicrm.example", UserRole.PLANNER),
    ("viewer", "Victor Olsen", "victor.olsen@demo.logicrm.example", UserRole.VIEWER),
)  # key ("am0" is the account manager of regions with owner 0), name, e-mail, role

# name: (decision weight, who decides: "always", "big" for VIP and key accounts, "never")
SHIPPER_DEPARTMENTS = (
    ("logistics", 3.0, "always"),
    ("procurement", 3.0, "always"),
    ("finance", 2.0, "big"),
    ("quality", 1.5, "never"),
    ("sales", 1.0, "never"),
    ("customer service", 1.0, "never"),
)
CONSIGNEE_DEPARTMENTS = (
    ("warehouse", 3.0, "always"),
    ("logistics", 2.5, "always"),
    ("procurement", 2.5, "big"),
    ("finance", 1.5, "never"),
    ("quality", 1.5, "never"),
    ("store operations", 1.0, "never"),
)
DISTRIBUTOR_DEPARTMENTS = (
    ("logistics", 3.0, "always"),
    ("procurement", 3.0, "always"),
    ("warehouse", 3.0, "always"),
    ("finance", 2.0, "big"),
    ("sales", 1.5, "never"),
    ("quality", 1.0, "never"),
)
DEPARTMENTS_PER_TIER = {Tier.VIP: (6, 6), Tier.KEY: (4, 5), Tier.STANDARD: (2, 3)}
ROLES = {
    "logistics": ("Head of Logistics", "Transport Planner", "Logistics Coordinator"),
    "procurement": ("Procurement Director", "Category Buyer", "Logistics Buyer"),
    "finance": ("Finance Director", "Accounts Payable Lead", "Controller"),
    "warehouse": ("Warehouse Manager", "Inbound Supervisor", "Dock Coordinator"),
    "quality": ("Quality Manager", "QA Specialist"),
    "sales": ("Sales Director", "Key Account Manager"),
    "customer service": ("Customer Service Lead", "Order Desk Agent"),
    "store operations": ("Store Operations Manager", "Replenishment Planner"),
}

CADENCE_DAYS = DEFAULTS.cadence.days  # how often we should be in touch: the rulebook's default
# Contacts with a deciding department are of kinds that count for its cadence (VIP accounts, True, get more
# visits); the others hear from us mostly by e-mail, which does not count.
COUNTING_MIX = {
    vip: {InteractionKind.VISIT: 2 if vip else 1, InteractionKind.MEETING: 2, InteractionKind.CALL: 4,
          InteractionKind.REVIEW: 1}
    for vip in (False, True)
}  # fmt: skip
BACKGROUND_MIX = {InteractionKind.EMAIL: 3, InteractionKind.CALL: 1}
LAPSED_SHARE = 0.03  # of deciding departments outside the story, past their cadence today
FOLLOW_UP_SHARE = 0.08  # of contacts that set a next follow-up,
FOLLOW_UP_DAYS = (5, 30)  # this many days later
INTERACTION_SUMMARIES = {
    InteractionKind.VISIT: "Site visit in {city}: walked the dock and reviewed the hand-over process",
    InteractionKind.MEETING: "Business review with {dept}: volumes, OTIF and the improvement plan",
    InteractionKind.CALL: "Check-in call with {dept} on capacity for the coming weeks",
    InteractionKind.EMAIL: "Sent {dept} the updated rate card and transit times",
    InteractionKind.REVIEW: "Annual service review with {dept}",
}


def departments(plan: DemoPlan) -> None:
    """Departments from the role's template, more for bigger accounts, each with one to three contacts."""
    rng = plan.rng
    for company in plan.companies:
        template = {
            "shipper": SHIPPER_DEPARTMENTS,
            "consignee": CONSIGNEE_DEPARTMENTS,
            "distributor": DISTRIBUTOR_DEPARTMENTS,
        }[company.role]
        low, high = DEPARTMENTS_PER_TIER[company.tier]
        chosen = list(template[: rng.randint(low, high)])
        if company.index in plan.furious and all(name != plan.furious[company.index] for name, *_ in chosen):
            chosen.append(next(d for d in template if d[0] == plan.furious[company.index]))
        big = company.tier in (Tier.VIP, Tier.KEY)
        for name, weight, decides in chosen:
            if name == "store operations" and company.industry != "retail":
                name = "production planning" if company.industry != "FMCG" else "sales"
                decides = "never"
            dept = {
                "company": company.index,
                "name": name,
                "decision_weight": round(weight * rng.uniform(0.8, 1.2) * 2) / 2,
                "is_decision_maker": decides == "always" or (decides == "big" and big),
                "contacts": [],
            }
            plan.departments.append(dept)
            for n in range(rng.randint(1, 3 if company.tier == Tier.VIP else 2)):
                _contact(plan, company, len(plan.departments) - 1, n)


def _contact(plan: DemoPlan, company: Company, department: int, n: int) -> None:
    """The department's n-th contact: name, role by seniority, e-mail at the company's domain, phone."""
    rng = plan.rng
    dept = plan.departments[department]
    name, local = person_name(rng, company.region)
    roles = ROLES.get(dept["name"], (f"{dept['name'].title()} Manager", f"{dept['name'].title()} Specialist"))
    region = company.region
    if region.style == "us":
        phone = f"{region.phone} 555 01{rng.randint(0, 99):02d}"
    elif region.style == "cn":
        phone = f"{region.phone} {rng.randint(5000, 8999)} {rng.randint(1000, 9999)}"
    else:
        phone = f"{region.phone} {rng.randint(100, 999)} {rng.randint(1000, 9999)}"
    dept["contacts"].append(len(plan.contacts))
    plan.contacts.append(
        {
            "company": company.index,
            "department": department,
            "name": name,
            "role": roles[min(n, len(roles) - 1)],
            "email": f"{local}@{company.domain}",
            "phone": phone,
        }
    )


def interactions(plan: DemoPlan) -> None:
    """Contacts while the company is a customer: each deciding department visited, met or called at the
    tier's cadence (the rulebook's default), and e-mails and calls to the others, up to a recent last
    contact (one from before a leaving company fell silent; long ago on the story's overdue accounts).

    Outside the story a few deciding departments have lapsed past their cadence; a newcomer was met once."""
    rng = plan.rng
    overdue = set(plan.troubled["contact_overdue"])
    by_company: dict[int, list[int]] = defaultdict(list)
    for number, dept in enumerate(plan.departments):
        by_company[dept["company"]].append(number)
    for company in plan.companies:
        i = company.index
        cadence = CADENCE_DAYS[company.tier]
        if i in overdue:
            last = cadence * rng.uniform(3.0, 3.5)
        elif i in plan.healthy:
            last = rng.uniform(2, 12)
        elif i in plan.newcomers:
            last = rng.uniform(1, (plan.today - company.acquired_on).days)
        else:
            last = rng.uniform(1, cadence * 0.8)
        silent = decline.silent_days(plan, company)
        customer_for = min(WINDOW_DAYS, (plan.today - company.acquired_on).days)
        last += silent
        if last >= customer_for > silent:  # won lately: contacted since
            last = silent + (customer_for - silent) * rng.uniform(0.1, 0.9)
        deciding = [d for d in by_company[i] if plan.departments[d]["is_decision_maker"]]
        others = [d for d in by_company[i] if d not in deciding] or deciding
        rng.shuffle(deciding)
        if i in plan.newcomers:  # met once, its other departments not yet
            _touch(plan, company, deciding[0], last, COUNTING_MIX[company.tier == Tier.VIP])
            continue
        story = i in overdue or i in plan.healthy or silent > 0 or i in plan.calm
        for n, dept in enumerate(deciding):
            ago = last
            if n and i in plan.healthy:
                ago = last + rng.uniform(0, 6)
            elif n and story:
                ago = last + rng.uniform(0, cadence * 0.3)
            elif n:
                ago = rng.uniform(last, max(last, cadence - 1))
            if not story and rng.random() < LAPSED_SHARE:
                ago = cadence * rng.uniform(1.02, 1.5)  # let slip past its cadence
            _chain(plan, company, [dept], ago, customer_for, cadence, COUNTING_MIX[company.tier == Tier.VIP])
        _chain(
            plan, company, others, last + rng.uniform(0, cadence * 0.5), customer_for, cadence, BACKGROUND_MIX
        )


def _chain(
    plan: DemoPlan, company: Company, departments: list[int], ago: float, customer_for: int, cadence: int, mix
) -> None:
    """Contacts from `ago` days back to when the company was won, a little under the cadence apart, each
    to one of the departments."""
    rng = plan.rng
    while ago < customer_for:
        _touch(plan, company, rng.choice(departments), ago, mix)
        ago += cadence * rng.uniform(0.6, 1.0)


def _touch(plan: DemoPlan, company: Company, dept: int, ago: float, mix) -> None:
    """One contact `ago` days back, by the owner or (now and then) another member of the account's team;
    some promise a follow-up within weeks."""
    rng = plan.rng
    kind = weighted(rng, mix.items())
    user = f"am{company.owner}" if not company.team or rng.random() < 0.75 else rng.choice(company.team)
    at = plan.horizon - dt.timedelta(days=ago)
    at = at.replace(hour=rng.randint(8, 16), minute=rng.choice((0, 15, 30, 45)), second=0, microsecond=0)
    if at >= plan.horizon:
        at -= dt.timedelta(days=1)
    follow = rng.random() < FOLLOW_UP_SHARE
    plan.interactions.append(
        {
            "company": company.index,
            "department": dept,
            "user": user,
            "kind": kind,
            "at": at,
            "summary": INTERACTION_SUMMARIES[kind].format(
                city=company.city, dept=plan.departments[dept]["name"]
            ),
            "next_follow_up": at.date() + dt.timedelta(days=rng.randint(*FOLLOW_UP_DAYS)) if follow else None,
        }
    )
