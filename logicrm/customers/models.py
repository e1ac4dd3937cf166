"""The customer core: companies, their tier and status, who covers them."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Column, ForeignKey, Index, String, Table, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from logicrm.customers import names
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
    # The deleted ones only: an index listing every live customer under NULL let PostgreSQL, planning an
    # import's lookups on the statistics of before it, scan all of them for each `deleted_at IS NULL`.
    __table_args__ = (
        Index(
            "ix_customers_deleted_at",
            "deleted_at",
            sqlite_where=text("deleted_at IS NOT NULL"),
            postgresql_where=text("deleted_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    external_ref: Mapped[str | None] = mapped_column(String(64), unique=True, default=new_external_ref)
    name: Mapped[str] = mapped_column(String(300))
    normalized_name: Mapped[str] = mapped_column(String(300), index=True)
    # transliterated for fuzzy matching and search (names.match_name); bulk writers that leave it out
    # (the server default) leave the customer out of fuzzy matching until its name is written again
    match_name: Mapped[str] = mapped_column(String(600), default="", server_default="")
    registration_number: Mapped[str | None] = mapped_column(String(64), unique=True)
    # the number as compared (names.registration_key): 'CRN 04883888' and 'crn-04883888' are one entity
    registration_key: Mapped[str | None] = mapped_column(String(64), index=True)
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
    deleted_at: Mapped[dt.datetime | None] = mapped_column()
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
    # read here; written through customers.aliases
    aliases: Mapped[list[CustomerAlias]] = relationship(
        lazy="selectin", order_by="CustomerAlias.id", viewonly=True
    )

    __mapper_args__ = {"version_id_col": version}

    @validates("name")
    def _name(self, _key, name: str) -> str:
        self.normalized_name, self.match_name = names.normalize_name(name), names.match_name(name)
        return name

    @validates("registration_number")
    def _registration(self, _key, number: str | None) -> str | None:
        self.registration_key = names.registration_key(number)
        return number

    @property
    def roles(self) -> list[str]:
        return [
            role
            for role, profile in (("shipper", self.shipper_profile), ("consignee", self.consignee_profile))
            if profile is not None
        ]


class CustomerAlias(Base):
    """Another name of a customer (its Chinese or English name, a former or trading name): searched and
    matched like its name."""

    __tablename__ = "customer_aliases"
    __table_args__ = (UniqueConstraint("customer_id", "normalized_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    normalized_name: Mapped[str] = mapped_column(String(300), index=True)
    match_name: Mapped[str] = mapped_column(String(600), default="", server_default="")
    label: Mapped[str | None] = mapped_column(String(60))
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    @validates("name")
    def _name(self, _key, name: str) -> str:
        self.normalized_name, self.match_name = names.normalize_name(name), names.match_name(name)
        return name


class CustomerNameKey(Base):
    """A blocking key of one of a customer's names (names.name_keys): fuzzy duplicates are looked for
    only among customers sharing a key. Derived data: rebuilt from the names, never merged."""

    __tablename__ = "customer_name_keys"
    # (key, customer): a key's posting list read from its lowest ids on, as far as a ranking needs it
    __table_args__ = (
        Index("ix_customer_name_keys_key_customer", "key", "customer_id"),
        {"info": {"merge": "keep"}},
    )

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(16), primary_key=True)
