"""Customers: the company with its owner, team, referral and shipper and consignee profiles."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select

from logicrm import access, bounds, db
from logicrm.audit import service as audit
from logicrm.customers import names, profiles
from logicrm.customers import service as customers
from logicrm.customers.matching import reindex_names
from logicrm.customers.models import AcquisitionChannel, Customer, CustomerStatus, Tier, customer_team
from logicrm.customers.service import CUSTOMER_FIELDS, DERIVED_COLUMNS, Candidate
from logicrm.db import utcnow
from logicrm.errors import Conflict, DomainError
from logicrm.imports.columns import Boolean, Choice, Column, Date, Email, Listing, Number, Text, money, ref
from logicrm.imports.kinds.base import Batch, Context, Row, chunked
from logicrm.imports.kinds.bulk import BulkKind, Plan, insert, update
from logicrm.scoring import revisions

PROFILE_COLUMNS = {
    "shipper": ("contract_start", "contract_end", "services", "contracted_annual_value", "on_time_target"),
    "consignee": ("sites", "receiving_windows", "delivery_requirements"),
}
CUSTOMER_PLAIN = ("external_ref", "name", "registration_number", "industry", "region", "tier", "status",
                  "acquisition_channel", "acquired_on", "churned_on")  # fmt: skip


class Customers(BulkKind):
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

    # a batch at a time

    def stored(self, ctx: Context, rows: list[Row]) -> dict[Any, Mapping]:
        """The stored customers with their team_ids and role profiles (None for a role they lack)."""
        stored = {key: {**record, "team_ids": []} for key, record in super().stored(ctx, rows).items()}
        by_id = {record["id"]: record for record in stored.values()}
        connection = ctx.session.connection()
        if by_id:
            for customer_id, user_id in connection.execute(
                select(customer_team.c.customer_id, customer_team.c.user_id)
                .where(db.among(connection, customer_team.c.customer_id, by_id))
                .order_by(customer_team.c.user_id)
            ):
                by_id[customer_id]["team_ids"].append(user_id)
        for role in PROFILE_COLUMNS:
            for record in by_id.values():
                record[role] = None
            table = profiles.model(role).__table__
            if by_id:
                for profile in connection.execute(
                    select(table).where(db.among(connection, table.c.customer_id, by_id))
                ).mappings():
                    by_id[profile["customer_id"]][role] = profile
        return stored

    def decide(self, ctx: Context, plan: Plan, writes: list[tuple[Row, Mapping | None]]) -> None:
        """The service's rules (customers.service.create and update, profiles.put) for the batch."""
        user, checked = ctx.user, []
        for row, old in writes:
            record = dict(row.record)
            roles = {role: record.pop(role, None) for role in PROFILE_COLUMNS}
            try:
                if old is None:
                    customers.check_coverage_change(
                        user, None, {**record, "team_ids": record.get("team_ids", [])}
                    )
                    if not access.manages_teams(user):
                        record["owner_id"] = user.id
                    customers.check_dates(record.get("acquired_on"), record.get("churned_on"))
                else:
                    customers.check_coverage_change(user, old, record)
                    if "acquired_on" in record or "churned_on" in record:
                        customers.check_dates(
                            record.get("acquired_on", old["acquired_on"]),
                            record.get("churned_on", old["churned_on"]),
                        )
            except DomainError as error:
                self.refuse(ctx, row, error)
                continue
            checked.append((row, old, record, roles))
        self.duplicates(
            ctx,
            [
                (row, Candidate(record.get("name", old and old["name"]), record.get("registration_number"),
                                allow_duplicate=_insists(row, old), exclude_id=old and old["id"]))
                for row, old, record, _roles in checked
                if old is None or "name" in record or "registration_number" in record
            ],
        )  # fmt: skip
        for row, old, record, roles in checked:
            if row.errors:
                continue
            plan.rows.append(row)
            write = _Write(row, old, record, roles)
            if old is None:
                plan.creates.append((row, write))
            elif write.changed:
                plan.updates.append((row, old, write))
            else:
                plan.unchanged += 1
                plan.after.append(_referral(row, old["id"], "unchanged"))

    def duplicates(self, ctx: Context, candidates: list[tuple[Row, Candidate]]) -> None:
        """Refuse each row whose company is probably one stored already or one on an earlier line.

        The import's one duplicate check: the service's against what is stored (a same registration number
        is the same legal entity; a same or similar name is refused unless the row sets allow_duplicate),
        then among the file's own rows the same registration number or, for a new row, the same name."""
        conflicts = customers.duplicates(ctx.session, user=ctx.user, candidates=[c for _row, c in candidates])
        # column -> key -> line of the file taking it (a dict a column: a (column, key) tuple a row would
        # be a fifth of what the file leaves in memory)
        taken = ctx.state.setdefault("taken", {"registration_number": {}, "name": {}})
        for (row, candidate), conflict in zip(candidates, conflicts, strict=True):
            if conflict is not None:
                self.refuse(ctx, row, conflict)
                continue
            keys = [("registration_number", names.registration_key(candidate.registration_number))]
            if not candidate.allow_duplicate:
                keys.append(("name", names.normalize_name(candidate.name)))
            keys = [(column, key) for column, key in keys if key]
            earlier = next(
                ((column, taken[column][key]) for column, key in keys if key in taken[column]), None
            )
            if earlier is not None:
                column, line = earlier
                row.error(
                    column,
                    f"probable duplicate of the customer on line {line}: same {column.replace('_', ' ')}"
                    + (
                        ""
                        if column == "registration_number"
                        else "; set allow_duplicate to true if it is another company"
                    ),
                )
            else:
                for column, key in keys:
                    taken[column][key] = row.line

    def apply(self, ctx: Context, plan: Plan) -> None:
        table = Customer.__table__
        creates = [write for _row, write in plan.creates]
        updates = [write for _row, _old, write in plan.updates]
        new = insert(ctx, table, [customers.with_derived_columns(write.values) for write in creates])
        for write, stored in zip(creates, new, strict=True):
            write.id = stored["id"]
            write.event = audit.created({name: stored.get(name) for name in CUSTOMER_FIELDS})
        update(ctx, table, [(w.old, w.columns) for w in updates if w.diff], bump={"updated_at": utcnow()})
        renamed = [write.id for write in updates if "name" in write.diff]
        reindex_names(ctx.session, customer_ids=[write.id for write in creates] + renamed)
        self._teams(ctx, creates, updates)
        for role in PROFILE_COLUMNS:
            profile_table = profiles.model(role).__table__
            added = [
                write for write in (*creates, *updates) if write.profiles.get(role, ("",))[0] == "create"
            ]
            given = [{"customer_id": write.id, **write.profiles[role][1]} for write in added]
            for write, stored in zip(added, insert(ctx, profile_table, given), strict=True):
                values = write.profiles[role][1]
                write.profiles[role] = (
                    "create",
                    values,
                    audit.created({name: stored[name] for name in values}),
                )
            changed = [write for write in updates if write.profiles.get(role, ("",))[0] == "update"]
            update(
                ctx, profile_table, [(w.old[role], w.profiles[role][1]) for w in changed], key="customer_id"
            )
        audit.record_many(
            ctx.session, user=ctx.user, events=[e for w in (*creates, *updates) for e in w.events()]
        )
        for write in (*creates, *updates):
            plan.after.append(_referral(write.row, write.id, "created" if write.old is None else "updated"))

    def _teams(self, ctx: Context, creates: list[_Write], updates: list[_Write]) -> None:
        """Replace the teams that change (a new account's included)."""
        connection = ctx.session.connection()
        replaced = [write for write in updates if "team_ids" in write.diff]
        if replaced:
            connection.execute(
                delete(customer_team).where(
                    db.among(connection, customer_team.c.customer_id, [w.id for w in replaced])
                )
            )
        members = [(write.id, user_id) for write in (*creates, *replaced) for user_id in write.team]
        if members:
            db.bulk_insert(connection, customer_team, ("customer_id", "user_id"), members)
            revisions.wrote(ctx.session, [customer_team.name])

    def finish(self, ctx: Context) -> list[Row]:
        """Set the referrals, now that every customer of the file exists (a referral changed is an update
        of its own, as customers.update records it)."""
        pending = [item for item in ctx.pending if item is not None]
        refs = {referred for _line, _cells, _id, referred, _counted in pending if referred}
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
        connection, invalid, wanted = ctx.session.connection(), [], {}
        for line, cells, customer_id, referred, counted in pending:
            referred_id = known.get(referred)
            if referred and referred_id is None:
                reason = f"no customer with external_ref {referred!r} in the database or this file"
            elif referred_id == customer_id:
                reason = "a customer cannot refer itself"
            else:
                wanted[customer_id] = (referred_id, counted)
                continue
            row = Row(Batch([line], [cells]), 0, {})
            row.error("referred_by_ref", reason)
            ctx.counts[counted] -= 1
            invalid.append(row)
        differing = {}  # only the customers whose referral changes: the file's every customer would not stay flat
        for chunk in chunked(wanted):
            for record in connection.execute(
                select(Customer.id, Customer.version, Customer.referred_by_id).where(Customer.id.in_(chunk))
            ).mappings():
                if record["referred_by_id"] != wanted[record["id"]][0]:
                    differing[record["id"]] = dict(record)
        changes = [(differing[id_], wanted[id_][0]) for id_ in wanted if id_ in differing]
        update(
            ctx,
            Customer.__table__,
            [(old, {"referred_by_id": new}) for old, new in changes],
            bump={"updated_at": utcnow()},
        )
        audit.record_many(
            ctx.session,
            user=ctx.user,
            events=[
                ("customer", old["id"], old["id"], "update", {"referred_by_id": [old["referred_by_id"], new]})
                for old, new in changes
            ],
        )
        for old, _new in changes:
            if wanted[old["id"]][1] == "unchanged":
                ctx.counts["unchanged"] -= 1
                ctx.counts["updated"] += 1
        return invalid

    # row by row (the fallback)

    def create(self, ctx: Context, row: Row) -> None:
        customer = customers.create(
            ctx.session, user=ctx.user, data=row.record, allow_duplicate=_insists(row, None)
        )
        ctx.pending.append(_referral(row, customer.id, "created"))

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
        ctx.pending.append(_referral(row, obj.id, "updated" if changed else "unchanged"))
        return changed


class _Write:
    """One row's customer as the batch writes it: its columns, team and role profiles, and its history."""

    def __init__(self, row: Row, old: Mapping | None, record: dict, roles: dict):
        self.row, self.old, self.id = row, old, old and old["id"]
        team = record.pop("team_ids", None)
        self.values, self.team = record, team or []  # the customer's columns as the file gives them
        self.profiles = {}  # role -> (create or update, the values written, the change recorded)
        self.diff, self.columns = {}, {}  # an update's recorded change and the columns it writes
        if old is not None:
            self.diff = audit.diff(old, customers.with_derived_columns(record))
            for column in DERIVED_COLUMNS:
                self.diff.pop(column, None)
            self.columns = customers.with_derived_columns({name: record[name] for name in self.diff})
            if (change := customers.team_change(old["team_ids"], team)) is not None:
                self.diff["team_ids"] = change
            self.event = self.diff
        for role, given in roles.items():
            stored = old and old[role]
            if given is None:
                continue
            if stored is None:
                self.profiles[role] = ("create", given, None)  # its change is known once it is stored
                continue
            full = profiles.replacement(role, {**{c: stored[c] for c in PROFILE_COLUMNS[role]}, **given})
            if changed := audit.diff(stored, full):
                self.profiles[role] = ("update", {name: full[name] for name in changed}, changed)

    @property
    def changed(self) -> bool:
        return bool(self.diff or self.profiles)

    def events(self) -> list[tuple]:
        """The history of the write, in the order the service records it: the customer, then its roles."""
        action = "create" if self.old is None else "update"
        return [
            ("customer", self.id, self.id, action, self.event),
            *(
                (f"{role}_profile", self.id, self.id, self.profiles[role][0], self.profiles[role][2])
                for role in PROFILE_COLUMNS
                if role in self.profiles
            ),
        ]


def _insists(row: Row, old: Mapping | None) -> bool:
    """Whether a probable duplicate by name is let through: a new row is checked like a new customer
    through the API (flagged, not created, unless the row sets allow_duplicate); an update of a stored
    customer keeps the name it was given."""
    return old is not None or bool(row.values.get("allow_duplicate"))


def _referral(row: Row, customer_id: int, counted: str) -> tuple | None:
    """What the row leaves for after the last row: its referral (the referring customer may be further
    down the file), as (line, cells, customer id, referred external_ref, count), the line and cells kept to
    report the row should the referral be invalid. `counted` is the count the row went to, moved if the
    referral turns out invalid or a change. A new customer without a referral leaves nothing: it has none
    to set or clear, and what every row leaves grows with the file."""
    if "referred_by_ref" not in row.values:
        return None
    referred = row.values["referred_by_ref"]
    if referred is None:  # can not fail: nothing to report
        return None if counted == "created" else (None, None, customer_id, None, counted)
    return (row.line, row.cells, customer_id, referred, counted)


def _customer_versions(customer: Customer) -> tuple:
    return (
        customer.version,
        sorted(user.id for user in customer.team),
        *(
            profile.version if (profile := getattr(customer, f"{role}_profile")) else None
            for role in PROFILE_COLUMNS
        ),
    )
