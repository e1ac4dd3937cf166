"""Write a demo plan into an empty, migrated database with bulk inserts, open the tasks the service rules
make of what was written (follow-ups, callbacks), and sum up what it wrote."""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.orm import Session

from logicrm.consignees.models import ConsigneeProfile
from logicrm.customers.models import Customer, CustomerStatus, TeamRole, customer_team
from logicrm.customers.names import normalize_name
from logicrm.db import bulk_insert
from logicrm.demo import history
from logicrm.demo.build import build_plan
from logicrm.demo.people import ADMIN_EMAIL, USERS
from logicrm.demo.plan import SILENT_AFTER_DAYS, TROUBLES, WINDOW_DAYS, DemoPlan
from logicrm.lanes.models import Link, Shipment
from logicrm.lanes.shipments import SHIPMENT_FIELDS
from logicrm.relations import service as relations
from logicrm.relations.models import Contact, Department, Interaction, SurveyResponse, SurveyScore
from logicrm.sales.models import Opportunity
from logicrm.shippers.models import ShipperProfile
from logicrm.tasks.models import Task, TaskSource
from logicrm.tickets import callbacks
from logicrm.tickets import service as tickets
from logicrm.tickets.models import Ticket, TicketStatus
from logicrm.users import keys as api_keys
from logicrm.users import passwords as user_passwords
from logicrm.users import service as users
from logicrm.users.models import User

MONTHS = round(WINDOW_DAYS / 365 * 12)  # of history


@dataclass
class DemoSummary:
    """What `load_demo` wrote: counts per entity, the accounts to watch, and the admin's API key."""

    seed: int
    today: dt.date
    counts: dict[str, int]
    troubled: dict[str, list[int]]  # category → customer ids
    healthy_vips: list[int]
    admin_key: str
    api_keys: dict[str, str]  # email → plaintext key of every demo user
    passwords: dict[str, str]  # email → web sign-in password of every demo user
    names: dict[int, str]
    notes: dict[int, str]  # customer id → why it is troubled
    seconds: float = 0.0
    # the history (history.py), by customer id: who followed which partner out, which shippers stopped
    # shipping by today without a status change, who is in decline now and leaves after today
    followers: dict[int, int] = field(default_factory=dict)
    quiet_shippers: list[int] = field(default_factory=list)
    leaving_soon: list[int] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Describe the demo for a human: what was loaded and which accounts to look at."""
        c = self.counts
        out = [
            f"Demo network loaded in {self.seconds:.1f} s "
            f"(seed {self.seed}, {MONTHS} months up to {self.today}):",
            f"  {c['customers']} customers: {c['shippers']} shippers, {c['consignees']} consignees, "
            f"{c['dual_role']} distributors in both roles",
            f"  {c['churned']} churned over the {MONTHS} months "
            f"({c['churned_after_partner']} after a partner left), "
            f"{c['gone_quiet']} shippers stopped shipping, {c['won_in_window']} won, "
            f"{c['leaving_soon']} in decline now",
            f"  {c['links']} links ({c['declared_only_links']} with a declared volume only), "
            f"{c['shipments']:,} shipments",
            f"  {c['departments']} departments ({c['silent_departments']} silent > {SILENT_AFTER_DAYS} days), "
            f"{c['contacts']} contacts, {c['survey_responses']} survey responses",
            f"  {c['interactions']} interactions, {c['tickets']} tickets ({c['open_tickets']} open), "
            f"{c['opportunities']} opportunities",
            f"  open tasks: {c['follow_up_tasks']} follow-ups of the latest contacts, {c['callback_tasks']} callbacks "
            "after cases resolved this week (a health run adds the cadence's and the playbooks')",
            f"  users: {', '.join(self.api_keys)} (each has an API key and a web password; the admin key is printed)",
            "Troubled accounts (health checks should flag these):",
        ]
        for category, ids in self.troubled.items():
            out.append(f"  {category}: {TROUBLES.get(category, '')}")
            out.extend(f"    #{i} {self.names[i]}: {self.notes.get(i, '')}" for i in ids)
        out.append(
            "Healthy VIP accounts (steady, happy, recently contacted; checks should leave them alone):"
        )
        out.extend(f"    #{i} {self.names[i]}" for i in self.healthy_vips)
        return out


# Without render_nulls the ORM splits a batch wherever a column turns None, into thousands of statements.
BULK = {"render_nulls": True}


def _insert_ids(session: Session, model, rows: list[dict]) -> list[int]:
    """Insert rows in bulk and return their ids in row order."""
    if not rows:
        return []
    statement = insert(model).returning(model.id, sort_by_parameter_order=True)
    return list(session.scalars(statement, rows, execution_options=BULK))


def _insert(session: Session, target, rows: list[dict]) -> None:
    """Insert rows in bulk."""
    if rows:
        session.execute(insert(target), rows, execution_options=BULK)


SCORE_COLUMNS = ("response_id", "dimension", "importance", "expectation", "perception")
# Columns copied as they are from the plan's records (references are mapped to ids separately).
SHIPPER_PROFILE_COLUMNS = (
    "contract_start",
    "contract_end",
    "services",
    "contracted_annual_value",
    "on_time_target",
)
CONSIGNEE_PROFILE_COLUMNS = ("sites", "receiving_windows", "delivery_requirements")
DEPARTMENT_COLUMNS = ("name", "decision_weight", "is_decision_maker")
CONTACT_COLUMNS = ("name", "role", "email", "phone")
SURVEY_COLUMNS = ("collected_at", "channel", "scale_min", "scale_max", "likelihood_to_recommend", "comment")
INTERACTION_COLUMNS = ("kind", "at", "summary", "next_follow_up")
# the manager on a VIP team is its executive sponsor; a second "amN" is a second account manager
TEAM_ROLES = {"ma": TeamRole.EXECUTIVE_SPONSOR, "am": TeamRole.ACCOUNT_MANAGER}
TICKET_COLUMNS = ("kind", "severity", "subject", "opened_at", "first_response_at", "resolved_at", "status",
                  "claim_amount", "root_cause", "resolution", "compensation_amount")  # fmt: skip
# Callbacks after cases resolved this long before today are still to make; earlier ones were made.
CALLBACKS_PENDING_DAYS = 7
OPPORTUNITY_COLUMNS = ("kind", "stage", "title", "value", "probability", "expected_close")


def _rows(
    items: list[dict], columns: tuple[str, ...], **references: tuple[str, Sequence | dict]
) -> list[dict]:
    """Turn plan records into insert rows: copy `columns`; map each reference (column=(key, ids)) to an id."""
    return [
        {
            **{column: item[column] for column in columns},
            **{
                column: None if item[key] is None else ids[item[key]]
                for column, (key, ids) in references.items()
            },
        }
        for item in items
    ]


def load_demo(session: Session, *, seed: int = 7, today: dt.date | None = None) -> DemoSummary:
    """Fill an empty database with the demo network; the caller commits."""
    started = time.perf_counter()
    plan = build_plan(seed=seed, today=today)
    ids = _Ids()
    keys, passwords = _write_users(session, ids)
    _write_customers(session, plan, ids)
    _write_profiles(session, plan, ids)
    _write_links(session, plan, ids)
    _write_relations(session, plan, ids)
    _open_follow_ups(session, plan, ids)
    ticket_rows = _rows(plan.tickets, TICKET_COLUMNS, customer_id=("company", ids.customers),
                        link_id=("lane", ids.links))  # fmt: skip
    # due times, priority, assignee: as if each had been opened at the desk
    _insert(session, Ticket, tickets.with_desk_fields(session, rows=ticket_rows))
    _schedule_callbacks(session, plan)
    _insert(session, Opportunity, _rows(plan.opportunities, OPPORTUNITY_COLUMNS,
                                        customer_id=("company", ids.customers)))  # fmt: skip
    session.flush()
    summary = _summary(plan, ids.customers, keys, passwords, time.perf_counter() - started)
    for source in (TaskSource.FOLLOW_UP, TaskSource.CALLBACK):
        summary.counts[f"{source}_tasks"] = session.scalar(
            select(func.count()).select_from(Task).where(Task.source == source)
        )
    return summary


@dataclass
class _Ids:
    """Database ids of the plan's records, in the order of the plan's lists (users by their key)."""

    users: dict[str, int] = field(default_factory=dict)
    customers: list[int] = field(default_factory=list)
    links: list[int] = field(default_factory=list)
    interactions: list[int] = field(default_factory=list)


def _write_users(session: Session, ids: _Ids) -> tuple[dict[str, str], dict[str, str]]:
    """Create the demo users, each with an API key and a random web password; return e-mail → plaintext
    key and e-mail → password."""
    keys, passwords = {}, {}
    for key, name, email, role in USERS:
        user = users.create(session, name=name, email=email, role=role)
        _key, secret = api_keys.create(session, user=user, label="demo")
        passwords[email] = f"demo-{secrets.token_urlsafe(8)}"
        user_passwords.set_password(session, user=user, password=passwords[email])
        ids.users[key], keys[email] = user.id, secret
    return keys, passwords


def _write_customers(session: Session, plan: DemoPlan, ids: _Ids) -> None:
    """The customers, who referred them, and their teams."""
    companies = plan.companies
    ids.customers = _insert_ids(
        session,
        Customer,
        [
            {
                "external_ref": f"CUS-{c.index + 1:04d}",
                "name": c.name,
                "normalized_name": normalize_name(c.name),
                "registration_number": c.registration_number,
                "industry": c.industry,
                "region": c.region.name,
                "tier": c.tier,
                "status": c.status,
                "owner_id": ids.users[f"am{c.owner}"],
                "acquisition_channel": c.channel,
                "acquired_on": c.acquired_on,
                "churned_on": c.churned_on,
            }
            for c in companies
        ],
    )
    referred = [
        {"b_id": ids.customers[c.index], "b_ref": ids.customers[c.referred_by]}
        for c in companies
        if c.referred_by is not None
    ]
    if referred:
        table = Customer.__table__
        session.execute(
            table.update().where(table.c.id == bindparam("b_id")).values(referred_by_id=bindparam("b_ref")),
            referred,
        )
    _insert(
        session,
        customer_team,
        [
            {
                "customer_id": ids.customers[c.index],
                "user_id": ids.users[member],
                "role": TEAM_ROLES[member[:2]],
            }
            for c in companies
            for member in c.team
        ],
    )


def _write_profiles(session: Session, plan: DemoPlan, ids: _Ids) -> None:
    """Shipper profiles (the contract) and consignee profiles (sites and delivery rules)."""
    refs = {"customer_id": ("company", ids.customers)}
    shippers = [{**c.profile, "company": c.index} for c in plan.companies if c.is_shipper]
    consignees = [{**c.profile, "company": c.index} for c in plan.companies if c.is_consignee]
    _insert(session, ShipperProfile, _rows(shippers, SHIPPER_PROFILE_COLUMNS, **refs))
    _insert(session, ConsigneeProfile, _rows(consignees, CONSIGNEE_PROFILE_COLUMNS, **refs))


def _write_links(session: Session, plan: DemoPlan, ids: _Ids) -> None:
    """The links (one per lane) and their shipments."""
    ids.links = _insert_ids(
        session,
        Link,
        [
            {
                "external_ref": f"LNK-{number:04d}",
                "shipper_id": ids.customers[lane.shipper],
                "consignee_id": ids.customers[lane.consignee],
                "origin": lane.origin,
                "destination": lane.destination,
                "service_type": lane.service,
                "declared_monthly_volume": lane.declared,
                "started_on": lane.started_on,
                "ended_on": lane.ended_on,
                "status": lane.status,
            }
            for number, lane in enumerate(plan.lanes, 1)
        ],
    )
    bulk_insert(
        session.connection(),
        Shipment.__table__,
        SHIPMENT_FIELDS,
        ((f"SHP-{number:07d}", ids.links[row[0]], *row[1:]) for number, row in enumerate(plan.shipments, 1)),
    )


def _write_relations(session: Session, plan: DemoPlan, ids: _Ids) -> None:
    """Departments, contacts, survey responses with their scores, interactions."""
    refs = {"customer_id": ("company", ids.customers)}
    department_ids = _insert_ids(session, Department, _rows(plan.departments, DEPARTMENT_COLUMNS, **refs))
    refs["department_id"] = ("department", department_ids)
    contact_ids = _insert_ids(session, Contact, _rows(plan.contacts, CONTACT_COLUMNS, **refs))
    response_ids = _insert_ids(
        session,
        SurveyResponse,
        _rows(plan.surveys, SURVEY_COLUMNS, **refs, contact_id=("contact", contact_ids)),
    )
    bulk_insert(
        session.connection(),
        SurveyScore.__table__,
        SCORE_COLUMNS,
        (
            (response_id, dimension.value, importance, expectation, perception)
            for response_id, s in zip(response_ids, plan.surveys, strict=True)
            for dimension, importance, expectation, perception in s["scores"]
        ),
    )
    ids.interactions = _insert_ids(
        session,
        Interaction,
        _rows(plan.interactions, INTERACTION_COLUMNS, **refs, user_id=("user", ids.users)),
    )


def _open_follow_ups(session: Session, plan: DemoPlan, ids: _Ids) -> None:
    """The follow-up tasks the interactions' next follow-ups make, through the rule that makes them when one
    is logged: for each current account, its latest contact's (an earlier one was followed up by the later
    contacts, as My day counts them, and its task is not replayed)."""
    latest: dict[int, int] = {}
    for number, item in enumerate(plan.interactions):
        if plan.companies[item["company"]].churned_on is None:
            known = latest.get(item["company"])
            if known is None or item["at"] > plan.interactions[known]["at"]:
                latest[item["company"]] = number
    pending = [ids.interactions[n] for n in latest.values() if plan.interactions[n]["next_follow_up"]]
    for interaction in session.scalars(select(Interaction).where(Interaction.id.in_(pending))):
        relations.follow_up(session, user=session.get(User, interaction.user_id), interaction=interaction)


def _schedule_callbacks(session: Session, plan: DemoPlan) -> None:
    """The callbacks of the cases resolved lately, through the desk's rule for a case just resolved (it
    decides which kinds get one, for whom and by when)."""
    since = plan.horizon - dt.timedelta(days=CALLBACKS_PENDING_DAYS)
    resolved = session.scalars(select(Ticket).where(Ticket.resolved_at >= since).order_by(Ticket.id))
    for ticket in resolved:
        resolver = session.get(User, ticket.assignee_id) if ticket.assignee_id else None
        callbacks.schedule(session, user=resolver, ticket=ticket)


def _summary(
    plan: DemoPlan, customer_ids: list[int], keys: dict[str, str], passwords: dict[str, str], seconds: float
) -> DemoSummary:
    silent_before = plan.horizon - dt.timedelta(days=SILENT_AFTER_DAYS)
    answered = {s["department"] for s in plan.surveys if s["collected_at"] >= silent_before}
    followers, quiet, leaving_soon = (
        history.followers(plan),
        history.quiet_shippers(plan),
        history.leaving_soon(plan),
    )
    counts = {
        "users": len(keys),
        "customers": len(plan.companies),
        "shippers": sum(c.is_shipper for c in plan.companies),
        "consignees": sum(c.is_consignee for c in plan.companies),
        "dual_role": sum(c.is_shipper and c.is_consignee for c in plan.companies),
        "churned": sum(c.status == CustomerStatus.CHURNED for c in plan.companies),
        "links": len(plan.lanes),
        "declared_only_links": sum(lane.declared is not None for lane in plan.lanes),
        "shipments": len(plan.shipments),
        "departments": len(plan.departments),
        "silent_departments": len(plan.departments) - len(answered),
        "contacts": len(plan.contacts),
        "survey_responses": len(plan.surveys),
        "survey_scores": sum(len(s["scores"]) for s in plan.surveys),
        "interactions": len(plan.interactions),
        "tickets": len(plan.tickets),
        "open_tickets": sum(
            t["status"] in (TicketStatus.OPEN, TicketStatus.IN_PROGRESS) for t in plan.tickets
        ),
        "opportunities": len(plan.opportunities),
        "churned_after_partner": len(followers),
        "gone_quiet": len(quiet),
        "won_in_window": sum(c.acquired_on > plan.start for c in plan.companies),
        "leaving_soon": len(leaving_soon),
    }
    return DemoSummary(
        seed=plan.seed,
        today=plan.today,
        counts=counts,
        troubled={category: [customer_ids[i] for i in ids] for category, ids in plan.troubled.items()},
        healthy_vips=[customer_ids[i] for i in plan.healthy],
        admin_key=keys[ADMIN_EMAIL],
        api_keys=keys,
        passwords=passwords,
        names={customer_ids[c.index]: c.name for c in plan.companies},
        notes={customer_ids[i]: note for i, note in plan.notes.items()},
        seconds=seconds,
        followers={customer_ids[i]: customer_ids[after] for i, after in followers.items()},
        quiet_shippers=[customer_ids[i] for i in quiet],
        leaving_soon=[customer_ids[i] for i in leaving_soon],
    )
