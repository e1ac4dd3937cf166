"""The customer core: companies, their tier and status, who covers them."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from logicrm.db import Base, enum_type, new_external_ref, utcnow


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


class TeamRole(enum.StrEnum):
    """What a member does on an account's team (the owner is the customer's owner_id)."""

    EXECUTIVE_SPONSOR = "executive_sponsor"  # a senior person the client's executives can call
    ACCOUNT_MANAGER = "account_manager"  # a second account manager: coverage never hangs on one person
    SERVICE_AGENT = "service_agent"  # handles the account's tickets
    MEMBER = "member"


customer_team = Table(
    "customer_team",
    Base.metadata,
    Column("customer_id", ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
    Column(
        "role",
        enum_type(TeamRole),
        nullable=False,
        default=TeamRole.MEMBER,
        server_default=TeamRole.MEMBER.value,
    ),
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
