"""SQL aggregates that feed the scoring core: one GROUP BY query per fact, no loops over rows."""

from __future__ import annotations

import datetime as dt
from collections import namedtuple

from sqlalchemy import (
    Float,
    Integer,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression

from logicrm import db
from logicrm.bounds import IMPORTANCE, MONEY
from logicrm.consignees.models import ConsigneeProfile
from logicrm.customers.models import Customer, CustomerStatus
from logicrm.lanes import shipments
from logicrm.lanes.models import Link, LinkStatus, Shipment
from logicrm.relations.models import Department, Interaction, SurveyResponse, SurveyScore
from logicrm.sales.models import RENEWAL_JOB, Opportunity, OpportunityKind, OpportunityStage
from logicrm.shippers.models import ShipperProfile
from logicrm.tickets.models import Ticket, TicketStatus

DAY = dt.timedelta(days=1)
# a consignee's inbound level is counted over this many days
HALF_YEAR_DAYS = 180


def _records(result) -> list:
    """Fetch all rows as plain named tuples.

    The scoring loops read millions of fields; a SQLAlchemy Row resolves each attribute by name (about
    1 µs), a named tuple by index (about 30 ns).
    """
    record = namedtuple("Record", result.keys(), rename=True)
    return list(map(record._make, result))


def alive(now: dt.datetime):
    """SQL condition on Customer: a live customer at `now` — acquired by then and not yet churned."""
    today = now.date()
    return and_(
        Customer.deleted_at.is_(None),
        or_(Customer.acquired_on.is_(None), Customer.acquired_on <= today),
        or_(
            Customer.status != CustomerStatus.CHURNED,
            and_(Customer.churned_on.is_not(None), Customer.churned_on > today),
        ),
    )


def names(session: Session, *, ids) -> dict[int, str]:
    """Map customer ids to names (any customer, churned ones included)."""
    ids = list(ids)
    if not ids:
        return {}
    return dict(
        session.execute(
            select(Customer.id, Customer.name).where(db.among(session.connection(), Customer.id, ids))
        ).all()
    )


def _only(session: Session, column, ids) -> list:
    """SQL conditions: `column` among `ids` (none: every row)."""
    return [] if ids is None else [db.among(session.connection(), column, ids)]


def customers(session: Session, *, now: dt.datetime, ids=None):
    """Customers live at `now` with roles, tier, owner and shipper contract facts (those of `ids` alone
    when given, as for every aggregate below that takes them)."""
    statement = (
        select(
            Customer.id,
            Customer.name,
            Customer.tier,
            Customer.status,
            Customer.owner_id,
            ShipperProfile.customer_id.is_not(None).label("is_shipper"),
            ConsigneeProfile.customer_id.is_not(None).label("is_consignee"),
            ShipperProfile.contract_end,
            ShipperProfile.on_time_target,
        )
        .outerjoin(ShipperProfile, ShipperProfile.customer_id == Customer.id)
        .outerjoin(ConsigneeProfile, ConsigneeProfile.customer_id == Customer.id)
        .where(alive(now), *_only(session, Customer.id, ids))
        .order_by(Customer.id)
    )
    return _records(session.execute(statement))


def link_flows(session: Session, *, now: dt.datetime, window_days: int, recent_days: int):
    """Per live link: shipments in the trailing window, the recent days, twice those and half a year;
    12-month business, quality counts."""
    year_ago = now - 365 * DAY
    window_start = now - window_days * DAY
    recent_start = now - recent_days * DAY
    in_window = Shipment.shipped_at >= window_start
    on_time = shipments.on_time_in_full()
    delivered = shipments.delivered()
    troubled = or_(Shipment.damaged, Shipment.claim_amount > 0)

    def count_if(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    def sum_if(condition, column):
        return func.coalesce(func.sum(case((condition, column), else_=0)), 0)

    # each shipment's money held to its bound: the sums can neither overflow nor meet NaN
    revenue = _capped(session, Shipment.revenue, MONEY.high)
    cost = _capped(session, Shipment.cost, MONEY.high)
    per_link = (
        select(
            Shipment.link_id,
            count_if(in_window).label("volume_window"),
            count_if(Shipment.shipped_at >= recent_start).label("volume_recent"),
            count_if(Shipment.shipped_at >= now - 2 * recent_days * DAY).label("volume_recent_twice"),
            count_if(Shipment.shipped_at >= now - HALF_YEAR_DAYS * DAY).label("volume_half_year"),
            func.count().label("shipments_12m"),
            func.coalesce(func.sum(revenue), 0).label("revenue_12m"),
            func.coalesce(func.sum(cost), 0).label("cost_12m"),
            count_if(and_(in_window, delivered)).label("delivered_window"),
            count_if(and_(in_window, on_time)).label("on_time_window"),
            count_if(and_(in_window, troubled)).label("troubled_window"),
            sum_if(in_window, revenue).label("revenue_window"),
            sum_if(in_window, cost).label("cost_window"),
            count_if(Shipment.revenue > MONEY.high).label("revenue_out_of_range"),
            count_if(Shipment.cost > MONEY.high).label("cost_out_of_range"),
        )
        .where(Shipment.shipped_at >= year_ago, Shipment.shipped_at <= now)
        .group_by(Shipment.link_id)
        .subquery()
    )
    zero = literal(0)
    statement = (
        select(
            Link.id,
            Link.shipper_id,
            Link.consignee_id,
            Link.declared_monthly_volume,
            *(
                func.coalesce(column, zero).label(column.name)
                for column in per_link.c
                if column.name != "link_id"
            ),
        )
        .outerjoin(per_link, per_link.c.link_id == Link.id)
        .join(Customer, Customer.id == Link.shipper_id)
        .where(open_lane(now))
        .order_by(Link.id)
    )
    return _records(session.execute(statement))


def open_lane(now: dt.datetime):
    """SQL condition on Link: a lane not yet ended at `now` (an ended lane with no end date: ended always)."""
    return and_(
        or_(Link.ended_on.is_(None), Link.ended_on > now.date()),
        or_(Link.status != LinkStatus.ENDED, Link.ended_on.is_not(None)),
    )


def _usable_by_column(session: Session) -> dict:
    """SQL conditions, per column, that a rating is usable: its expectation and perception are finite
    numbers and its importance is a number."""
    return {
        "importance": _is_number(session, SurveyScore.importance),
        "expectation": _is_finite(session, SurveyScore.expectation),
        "perception": _is_finite(session, SurveyScore.perception),
    }


def _dimension_score():
    """SQL for one rating's dimension score (DESIGN §4.1).

    The arithmetic is that of `satisfaction.dimension_score`, arranged for stored values of any size in
    floats that never overflow or underflow (PostgreSQL's raise when they do): halves of the ratings are
    subtracted and the gap is compared with the scale before dividing.
    """
    perception, expectation = SurveyScore.perception, SurveyScore.expectation

    def half(value):
        # halves cannot overflow when subtracted; a value too small to move a score (below 1e-300, on a
        # scale at least 1 wide) counts as 0, as its half could underflow
        return case((func.abs(value) < 1e-300, 0.0), else_=0.5 * value)

    half_gap = half(perception) - half(expectation)
    # ≥ 0.5: a CHECK orders the scale's integer ends
    half_span = 0.5 * (cast(SurveyResponse.scale_max, Float) - cast(SurveyResponse.scale_min, Float))
    # the gap over the scale clamped to [−1, 1]; the quotient is taken only where it neither exceeds 1
    # nor underflows
    ratio = case(
        (half_gap >= half_span, 1.0),
        (half_gap <= -half_span, -1.0),
        (func.abs(half_gap) < 1e-290, 0.0),
        else_=half_gap / half_span,
    )
    return 0.5 + 0.5 * ratio


def response_scores(session: Session, *, since: dt.datetime, until: dt.datetime, ids=None):
    """Per survey response collected from `since` to `until`: its importance-weighted dimension score
    (DESIGN §4.1) and likelihood to recommend.

    The mean of the ratings' scores (`_dimension_score`) never overflows or underflows either:
    importances are scaled by 1e270 (a factor the mean cancels) and a mean too small to tell from 0 is
    0. Unusable ratings (`_usable_by_column`) are left out, counted per column (`importance_left_out`,
    `expectation_left_out`, `perception_left_out`); an importance above its bound counts as the bound
    (`importances_clamped`). A response with no usable rating has no score (None).
    """
    dimension, usable_by_column = _dimension_score(), _usable_by_column(session)
    usable = and_(*usable_by_column.values())
    # within (1e-54, 1e272]: neither a weight nor weight × dimension (0 or ≥ 5e-17) leaves the floats
    importance = (
        case((SurveyScore.importance > IMPORTANCE.high, IMPORTANCE.high), else_=SurveyScore.importance)
        * 1e270
    )
    weight = func.sum(case((usable, importance), else_=0.0))
    weighted = func.sum(case((usable, importance * dimension), else_=0.0))
    # the mean lies in [0, 1]; one below 1e-250 (a score of 0 to a float) is not divided out, as the
    # quotient could underflow
    score = case((weight == 0, null()), (weighted <= weight * 1e-250, 0.0), else_=weighted / weight)
    statement = (
        select(
            SurveyResponse.id,
            SurveyResponse.customer_id,
            SurveyResponse.department_id,
            SurveyResponse.collected_at,
            SurveyResponse.likelihood_to_recommend,
            type_coerce(score, Float).label("score"),
            *(
                func.sum(case((condition, 0), else_=1)).label(f"{column}_left_out")
                for column, condition in usable_by_column.items()
            ),
            func.sum(case((and_(usable, SurveyScore.importance > IMPORTANCE.high), 1), else_=0)).label(
                "importances_clamped"
            ),
        )
        .join(SurveyScore, SurveyScore.response_id == SurveyResponse.id)
        .where(
            SurveyResponse.collected_at >= since,
            SurveyResponse.collected_at <= until,
            *_only(session, SurveyResponse.customer_id, ids),
        )
        .group_by(
            SurveyResponse.id,
            SurveyResponse.customer_id,
            SurveyResponse.department_id,
            SurveyResponse.collected_at,
            SurveyResponse.likelihood_to_recommend,
        )
        .order_by(SurveyResponse.customer_id, SurveyResponse.collected_at)
    )
    return _records(session.execute(statement))


def dimension_scores(session: Session, *, since: dt.datetime, until: dt.datetime, ids=None):
    """Per usable rating of a response collected from `since` to `until`: its response, dimension (the
    stored value, a str: hundreds of thousands of rows need no Enum member each) and dimension score in
    [0, 1] (0.5 = expectation met), as `response_scores` computes it."""
    statement = (
        select(
            SurveyScore.response_id,
            type_coerce(SurveyScore.dimension, String).label("dimension"),
            type_coerce(_dimension_score(), Float).label("score"),
        )
        .join(SurveyResponse, SurveyResponse.id == SurveyScore.response_id)
        .where(
            SurveyResponse.collected_at >= since,
            SurveyResponse.collected_at <= until,
            *_usable_by_column(session).values(),
            *_only(session, SurveyResponse.customer_id, ids),
        )
        .order_by(SurveyScore.response_id, SurveyScore.dimension)
    )
    return _records(session.execute(statement))


def earlier_answers(session: Session, *, before: dt.datetime, ids=None):
    """Per department, its latest response before `before` with a usable rating (`answered`) and with a
    likelihood to recommend (`recommended`, None if none): what keeps a department long silent known."""
    rated = and_(*_usable_by_column(session).values())
    likelihood = SurveyResponse.likelihood_to_recommend
    # an integer column: only SQLite may hold text (not a number) in it
    recommended = (
        _is_number(session, likelihood)
        if session.get_bind().dialect.name == "sqlite"
        else likelihood.is_not(None)
    )
    at = SurveyResponse.collected_at
    departments_of = (
        []
        if ids is None
        else [
            SurveyResponse.department_id.in_(
                select(Department.id).where(*_only(session, Department.customer_id, ids))
            )
        ]
    )
    statement = (
        select(
            SurveyResponse.department_id,
            func.max(case((rated, at), else_=null())).label("answered"),
            func.max(case((recommended, at), else_=null())).label("recommended"),
        )
        .join(SurveyScore, SurveyScore.response_id == SurveyResponse.id)
        .where(SurveyResponse.collected_at < before, *departments_of)
        .group_by(SurveyResponse.department_id)
    )
    return _records(session.execute(statement))


def departments(session: Session, *, ids=None):
    """Every department with its decision weight."""
    return _records(
        session.execute(
            select(
                Department.id,
                Department.customer_id,
                Department.name,
                Department.decision_weight,
                Department.is_decision_maker,
            )
            .where(*_only(session, Department.customer_id, ids))
            .order_by(Department.customer_id, Department.id)
        )
    )


def last_contacts(session: Session, *, now: dt.datetime, ids=None) -> dict[int, dt.datetime]:
    """When each customer was last contacted (visits, calls, meetings...)."""
    rows = session.execute(
        select(Interaction.customer_id, func.max(Interaction.at))
        .where(Interaction.at <= now, *_only(session, Interaction.customer_id, ids))
        .group_by(Interaction.customer_id)
    )
    return {customer_id: at for customer_id, at in rows}


def overdue_tickets(session: Session, *, now: dt.datetime, ids=None) -> dict[int, int]:
    """Count open tickets per customer past their resolution due time."""
    counts: dict[int, int] = {}
    for row in overdue_ticket_list(session, now=now, ids=ids):
        counts[row.customer_id] = counts.get(row.customer_id, 0) + 1
    return counts


def open_renewals(session: Session, *, ids=None) -> set[int]:
    """Customers with a renewal opportunity still in the funnel. A lead the health run opened itself says
    nothing of the customer yet: counting it would lower the risk the run had just seen (and resolve its
    alerts) merely because the run opened a deal."""
    rows = session.scalars(
        select(Opportunity.customer_id)
        .where(
            Opportunity.kind == OpportunityKind.RENEWAL,
            Opportunity.stage.not_in([OpportunityStage.WON, OpportunityStage.LOST]),
            ~and_(Opportunity.source == RENEWAL_JOB, Opportunity.stage == OpportunityStage.LEAD),
            *_only(session, Opportunity.customer_id, ids),
        )
        .distinct()
    )
    return set(rows)


# NaN on PostgreSQL and text in a SQLite number column sort above every number, infinity included:
# comparing with an upper bound, or with +infinity, singles them out at no extra cost.


def _infinities(session: Session) -> tuple:
    """SQL literals −∞ and +∞ (SQLite reads ∓9e999 as infinities)."""
    if session.get_bind().dialect.name == "sqlite":
        return literal_column("-9e999"), literal_column("9e999")
    return literal_column("'-Infinity'"), literal_column("'Infinity'")


def _is_number(session: Session, value):
    """SQL condition: `value` is a number, infinite ones included (neither NaN, text nor NULL)."""
    if session.get_bind().dialect.name == "sqlite":
        return value <= _infinities(session)[1]
    return value != literal_column("'NaN'")  # a numeric column has no infinity before PostgreSQL 14


def _is_finite(session: Session, value):
    """SQL condition: `value` is a finite number."""
    low, high = _infinities(session)
    return and_(value > low, value < high)


def _capped(session: Session, column, high: float):
    """SQL: the column's value, or `high` above it; a value that is not a number counts as 0 (left out).

    For the money of shipments, which a CHECK has kept ≥ 0 since the first schema: one comparison per
    row, and a second only for the rare value above `high`.
    """
    return type_coerce(
        case((column > high, case((_is_number(session, column), high), else_=0)), else_=column), column.type
    )


def _days_between(session: Session, column, end):
    """SQL expression: days from `column` to `end` (a moment or another column), on SQLite and PostgreSQL."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    if isinstance(end, dt.datetime):
        end = literal(end.replace(tzinfo=None).isoformat(sep=" ")) if sqlite else literal(end)
    if sqlite:
        return func.julianday(end) - func.julianday(column)
    return func.extract("epoch", end - column) / 86400.0


def open_ticket(now: dt.datetime):
    """SQL condition on Ticket: open at `now` — opened by then, not yet resolved (a closed ticket with no
    resolution time: closed always)."""
    return and_(
        Ticket.opened_at <= now,
        or_(Ticket.resolved_at.is_(None), Ticket.resolved_at > now),
        or_(
            Ticket.status.in_([TicketStatus.OPEN, TicketStatus.IN_PROGRESS]), Ticket.resolved_at.is_not(None)
        ),
    )


def overdue_ticket_list(session: Session, *, now: dt.datetime, ids=None):
    """Tickets open at `now` and past their resolution due time (set from the tier SLA when opened), with
    what an alert needs to name them."""
    age_days = _days_between(session, Ticket.opened_at, now)
    sla_days = _days_between(session, Ticket.opened_at, Ticket.resolution_due_at)
    statement = (
        select(
            Ticket.id,
            Ticket.customer_id,
            Ticket.subject,
            Ticket.kind,
            age_days.label("days_open"),
            sla_days.label("sla_days"),
        )
        .join(Customer, Customer.id == Ticket.customer_id)
        .where(
            open_ticket(now),
            Ticket.resolution_due_at < now,
            Customer.deleted_at.is_(None),
            *_only(session, Ticket.customer_id, ids),
        )
        .order_by(Ticket.customer_id, Ticket.id)
    )
    return session.execute(statement).all()


# History, for the churn model (DESIGN §4.6): what happened when, point in time ------------------------

EPOCH = dt.date(1970, 1, 1)


def _day_number(session: Session, column):
    """SQL expression: the whole UTC day of a timestamp, as days since 1970-01-01."""
    if session.get_bind().dialect.name == "sqlite":
        return cast(func.julianday(column) - 2440587.5, Integer)
    return cast(func.floor(func.extract("epoch", column) / 86400.0), Integer)


def day_number(moment: dt.datetime | dt.date) -> int:
    """The day of `moment` as days since 1970-01-01 (what `_day_number` computes in SQL)."""
    day = moment.date() if isinstance(moment, dt.datetime) else moment
    return (day - EPOCH).days


def unindexed(session: Session, column):
    """SQL: `column` as SQLite's `+column`, which no index serves (the column itself elsewhere).

    SQLite otherwise picks an index for a comparison or a GROUP BY even where that makes it look up
    each of most rows of the table one by one.
    """
    if session.get_bind().dialect.name == "sqlite":
        return UnaryExpression(column, operator=operators.custom_op("+"), type_=column.type)
    return column


def _shipped_within(session: Session, since: dt.datetime | None, until: dt.datetime) -> list:
    """SQL conditions: a shipment shipped in [since, until] (no lower end without `since`).

    For the queries that read only a shipment's lane and time. SQLite would find the shipments through
    the index on shipped_at and then look each one up in the table, though the window holds most of
    them; `+shipped_at` (no index for the comparison) lets it read the lanes' (link_id, shipped_at)
    index alone.
    """
    shipped_at = unindexed(session, Shipment.shipped_at)
    return [shipped_at <= until] + ([] if since is None else [shipped_at >= since])


def shipper_rhythm(session: Session, *, since: dt.datetime, now: dt.datetime):
    """Per shipper, from its shipments in [since, now]: first and last shipping day and the number of
    distinct weeks it shipped in (the BG/NBD counts, in weeks)."""
    day = _day_number(session, Shipment.shipped_at)
    week = cast(day / 7, Integer) if session.get_bind().dialect.name == "sqlite" else func.floor(day / 7)
    statement = (
        select(
            Link.shipper_id,
            func.min(day).label("first_day"),
            func.max(day).label("last_day"),
            func.count(func.distinct(week)).label("weeks"),
        )
        .select_from(Shipment)
        .join(Link, Link.id == Shipment.link_id)
        .where(*_shipped_within(session, since, now))
        .group_by(Link.shipper_id)
    )
    return _records(session.execute(statement))


def lapses(
    session: Session, *, inactive_days: int, until: dt.datetime, since: dt.datetime | None = None
) -> list[tuple[int, int]]:
    """Every (shipper id, day) in [since, until] on which a shipper had gone `inactive_days` without a
    shipment: after each gap that long between two shipping days, and after its last one."""
    day = _day_number(session, Shipment.shipped_at)
    window = _shipped_within(session, None if since is None else since - inactive_days * DAY, until)
    days = (
        select(Link.shipper_id.label("shipper_id"), day.label("day"))
        .select_from(Shipment)
        .join(Link, Link.id == Shipment.link_id)
        .where(*window)
        .distinct()
        .subquery()
    )
    ordered = select(
        days.c.shipper_id,
        days.c.day,
        func.lead(days.c.day).over(partition_by=days.c.shipper_id, order_by=days.c.day).label("next"),
    ).subquery()
    # one pass over the shipping days: a lapse follows a day whose next is inactive_days away or more,
    # and the last day (no next) once inactive_days have passed by `until`
    lapsed = select(ordered.c.shipper_id, (ordered.c.day + inactive_days).label("lapse")).where(
        or_(
            ordered.c.next - ordered.c.day >= inactive_days,
            and_(ordered.c.next.is_(None), ordered.c.day + inactive_days <= day_number(until)),
        )
    )
    first = -1 if since is None else day_number(since)
    return [(row.shipper_id, row.lapse) for row in session.execute(lapsed) if row.lapse >= first]


def status_churns(session: Session) -> list[tuple[int, int]]:
    """Every (customer id, day) on which a customer's status became churned, where the day is known."""
    rows = session.execute(
        select(Customer.id, Customer.churned_on).where(
            Customer.status == CustomerStatus.CHURNED, Customer.churned_on.is_not(None)
        )
    )
    return [(customer_id, day_number(churned_on)) for customer_id, churned_on in rows]


def first_shipment_day(session: Session) -> int | None:
    """The day the shipment records begin (None: no shipment at all)."""
    earliest = session.scalar(select(func.min(Shipment.shipped_at)))
    return None if earliest is None else day_number(earliest)


def first_seen(session: Session) -> dict[int, int]:
    """The day each customer is known to have been a customer from: when acquired, else its first
    shipment at either end of a lane (one index seek per lane, the minimum per customer in SQL)."""
    per_link = (
        select(Shipment.link_id, func.min(Shipment.shipped_at).label("first"))
        .group_by(Shipment.link_id)
        .cte("first_per_link")
    )
    ends = union_all(
        *(
            select(end.label("customer_id"), per_link.c.first).join(per_link, per_link.c.link_id == Link.id)
            for end in (Link.shipper_id, Link.consignee_id)
        )
    ).subquery()
    rows = session.execute(select(ends.c.customer_id, func.min(ends.c.first)).group_by(ends.c.customer_id))
    first = {customer_id: day_number(earliest) for customer_id, earliest in rows}
    for customer_id, acquired_on in session.execute(
        select(Customer.id, Customer.acquired_on).where(Customer.acquired_on.is_not(None))
    ):
        first[customer_id] = day_number(acquired_on)
    return first


def pair_volumes(session: Session, *, since: dt.datetime, until: dt.datetime):
    """Shipments per (shipper, consignee) in [since, until], over every lane, ended or not: what each
    side's business rode on, for the contagion of a partner that left."""
    statement = (
        select(Link.shipper_id, Link.consignee_id, func.count().label("shipments"))
        .select_from(Shipment)
        .join(Link, Link.id == Shipment.link_id)
        .where(*_shipped_within(session, since, until))
        .group_by(Link.shipper_id, Link.consignee_id)
    )
    return _records(session.execute(statement))
