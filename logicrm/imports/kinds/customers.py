"""Customers: the company with its owner, team, referral and shipper and consignee profiles."""

from __future__ import annotations

from sqlalchemy import select

from logicrm import bounds
from logicrm.customers import profiles
from logicrm.customers import service as customers
from logicrm.customers.models import AcquisitionChannel, Customer, CustomerStatus, Tier
from logicrm.errors import Conflict, DomainError
from logicrm.imports.columns import Boolean, Choice, Column, Date, Email, Listing, Number, Text, money, ref
from logicrm.imports.kinds.base import Context, Row, ServiceKind, chunked

PROFILE_COLUMNS = {
    "shipper": ("contract_start", "contract_end", "services", "contracted_annual_value", "on_time_target"),
    "consignee": ("sites", "receiving_windows", "delivery_requirements"),
}
CUSTOMER_PLAIN = ("external_ref", "name", "registration_number", "industry", "region", "tier", "status",
                  "acquisition_channel", "acquired_on", "churned_on")  # fmt: skip


class Customers(ServiceKind):
    name = "customers"
    model = Customer
    entity = "customer"
    columns = (
        Column("external_ref", ref(), required=True, doc="your system's key for the company"),
        Column("name", Text(300), required=True),
        Column("registration_number", ref(), doc="unique: the same number is the same legal entity"),
        Column("industry", Text(100)),
        Column("region", Text(100)),
        Column("tier", Choice(Tier), default=Tier.STANDARD),
        Column("status", Choice(CustomerStatus), default=CustomerStatus.ACTIVE),
        Column("owner_email", Email(), doc="account owner (a user); account managers import only their own"),
        Column("team_emails", Listing(254), default=[], doc="account team members (users)"),
        Column("acquisition_channel", Choice(AcquisitionChannel)),
        Column("referred_by_ref", ref(), doc="external_ref of the referring customer (may come later in the file)"),
        Column("acquired_on", Date()),
        Column("churned_on", Date()),
        Column("shipper", Boolean(), doc="true adds or updates the shipper role (roles are removed through the API)"),
        Column("contract_start", Date()),
        Column("contract_end", Date()),
        Column("services", Listing(60), default=[]),
        Column("contracted_annual_value", money()),
        Column("on_time_target", Number(bounds.SHARE), default=0.95, doc="share of shipments on time the contract promises"),
        Column("consignee", Boolean(), doc="true adds or updates the consignee role"),
        Column("sites", Listing(200), default=[]),
        Column("receiving_windows", Text(2000)),
        Column("delivery_requirements", Text(4000)),
        Column("allow_duplicate", Boolean(), default=False, doc="true creates a new customer even when its name matches an existing one's (never past the same registration number)"),
    )  # fmt: skip
    fields = {"owner_id": "owner_email", "team_ids": "team_emails", "referred_by_id": "referred_by_ref",
              "json": "external_ref"}  # fmt: skip
    not_before = {"churned_on": "acquired_on", "contract_end": "contract_start"}
    defaults = {column.name: column.default for column in columns}
    owner_attribute = "id"

    def check(self, row: Row) -> None:
        for role, columns in PROFILE_COLUMNS.items():
            if row.values.get(role) is not True:
                for column in columns:
                    if row.values.get(column) not in (None, [], self.defaults[column]):
                        row.error(column, f"given, but {role} is not true")

    def resolve(self, ctx: Context, rows: list[Row]) -> None:
        emails = [row.values["owner_email"] for row in rows if row.values.get("owner_email")]
        emails += [email for row in rows for email in row.values.get("team_emails") or ()]
        users = ctx.users(emails)
        for row in rows:
            row.record = self._record(row, CUSTOMER_PLAIN)
            if "owner_email" in row.values:
                email = row.values["owner_email"]
                row.record["owner_id"] = None if email is None else users[email.lower()]
                if email is not None and row.record["owner_id"] is None:
                    row.error("owner_email", f"no user {email!r}")
            if "team_emails" in row.values:
                team = row.values["team_emails"] or []
                unknown = [email for email in team if users[email.lower()] is None]
                if unknown:
                    row.error("team_emails", f"no user {', '.join(map(repr, unknown))}")
                row.record["team_ids"] = sorted({users[email.lower()] for email in team} - {None})
            for role, columns in PROFILE_COLUMNS.items():
                if row.values.get(role):
                    row.record[role] = self._record(row, columns)

    def create(self, ctx: Context, row: Row) -> None:
        # A new row is checked like a new customer through the API: a probable duplicate is the row's
        # error (flagged, not created) unless the row insists.
        customer = customers.create(
            ctx.session,
            user=ctx.user,
            data=row.record,
            allow_duplicate=bool(row.values.get("allow_duplicate")),
        )
        self._defer_referral(ctx, row, customer, counted="created")

    def _message(self, ctx: Context, error: DomainError) -> str:
        if (
            isinstance(error, Conflict)
            and error.extra.get("allow_duplicate")
            and "existing_id" in error.extra
        ):
            return f"{error.message}; set allow_duplicate to true if it is another company"
        return error.message

    def update(self, ctx: Context, obj: Customer, row: Row) -> bool:
        before = _customer_versions(obj)
        changes = dict(row.record)
        roles = {role: changes.pop(role, None) for role in PROFILE_COLUMNS}
        customers.update(ctx.session, user=ctx.user, customer=obj, changes=changes, allow_duplicate=True)
        for role, given in roles.items():
            if given is None:
                continue
            current = getattr(obj, f"{role}_profile")
            merged = {column: getattr(current, column) for column in PROFILE_COLUMNS[role]} if current else {}
            profiles.put(ctx.session, user=ctx.user, customer=obj, role=role, data={**merged, **given})
        changed = _customer_versions(obj) != before
        self._defer_referral(ctx, row, obj, counted="updated" if changed else "unchanged")
        return changed

    def _defer_referral(self, ctx: Context, row: Row, customer: Customer, *, counted: str) -> None:
        # The referring customer may be further down the file: referrals are set after the last row.
        # `counted` is the count the row went to, moved if the referral turns out invalid or a change.
        if "referred_by_ref" in row.values:
            ctx.pending.append((row, customer.id, row.values["referred_by_ref"], counted))

    def finish(self, ctx: Context) -> list[Row]:
        refs = {referred for _row, _id, referred, _counted in ctx.pending if referred}
        known = {}
        for chunk in chunked(refs):
            known.update(
                ctx.session.execute(
                    select(Customer.external_ref, Customer.id).where(
                        Customer.external_ref.in_(chunk),
                        Customer.deleted_at.is_(None),
                        customers.visible(user=ctx.user),
                    )
                ).all()
            )
        invalid = []
        for row, customer_id, referred, counted in ctx.pending:
            referred_id = known.get(referred)
            if referred and referred_id is None:
                row.error(
                    "referred_by_ref",
                    f"no customer with external_ref {referred!r} in the database or this file",
                )
            elif referred_id == customer_id:
                row.error("referred_by_ref", "a customer cannot refer itself")
            else:
                customer = ctx.session.get(Customer, customer_id)
                if customer.referred_by_id != referred_id:
                    customers.update(
                        ctx.session, user=ctx.user, customer=customer, changes={"referred_by_id": referred_id}
                    )
                    if counted == "unchanged":
                        ctx.counts["unchanged"] -= 1
                        ctx.counts["updated"] += 1
                continue
            ctx.counts[counted] -= 1
            invalid.append(row)
        return invalid


def _customer_versions(customer: Customer) -> tuple:
    return (
        customer.version,
        sorted(user.id for user in customer.team),
        *(
            profile.version if (profile := getattr(customer, f"{role}_profile")) else None
            for role in PROFILE_COLUMNS
        ),
    )
