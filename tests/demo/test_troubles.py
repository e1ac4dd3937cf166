"""The story: each troubled category is non-empty and its defining condition holds in the data; the
healthy VIPs are steady, happy, recently contacted, on target, with no open ticket and no trouble."""

from __future__ import annotations

import datetime as dt
import statistics

from sqlalchemy import func, or_, select

from logicrm.customers.models import Customer, CustomerStatus
from logicrm.lanes.models import Link, Shipment
from logicrm.relations.models import Department, Interaction, SurveyResponse, SurveyScore
from logicrm.sales.models import Opportunity, OpportunityKind, OpportunityStage
from logicrm.shippers.models import ShipperProfile
from logicrm.tickets.models import Ticket, TicketKind
from tests.demo.conftest import NOW, OPEN, TODAY, days_ago, silent_departments

CADENCE = {"vip": 30, "key": 60, "standard": 120}


def either_end(customer_id: int):
    return or_(Link.shipper_id == customer_id, Link.consignee_id == customer_id)


def volume(session, customer_id: int, start: dt.datetime) -> int:
    """Shipments on the customer's links (either end) shipped from `start` to now."""
    return session.scalar(
        select(func.count(Shipment.id))
        .join(Link, Shipment.link_id == Link.id)
        .where(either_end(customer_id), Shipment.shipped_at >= start, Shipment.shipped_at < NOW)
    )


def department_gaps(session, customer_id: int, since: dt.datetime) -> dict[str, tuple[bool, float]]:
    """Mean perception − expectation per department over responses since `since`: name → (decides, gap)."""
    rows = session.execute(
        select(
            Department.name,
            Department.is_decision_maker,
            func.avg(SurveyScore.perception - SurveyScore.expectation),
        )
        .join(SurveyResponse, SurveyResponse.department_id == Department.id)
        .join(SurveyScore, SurveyScore.response_id == SurveyResponse.id)
        .where(Department.customer_id == customer_id, SurveyResponse.collected_at >= since)
        .group_by(Department.id, Department.name, Department.is_decision_maker)
    )
    return {name: (decides, float(gap)) for name, decides, gap in rows}


def mean_gap(session, customer_id: int, since: dt.datetime) -> float:
    return float(
        session.scalar(
            select(func.avg(SurveyScore.perception - SurveyScore.expectation))
            .join(SurveyResponse, SurveyScore.response_id == SurveyResponse.id)
            .where(SurveyResponse.customer_id == customer_id, SurveyResponse.collected_at >= since)
        )
    )


def last_contact(session, customer_id: int) -> dt.datetime:
    return session.scalar(select(func.max(Interaction.at)).where(Interaction.customer_id == customer_id))


def open_renewals(session, customer_id: int) -> int:
    return session.scalar(
        select(func.count(Opportunity.id)).where(
            Opportunity.customer_id == customer_id,
            Opportunity.kind == OpportunityKind.RENEWAL,
            Opportunity.stage.notin_((OpportunityStage.WON, OpportunityStage.LOST)),
        )
    )


def revenue_by(session, column) -> dict[int, float]:
    """Revenue of the last 12 months per customer at one end of the links."""
    rows = session.execute(
        select(column, func.sum(Shipment.revenue)).join(Link, Shipment.link_id == Link.id).group_by(column)
    )
    return {customer_id: float(total) for customer_id, total in rows}


def test_every_category_has_accounts(demo):
    troubled = demo.summary.troubled
    assert all(troubled.values()), troubled


def test_falling_volume(demo, session, customers):
    for customer_id in demo.summary.troubled["falling_volume"]:
        recent = volume(session, customer_id, days_ago(30))
        assert recent < 0.5 * volume(session, customer_id, days_ago(90)) / 3, customers[customer_id].name
        assert recent < 0.5 * volume(session, customer_id, days_ago(365)) / 12


def test_the_falling_shipper_carries_its_consignees_risk(demo, session, customers, shipper_ids):
    """A shipper whose lanes fall serves many consignees still with us that receive most of their volume
    from it and are in no trouble of their own: their risk comes through it."""
    story = {i for ids in demo.summary.troubled.values() for i in ids} | set(demo.summary.leaving_soon)
    since = days_ago(180)
    inbound = dict(
        session.execute(
            select(Link.consignee_id, func.count(Shipment.id))
            .join(Shipment, Shipment.link_id == Link.id)
            .where(Shipment.shipped_at >= since)
            .group_by(Link.consignee_id)
        ).all()
    )
    (shipper,) = set(demo.summary.troubled["falling_volume"]) & shipper_ids
    from_it = session.execute(
        select(Link.consignee_id, func.count(Shipment.id))
        .join(Shipment, Shipment.link_id == Link.id)
        .where(Link.shipper_id == shipper, Shipment.shipped_at >= since)
        .group_by(Link.consignee_id)
    ).all()
    riding = [
        c
        for c, n in from_it
        if customers[c].status == CustomerStatus.ACTIVE and n >= 0.5 * inbound[c] and c not in story
    ]
    assert len(riding) >= 10, riding


def test_unhappy_deciding_department(demo, session, customers):
    for customer_id in demo.summary.troubled["unhappy_deciding_department"]:
        gaps = department_gaps(session, customer_id, days_ago(180))
        assert any(decides and gap < -2 for decides, gap in gaps.values()), gaps
        assert any(gap > 0 for _, gap in gaps.values()), gaps
        assert customers[customer_id].tier.value in ("vip", "key")


def test_unhappy_consignees(demo, session):
    for shipper_id in demo.summary.troubled["unhappy_consignees"]:
        assert mean_gap(session, shipper_id, days_ago(180)) > 0
        by_consignee = dict(
            session.execute(
                select(Link.consignee_id, func.count(Shipment.id))
                .join(Shipment, Shipment.link_id == Link.id)
                .where(Link.shipper_id == shipper_id, Shipment.shipped_at >= days_ago(90))
                .group_by(Link.consignee_id)
            ).all()
        )
        unhappy = [
            c
            for c in by_consignee
            if any(
                decides and gap < -1.5 for decides, gap in department_gaps(session, c, days_ago(180)).values()
            )
        ]
        assert sum(by_consignee[c] for c in unhappy) >= 0.5 * sum(by_consignee.values())


def test_overdue_claim(demo, session):
    for customer_id in demo.summary.troubled["overdue_claim"]:
        assert session.scalar(
            select(func.count(Ticket.id)).where(
                Ticket.customer_id == customer_id,
                Ticket.kind == TicketKind.CLAIM,
                Ticket.status.in_(OPEN),
                Ticket.opened_at <= days_ago(30),
                Ticket.resolved_at.is_(None),
            )
        )


def test_contract_expiring_no_renewal(demo, session):
    troubled = demo.summary.troubled
    for customer_id in troubled["contract_expiring_no_renewal"]:
        end = session.get(ShipperProfile, customer_id).contract_end
        assert TODAY <= end <= TODAY + dt.timedelta(days=90)
        assert open_renewals(session, customer_id) == 0
    # a shipper that left had its contract end with it: only the customers' contracts can be expiring
    expiring = session.scalars(
        select(ShipperProfile.customer_id)
        .join(Customer, Customer.id == ShipperProfile.customer_id)
        .where(
            Customer.status == CustomerStatus.ACTIVE,
            ShipperProfile.contract_end <= TODAY + dt.timedelta(days=90),
        )
    )
    assert {s for s in expiring if not open_renewals(session, s)} == set(
        troubled["contract_expiring_no_renewal"]
    )


def test_contact_overdue(demo, session, customers):
    for customer_id in demo.summary.troubled["contact_overdue"]:
        cadence = CADENCE[customers[customer_id].tier.value]
        assert last_contact(session, customer_id) <= days_ago(2 * cadence)


def test_silent_deciding_department(demo, session):
    for customer_id in demo.summary.troubled["silent_deciding_department"]:
        silent = session.scalar(
            select(func.count(Department.id)).where(
                Department.customer_id == customer_id, Department.is_decision_maker, silent_departments()
            )
        )
        assert silent >= 1


def test_tier_mismatch(demo, session, customers, shipper_ids):
    shipper_revenue, consignee_revenue = (
        revenue_by(session, Link.shipper_id),
        revenue_by(session, Link.consignee_id),
    )
    for customer_id in demo.summary.troubled["tier_mismatch"]:
        tier = customers[customer_id].tier.value
        if customer_id in shipper_ids:
            ranked = sorted(shipper_revenue.values(), reverse=True)
            assert tier == "standard" and shipper_revenue[customer_id] >= ranked[len(ranked) // 5]
        else:
            assert tier == "vip" and consignee_revenue[customer_id] <= statistics.median(
                consignee_revenue.values()
            )


def test_healthy_vips(demo, session, customers, shipper_ids):
    """Healthy VIPs are steady, happy, recently contacted, on target, with no open ticket and no trouble."""
    summary = demo.summary
    flagged = {i for ids in summary.troubled.values() for i in ids}
    assert len(summary.healthy_vips) >= 3 and not flagged & set(summary.healthy_vips)
    for customer_id in summary.healthy_vips:
        name = customers[customer_id].name
        assert customers[customer_id].tier.value == "vip", name
        assert not session.scalar(
            select(func.count(Ticket.id)).where(Ticket.customer_id == customer_id, Ticket.status.in_(OPEN))
        ), name
        assert last_contact(session, customer_id) >= days_ago(14), name
        gaps = department_gaps(session, customer_id, days_ago(180))
        n_departments = session.scalar(
            select(func.count(Department.id)).where(Department.customer_id == customer_id)
        )
        assert len(gaps) == n_departments and all(gap > 0 for _, gap in gaps.values()), (name, gaps)
        assert (
            volume(session, customer_id, days_ago(30)) >= 0.8 * volume(session, customer_id, days_ago(90)) / 3
        )
        if customer_id in shipper_ids:
            profile = session.get(ShipperProfile, customer_id)
            assert profile.contract_end > TODAY + dt.timedelta(days=180), name
            on_time, delivered = session.execute(
                select(
                    func.count(Shipment.id).filter(
                        Shipment.delivered_at <= Shipment.promised_at, Shipment.in_full
                    ),
                    func.count(Shipment.delivered_at),
                )
                .join(Link, Shipment.link_id == Link.id)
                .where(Link.shipper_id == customer_id, Shipment.shipped_at >= days_ago(90))
            ).one()
            assert on_time / delivered >= profile.on_time_target, name
