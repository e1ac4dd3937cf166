"""The machinery every import kind shares: a batch of rows, the import's context, the Kind classes.

A kind lists its columns (the documented file format, also what its export writes), checks a parsed
row on its own, resolves the row's references (external_refs of other records, user emails) for a
whole batch at once, and writes the batch. Customer-level kinds plan and write a batch in bulk by the
services' rules (kinds.bulk); their row-by-row way, each row through the API's service functions in a
savepoint, remains for a batch the database refuses (ServiceKind.write). Shipments, the one kind that
comes in millions, are compared and written column by column (kinds.lanes).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import func, literal, select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from logicrm import access, db
from logicrm.consignees.models import ConsigneeProfile
from logicrm.customers import service as customers
from logicrm.customers.models import Customer
from logicrm.errors import DomainError
from logicrm.imports.columns import Column
from logicrm.lanes import service as lanes
from logicrm.lanes.models import Link
from logicrm.relations.models import Contact
from logicrm.shippers.models import ShipperProfile
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


class ContactRef(NamedTuple):
    id: int
    customer_id: int


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
    _contacts: dict[str, ContactRef | None] = field(default_factory=dict)
    _users: dict[str, int | None] = field(default_factory=dict)

    @property
    def restricted(self) -> bool:
        return access.is_restricted(self.user)

    def customers(self, refs: Iterable[str]) -> dict[str, CustomerRef | None]:
        """Look live customers up by external_ref (cached); hidden ones come back with visible=False."""
        return self._lookup(
            self._customers,
            refs,
            lambda among: (
                select(
                    Customer.external_ref,
                    Customer.id,
                    customers.visible(user=self.user),
                    ShipperProfile.customer_id.is_not(None),
                    ConsigneeProfile.customer_id.is_not(None),
                )
                # (joined: `id IN (SELECT customer_id FROM …profiles)` lists every profile again per query)
                .outerjoin(ShipperProfile, ShipperProfile.customer_id == Customer.id)
                .outerjoin(ConsigneeProfile, ConsigneeProfile.customer_id == Customer.id)
                .where(among(Customer.external_ref), Customer.deleted_at.is_(None))
            ),
            CustomerRef,
        )

    def links(self, refs: Iterable[str]) -> dict[str, LinkRef | None]:
        """Look links up by external_ref (cached), with their ends and whether the user sees them."""
        return self._lookup(
            self._links,
            refs,
            lambda among: select(
                Link.external_ref,
                Link.id,
                Link.shipper_id,
                Link.consignee_id,
                lanes.visible_links(user=self.user) if self.restricted else literal(True),
                lanes.writable_links(user=self.user) if self.restricted else literal(True),
            ).where(among(Link.external_ref)),
            LinkRef,
        )

    def contacts(self, refs: Iterable[str]) -> dict[str, ContactRef | None]:
        """Look contacts up by external_ref (cached), with their customer."""
        return self._lookup(
            self._contacts,
            refs,
            lambda among: select(Contact.external_ref, Contact.id, Contact.customer_id).where(
                among(Contact.external_ref)
            ),
            ContactRef,
        )

    def users(self, emails: Iterable[str]) -> dict[str, int | None]:
        """Look users up by lower-cased email (cached). Deactivated users count, as in the API: an
        account whose manager has left, or an interaction they logged, exports and re-imports as it is."""
        return self._lookup(
            self._users,
            (email.lower() for email in emails),
            # (lower typed as the email: PostgreSQL binds the keys as an array of that type)
            lambda among: select(func.lower(User.email), User.id).where(
                among(func.lower(User.email, type_=User.email.type))
            ),
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
        """Fill `cache` for the keys it lacks (key -> make(*rest of the row), or None when not found):
        `statement(among)` selects key and rest where `among(column)`, the keys as one parameter."""
        # (not `set(keys) - cache.keys()`: that copies the whole cache, once a row for some kinds)
        missing = {key for key in keys if key not in cache}
        if missing:
            connection = self.session.connection()
            listed = statement(lambda column: db.among(connection, column, missing))
            for key, *values in self.session.execute(listed):
                cache[key] = make(*values)
        for key in missing:
            cache.setdefault(key, None)
        return cache


def chunked(items, size: int = 500) -> Iterator[list]:
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def unknown_customer(external_ref: str) -> str:
    """The reason given for a customer reference that does not resolve, or names one the user may not see."""
    return f"no customer with external_ref {external_ref!r}"


def taken(key: str) -> str:
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
        self.write(ctx, self.resolved_rows(ctx, batch))

    def resolved_rows(self, ctx: Context, batch: Batch) -> list[Row]:
        """The rows of a batch that pass their own checks and resolve their references."""
        self.check_order(batch)
        rows = batch.rows()
        for row in rows:
            self.check(row)
        rows = [row for row in rows if not row.errors]
        self.resolve(ctx, rows)
        return [row for row in rows if not row.errors]

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
            row.error(column, unknown_customer(value))
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
            for chunk in chunked(customer_ids)
        ]
        for row in rows:
            key = self.key(row)
            if key in ctx.seen:
                row.error(self.key_column, f"also on line {ctx.seen[key]}")
                continue
            ctx.seen[key] = row.line
            obj = existing.get(key)
            if obj is not None and obj in hidden:
                row.error(self.key_column, taken(row.values[self.key_column]))
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
