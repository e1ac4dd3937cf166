"""Tickets as customer records (customers.records does visibility, references and history) with the service
desk's rules: due times from the account's tier SLA, a default assignee and priority, a timeline of what
happened, a root cause and a resolution to close one, a callback after a closed complaint or claim; and
the queue, ordered by when each open ticket breaches its SLA.

Due times are elapsed hours from `opened_at` in the rulebook version in force when the ticket was opened
(kept as `sla_version`); they move only when `opened_at` or the customer changes. A ticket breaches its
first-response time when it is answered (or resolved, or still unanswered now) after it, and its
resolution time when it is resolved (or still open now) after it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from sqlalchemy import Select, case, func, literal, or_, select
from sqlalchemy.orm import Session

from logicrm import db
from logicrm.audit import service as audit
from logicrm.customers import records, teams
from logicrm.customers import service as customers
from logicrm.customers.models import Customer, Tier, customer_team
from logicrm.customers.records import Checked, RecordKind, Write
from logicrm.db import utcnow
from logicrm.errors import DomainError, field_error
from logicrm.lanes.models import Link
from logicrm.rulebook import service as rulebook
from logicrm.rulebook.document import HandlingPlan, Rulebook
from logicrm.tasks import service as tasks
from logicrm.tickets import callbacks, timeline
from logicrm.tickets.models import (
    OPEN_STATUSES,
    Priority,
    Severity,
    Ticket,
    TicketEventKind,
    TicketKind,
    TicketStatus,
)
from logicrm.users.models import User

PRIORITIES = (Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT)
SEVERITY_LEVEL = {"low": 0, "medium": 1, "high": 2}
TIER_STEP = {"vip": 1, "key": 0, "standard": -1}  # VIP first
TIERS = tuple(Tier)


def default_priority(tier: str, severity: str) -> Priority:
    """The priority of a ticket from its severity, one step up for a VIP and one down for a standard account."""
    level = SEVERITY_LEVEL[str(severity)] + TIER_STEP[str(tier)]
    return PRIORITIES[min(max(level, 0), len(PRIORITIES) - 1)]


def due_times(book: Rulebook, *, tier: str, opened_at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """First-response and resolution due times of a ticket opened at `opened_at` on an account of `tier`."""
    sla = book.sla[str(tier)]
    return (
        opened_at + dt.timedelta(hours=sla.first_response_hours),
        opened_at + dt.timedelta(hours=sla.resolution_hours),
    )


def with_desk_fields(session: Session, *, rows: list[dict]) -> list[dict]:
    """Give ticket rows about to be written in bulk without the desk (the demo) what the desk gives a new
    ticket: due times from the rulebook in force and their account's tier, the default priority, and the
    default assignee where they name none. The rows need customer_id, opened_at and severity."""
    book = rulebook.current(session)
    ids = {row["customer_id"] for row in rows}
    tiers = dict(session.execute(select(Customer.id, Customer.tier).where(Customer.id.in_(ids))).all())
    assignees = _default_assignees(session, ids)
    for row in rows:
        tier = tiers[row["customer_id"]]
        row["first_response_due_at"], row["resolution_due_at"] = due_times(
            book, tier=tier, opened_at=row["opened_at"]
        )
        row["sla_version"] = book.version
        row["priority"] = default_priority(tier, row["severity"])
        if row.get("assignee_id") is None:
            row["assignee_id"] = assignees[row["customer_id"]]
    return rows


def _about_its_own_lane(session: Session, writes: list[Write]) -> list[Checked]:
    """A ticket about a lane names one of its customer's lanes."""
    merged = [{**(stored or {}), **data} for data, stored in writes]
    wanted = {record["link_id"] for record in merged if record.get("link_id") is not None}
    ends = {
        link_id: (shipper_id, consignee_id)
        for link_id, shipper_id, consignee_id in (
            session.execute(select(Link.id, Link.shipper_id, Link.consignee_id).where(Link.id.in_(wanted)))
            if wanted
            else ()
        )
    }
    results: list[Checked] = []
    for (data, _stored), record in zip(writes, merged, strict=True):
        link_id, customer_id = record.get("link_id"), record.get("customer_id")
        if link_id is not None and customer_id not in ends.get(link_id, ()):
            results.append(
                field_error(
                    "link_id", f"link {link_id} does not exist or does not involve customer {customer_id}"
                )
            )
        else:
            results.append(data)
    return results


def _prepare(session: Session, user: User, writes: list[Write]) -> list[Checked]:
    """The desk's rules on each payload as it will be written (the lane's for the batch at once)."""
    results = _about_its_own_lane(session, writes)
    live = [i for i, result in enumerate(results) if not isinstance(result, DomainError)]
    desk = _desk_rules(session, user, [(results[i], writes[i][1]) for i in live])
    for i, result in zip(live, desk, strict=True):
        results[i] = result
    return results


def _desk_rules(session: Session, user: User, writes: list[Write]) -> list[Checked]:
    """Due times and sla_version of a new ticket (again when it moves to another customer or is given
    another opened_at), its default priority and assignee, and the rules of closing one: for each write
    of the batch, the payload or the error refusing it (the accounts' tiers, defaults and assignees looked up
    once a batch)."""
    ids = {data.get("customer_id", ticket["customer_id"] if ticket else None) for data, ticket in writes}
    tiers = dict(
        session.execute(
            select(Customer.id, Customer.tier).where(
                db.among(session.connection(), Customer.id, ids - {None})
            )
        ).all()
    )
    defaults = _default_assignees(
        session,
        {
            data["customer_id"]
            for data, ticket in writes
            if ticket is None and "assignee_id" not in data and data.get("customer_id") in tiers
        },
    )
    book = rulebook.current(session)
    results: list[Checked] = [_desk_rule(data, ticket, tiers, defaults, book) for data, ticket in writes]
    known = [
        (i, result, ticket, result.get("customer_id", ticket["customer_id"] if ticket else None))
        for i, (result, (_data, ticket)) in enumerate(zip(results, writes, strict=True))
    ]
    known = [
        (i, result, ticket, customer_id) for i, result, ticket, customer_id in known if customer_id in tiers
    ]
    checked = [
        (i, result.get("assignee_id", ticket["assignee_id"] if ticket else None), customer_id)
        for i, result, ticket, customer_id in known
        if "assignee_id" in result or (ticket is not None and customer_id != ticket["customer_id"])
    ]
    checked = [(i, assignee, customer_id) for i, assignee, customer_id in checked if assignee is not None]
    takers = tasks.takers(session, pairs=[(assignee, customer_id) for _i, assignee, customer_id in checked])
    for i, assignee, customer_id in checked:
        if (assignee, customer_id) not in takers:
            try:
                tasks.check_assignee(session, user_id=assignee, customer_id=customer_id)  # (raises: why)
            except DomainError as error:
                results[i] = error
    for i, result, ticket, _customer_id in known:
        if ticket is not None and not isinstance(results[i], DomainError):
            try:
                _closing_rules(result, ticket)
            except DomainError as error:
                results[i] = error
    return results


def _desk_rule(data: dict, ticket: Mapping | None, tiers: dict, defaults: dict, book) -> dict:
    data = dict(data)
    customer_id = data.get("customer_id", ticket["customer_id"] if ticket else None)
    tier = tiers.get(customer_id)
    if tier is None:
        return data  # records names the unknown customer
    moved = ticket is not None and customer_id != ticket["customer_id"]
    if ticket is None or moved or "opened_at" in data:
        opened_at = data.get("opened_at", ticket["opened_at"] if ticket else None) or utcnow()
        data["first_response_due_at"], data["resolution_due_at"] = due_times(
            book, tier=tier, opened_at=opened_at
        )
        data["sla_version"] = book.version
    if ticket is None:
        data.setdefault("priority", default_priority(tier, data.get("severity", "medium")))
        if "assignee_id" not in data:
            data["assignee_id"] = defaults[customer_id]
    return data


def _default_assignees(session: Session, customer_ids: set[int]) -> dict[int, int | None]:
    """The default assignee of a new ticket on each of the accounts: its service agent, else its owner,
    when they may take it."""
    people = teams.people(session, customer_ids=customer_ids)
    choices = {
        customer_id: (people[customer_id].get("service_agent"), people[customer_id].get(teams.OWNER))
        for customer_id in customer_ids
    }
    takers = tasks.takers(session, pairs=[(p, c) for c, candidates in choices.items() for p in candidates])
    return {
        customer_id: next((p for p in candidates if (p, customer_id) in takers), None)
        for customer_id, candidates in choices.items()
    }


def _closing_rules(data: dict, ticket: Mapping) -> None:
    """Resolving or closing an open ticket takes a root cause and a resolution; reopening clears resolved_at."""
    status = data.get("status", ticket["status"])
    was_open, is_open = ticket["status"] in OPEN_STATUSES, status in OPEN_STATUSES
    if was_open and not is_open:
        for field in ("root_cause", "resolution"):
            if not data.get(field, ticket[field]):
                raise field_error(field, f"give the {field.replace('_', ' ')} to resolve or close a ticket")
        if data.get("resolved_at", ticket["resolved_at"]) is None:
            data["resolved_at"] = utcnow()
    elif is_open and not was_open:
        data.setdefault("resolved_at", None)


def _written_each(session: Session, user: User, writes: list[tuple[Ticket, dict, bool]]) -> None:
    """_written for each write in turn; their timeline entries go to the database in one bulk insert, the
    callbacks of the tickets just resolved or closed are opened together (callbacks.schedule_many)."""
    entries: list[dict] = []
    resolved: list[Ticket] = []
    plans: dict[tuple, HandlingPlan] = {}  # (sla version, kind, severity): a batch's tickets share a few
    for ticket, changes, created in writes:
        entries += _written(session, user, ticket, changes, created=created, plans=plans, resolved=resolved)
    callbacks.schedule_many(session, user=user, tickets=resolved)
    timeline.add_many(session, entries)


def _written(
    session: Session,
    user: User,
    ticket: Ticket,
    changes: dict,
    *,
    created: bool,
    plans: dict[tuple, HandlingPlan],
    resolved: list[Ticket],
) -> list[dict]:
    """The timeline entries of a write; a ticket just resolved or closed goes to `resolved` (its callback,
    when the rulebook asks one for its kind). `plans` keeps the handling plans looked up so far."""
    if created:
        key = (ticket.sla_version or 0, str(ticket.kind), str(ticket.severity))
        if key not in plans:
            plans[key] = rulebook.get(session, version=key[0]).plan_for(key[1], key[2])
        plan = plans[key]
        details = {
            "first_response_due_at": _iso(ticket.first_response_due_at),
            "resolution_due_at": _iso(ticket.resolution_due_at),
            "sla_version": ticket.sla_version,
            "assignee_id": ticket.assignee_id,
            "priority": str(ticket.priority),
            "customer_message": plan.customer_message,
        }
        text = f"{ticket.kind} opened: {ticket.subject}"
        return [
            timeline.entry(ticket=ticket, kind=TicketEventKind.OPENED, user=user, text=text, details=details)
        ]
    entries = [
        timeline.entry(
            ticket=ticket,
            kind=kind,
            user=user,
            text=f"{field}: {changes[field][0]} → {changes[field][1]}",
            details={field: changes[field]},
        )
        for field, kind in (("assignee_id", TicketEventKind.ASSIGNED), ("priority", TicketEventKind.PRIORITY))
        if field in changes
    ]
    if "status" not in changes:
        return entries
    before, after = changes["status"]
    if before in OPEN_STATUSES and after not in OPEN_STATUSES:
        details = {
            "status": [before, after],
            "root_cause": str(ticket.root_cause),
            "compensation_amount": ticket.compensation_amount,
        }
        entries.append(
            timeline.entry(
                ticket=ticket,
                kind=TicketEventKind.RESOLVED,
                user=user,
                text=ticket.resolution,
                details=details,
            )
        )
        resolved.append(ticket)
    else:
        text = f"status: {before} → {after}"
        details = {"status": [before, after]}
        entries.append(
            timeline.entry(ticket=ticket, kind=TicketEventKind.STATUS, user=user, text=text, details=details)
        )
    return entries


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


TICKETS = RecordKind(
    Ticket,
    "ticket",
    audited=True,
    same_customer={"contact_id": "contacts"},
    not_before={"first_response_at": "opened_at", "resolved_at": "opened_at"},
    prepare=_prepare,
    written=_written_each,
)


# Breaches ----------------------------------------------------------------------------------------------


def breach_at(ticket: Ticket) -> dt.datetime | None:
    """The next due time an open ticket must meet: first response until answered, then resolution."""
    if ticket.status not in OPEN_STATUSES:
        return None
    return ticket.first_response_due_at if ticket.first_response_at is None else ticket.resolution_due_at


def breached(ticket: Ticket, *, now: dt.datetime) -> bool:
    """Tell whether the ticket missed (or, open, has by now missed) its first-response or resolution time."""
    is_open = ticket.status in OPEN_STATUSES
    answered = ticket.first_response_at or ticket.resolved_at or (now if is_open else None)
    resolved = ticket.resolved_at or (now if is_open else None)
    return any(
        moment is not None and due is not None and moment > due
        for moment, due in ((answered, ticket.first_response_due_at), (resolved, ticket.resolution_due_at))
    )


def _breach_at_sql():
    return case(
        (Ticket.first_response_at.is_(None), Ticket.first_response_due_at), else_=Ticket.resolution_due_at
    )


def _breached_sql(now: dt.datetime):
    is_open = Ticket.status.in_(OPEN_STATUSES)
    moment = literal(now, Ticket.opened_at.type)
    answered = func.coalesce(Ticket.first_response_at, Ticket.resolved_at, case((is_open, moment)))
    resolved = func.coalesce(Ticket.resolved_at, case((is_open, moment)))
    return or_(answered > Ticket.first_response_due_at, resolved > Ticket.resolution_due_at)


# Lists -------------------------------------------------------------------------------------------------


def list_statement(
    *,
    user: User,
    now: dt.datetime,
    customer_id: int | None = None,
    status: TicketStatus | None = None,
    assignee_id: int | None = None,
    unassigned: bool = False,
    kind: TicketKind | None = None,
    breached: bool | None = None,
) -> Select:
    """Select tickets of visible customers, oldest first, with filters."""
    statement = records.list_statement(user=user, kind=TICKETS, customer_id=customer_id)
    return _filtered(
        statement,
        now=now,
        status=status,
        assignee_id=assignee_id,
        unassigned=unassigned,
        kind=kind,
        breached=breached,
    )


def _filtered(statement, *, now, status=None, assignee_id=None, unassigned=False, kind=None, breached=None):
    for column, value in ((Ticket.status, status), (Ticket.assignee_id, assignee_id), (Ticket.kind, kind)):
        if value is not None:
            statement = statement.where(column == value)
    if unassigned:
        statement = statement.where(Ticket.assignee_id.is_(None))
    if breached is not None:
        late = _breached_sql(now)
        statement = statement.where(late if breached else ~func.coalesce(late, False))
    return statement


def queue_statement(
    *,
    user: User,
    now: dt.datetime,
    assignee_id: int | None = None,
    unassigned: bool = False,
    team_member_id: int | None = None,
    tier: Tier | None = None,
    kind: TicketKind | None = None,
    breached: bool | None = None,
) -> Select:
    """Select the open tickets of visible customers by breach time: those already breached count as
    breaching now and come first, the higher tier first (VIP), then the higher priority, then the longest
    breached; then the others, the soonest to breach first."""
    statement = (
        select(Ticket)
        .join(Customer, Customer.id == Ticket.customer_id)
        .where(Ticket.customer_id.in_(customers.visible_ids(user=user)), Ticket.status.in_(OPEN_STATUSES))
    )
    statement = _filtered(
        statement, now=now, assignee_id=assignee_id, unassigned=unassigned, kind=kind, breached=breached
    )
    if tier is not None:
        statement = statement.where(Customer.tier == tier)
    if team_member_id is not None:
        on_team = select(customer_team.c.customer_id).where(customer_team.c.user_id == team_member_id)
        statement = statement.where(or_(Customer.owner_id == team_member_id, Customer.id.in_(on_team)))
    due = _breach_at_sql()
    moment = literal(now, Ticket.opened_at.type)
    breaching = case((due < moment, moment), else_=due)
    tier_rank = case({t: rank for rank, t in enumerate(TIERS)}, value=Customer.tier)
    priority_rank = case({p: rank for rank, p in enumerate(reversed(PRIORITIES))}, value=Ticket.priority)
    return statement.order_by(due.is_(None), breaching, tier_rank, priority_rank, due, Ticket.id)


def present(session: Session, *, tickets: Iterable[Ticket], now: dt.datetime) -> list[dict]:
    """Tickets as answered: their columns, next breach time, whether breached, and how they are handled
    (the handling plan in force: what the customer is told, the compensation, the next escalation)."""
    book = rulebook.current(session)
    return [_present(ticket, book, now) for ticket in tickets]


def _present(ticket: Ticket, book: Rulebook, now: dt.datetime) -> dict:
    plan = book.plan_for(str(ticket.kind), str(ticket.severity))
    upcoming = None
    if ticket.status in OPEN_STATUSES and ticket.resolution_due_at is not None:
        hours = (ticket.resolution_due_at - ticket.opened_at).total_seconds() / 3600
        for index, step in enumerate(plan.steps):
            if index >= ticket.escalation_level:
                upcoming = {
                    "step": index,
                    "at": ticket.opened_at + dt.timedelta(hours=hours * step.at_sla_share),
                    "escalate_to": step.escalate_to,
                }
                break
    return {
        **{column.key: getattr(ticket, column.key) for column in Ticket.__table__.columns},
        "breach_at": breach_at(ticket),
        "breached": breached(ticket, now=now),
        "handling": {
            "kind": plan.kind and TicketKind(plan.kind),
            "severity": plan.severity and Severity(plan.severity),
            "customer_message": plan.customer_message,
            "compensation": {
                "kind": plan.compensation.kind,
                "percent": plan.compensation.percent,
                "max_amount": plan.compensation.max_amount,
            },
            "next_escalation": upcoming,
        },
    }


# Handover ----------------------------------------------------------------------------------------------


def reassign_open(session: Session, *, user: User, from_user: User, to_user: User) -> dict[str, int]:
    """Give `to_user` the open tickets of `from_user` on accounts it sees; the others are left unassigned
    (back in the queue). Each move is on the ticket's timeline and in its account's history."""
    moving = session.scalars(
        select(Ticket).where(Ticket.assignee_id == from_user.id, Ticket.status.in_(OPEN_STATUSES))
    ).all()
    seen = customers.visible_among(session, user=to_user, ids={ticket.customer_id for ticket in moving})
    entries = []
    for ticket in moving:
        ticket.assignee_id = to_user.id if ticket.customer_id in seen else None
        change = {"assignee_id": [from_user.id, ticket.assignee_id]}
        audit.record(
            session,
            user=user,
            entity=TICKETS.entity,
            entity_id=ticket.id,
            customer_id=ticket.customer_id,
            action="handover",
            changes=change,
        )
        entries.append(
            timeline.entry(
                ticket=ticket,
                kind=TicketEventKind.ASSIGNED,
                user=user,
                text=f"handover: assignee_id {from_user.id} → {ticket.assignee_id}",
                details=change,
            )
        )
    timeline.add_many(session, entries)
    session.flush()
    unassigned = sum(ticket.assignee_id is None for ticket in moving)
    return {"tickets": len(moving) - unassigned, "tickets_unassigned": unassigned}


def count_open(session: Session, *, assignee_id: int) -> int:
    """How many open tickets a user is assigned."""
    return session.scalar(
        select(func.count())
        .select_from(Ticket)
        .where(Ticket.assignee_id == assignee_id, Ticket.status.in_(OPEN_STATUSES))
    )
