"""The shared customer core: companies, their departments, contacts and what they tell us."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from logicrm import bounds
from logicrm.db import Base, enum_type, new_external_ref, utcnow

MONEY = Numeric(14, 2, asdecimal=False)


def within(bound: bounds.Bound, column: str) -> CheckConstraint:
    """The CHECK that keeps `column` inside its bound, named <column>_range."""
    return CheckConstraint(bound.check(column), name=f"{column}_range")


class Tier(enum.StrEnum):
    VIP = "vip"
    KEY = "key"
    STANDARD = "standard"


class CustomerStatus(enum.StrEnum):
    PROSPECT = "prospect"
    ACTIVE = "active"
    CHURNED = "churned"


class AcquisitionChannel(enum.StrEnum):
    REFERRAL = "referral"
    EXHIBITION = "exhibition"
    WEB = "web"
    RELATIONSHIP = "relationship"
    DIRECTORY = "directory"
    ADVERTISING = "advertising"
    OTHER = "other"


class Dimension(enum.StrEnum):
    """Service dimensions logistics clients judge (SERVQUAL adapted)."""

    TIMELINESS = "timeliness"
    RELIABILITY = "reliability"
    RESPONSIVENESS = "responsiveness"
    ATTITUDE = "attitude"
    COMPETENCE = "competence"
    CAPACITY = "capacity"
    HANDOVER = "handover"
    IMPROVEMENT = "improvement"


class InteractionKind(enum.StrEnum):
    VISIT = "visit"
    CALL = "call"
    EMAIL = "email"
    MEETING = "meeting"
    REVIEW = "review"


class TicketKind(enum.StrEnum):
    COMPLAINT = "complaint"
    CLAIM = "claim"
    REQUEST = "request"


class Severity(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class TicketStatus(enum.StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"


class OpportunityKind(enum.StrEnum):
    NEW = "new"
    CROSS_SELL = "cross_sell"
    UP_SELL = "up_sell"
    RENEWAL = "renewal"


class OpportunityStage(enum.StrEnum):
    LEAD = "lead"
    PROPOSAL = "proposal"
    NEGOTIATION = "negotiation"
    TENDER = "tender"
    WON = "won"
    LOST = "lost"


customer_team = Table(
    "customer_team",
    Base.metadata,
    Column("customer_id", ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_ref: Mapped[str | None] = mapped_column(String(64), unique=True, default=new_external_ref)
    name: Mapped[str] = mapped_column(String(300))
    normalized_name: Mapped[str] = mapped_column(String(300), index=True)
    registration_number: Mapped[str | None] = mapped_column(String(64), unique=True)
    industry: Mapped[str | None] = mapped_column(String(100), index=True)
    region: Mapped[str | None] = mapped_column(String(100), index=True)
    tier: Mapped[Tier] = mapped_column(enum_type(Tier), default=Tier.STANDARD, index=True)
    status: Mapped[CustomerStatus] = mapped_column(
        enum_type(CustomerStatus), default=CustomerStatus.ACTIVE, index=True
    )
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    acquisition_channel: Mapped[AcquisitionChannel | None] = mapped_column(enum_type(AcquisitionChannel))
    referred_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    acquired_on: Mapped[dt.date | None]
    churned_on: Mapped[dt.date | None]
    deleted_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    team: Mapped[list[User]] = relationship(secondary=customer_team, lazy="selectin")  # noqa: F821
    shipper_profile: Mapped[ShipperProfile | None] = relationship(  # noqa: F821
        back_populates="customer", lazy="selectin", cascade="all, delete-orphan"
    )
    consignee_profile: Mapped[ConsigneeProfile | None] = relationship(  # noqa: F821
        back_populates="customer", lazy="selectin", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def roles(self) -> list[str]:
        return [
            role
            for role, profile in (("shipper", self.shipper_profile), ("consignee", self.consignee_profile))
            if profile is not None
        ]


class Department(Base):
    __tablename__ = "departments"
    __table_args__ = (
        UniqueConstraint("customer_id", "name"),
        within(bounds.DECISION_WEIGHT, "decision_weight"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    decision_weight: Mapped[float] = mapped_column(default=1.0)
    is_decision_maker: Mapped[bool] = mapped_column(default=False)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_ref: Mapped[str | None] = mapped_column(String(64), unique=True, default=new_external_ref)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(50))
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class SurveyResponse(Base):
    __tablename__ = "survey_responses"
    __table_args__ = (
        CheckConstraint("scale_max > scale_min", name="scale_ordered"),
        within(bounds.SCALE_POINT, "scale_min"),
        within(bounds.SCALE_POINT, "scale_max"),
        within(bounds.LIKELIHOOD_TO_RECOMMEND, "likelihood_to_recommend"),
        Index("ix_survey_responses_customer_collected", "customer_id", "collected_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    external_ref: Mapped[str | None] = mapped_column(String(64), unique=True, default=new_external_ref)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    collected_at: Mapped[dt.datetime]
    channel: Mapped[str | None] = mapped_column(String(40))
    scale_min: Mapped[int] = mapped_column(default=1)
    scale_max: Mapped[int] = mapped_column(default=7)
    likelihood_to_recommend: Mapped[int | None]
    comment: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(default=1)

    scores: Mapped[list[SurveyScore]] = relationship(
        back_populates="response", lazy="selectin", cascade="all, delete-orphan", order_by="SurveyScore.id"
    )

    __mapper_args__ = {"version_id_col": version}


class SurveyScore(Base):
    """One service dimension of a response: what the department expected and what it perceived."""

    __tablename__ = "survey_scores"
    __table_args__ = (
        UniqueConstraint("response_id", "dimension"),
        within(bounds.IMPORTANCE, "importance"),
        within(bounds.SCALE_POINT, "expectation"),
        within(bounds.SCALE_POINT, "perception"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(
        ForeignKey("survey_responses.id", ondelete="CASCADE"), index=True
    )
    dimension: Mapped[Dimension] = mapped_column(enum_type(Dimension))
    importance: Mapped[float] = mapped_column(default=1.0)
    expectation: Mapped[float]
    perception: Mapped[float]

    response: Mapped[SurveyResponse] = relationship(back_populates="scores")


class Interaction(Base):
    __tablename__ = "interactions"
    __table_args__ = (Index("ix_interactions_customer_at", "customer_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_ref: Mapped[str | None] = mapped_column(String(64), unique=True, default=new_external_ref)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="SET NULL"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    kind: Mapped[InteractionKind] = mapped_column(enum_type(InteractionKind))
    at: Mapped[dt.datetime]
    summary: Mapped[str] = mapped_column(Text)
    next_follow_up: Mapped[dt.date | None]
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (within(bounds.MONEY, "claim_amount"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_ref: Mapped[str | None] = mapped_column(String(64), unique=True, default=new_external_ref)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    link_id: Mapped[int | None] = mapped_column(ForeignKey("links.id", ondelete="SET NULL"), index=True)
    kind: Mapped[TicketKind] = mapped_column(enum_type(TicketKind))
    severity: Mapped[Severity] = mapped_column(enum_type(Severity), default=Severity.MEDIUM)
    subject: Mapped[str] = mapped_column(String(300))
    opened_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    first_response_at: Mapped[dt.datetime | None]
    resolved_at: Mapped[dt.datetime | None]
    status: Mapped[TicketStatus] = mapped_column(
        enum_type(TicketStatus), default=TicketStatus.OPEN, index=True
    )
    claim_amount: Mapped[float | None] = mapped_column(MONEY)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class Opportunity(Base):
    __tablename__ = "opportunities"
    __table_args__ = (within(bounds.MONEY, "value"), within(bounds.SHARE, "probability"))

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    kind: Mapped[OpportunityKind] = mapped_column(enum_type(OpportunityKind))
    stage: Mapped[OpportunityStage] = mapped_column(
        enum_type(OpportunityStage), default=OpportunityStage.LEAD, index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    value: Mapped[float] = mapped_column(MONEY, default=0)
    probability: Mapped[float] = mapped_column(default=0.1)
    expected_close: Mapped[dt.date | None]
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}
