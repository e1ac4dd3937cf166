"""The signals before a departure, measured in the leavers' own records against everyone else's: deciding
departments sour, deliveries run late, complaints and claims pile up, contacts lapse, and a shipper's
shipments thin out and stop."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict

import pytest
from sqlalchemy import func, or_, select

from logicrm.customers.models import CustomerStatus
from logicrm.lanes.models import Link, Shipment
from logicrm.relations.models import Department, Interaction, SurveyResponse, SurveyScore
from logicrm.tickets.models import Ticket, TicketKind
from tests.demo.conftest import NOW, TODAY

REFERENCE = TODAY - dt.timedelta(
    days=200
)  # a day to measure the accounts that stayed at, as churners at theirs


@pytest.fixture
def leavers(demo, customers) -> dict[int, dt.date]:
    """Customers that churned on their own (not after a partner), by the day they left."""
    return {
        i: c.churned_on
        for i, c in customers.items()
        if c.status == CustomerStatus.CHURNED and i not in demo.summary.followers
    }


@pytest.fixture
def stayers(demo, session, customers) -> list[int]:
    """Customers that stayed, won well before the reference day, outside the story (its troubled accounts
    and the consignees of the shipper whose main consignees are unhappy complain by design)."""
    story = {i for ids in demo.summary.troubled.values() for i in ids}
    story |= set(
        session.scalars(
            select(Link.consignee_id).where(Link.shipper_id.in_(demo.summary.troubled["unhappy_consignees"]))
        )
    )
    return [
        i
        for i, c in customers.items()
        if c.status == CustomerStatus.ACTIVE
        and c.acquired_on < REFERENCE - dt.timedelta(days=300)
        and i not in story
    ]


def days_before(day: dt.date, at: dt.datetime) -> int:
    return (day - at.date()).days


def test_deciding_departments_sour_before_a_customer_leaves(session, leavers, stayers):
    """The deciding departments' gap to expectation in the last 120 days falls well below where it stood
    before the decline; for those that stayed it holds."""
    responses = session.execute(
        select(
            SurveyResponse.customer_id,
            SurveyResponse.collected_at,
            func.avg(SurveyScore.perception - SurveyScore.expectation),
        )
        .join(SurveyScore, SurveyScore.response_id == SurveyResponse.id)
        .join(Department, Department.id == SurveyResponse.department_id)
        .where(Department.is_decision_maker)
        .group_by(SurveyResponse.id, SurveyResponse.customer_id, SurveyResponse.collected_at)
    ).all()
    by_customer = defaultdict(list)
    for customer_id, at, gap in responses:
        by_customer[customer_id].append((at, float(gap)))

    def drops(days: dict[int, dt.date]) -> list[float]:
        out = []
        for i, day in days.items():
            late = [gap for at, gap in by_customer[i] if 0 < days_before(day, at) <= 120]
            early = [gap for at, gap in by_customer[i] if days_before(day, at) > 240]
            if late and early:
                out.append(statistics.mean(early) - statistics.mean(late))
        return out

    leaving, staying = drops(leavers), drops(dict.fromkeys(stayers, REFERENCE))
    assert len(leaving) >= 20 and len(staying) >= 100
    assert statistics.mean(leaving) >= 0.5 and abs(statistics.mean(staying)) < 0.15


def test_deliveries_run_late_before_a_customer_leaves(session, leavers):
    """On-time share of its deliveries in the last 90 days against the time before its decline."""
    rows = session.execute(
        select(
            Link.shipper_id,
            Link.consignee_id,
            Shipment.shipped_at,
            Shipment.delivered_at <= Shipment.promised_at,
        )
        .join(Shipment, Shipment.link_id == Link.id)
        .where(
            Shipment.delivered_at.is_not(None),
            or_(Link.shipper_id.in_(leavers), Link.consignee_id.in_(leavers)),
        )
    ).all()
    by_customer = defaultdict(list)
    for shipper, consignee, shipped, on_time in rows:
        for end in {shipper, consignee} & set(leavers):
            by_customer[end].append((shipped, bool(on_time)))
    falls = []
    for i, day in leavers.items():
        late = [ok for at, ok in by_customer[i] if 0 < days_before(day, at) <= 90]
        early = [ok for at, ok in by_customer[i] if days_before(day, at) > 240]
        if len(late) >= 5 and len(early) >= 20:
            falls.append(statistics.mean(early) - statistics.mean(late))
    assert len(falls) >= 20 and statistics.mean(falls) >= 0.05


def test_complaints_and_claims_pile_up_before_a_customer_leaves(session, leavers, stayers):
    """Complaints and claims a month in the 180 days before leaving, against the stayers' rate."""
    opened = session.execute(
        select(Ticket.customer_id, Ticket.opened_at).where(
            Ticket.kind.in_((TicketKind.COMPLAINT, TicketKind.CLAIM))
        )
    ).all()
    by_customer = defaultdict(list)
    for customer_id, at in opened:
        by_customer[customer_id].append(at)

    def rate(days: dict[int, dt.date]) -> float:
        counts = [sum(0 < days_before(day, at) <= 180 for at in by_customer[i]) for i, day in days.items()]
        return statistics.mean(counts) / 6

    assert rate(leavers) >= 2.5 * rate(dict.fromkeys(stayers, REFERENCE))


def test_contacts_lapse_before_a_customer_leaves(session, leavers, stayers):
    """Days from the last contact to leaving, against the stayers' days since their last contact."""
    last = dict(
        session.execute(
            select(Interaction.customer_id, func.max(Interaction.at)).group_by(Interaction.customer_id)
        ).all()
    )
    leaving = [days_before(day, last[i]) for i, day in leavers.items() if i in last]
    staying = [(NOW - last[i]).days for i in stayers]
    assert statistics.median(leaving) >= 1.5 * statistics.median(staying)


def test_a_departing_shippers_shipments_thin_out(demo, session, customers, shipper_ids):
    """Shippers that left or went quiet: most ship under half their earlier daily rate in their last 45
    days (the earlier rate: from 420 to 240 days before, while they shipped)."""
    shipped = session.execute(
        select(Link.shipper_id, Shipment.shipped_at).join(Shipment, Shipment.link_id == Link.id)
    ).all()
    by_shipper = defaultdict(list)
    for shipper, at in shipped:
        by_shipper[shipper].append(at.date())
    departed = {
        i: c.churned_on
        for i, c in customers.items()
        if i in shipper_ids and c.status == CustomerStatus.CHURNED and by_shipper[i]
    }
    departed |= {i: max(by_shipper[i]) for i in demo.summary.quiet_shippers}
    ratios = []
    for i, day in departed.items():
        dates = by_shipper[i]
        start, end = max(min(dates), day - dt.timedelta(days=420)), day - dt.timedelta(days=240)
        if (end - start).days >= 60:
            earlier = sum(start <= d < end for d in dates) / (end - start).days
            last = sum(day - dt.timedelta(days=45) < d <= day for d in dates) / 45
            ratios.append(last / earlier)
    assert len(ratios) >= 4 and statistics.median(ratios) < 0.5, ratios
