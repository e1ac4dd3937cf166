"""The shipper role of a customer: the side that contracts and pays."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, CheckConstraint, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column, relationship

from logicrm import bounds
from logicrm.customers.models import Customer
from logicrm.db import MONEY, Base, within


class ShipperProfile(Base):
    __tablename__ = "shipper_profiles"
    __table_args__ = (
        within(bounds.SHARE, "on_time_target"),
        within(bounds.MONEY, "contracted_annual_value"),
        CheckConstraint(
            "contract_end IS NULL OR contract_start IS NULL OR contract_end >= contract_start",
            name="contract_ordered",
        ),
    )

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    contract_start: Mapped[dt.date | None]
    contract_end: Mapped[dt.date | None] = mapped_column(index=True)
    services: Mapped[list] = mapped_column(JSON, default=list)
    contracted_annual_value: Mapped[float | None] = mapped_column(MONEY)
    on_time_target: Mapped[float | None] = mapped_column(default=0.95)
    version: Mapped[int] = mapped_column(default=1)

    customer: Mapped[Customer] = relationship(back_populates="shipper_profile")

    __mapper_args__ = {"version_id_col": version}
