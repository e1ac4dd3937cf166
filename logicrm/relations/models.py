"""What a client company is made of and tells us: departments, contacts, survey responses, interactions."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from logicrm import bounds
from logicrm.db import Base, enum_type, new_external_ref, within


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


class Department(Base):
    __tablename__ = "departments"
    __table_args__ = (
        UniqueConstraint("customer_id", "name"),
        within(bounds.DECISION_WEIGHT, "decision_weight"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # a merge folding two same-named departments keeps the larger weight and either decision-maker flag
    decision_weight: Mapped[float] = mapped_column(default=1.0, info={"merge": "max"})
    is_decision_maker: Mapped[bool] = mapped_column(default=False, info={"merge": "max"})
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
    # the case a callback survey asked about
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"), index=True)
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
