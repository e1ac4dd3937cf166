"""SQL aggregates that feed the scoring core: one GROUP BY query per fact, no loops over rows."""

from __future__ import annotations

import datetime as dt
from collections import namedtuple

from sqlalchemy import (
    Float,
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
)
from sqlalchemy.orm import Session

from logicrm.bounds import IMPORTANCE, MONEY
from logicrm.consignees.models import ConsigneeProfile
from logicrm.customers.models import Customer, CustomerStatus
from logicrm.lanes import shipments
from logicrm.lanes.models import Link, LinkStatus, Shipment
from logicrm.relations.models import Department, Interaction, SurveyResponse, SurveyScore
from logicrm.sales.models import Opportunity, OpportunityKind, OpportunityStage
from logicrm.shippers.models import ShipperProfile
from logicrm.tickets.models import Ticket, TicketStatus

DAY = dt.timedelta(days=1)


def _records(result) -> list:
    """Fetch all rows as plain named tuples.

    The scoring loops read millions of fields; a SQLAlchemy Row resolves each attribute by name (about
    1 µs), a named tuple by index (about 30 ns).
    """
    record = namedtuple("Record", result.keys(), rename=True)
    return list(map(record._make, result))


def customers(session: Session):
    """Live, not churned customers with roles, tier, owner and shipper contract facts."""
    statement = (
        select(
            Customer.id,
            Customer.name,
            Customer.tier,
            Customer.owner_id,
            ShipperProfile.customer_id.is_not(None).label("is_shipper"),
            ConsigneeProfile.customer_id.is_not(None).label("is_consignee"),
            ShipperProfile.contract_end,
            ShipperProfile.on_time_target,
        )
        .outerjoin(ShipperProfile, ShipperProfile.customer_id == Customer.id)
        .outerjoin(ConsigneeProfile, ConsigneeProfile.customer_id == Customer.id)
        .where(Customer.deleted_at.is_(None), Customer.status != CustomerStatus.CHURNED)
        .order_by(Customer.id)
    )
    return _records(session.execute(statement))


def link_flows(session: Session, *, now: dt.datetime, window_days: int, recent_days: int):
    """Per live link: shipments in the trailing window and recent days, 12-month business, quality counts."""
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
            func.count().label("shipments_12m"),
            func.coalesce(func.sum(revenue), 0).label("revenue_12m"),
            func.coalesce(func.sum(cost), 0).label("cost_12m"),
            count_if(and_(in_window, delivered)).label("delivered_window"),
            count_if(and_(in_window, on_time)).label("on_time_window"),
            count_if(and_(in_window, troubled)).label("troubled_window"),
            sum_if(in_window, revenue).label("revenue_window"),
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
        .where(Link.status != LinkStatus.ENDED)
        .order_by(Link.id)
    )
    return _records(session.execute(statement))


def response_scores(session: Session, *, since: dt.datetime):
    """Per survey response: its importance-weighted dimension score (DESIGN §4.1) and likelihood to recommend.

    The arithmetic is that of `satisfaction.dimension_score`, arranged for stored values of any size in
    floats that never overflow or underflow (PostgreSQL's raise when they do): halves of the ratings are
    subtracted, the gap is compared with the scale before dividing, importances are scaled by 1e270 (a
    factor the mean cancels) and a mean too small to tell from 0 is 0. A rating whose expectation or
    perception is not a finite number, or whose importance is not a number, is left out (counted per
    column: `importance_left_out`, `expectation_left_out`, `perception_left_out`); an importance above
    its bound counts as the bound (`importances_clamped`). A response with no usable rating has no score
    (None).
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
    dimension = 0.5 + 0.5 * ratio
    # per column, what makes a rating usable; a rating failing any is left out
    usable_by_column = {
        "importance": _is_number(session, SurveyScore.importance),
        "expectation": _is_finite(session, expectation),
        "perception": _is_finite(session, perception),
    }
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
        .where(SurveyResponse.collected_at >= since)
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


def departments(session: Session):
    """Every department with its decision weight."""
    return _records(
        session.execute(
            select(
                Department.id,
                Department.customer_id,
                Department.name,
                Department.decision_weight,
                Department.is_decision_maker,
            ).order_by(Department.customer_id, Department.id)
        )
    )


def last_contacts(session: Session, *, now: dt.datetime) -> dict[int, dt.datetime]:
    """When each customer was last contacted (visits, calls, meetings...)."""
    rows = session.execute(
        select(Interaction.customer_id, func.max(Interaction.at))
        .where(Interaction.at <= now)
        .group_by(Interaction.customer_id)
    )
    return {customer_id: at for customer_id, at in rows}


def overdue_tickets(session: Session, *, now: dt.datetime, sla_days: dict[str, float]) -> dict[int, int]:
    """Count open tickets per customer older than their tier's resolution SLA."""
    counts: dict[int, int] = {}
    for row in overdue_ticket_list(session, now=now, sla_days=sla_days):
        counts[row.customer_id] = counts.get(row.customer_id, 0) + 1
    return counts


def open_renewals(session: Session) -> set[int]:
    """Customers with a renewal opportunity still in the funnel."""
    rows = session.scalars(
        select(Opportunity.customer_id)
        .where(
            Opportunity.kind == OpportunityKind.RENEWAL,
            Opportunity.stage.not_in([OpportunityStage.WON, OpportunityStage.LOST]),
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


def _days_between(session: Session, column, now: dt.datetime):
    """SQL expression: days from `column` to `now`, on SQLite and PostgreSQL."""
    if session.get_bind().dialect.name == "sqlite":
        return func.julianday(now.replace(tzinfo=None).isoformat(sep=" ")) - func.julianday(column)
    return func.extract("epoch", literal(now) - column) / 86400.0


def overdue_ticket_list(session: Session, *, now: dt.datetime, sla_days: dict[str, float]):
    """Open tickets older than their tier's SLA, with what an alert needs to name them."""
    deadline = case(
        *((Customer.tier == tier, literal(days)) for tier, days in sla_days.items()),
        else_=literal(max(sla_days.values())),
    )
    age_days = _days_between(session, Ticket.opened_at, now)
    statement = (
        select(
            Ticket.id,
            Ticket.customer_id,
            Ticket.subject,
            Ticket.kind,
            age_days.label("days_open"),
            deadline.label("sla_days"),
        )
        .join(Customer, Customer.id == Ticket.customer_id)
        .where(
            Ticket.status.in_([TicketStatus.OPEN, TicketStatus.IN_PROGRESS]),
            age_days > deadline,
            Customer.deleted_at.is_(None),
        )
        .order_by(Ticket.customer_id, Ticket.id)
    )
    return session.execute(statement).all()
