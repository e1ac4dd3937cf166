"""The sales funnel: new business, cross-sell, up-sell and renewals."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from logicrm import bounds
from logicrm.db import MONEY, Base, enum_type, within


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
