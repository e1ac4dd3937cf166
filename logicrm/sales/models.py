"""The sales funnel: new business, cross-sell, up-sell and renewals, with each deal's stage history."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, ForeignKey, String, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from logicrm import bounds
from logicrm.db import MONEY, Base, enum_type, utcnow, within


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


# the funnel in order; won and lost close it
OPEN_STAGES = (
    OpportunityStage.LEAD,
    OpportunityStage.PROPOSAL,
    OpportunityStage.NEGOTIATION,
    OpportunityStage.TENDER,
)
CLOSED_STAGES = (OpportunityStage.WON, OpportunityStage.LOST)
# the source of the renewal deals each health run opens ahead of a contract end
RENEWAL_JOB = "renewal_job"


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
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    # what the deal sells: warehousing, distribution, customs, value-added services, lanes...
    # server defaults: bulk writers (the demo, imports of old data) may leave these out
    service_lines: Mapped[list] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())
    closed_on: Mapped[dt.date | None]  # the day it was won or lost
    # a renewal: the contract end it renews (the renewal job creates one per contract end)
    contract_end: Mapped[dt.date | None]
    # what made it: "renewal_job", or the growth suggestion it was converted from
    source: Mapped[str | None] = mapped_column(String(120), index=True)
    version: Mapped[int] = mapped_column(default=1)

    stages: Mapped[list[OpportunityStageEvent]] = relationship(
        back_populates="opportunity",
        order_by="OpportunityStageEvent.entered_at, OpportunityStageEvent.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",  # a page of deals shows every deal's history: one query, not one per deal
    )

    __mapper_args__ = {"version_id_col": version}


class OpportunityStageEvent(Base):
    """One stay of a deal in one stage: when it entered, when it left (None while it is there)."""

    __tablename__ = "opportunity_stages"

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(
        ForeignKey("opportunities.id", ondelete="CASCADE"), index=True
    )
    stage: Mapped[OpportunityStage] = mapped_column(enum_type(OpportunityStage))
    entered_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    left_at: Mapped[dt.datetime | None]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)

    opportunity: Mapped[Opportunity] = relationship(back_populates="stages")
