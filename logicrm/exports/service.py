"""CSV exports: every import kind in its import format, plus health snapshots and alerts.

An import kind's export writes the kind's columns through the same formatters its import reads, so the
file re-imports to the same data. Only what the user may see is exported, never records of deleted
customers. Rows stream a chunk at a time (yield_per); references come from joins, and what a row holds
in several other rows (a customer's team, a survey's scores) from one query per chunk.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import Boolean, Select, and_, literal, select
from sqlalchemy.orm import Session, aliased

from logicrm import access, bounds
from logicrm.consignees.models import ConsigneeProfile
from logicrm.customers import service as customers
from logicrm.customers.models import Customer, customer_team
from logicrm.errors import Forbidden, NotFound
from logicrm.health.models import Alert, AlertState, HealthSnapshot
from logicrm.imports.columns import Choice, Column, DateTime, Email, Integer, Number, Text, ref
from logicrm.imports.kinds import KINDS
from logicrm.imports.kinds.customers import CUSTOMER_PLAIN, PROFILE_COLUMNS
from logicrm.lanes import service as lanes
from logicrm.lanes.models import Link, Shipment
from logicrm.relations.models import Contact, Department, Dimension, Interaction, SurveyResponse, SurveyScore
from logicrm.shippers.models import ShipperProfile
from logicrm.tickets.models import Severity, Ticket
from logicrm.users.models import User, UserRole

CHUNK_ROWS = 1000
SCORE_PARTS = ("expectation", "perception", "importance")

SNAPSHOT_COLUMNS = (
    Column("customer_ref", ref()),
    Column("customer_name", Text(300)),
    Column("run_id", Integer()),
    Column("taken_at", DateTime()),
    *(
        Column(name, Number())
        for name in (
            "satisfaction",
            "two_sided",
            "coverage",
            "loyalty_nps",
            "own_risk",
            "network_risk",
            "exposure",
        )
    ),
    Column("revenue_12m", Number(places=2)),
    Column("profit_12m", Number(places=2)),
    Column("abc_class", Text(1)),
)
ALERT_COLUMNS = (
    Column("id", Integer(), doc="the alert's id in the API (to acknowledge or resolve it)"),
    Column("customer_ref", ref()),
    Column("customer_name", Text(300)),
    Column("rule", Text(40)),
    Column("severity", Choice(Severity)),
    Column("state", Choice(AlertState)),
    Column("value", Number(), doc="the rule's measure; higher is worse"),
    Column("message", Text(bounds.LONG_TEXT)),
    Column("first_seen", DateTime()),
    Column("last_seen", DateTime()),
    Column("acknowledged_at", DateTime()),
    Column("acknowledged_by_email", Email()),
    Column("resolved_at", DateTime()),
)


@dataclass(frozen=True)
class Export:
    """What one export writes: its columns, the query filling them (result columns named after file
    columns) and, optionally, a per-chunk lookup filling the rest."""

    columns: tuple[Column, ...]
    statement: Callable[[User], Select]
    per_chunk: Callable[[Session, list[dict]], None] | None = None
    forbidden_to: frozenset[UserRole] = frozenset()


def table(session: Session, *, kind: str, user: User) -> tuple[list[str], Iterator[list[str]]]:
    """Return the header and the (lazily read) formatted rows of export `kind` as `user` sees it.

    An unknown kind or a role that may not export it raises at once, before any row is read.
    """
    export = EXPORTS.get(kind)
    if export is None:
        raise NotFound(f"export kind {kind!r} not found; kinds: {', '.join(EXPORTS)}")
    if user.role in export.forbidden_to:
        raise Forbidden(f"role {user.role} may not export {kind}")
    return [column.name for column in export.columns], _rows(session, export, user)


def _rows(session: Session, export: Export, user: User) -> Iterator[list[str]]:
    result = session.execute(export.statement(user), execution_options={"yield_per": CHUNK_ROWS})
    for chunk in result.mappings().partitions():
        records = [dict(row) for row in chunk]
        if export.per_chunk:
            export.per_chunk(session, records)
        for record in records:
            yield [column.format(record[column.name]) for column in export.columns]


# ------------------------------------------------------------------------------------------ statements


def _of_customers(model, user: User, *columns) -> Select:
    """Select `columns` of `model`'s rows on live customers the user sees, with customer_ref, in id order."""
    return (
        select(Customer.external_ref.label("customer_ref"), *columns)
        .select_from(model)
        .join(Customer, Customer.id == model.customer_id)
        .where(Customer.deleted_at.is_(None), customers.visible(user=user))
        .order_by(model.id)
    )


def _customers(user: User) -> Select:
    owner, referrer = aliased(User), aliased(Customer)
    return (
        select(
            Customer.id,
            *(getattr(Customer, name) for name in CUSTOMER_PLAIN),
            owner.email.label("owner_email"),
            referrer.external_ref.label("referred_by_ref"),
            ShipperProfile.customer_id.is_not(None).label("shipper"),
            *(getattr(ShipperProfile, name) for name in PROFILE_COLUMNS["shipper"]),
            ConsigneeProfile.customer_id.is_not(None).label("consignee"),
            *(getattr(ConsigneeProfile, name) for name in PROFILE_COLUMNS["consignee"]),
            # exported customers were accepted already: imported into another database they are not
            # refused again as probable duplicates of each other
            literal(True, Boolean).label("allow_duplicate"),
        )
        .outerjoin(owner, owner.id == Customer.owner_id)
        # A deleted referrer cannot be imported: the referral goes with it, as the import would refuse it.
        .outerjoin(referrer, and_(referrer.id == Customer.referred_by_id, referrer.deleted_at.is_(None)))
        .outerjoin(ShipperProfile, ShipperProfile.customer_id == Customer.id)
        .outerjoin(ConsigneeProfile, ConsigneeProfile.customer_id == Customer.id)
        .where(Customer.deleted_at.is_(None), customers.visible(user=user))
        .order_by(Customer.id)
    )


def _teams(session: Session, records: list[dict]) -> None:
    teams = defaultdict(list)
    for customer_id, email in session.execute(
        select(customer_team.c.customer_id, User.email)
        .join(User, User.id == customer_team.c.user_id)
        .where(customer_team.c.customer_id.in_([record["id"] for record in records]))
        .order_by(User.email)
    ):
        teams[customer_id].append(email)
    for record in records:
        record["team_emails"] = teams[record["id"]]


def _departments(user: User) -> Select:
    return _of_customers(
        Department, user, Department.name, Department.decision_weight, Department.is_decision_maker
    )


def _contacts(user: User) -> Select:
    return _of_customers(
        Contact,
        user,
        Contact.external_ref,
        Department.name.label("department"),
        Contact.name,
        Contact.role,
        Contact.email,
        Contact.phone,
    ).outerjoin(Department, Department.id == Contact.department_id)


def _surveys(user: User) -> Select:
    return (
        _of_customers(
            SurveyResponse,
            user,
            SurveyResponse.id,
            SurveyResponse.external_ref,
            Department.name.label("department"),
            Contact.external_ref.label("contact_ref"),
            SurveyResponse.collected_at,
            SurveyResponse.channel,
            SurveyResponse.scale_min,
            SurveyResponse.scale_max,
            SurveyResponse.likelihood_to_recommend,
            SurveyResponse.comment,
        )
        .join(Department, Department.id == SurveyResponse.department_id)
        .outerjoin(Contact, Contact.id == SurveyResponse.contact_id)
    )


def _scores(session: Session, records: list[dict]) -> None:
    by_id = {record["id"]: record for record in records}
    for record in records:
        record.update({f"{dimension.value}_{part}": None for dimension in Dimension for part in SCORE_PARTS})
    for score in session.scalars(select(SurveyScore).where(SurveyScore.response_id.in_(by_id))):
        record = by_id[score.response_id]
        for part in SCORE_PARTS:
            record[f"{score.dimension.value}_{part}"] = getattr(score, part)


def _interactions(user: User) -> Select:
    return (
        _of_customers(
            Interaction,
            user,
            Interaction.external_ref,
            Department.name.label("department"),
            User.email.label("user_email"),
            Interaction.kind,
            Interaction.at,
            Interaction.summary,
            Interaction.next_follow_up,
        )
        .outerjoin(Department, Department.id == Interaction.department_id)
        .outerjoin(User, User.id == Interaction.user_id)
    )


def _tickets(user: User) -> Select:
    return _of_customers(
        Ticket,
        user,
        Ticket.external_ref,
        Link.external_ref.label("link_ref"),
        Ticket.kind,
        Ticket.severity,
        Ticket.subject,
        Ticket.opened_at,
        Ticket.first_response_at,
        Ticket.resolved_at,
        Ticket.status,
        Ticket.claim_amount,
    ).outerjoin(Link, Link.id == Ticket.link_id)


def _lanes(statement: Select, user: User) -> Select:
    """Join a statement on Link to both ends, keep live ends only and (for restricted users) visible lanes."""
    shipper, consignee = aliased(Customer), aliased(Customer)
    statement = (
        statement.add_columns(
            shipper.external_ref.label("shipper_ref"), consignee.external_ref.label("consignee_ref")
        )
        .join(shipper, shipper.id == Link.shipper_id)
        .join(consignee, consignee.id == Link.consignee_id)
        .where(shipper.deleted_at.is_(None), consignee.deleted_at.is_(None))
    )
    return statement.where(lanes.visible_links(user=user)) if access.is_restricted(user) else statement


def _links(user: User) -> Select:
    return _lanes(
        select(
            Link.external_ref,
            Link.origin,
            Link.destination,
            Link.service_type,
            Link.declared_monthly_volume,
            Link.started_on,
            Link.ended_on,
            Link.status,
        ).order_by(Link.id),
        user,
    )


def _shipments(user: User) -> Select:
    return _lanes(
        select(
            Shipment.external_ref,
            Link.external_ref.label("link_ref"),
            Shipment.shipped_at,
            Shipment.promised_at,
            Shipment.delivered_at,
            Shipment.in_full,
            Shipment.damaged,
            Shipment.claim_amount,
            Shipment.revenue,
            Shipment.cost,
        )
        .join(Link, Link.id == Shipment.link_id)
        .order_by(Shipment.id),
        user,
    )


def _snapshots(user: User) -> Select:
    return _of_customers(
        HealthSnapshot,
        user,
        Customer.name.label("customer_name"),
        *(getattr(HealthSnapshot, column.name) for column in SNAPSHOT_COLUMNS[2:]),
    )


def _alerts(user: User) -> Select:
    acknowledger = aliased(User)
    return _of_customers(
        Alert,
        user,
        Alert.id,
        Customer.name.label("customer_name"),
        Alert.rule,
        Alert.severity,
        Alert.state,
        Alert.value,
        Alert.message,
        Alert.first_seen,
        Alert.last_seen,
        Alert.acknowledged_at,
        acknowledger.email.label("acknowledged_by_email"),
        Alert.resolved_at,
    ).outerjoin(acknowledger, acknowledger.id == Alert.acknowledged_by_id)


EXPORTS: dict[str, Export] = {
    "customers": Export(KINDS["customers"].columns, _customers, _teams),
    "departments": Export(KINDS["departments"].columns, _departments),
    # Planners get no contact's personal data, in the API or in a file.
    "contacts": Export(KINDS["contacts"].columns, _contacts, forbidden_to=frozenset({UserRole.PLANNER})),
    "links": Export(KINDS["links"].columns, _links),
    "shipments": Export(KINDS["shipments"].columns, _shipments),
    "surveys": Export(KINDS["surveys"].columns, _surveys, _scores),
    "interactions": Export(KINDS["interactions"].columns, _interactions),
    "tickets": Export(KINDS["tickets"].columns, _tickets),
    "health_snapshots": Export(SNAPSHOT_COLUMNS, _snapshots),
    "alerts": Export(ALERT_COLUMNS, _alerts),
}
EXPORT_KINDS = tuple(EXPORTS)
