"""Lanes between a shipper and a consignee, and the shipments that run on them."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from logicrm import bounds
from logicrm.db import MONEY, Base, enum_type, new_external_ref, within


class ServiceType(enum.StrEnum):
    FTL = "ftl"
    LTL = "ltl"
    PARCEL = "parcel"
    AIR = "air"
    OCEAN = "ocean"
    RAIL = "rail"
    WAREHOUSING = "warehousing"


class LinkStatus(enum.StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    ENDED = "ended"


class Link(Base):
    __tablename__ = "links"
    __table_args__ = (
        CheckConstraint("shipper_id <> consignee_id", name="ends_differ"),
        within(bounds.MONTHLY_VOLUME, "declared_monthly_volume"),
        CheckConstraint(
            "ended_on IS NULL OR started_on IS NULL OR ended_on >= started_on", name="dates_ordered"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    external_ref: Mapped[str | None] = mapped_column(String(64), unique=True, default=new_external_ref)
    shipper_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    consignee_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    origin: Mapped[str] = mapped_column(String(100))
    destination: Mapped[str] = mapped_column(String(100))
    service_type: Mapped[ServiceType] = mapped_column(enum_type(ServiceType), default=ServiceType.FTL)
    declared_monthly_volume: Mapped[float | None]
    started_on: Mapped[dt.date | None]
    ended_on: Mapped[dt.date | None]
    status: Mapped[LinkStatus] = mapped_column(enum_type(LinkStatus), default=LinkStatus.ACTIVE, index=True)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


SERIES_COLUMNS = ["revenue", "cost", "delivered_at", "promised_at", "in_full", "damaged", "claim_amount"]


class Shipment(Base):
    __tablename__ = "shipments"
    __table_args__ = (
        CheckConstraint("delivered_at IS NULL OR delivered_at >= shipped_at", name="delivered_after_shipped"),
        within(bounds.MONEY, "claim_amount"),
        within(bounds.MONEY, "revenue"),
        within(bounds.MONEY, "cost"),
        # lanes over time read only these columns: on PostgreSQL the index covers them (an index-only scan
        # instead of a heap page per shipment, as shipments of a lane lie scattered in time order)
        Index("ix_shipments_link_shipped", "link_id", "shipped_at", postgresql_include=SERIES_COLUMNS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    external_ref: Mapped[str | None] = mapped_column(String(64), unique=True, default=new_external_ref)
    link_id: Mapped[int] = mapped_column(ForeignKey("links.id", ondelete="CASCADE"), index=True)
    shipped_at: Mapped[dt.datetime] = mapped_column(index=True)
    promised_at: Mapped[dt.datetime | None]
    delivered_at: Mapped[dt.datetime | None]
    in_full: Mapped[bool] = mapped_column(default=True)
    damaged: Mapped[bool] = mapped_column(default=False)
    claim_amount: Mapped[float] = mapped_column(MONEY, default=0)
    revenue: Mapped[float] = mapped_column(MONEY, default=0)
    cost: Mapped[float] = mapped_column(MONEY, default=0)
    # A server default only: bulk inserts (COPY, executemany) leave the column out, and a Python default
    # would put it back into their compiled INSERT. The ORM sets the first version itself.
    version: Mapped[int] = mapped_column(server_default=text("1"))

    __mapper_args__ = {"version_id_col": version}
