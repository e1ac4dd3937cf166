"""The consignee role of a customer: the side that receives the goods and judges delivery."""

from __future__ import annotations

from sqlalchemy import JSON, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from logicrm.customers.models import Customer
from logicrm.db import Base


class ConsigneeProfile(Base):
    __tablename__ = "consignee_profiles"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    sites: Mapped[list] = mapped_column(JSON, default=list)
    receiving_windows: Mapped[str | None] = mapped_column(Text)
    delivery_requirements: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(default=1)

    customer: Mapped[Customer] = relationship(back_populates="consignee_profile")

    __mapper_args__ = {"version_id_col": version}
