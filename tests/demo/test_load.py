"""The demo network: its shape, the deliberate troubles and healthy VIPs, determinism, a working admin key.

Loading takes seconds, so one test loads the demo once per backend and checks everything against the data.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
from collections import defaultdict

from sqlalchemy import func, or_, select

from logicrm.consignees.models import ConsigneeProfile
from logicrm.customers.models import Customer
from logicrm.customers.names import normalize_name
from logicrm.demo import ADMIN_EMAIL, build_plan, load_demo
from logicrm.lanes.models import Link, Shipment
from logicrm.relations.models import Department, Interaction, SurveyResponse, SurveyScore
from logicrm.sales.models import Opportunity, OpportunityKind, OpportunityStage
from logicrm.shippers.models import ShipperProfile
from logicrm.tickets.models import Ticket, TicketKind, TicketStatus
from logicrm.users import service as users
from logicrm.users.models import UserRole

SEED = 7
TODAY = dt.date(2025, 6, 30)
NOW = dt.datetime.combine(TODAY, dt.time(), tzinfo=dt.UTC)
OPEN = (TicketStatus.OPEN, TicketStatus.IN_PROGRESS)
CADENCE = {"vip": 30, "key": 60, "standard": 120}


def days_ago(days: float) -> dt.datetime:
    return NOW - dt.timedelta(days=days)


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


def silent_departments():
    """Departments (as a WHERE clause on Department) with no survey response in 180 days."""
    answered = select(SurveyResponse.id).where(
        SurveyResponse.department_id == Department.id, SurveyResponse.collected_at >= days_ago(180)
    )
    return ~answered.exists()


def test_demo_network(app, db, session):
    with db.session_scope() as writer:
        summary = load_demo(writer, seed=SEED, today=TODAY)
    customers = {c.id: c for c in session.scalars(select(Customer))}
    shipper_ids = set(session.scalars(select(ShipperProfile.customer_id)))
    consignee_ids = set(session.scalars(select(ConsigneeProfile.customer_id)))

    check_counts(session, summary, shipper_ids, consignee_ids)
    check_companies(session, customers)
    check_network(session, shipper_ids, consignee_ids)
    check_activity(session)
    check_troubles(session, summary, customers, shipper_ids)
    check_healthy_vips(session, summary, customers, shipper_ids)

    assert summary.names == {i: c.name for i, c in customers.items()}
    text = "\n".join(summary.lines())
    named = {i for ids in summary.troubled.values() for i in ids} | set(summary.healthy_vips)
    assert all(customers[i].name in text for i in named)

    # the admin key, and every demo user's key, authenticates
    key = users.authenticate(session, summary.admin_key)
    assert key is not None and key.user.email == ADMIN_EMAIL and key.user.role == UserRole.ADMIN
    keys = {email: users.authenticate(session, secret) for email, secret in summary.api_keys.items()}
    assert all(key.user.email == email for email, key in keys.items())
    assert {key.user.role for key in keys.values()} == set(UserRole)

    # `logicrm demo --if-empty` leaves a loaded database alone
    session.rollback()  # end our transaction: on SQLite it holds the write lock
    result = app.test_cli_runner().invoke(args=["demo", "--if-empty"])
    assert result.exit_code == 0 and result.output == ""
    assert session.scalar(select(func.count(Customer.id))) == len(customers)


def check_counts(session, summary, shipper_ids, consignee_ids):
    """Counts in the documented ranges, and as reported."""
    dual = shipper_ids & consignee_ids
    counts = summary.counts
    assert 35 <= len(shipper_ids) == counts["shippers"] <= 45
    assert 360 <= len(consignee_ids) == counts["consignees"] <= 440
    assert 8 <= len(dual) == counts["dual_role"] <= 12
    assert session.scalar(select(func.count(Customer.id))) == counts["customers"]
    n_shipments = session.scalar(select(func.count(Shipment.id)))
    assert 100_000 <= n_shipments == counts["shipments"] <= 200_000
    for model, key in (
        (SurveyScore, "survey_scores"),
        (Link, "links"),
        (Department, "departments"),
        (SurveyResponse, "survey_responses"),
        (Interaction, "interactions"),
        (Ticket, "tickets"),
        (Opportunity, "opportunities"),
    ):
        assert session.scalar(select(func.count()).select_from(model)) == counts[key], key


def check_companies(session, customers):
    """Latin and Chinese names with legal suffixes, unique after normalisation; regions, owners, profiles."""
    names = [c.name for c in customers.values()]
    assert all(c.normalized_name == normalize_name(c.name) for c in customers.values())
    assert len({c.normalized_name for c in customers.values()}) == len(customers)
    assert any("有限公司" in name for name in names) and any(name.endswith("GmbH") for name in names)
    assert any(name.endswith("Co., Ltd.") for name in names) and any(name.endswith("B.V.") for name in names)
    assert sum(c.registration_number is not None for c in customers.values()) >= 0.8 * len(customers)
    assert all(re.fullmatch(r"CUS-\d{4}", c.external_ref) for c in customers.values())
    assert {c.region for c in customers.values()} >= {
        "China East",
        "China South",
        "Germany",
        "Benelux",
        "Poland",
        "USA West",
    }
    assert {c.industry for c in customers.values()} >= {
        "FMCG",
        "retail",
        "automotive",
        "electronics",
        "pharma",
        "chemicals",
    }
    owners = defaultdict(int)
    for c in customers.values():
        owners[c.owner_id] += 1
    assert len(owners) == 3 and min(owners.values()) >= 0.2 * len(customers)
    assert sum(bool(c.team) for c in customers.values()) >= 20
    profiles = session.scalars(select(ConsigneeProfile)).all()
    assert all(p.sites and all(isinstance(site, str) for site in p.sites) for p in profiles)  # API shape
    assert all(p.services for p in session.scalars(select(ShipperProfile)))


def check_network(session, shipper_ids, consignee_ids):
    """Dual roles trade both ways, power-law fan-out, mostly single-shipper consignees, 12 months shipped."""
    dual = shipper_ids & consignee_ids
    links = session.execute(select(Link.shipper_id, Link.consignee_id)).all()
    consignees_of, shippers_of = defaultdict(set), defaultdict(set)
    for shipper, consignee in links:
        consignees_of[shipper].add(consignee)
        shippers_of[consignee].add(shipper)
    assert all(consignees_of[d] and shippers_of[d] for d in dual)
    fan_out = sorted(len(consignees_of[s]) for s in shipper_ids)
    assert fan_out[-1] >= 4 * statistics.median(fan_out) and statistics.median(fan_out) <= 12
    served = [len(shippers_of[c]) for c in consignee_ids]
    assert (
        min(served) >= 1
        and sum(n == 1 for n in served) >= 0.6 * len(served)
        and sum(n > 1 for n in served) >= 20
    )
    declared_only = session.scalar(
        select(func.count(Link.id)).where(
            Link.declared_monthly_volume.is_not(None),
            ~select(Shipment.id).where(Shipment.link_id == Link.id).exists(),
        )
    )
    assert declared_only >= 3

    first, last = session.execute(select(func.min(Shipment.shipped_at), func.max(Shipment.shipped_at))).one()
    assert first <= days_ago(358) and days_ago(3) <= last < NOW
    in_transit = session.scalar(select(func.count(Shipment.id)).where(Shipment.delivered_at.is_(None)))
    assert 0 < in_transit < 0.1 * session.scalar(select(func.count(Shipment.id)))


def check_activity(session):
    """Some departments silent for over 180 days; tickets of every kind, a few open; all kinds of deals."""
    assert session.scalar(select(func.count(Department.id)).where(silent_departments())) >= 5
    assert set(session.scalars(select(Ticket.kind).distinct())) == set(TicketKind)
    assert 0 < session.scalar(select(func.count(Ticket.id)).where(Ticket.status.in_(OPEN))) < 50
    assert set(session.scalars(select(Opportunity.kind).distinct())) == set(OpportunityKind)


def check_troubles(session, summary, customers, shipper_ids):
    """Each troubled category is non-empty and its defining condition holds in the data."""
    troubled = summary.troubled
    assert all(troubled.values()), troubled
    for customer_id in troubled["falling_volume"]:
        recent = volume(session, customer_id, days_ago(30))
        assert recent < 0.5 * volume(session, customer_id, days_ago(90)) / 3, customers[customer_id].name
        assert recent < 0.5 * volume(session, customer_id, days_ago(365)) / 12
    for customer_id in troubled["unhappy_deciding_department"]:
        gaps = department_gaps(session, customer_id, days_ago(180))
        assert any(decides and gap < -2 for decides, gap in gaps.values()), gaps
        assert any(gap > 0 for _, gap in gaps.values()), gaps
        assert customers[customer_id].tier.value in ("vip", "key")
    for shipper_id in troubled["unhappy_consignees"]:
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
    for customer_id in troubled["overdue_claim"]:
        assert session.scalar(
            select(func.count(Ticket.id)).where(
                Ticket.customer_id == customer_id,
                Ticket.kind == TicketKind.CLAIM,
                Ticket.status.in_(OPEN),
                Ticket.opened_at <= days_ago(30),
                Ticket.resolved_at.is_(None),
            )
        )
    for customer_id in troubled["contract_expiring_no_renewal"]:
        end = session.get(ShipperProfile, customer_id).contract_end
        assert TODAY <= end <= TODAY + dt.timedelta(days=90)
        assert open_renewals(session, customer_id) == 0
    expiring = session.scalars(
        select(ShipperProfile.customer_id).where(ShipperProfile.contract_end <= TODAY + dt.timedelta(days=90))
    )
    assert {s for s in expiring if not open_renewals(session, s)} == set(
        troubled["contract_expiring_no_renewal"]
    )
    for customer_id in troubled["contact_overdue"]:
        cadence = CADENCE[customers[customer_id].tier.value]
        assert last_contact(session, customer_id) <= days_ago(2 * cadence)
    for customer_id in troubled["silent_deciding_department"]:
        silent = session.scalar(
            select(func.count(Department.id)).where(
                Department.customer_id == customer_id, Department.is_decision_maker, silent_departments()
            )
        )
        assert silent >= 1
    shipper_revenue, consignee_revenue = (
        revenue_by(session, Link.shipper_id),
        revenue_by(session, Link.consignee_id),
    )
    for customer_id in troubled["tier_mismatch"]:
        tier = customers[customer_id].tier.value
        if customer_id in shipper_ids:
            ranked = sorted(shipper_revenue.values(), reverse=True)
            assert tier == "standard" and shipper_revenue[customer_id] >= ranked[len(ranked) // 5]
        else:
            assert tier == "vip" and consignee_revenue[customer_id] <= statistics.median(
                consignee_revenue.values()
            )


def check_healthy_vips(session, summary, customers, shipper_ids):
    """Healthy VIPs are steady, happy, recently contacted, on target, with no open ticket and no trouble."""
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


def test_plan_is_deterministic():
    """The same seed and day give the same network, to the shipment; another seed gives another."""
    first, second = build_plan(seed=SEED, today=TODAY), build_plan(seed=SEED, today=TODAY)
    assert [c.name for c in first.companies] == [c.name for c in second.companies]
    assert first.shipments == second.shipments
    assert first.troubled == second.troubled and first.healthy == second.healthy
    other = build_plan(seed=SEED + 1, today=TODAY)
    assert [c.name for c in other.companies] != [c.name for c in first.companies]
