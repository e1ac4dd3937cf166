"""What each kind of import file holds and how its rows become records.

A kind lists its columns (the documented file format, also what its export writes), checks a parsed
row on its own, resolves the row's references (external_refs of other records, user emails) for a
whole batch at once, and writes the batch. Customer-level kinds write each row through the same
service functions as the API, inside a savepoint, so a row the database refuses becomes a row error
and leaves nothing behind. Shipments, the one kind that comes in millions, are compared and written
in bulk (COPY on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import ARRAY, JSON, String, any_, bindparam, func, literal, select, tuple_, update
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from logicrm import access, bounds
from logicrm.audit import service as audit
from logicrm.consignees.models import ConsigneeProfile
from logicrm.customers import profiles, records
from logicrm.customers import service as customers
from logicrm.customers.models import AcquisitionChannel, Customer, CustomerStatus, Tier
from logicrm.db import bulk_insert
from logicrm.errors import DomainError
from logicrm.imports.columns import (
    Boolean,
    Choice,
    Column,
    Date,
    DateTime,
    Email,
    Integer,
    Listing,
    Number,
    Text,
    money,
    ref,
)
from logicrm.lanes import service as lanes
from logicrm.lanes import shipments
from logicrm.lanes.models import Link, LinkStatus, ServiceType, Shipment
from logicrm.lanes.shipments import SHIPMENT_FIELDS
from logicrm.relations import service as relations
from logicrm.relations.models import (
    Contact,
    Department,
    Dimension,
    Interaction,
    InteractionKind,
    SurveyResponse,
    SurveyScore,
)
from logicrm.scoring import revisions
from logicrm.shippers.models import ShipperProfile
from logicrm.tickets import service as tickets
from logicrm.tickets.models import Severity, Ticket, TicketKind, TicketStatus
from logicrm.users.models import User

# ------------------------------------------------------------------------------------------ rows


class Batch:
    """Rows of the file read together: their cells, their values column by column, and their errors."""

    def __init__(self, lines: list[int], cells: list[list[str]]):
        self.lines, self.cells = lines, cells
        self.columns: dict[str, list] = {}  # column name -> parsed values, one per row
        self.errors: dict[int, list[tuple[str, str]]] = {}  # position -> [(column, reason)]

    def __len__(self) -> int:
        return len(self.lines)

    def error(self, position: int, column: str, reason: str) -> None:
        self.errors.setdefault(position, []).append((column, reason))

    def valid(self) -> list[int] | range:
        """The positions of the rows without an error so far."""
        errors = self.errors
        return [p for p in range(len(self)) if p not in errors] if errors else range(len(self))

    def rows(self) -> list[Row]:
        """The rows without an error so far, each with its values by column name."""
        names, columns = list(self.columns), list(self.columns.values())
        return [
            Row(self, p, dict(zip(names, [column[p] for column in columns], strict=True)))
            for p in self.valid()
        ]

    def rejected(self) -> Iterator[tuple[int, list[str], list[tuple[str, str]]]]:
        """(line, cells, errors) of each row with an error, in file order."""
        for position in sorted(self.errors):
            yield self.lines[position], self.cells[position], self.errors[position]


class Row:
    """One row of a batch, for the kinds that handle rows one at a time."""

    __slots__ = ("batch", "position", "record", "values")

    def __init__(self, batch: Batch, position: int, values: dict[str, Any]):
        self.batch, self.position = batch, position
        self.values = values  # by column name, parsed
        self.record: dict[str, Any] = {}  # model fields to write

    @property
    def line(self) -> int:
        return self.batch.lines[self.position]

    @property
    def cells(self) -> list[str]:
        return self.batch.cells[self.position]

    @property
    def errors(self) -> list[tuple[str, str]]:
        return self.batch.errors.get(self.position, [])

    def error(self, column: str, reason: str) -> None:
        self.batch.error(self.position, column, reason)


class CustomerRef(NamedTuple):
    id: int
    visible: bool
    shipper: bool
    consignee: bool


class LinkRef(NamedTuple):
    id: int
    shipper_id: int
    consignee_id: int
    visible: bool
    writable: bool  # the user is on its shipper's team (lanes.writable_links)


@dataclass
class Context:
    """One import: its session and user, which columns the file has, counts and lookup caches."""

    session: Session
    user: User
    present: frozenset[str]
    counts: dict[str, int] = field(
        default_factory=lambda: {"created": 0, "updated": 0, "unchanged": 0, "invalid": 0}
    )
    seen: dict = field(default_factory=dict)  # import key -> line, for keys repeated in one file
    pending: list = field(default_factory=list)  # work a kind defers to the end of the file
    state: dict = field(default_factory=dict)  # whatever else a kind keeps for one import
    _customers: dict[str, CustomerRef | None] = field(default_factory=dict)
    _links: dict[str, LinkRef | None] = field(default_factory=dict)
    _users: dict[str, int | None] = field(default_factory=dict)

    @property
    def restricted(self) -> bool:
        return access.is_restricted(self.user)

    def customers(self, refs: Iterable[str]) -> dict[str, CustomerRef | None]:
        """Look live customers up by external_ref (cached); hidden ones come back with visible=False."""
        return self._lookup(
            self._customers,
            refs,
            lambda chunk: select(
                Customer.external_ref,
                Customer.id,
                customers.visible(user=self.user),
                Customer.id.in_(select(ShipperProfile.customer_id)),
                Customer.id.in_(select(ConsigneeProfile.customer_id)),
            ).where(Customer.external_ref.in_(chunk), Customer.deleted_at.is_(None)),
            CustomerRef,
        )

    def links(self, refs: Iterable[str]) -> dict[str, LinkRef | None]:
        """Look links up by external_ref (cached), with their ends and whether the user sees them."""
        return self._lookup(
            self._links,
            refs,
            lambda chunk: select(
                Link.external_ref,
                Link.id,
                Link.shipper_id,
                Link.consignee_id,
                lanes.visible_links(user=self.user) if self.restricted else literal(True),
                lanes.writable_links(user=self.user) if self.restricted else literal(True),
            ).where(Link.external_ref.in_(chunk)),
            LinkRef,
        )

    def users(self, emails: Iterable[str]) -> dict[str, int | None]:
        """Look users up by lower-cased email (cached). Deactivated users count, as in the API: an
        account whose manager has left, or an interaction they logged, exports and re-imports as it is."""
        return self._lookup(
            self._users,
            (email.lower() for email in emails),
            lambda chunk: select(func.lower(User.email), User.id).where(func.lower(User.email).in_(chunk)),
            lambda user_id: user_id,
        )

    def hidden_customers(self, ids: Iterable[int]) -> set[int]:
        """Return the customer ids among `ids` the user may not see (none for unrestricted users)."""
        return self._hidden(ids, customers.visible_ids(user=self.user), Customer.id)

    def hidden_links(self, ids: Iterable[int]) -> set[int]:
        """Return the link ids among `ids` the user may not see (neither end visible)."""
        return self._hidden(ids, select(Link.id).where(lanes.visible_links(user=self.user)), Link.id)

    def unwritable_links(self, ids: Iterable[int]) -> set[int]:
        """Return the link ids among `ids` the user may not write (not on the shipper's team)."""
        return self._hidden(ids, select(Link.id).where(lanes.writable_links(user=self.user)), Link.id)

    def _hidden(self, ids: Iterable[int], visible, column) -> set[int]:
        ids = set(ids)
        if not self.restricted or not ids:
            return set()
        return ids - set(self.session.scalars(visible.where(column.in_(ids))))

    def _lookup(self, cache: dict, keys: Iterable, statement, make) -> dict:
        """Fill `cache` for the keys it lacks (key -> make(*rest of the row), or None when not found)."""
        missing = set(keys) - cache.keys()
        for chunk in _chunks(missing):
            for key, *values in self.session.execute(statement(chunk)):
                cache[key] = make(*values)
        for key in missing:
            cache.setdefault(key, None)
        return cache


def _chunks(items, size: int = 500) -> Iterator[list]:
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _unknown_customer(external_ref: str) -> str:
    """The reason given for a customer reference that does not resolve, or names one the user may not see."""
    return f"no customer with external_ref {external_ref!r}"


def _taken(key: str) -> str:
    """The reason given for a row keyed like a record the user may not see. An external_ref is unique
    over all records: that it is taken shows (as the API's 409 shows it), nothing else of the record."""
    return f"{key!r} is already used by another record"


# ------------------------------------------------------------------------------------------ kinds


class Kind:
    """A kind of import file. Subclasses declare columns and fill in resolution and writing."""

    name: str
    model: type
    entity: str
    columns: tuple[Column, ...]
    key_column = "external_ref"
    # service field named in a domain error -> the file's column to report it on
    fields: dict[str, str] = {}
    # later -> earlier timestamp or date column it may not precede
    not_before: dict[str, str] = {}

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    def process(self, ctx: Context, batch: Batch) -> None:
        """Check, resolve and write the valid rows of a batch, one row at a time; record what fails."""
        self.check_order(batch)
        rows = batch.rows()
        for row in rows:
            self.check(row)
        rows = [row for row in rows if not row.errors]
        self.resolve(ctx, rows)
        self.write(ctx, [row for row in rows if not row.errors])

    def check_order(self, batch: Batch) -> None:
        """Report the valid rows whose timestamps or dates are out of order (`not_before`)."""
        positions = batch.valid()
        for later, earlier in self.not_before.items():
            lates, earlies = batch.columns.get(later), batch.columns.get(earlier)
            if lates is None or earlies is None:
                continue
            for position in positions:
                late, early = lates[position], earlies[position]
                if late is not None and early is not None and late < early:
                    batch.error(position, later, f"must not be before {earlier} ({early.isoformat()})")

    def check(self, row: Row) -> None:
        """Check the rules that span columns of one row (beyond `not_before`)."""

    def start(self, ctx: Context) -> None:
        """Prepare for an import, before the first row."""

    def resolve(self, ctx: Context, rows: list[Row]) -> None:
        """Turn references into ids and fill `row.record`; report what does not resolve."""
        raise NotImplementedError

    def write(self, ctx: Context, rows: list[Row]) -> None:
        """Insert new records, update changed ones, count unchanged ones (valid rows only)."""
        raise NotImplementedError

    def finish(self, ctx: Context) -> list[Row]:
        """Work left for after the last row; return rows found invalid only now."""
        return []

    # helpers shared by the kinds

    def _record(self, row: Row, names: Iterable[str]) -> dict:
        """Copy the present columns among `names` from the row's values (columns left out stay out)."""
        return {name: row.values[name] for name in names if name in row.values}

    def _customer(self, ctx: Context, row: Row, column: str) -> CustomerRef | None:
        """Resolve a customer reference the user may write to; report it on `column` when it does not."""
        value = row.values.get(column)
        if value is None:
            return None
        found = ctx.customers([value])[value]
        if found is None or not found.visible:
            row.error(column, _unknown_customer(value))
            return None
        return found

    def _column_of(self, error: DomainError) -> str:
        fields = (error.errors or {}).get("json", {})
        name = next(iter(fields), None)
        return self.fields.get(name, name or self.key_column)


CUSTOMER_ID_FIELDS = ("customer_id", "shipper_id", "consignee_id")


class ServiceKind(Kind):
    """Kinds written one row at a time through the API's service functions, each row in a savepoint."""

    owner_attribute = "customer_id"  # the customer whose visibility decides who may overwrite a record

    def existing(self, ctx: Context, rows: list[Row]) -> dict:
        """Load the records the rows' keys already name: key -> model instance."""
        refs = [row.values[self.key_column] for row in rows]
        model = self.model
        return {
            obj.external_ref: obj
            for obj in ctx.session.scalars(select(model).where(model.external_ref.in_(refs)))
        }

    def key(self, row: Row):
        return row.values[self.key_column]

    def write(self, ctx: Context, rows: list[Row]) -> None:
        existing = self.existing(ctx, rows)
        hidden = self._hidden(ctx, existing.values())
        # The session's identity map holds objects weakly: without this list each row's service
        # call would load its customers (and their profiles and team) again.
        customer_ids = {
            row.record[name] for row in rows for name in CUSTOMER_ID_FIELDS if row.record.get(name)
        }
        _keep_alive = [
            ctx.session.scalars(select(Customer).where(Customer.id.in_(chunk))).all()
            for chunk in _chunks(customer_ids)
        ]
        for row in rows:
            key = self.key(row)
            if key in ctx.seen:
                row.error(self.key_column, f"also on line {ctx.seen[key]}")
                continue
            ctx.seen[key] = row.line
            obj = existing.get(key)
            if obj is not None and obj in hidden:
                row.error(self.key_column, _taken(row.values[self.key_column]))
                continue
            try:
                with ctx.session.begin_nested():
                    if obj is None:
                        self.create(ctx, row)
                        ctx.counts["created"] += 1
                    elif self.update(ctx, obj, row):
                        ctx.counts["updated"] += 1
                    else:
                        ctx.counts["unchanged"] += 1
            except DomainError as error:
                row.error(self._column_of(error), self._message(ctx, error))
            except (IntegrityError, DataError) as error:
                row.error(self.key_column, f"refused by the database: {str(error.orig).splitlines()[0]}")

    def _hidden(self, ctx: Context, objs: Iterable) -> set:
        """The existing records whose customer the user may not see."""
        owners = {obj: getattr(obj, self.owner_attribute) for obj in objs}
        hidden = ctx.hidden_customers(owners.values())
        return {obj for obj, owner in owners.items() if owner in hidden}

    def _message(self, ctx: Context, error: DomainError) -> str:
        """What a row is told of a service's refusal."""
        return error.message

    def create(self, ctx: Context, row: Row) -> None:
        raise NotImplementedError

    def update(self, ctx: Context, obj, row: Row) -> bool:
        raise NotImplementedError


class RelatedServiceKind(ServiceKind):
    """Records of one customer (contacts, surveys, interactions, tickets) through customers.records."""

    record_kind: records.RecordKind
    plain = ()  # columns copied as they are

    def resolve(self, ctx: Context, rows: list[Row]) -> None:
        ctx.customers(row.values["customer_ref"] for row in rows if row.values.get("customer_ref"))
        departments = self._departments(ctx, rows)
        for row in rows:
            customer = self._customer(ctx, row, "customer_ref")
            if customer is None:
                continue
            row.record = {"customer_id": customer.id, **self._record(row, ("external_ref", *self.plain))}
            if "department" in row.values:
                name = row.values["department"]
                if name is None:
                    row.record["department_id"] = None
                elif (department_id := departments.get((customer.id, name))) is None:
                    row.error(
                        "department",
                        f"customer {row.values['customer_ref']!r} has no department {name!r}; import departments first",
                    )
                else:
                    row.record["department_id"] = department_id
            self.resolve_more(ctx, row, customer)

    def resolve_more(self, ctx: Context, row: Row, customer: CustomerRef) -> None:
        """Resolve the kind's other references."""

    def _departments(self, ctx: Context, rows: list[Row]) -> dict[tuple[int, str], int]:
        pairs = set()
        for row in rows:
            customer = ctx.customers([row.values["customer_ref"]]).get(row.values["customer_ref"])
            if customer is not None and row.values.get("department"):
                pairs.add((customer.id, row.values["department"]))
        found = {}
        for chunk in _chunks(pairs):
            for customer_id, name, department_id in ctx.session.execute(
                select(Department.customer_id, Department.name, Department.id).where(
                    tuple_(Department.customer_id, Department.name).in_(chunk)
                )
            ):
                found[(customer_id, name)] = department_id
        return found

    def create(self, ctx: Context, row: Row) -> None:
        records.create(ctx.session, user=ctx.user, kind=self.record_kind, data=row.record)

    def update(self, ctx: Context, obj, row: Row) -> bool:
        return self._apply(ctx, obj, row.record)

    def _apply(self, ctx: Context, obj, changes: dict) -> bool:
        """Update `obj` through the service; tell whether anything changed."""
        version = obj.version
        records.update(ctx.session, user=ctx.user, kind=self.record_kind, record=obj, changes=changes)
        return obj.version != version


# ------------------------------------------------------------------------------------------ customers

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
        customer = customers.create(ctx.session, user=ctx.user, data=row.record, allow_duplicate=True)
        self._defer_referral(ctx, row, customer, counted="created")

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
        for chunk in _chunks(refs):
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


# ------------------------------------------------------------------------------------------ customer records


class Departments(RelatedServiceKind):
    name = "departments"
    model = Department
    entity = "department"
    record_kind = relations.DEPARTMENTS
    key_column = "name"
    columns = (
        Column("customer_ref", ref(), required=True, doc="external_ref of the customer"),
        Column("name", Text(100, strip=True), required=True, doc="unique within the customer: the import key with customer_ref"),
        Column("decision_weight", Number(bounds.DECISION_WEIGHT), default=1.0, doc="weight of its verdict in the account's satisfaction"),
        Column("is_decision_maker", Boolean(), default=False, doc="its satisfaction caps the account's"),
    )  # fmt: skip
    plain = ("name", "decision_weight", "is_decision_maker")
    fields = {"customer_id": "customer_ref"}

    def resolve(self, ctx: Context, rows: list[Row]) -> None:
        super().resolve(ctx, rows)
        for row in rows:
            row.record.pop("external_ref", None)

    def key(self, row: Row):
        return (row.record["customer_id"], row.values["name"])

    def existing(self, ctx: Context, rows: list[Row]) -> dict:
        keys = [self.key(row) for row in rows]
        found = {}
        for chunk in _chunks(keys):
            for department in ctx.session.scalars(
                select(Department).where(tuple_(Department.customer_id, Department.name).in_(chunk))
            ):
                found[(department.customer_id, department.name)] = department
        return found


class Contacts(RelatedServiceKind):
    name = "contacts"
    model = Contact
    entity = "contact"
    record_kind = relations.CONTACTS
    columns = (
        Column("external_ref", ref(), required=True),
        Column("customer_ref", ref(), required=True),
        Column("department", Text(100, strip=True), doc="name of one of the customer's departments"),
        Column("name", Text(200), required=True),
        Column("role", Text(100), doc="job title"),
        Column("email", Email()),
        Column("phone", Text(50)),
    )
    plain = ("name", "role", "email", "phone")
    fields = {"customer_id": "customer_ref", "department_id": "department"}


class Surveys(RelatedServiceKind):
    """One row per survey response; each service dimension has expectation, perception and importance
    columns, and a response's dimensions are the ones the row fills in."""

    name = "surveys"
    model = SurveyResponse
    entity = "survey"
    record_kind = relations.SURVEYS
    columns = (
        Column("external_ref", ref(), required=True),
        Column("customer_ref", ref(), required=True),
        Column("department", Text(100, strip=True), required=True, doc="the department that answered"),
        Column("contact_ref", ref(), doc="external_ref of the contact who answered"),
        Column("collected_at", DateTime(), required=True),
        Column("channel", Text(40)),
        Column("scale_min", Integer(bounds.SCALE_POINT), default=1),
        Column("scale_max", Integer(bounds.SCALE_POINT), default=7),
        Column("likelihood_to_recommend", Integer(bounds.LIKELIHOOD_TO_RECOMMEND)),
        Column("comment", Text(bounds.LONG_TEXT)),
        *(
            Column(f"{dimension.value}_{part}", Number(bounds.IMPORTANCE if part == "importance" else bounds.SCALE_POINT), doc=doc)
            for dimension in Dimension
            for part, doc in (
                ("expectation", f"{dimension.value}: what the department expected, on the scale"),
                ("perception", f"{dimension.value}: what it perceived, on the scale"),
                ("importance", f"{dimension.value}: weight (default 1)"),
            )
        ),
    )  # fmt: skip
    plain = ("collected_at", "channel", "scale_min", "scale_max", "likelihood_to_recommend", "comment")
    fields = {"customer_id": "customer_ref", "department_id": "department", "contact_id": "contact_ref"}

    def check(self, row: Row) -> None:
        values = row.values
        low, high = values.get("scale_min", 1), values.get("scale_max", 7)
        low, high = 1 if low is None else low, 7 if high is None else high
        if high <= low:
            row.error("scale_max", f"must be greater than scale_min ({low})")
            return
        answered = 0
        for dimension in Dimension:
            expectation, perception, importance = (
                values.get(f"{dimension.value}_{part}")
                for part in ("expectation", "perception", "importance")
            )
            if expectation is None and perception is None:
                if importance is not None:
                    row.error(f"{dimension.value}_importance", "given without expectation and perception")
                continue
            answered += 1
            for part, value in (("expectation", expectation), ("perception", perception)):
                if value is None:
                    row.error(f"{dimension.value}_{part}", "required when the dimension is answered")
                elif not low <= value <= high:
                    row.error(
                        f"{dimension.value}_{part}", f"{value:g} is outside the declared scale {low}–{high}"
                    )
        if answered == 0 and any(f"{d.value}_expectation" in values for d in Dimension):
            row.error(
                "timeliness_expectation",
                "no dimension answered: fill expectation and perception of at least one",
            )

    def resolve_more(self, ctx: Context, row: Row, customer: CustomerRef) -> None:
        if any(f"{d.value}_expectation" in row.values for d in Dimension):
            row.record["scores"] = [
                {
                    "dimension": dimension,
                    "importance": row.values.get(f"{dimension.value}_importance") or 1.0,
                    "expectation": row.values[f"{dimension.value}_expectation"],
                    "perception": row.values[f"{dimension.value}_perception"],
                }
                for dimension in Dimension
                if row.values.get(f"{dimension.value}_expectation") is not None
            ]
        if "contact_ref" in row.values:
            contact_ref = row.values["contact_ref"]
            if contact_ref is None:
                row.record["contact_id"] = None
                return
            found = ctx.session.execute(
                select(Contact.id, Contact.customer_id).where(Contact.external_ref == contact_ref)
            ).first()
            if found is None or found.customer_id != customer.id:
                row.error(
                    "contact_ref", f"customer {row.values['customer_ref']!r} has no contact {contact_ref!r}"
                )
            else:
                row.record["contact_id"] = found.id

    def update(self, ctx: Context, obj: SurveyResponse, row: Row) -> bool:
        changes = dict(row.record)
        scores = changes.pop("scores", None)
        changed = self._apply(ctx, obj, changes)
        if scores is not None:
            old = relations.score_table(obj.scores)
            if old != relations.score_table(scores):
                obj.scores = [SurveyScore(**score) for score in scores]
                ctx.session.flush()
                audit.record(ctx.session, user=ctx.user, entity="survey", entity_id=obj.id, customer_id=obj.customer_id,
                             action="update", changes={"scores": [old, relations.score_table(scores)]})  # fmt: skip
                changed = True
        return changed


class Interactions(RelatedServiceKind):
    name = "interactions"
    model = Interaction
    entity = "interaction"
    record_kind = relations.INTERACTIONS
    columns = (
        Column("external_ref", ref(), required=True),
        Column("customer_ref", ref(), required=True),
        Column("department", Text(100, strip=True)),
        Column("user_email", Email(), doc="who met or called them; empty: the importing user"),
        Column("kind", Choice(InteractionKind), required=True),
        Column("at", DateTime(), required=True),
        Column("summary", Text(bounds.LONG_TEXT), required=True),
        Column("next_follow_up", Date()),
    )
    plain = ("kind", "at", "summary", "next_follow_up")
    fields = {"customer_id": "customer_ref", "department_id": "department", "user_id": "user_email"}

    def resolve_more(self, ctx: Context, row: Row, customer: CustomerRef) -> None:
        email = row.values.get("user_email")
        if email is not None:
            user_id = ctx.users([email])[email.lower()]
            if user_id is None:
                row.error("user_email", f"no user {email!r}")
            row.record["user_id"] = user_id


class Tickets(RelatedServiceKind):
    name = "tickets"
    model = Ticket
    entity = "ticket"
    record_kind = tickets.TICKETS
    columns = (
        Column("external_ref", ref(), required=True),
        Column("customer_ref", ref(), required=True),
        Column("link_ref", ref(), doc="the lane it is about (one of the customer's)"),
        Column("kind", Choice(TicketKind), required=True),
        Column("severity", Choice(Severity), default=Severity.MEDIUM),
        Column("subject", Text(300), required=True),
        Column("opened_at", DateTime(), required=True),
        Column("first_response_at", DateTime()),
        Column("resolved_at", DateTime()),
        Column("status", Choice(TicketStatus), default=TicketStatus.OPEN),
        Column("claim_amount", money()),
    )
    plain = (
        "kind",
        "severity",
        "subject",
        "opened_at",
        "first_response_at",
        "resolved_at",
        "status",
        "claim_amount",
    )
    fields = {"customer_id": "customer_ref", "link_id": "link_ref"}
    not_before = {"first_response_at": "opened_at", "resolved_at": "opened_at"}

    def resolve_more(self, ctx: Context, row: Row, customer: CustomerRef) -> None:
        if "link_ref" in row.values:
            link_ref = row.values["link_ref"]
            link = ctx.links([link_ref])[link_ref] if link_ref else None
            if link_ref and (link is None or customer.id not in (link.shipper_id, link.consignee_id)):
                row.error("link_ref", f"customer {row.values['customer_ref']!r} has no link {link_ref!r}")
            row.record["link_id"] = link.id if link else None


# ------------------------------------------------------------------------------------------ network


LINK_ENDS = {"shipper_ref": "shipper", "consignee_ref": "consignee"}


class Links(ServiceKind):
    name = "links"
    model = Link
    entity = "link"
    columns = (
        Column("external_ref", ref(), required=True),
        Column("shipper_ref", ref(), required=True, doc="external_ref of a customer with the shipper role"),
        Column("consignee_ref", ref(), required=True, doc="external_ref of a customer with the consignee role"),
        Column("origin", Text(100), required=True),
        Column("destination", Text(100), required=True),
        Column("service_type", Choice(ServiceType), default=ServiceType.FTL),
        Column("declared_monthly_volume", Number(bounds.MONTHLY_VOLUME), doc="shipments a month expected before any exist"),
        Column("started_on", Date()),
        Column("ended_on", Date()),
        Column("status", Choice(LinkStatus), default=LinkStatus.ACTIVE),
    )  # fmt: skip
    fields = {"shipper_id": "shipper_ref", "consignee_id": "consignee_ref"}
    not_before = {"ended_on": "started_on"}

    def check(self, row: Row) -> None:
        if row.values.get("shipper_ref") == row.values.get("consignee_ref"):
            row.error("consignee_ref", "must differ from shipper_ref")

    def resolve(self, ctx: Context, rows: list[Row]) -> None:
        found = ctx.customers(row.values[end] for row in rows for end in LINK_ENDS)
        for row in rows:
            row.record = self._record(
                row, ("external_ref", "origin", "destination", "service_type", "declared_monthly_volume",
                      "started_on", "ended_on", "status"),
            )  # fmt: skip
            problems = self._ends(found, row)
            for end, problem in problems.items():
                row.error(end, problem)
            if not problems:
                for end, role in LINK_ENDS.items():
                    row.record[f"{role}_id"] = found[row.values[end]].id

    def _ends(self, found: dict[str, CustomerRef | None], row: Row) -> dict[str, str]:
        """What is wrong with the lane's ends, by column: both must be customers the user sees (a hidden
        one reads as missing) holding the role (writing needs the shipper's team: the service checks)."""
        problems = {}
        for end, role in LINK_ENDS.items():
            customer = found[row.values[end]]
            if customer is None or not customer.visible:
                problems[end] = _unknown_customer(row.values[end])
            elif not getattr(customer, role):
                problems[end] = (
                    f"customer {row.values[end]!r} has no {role} role; import it with {role}=true first"
                )
        return problems

    def _hidden(self, ctx: Context, objs: Iterable) -> set:
        objs = list(objs)
        hidden = ctx.hidden_links(obj.id for obj in objs)
        return {obj for obj in objs if obj.id in hidden}

    def create(self, ctx: Context, row: Row) -> None:
        lanes.create(ctx.session, user=ctx.user, data=row.record)

    def update(self, ctx: Context, obj: Link, row: Row) -> bool:
        version = obj.version
        lanes.update(ctx.session, user=ctx.user, link=obj, changes=row.record)
        return obj.version != version


class Shipments(Kind):
    """Shipments come by the million: checked and written a batch at a time, column by column."""

    name = "shipments"
    model = Shipment
    entity = "shipment"
    columns = (
        Column("external_ref", ref(), required=True, doc="your TMS's shipment number"),
        Column("link_ref", ref(), required=True, doc="external_ref of the link (lane) it ran on"),
        Column("shipped_at", DateTime(), required=True),
        Column("promised_at", DateTime(), doc="promised delivery"),
        Column("delivered_at", DateTime(), doc="empty while in transit"),
        Column("in_full", Boolean(), default=True),
        Column("damaged", Boolean(), default=False),
        Column("claim_amount", money(), default=0.0),
        Column("revenue", money(), default=0.0),
        Column("cost", money(), default=0.0),
    )
    not_before = {"delivered_at": "shipped_at", "promised_at": "shipped_at"}
    defaults = {column.name: column.default for column in columns}

    def start(self, ctx: Context) -> None:
        watermark = ctx.session.scalar(select(func.max(Shipment.id))) or 0
        ctx.state["watermark"] = watermark
        # one flag per stored id (a million shipments: 1 MB), set when a row of the file matched it
        ctx.state["matched"] = np.zeros(watermark + 1, dtype=bool)

    def process(self, ctx: Context, batch: Batch) -> None:
        """Column by column: a batch of new shipments becomes one bulk insert with no per-row work."""
        self.check_order(batch)
        link_ids = self._link_ids(ctx, batch)
        positions = batch.valid()
        refs = batch.columns["external_ref"]
        keys = _pick(refs, positions)
        existing = self._existing(ctx, keys)
        if existing or len(set(keys)) < len(keys):
            positions = self._compare(ctx, batch, positions, link_ids, existing)
        if positions:
            values = [
                _pick(batch.columns[name], positions)
                if name in batch.columns
                else [self.defaults[name]] * len(positions)
                for name in SHIPMENT_FIELDS[2:]
            ]
            bulk_insert(
                ctx.session.connection(),
                Shipment.__table__,
                SHIPMENT_FIELDS,
                zip(_pick(refs, positions), _pick(link_ids, positions), *values, strict=True),
            )
            ctx.counts["created"] += len(positions)
            ctx.state["written"] = True

    def _link_ids(self, ctx: Context, batch: Batch) -> list[int | None]:
        """The id of each valid row's link; rows naming a link that is unknown or hidden get an error."""
        refs, positions = batch.columns["link_ref"], batch.valid()
        wanted = set(_pick(refs, positions))
        links = ctx.links(wanted)
        usable = {ref: links[ref].id for ref in wanted if links[ref] is not None and links[ref].writable}
        link_ids = list(map(usable.get, refs))
        if None in link_ids:
            for position in positions:
                if link_ids[position] is None:
                    link = links[refs[position]]
                    batch.error(
                        position,
                        "link_ref",
                        lanes.WRITTEN_BY_SHIPPER.format(link=repr(refs[position]))
                        if link is not None and link.visible
                        else f"no link with external_ref {refs[position]!r}",
                    )
        return link_ids

    def _existing(self, ctx: Context, keys: list[str]) -> dict[str, Any]:
        """The stored shipments among `keys`: external_ref -> row of SHIPMENT_FIELDS with its id."""
        table, connection = Shipment.__table__, ctx.session.connection()
        # The keys go as one parameter (an array; a JSON list on SQLite): rendering and parsing an IN
        # list of thousands of placeholders costs more than running the query.
        if connection.dialect.name == "postgresql":
            match = table.c.external_ref == any_(bindparam("keys", type_=ARRAY(String)))
        else:
            keys_table = func.json_each(bindparam("keys", type_=JSON)).table_valued("value")
            match = table.c.external_ref.in_(select(keys_table.c.value))
        statement = select(table.c.id, *(table.c[c] for c in SHIPMENT_FIELDS)).where(match)
        return {found.external_ref: found for found in connection.execute(statement, {"keys": list(keys)})}

    def _compare(self, ctx: Context, batch: Batch, positions, link_ids: list, existing: dict) -> list[int]:
        """Update the changed stored shipments, count the unchanged ones and report repeated keys;
        return the positions of the new rows.

        A key repeated in the file is found without remembering every key: a stored row that an
        earlier row of the file matched is either newer than the import (its id is above the highest
        id before it) or flagged in `matched`.
        """
        watermark, matched = ctx.state["watermark"], ctx.state["matched"]
        hidden = ctx.unwritable_links(old.link_id for old in existing.values())
        columns = {name: batch.columns[name] for name in SHIPMENT_FIELDS[2:] if name in batch.columns}
        refs = batch.columns["external_ref"]
        new, updates, audits, lines = [], [], [], {}
        for position in positions:
            key = refs[position]
            old = existing.get(key)
            if key in lines or (old is not None and (old.id > watermark or matched[old.id])):
                reason = f"also on line {lines[key]}" if key in lines else "also earlier in this file"
                batch.error(position, "external_ref", reason)
                continue
            lines[key] = batch.lines[position]
            if old is None:
                new.append(position)
                continue
            matched[old.id] = True
            if old.link_id in hidden:
                batch.error(position, "external_ref", _taken(key))
                continue
            record = {
                "link_id": link_ids[position],
                **{name: values[position] for name, values in columns.items()},
            }
            diff = audit.diff(old._mapping, record)
            if not diff:
                ctx.counts["unchanged"] += 1
                continue
            updates.append({"_id": old.id, **record})
            audits.append((old.id, {old.link_id, record["link_id"]}, diff))
        self._update(ctx, updates, audits)
        return new

    def _update(self, ctx: Context, updates: list[dict], audits: list[tuple]) -> None:
        table = Shipment.__table__
        for names, group in _group_by_keys(updates).items():
            ctx.session.connection().execute(
                update(table)
                .where(table.c.id == bindparam("_id"))
                .values({**{name: bindparam(name) for name in names}, "version": table.c.version + 1}),
                group,
            )
            ctx.counts["updated"] += len(group)
            ctx.state["written"] = True
        shipments.record_changes(ctx.session, user=ctx.user, action="update", changes=audits)

    def finish(self, ctx: Context) -> list[Row]:
        if ctx.state.get("written"):
            # Bulk statements bypass the flush that normally advances the revisions.
            revisions.bump(ctx.session, revisions.NETWORK, revisions.SCORES)
        return []


def _pick(values: list, positions) -> list:
    """The values at `positions` (all of them when positions is the whole range)."""
    return values if isinstance(positions, range) else [values[p] for p in positions]


def _group_by_keys(updates: list[dict]) -> dict[tuple, list[dict]]:
    groups: dict[tuple, list[dict]] = {}
    for params in updates:
        groups.setdefault(tuple(name for name in params if name != "_id"), []).append(params)
    return groups


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Customers(),
        Departments(),
        Contacts(),
        Links(),
        Shipments(),
        Surveys(),
        Interactions(),
        Tickets(),
    )
}
