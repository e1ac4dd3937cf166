"""A customer's departments, contacts, survey responses and interactions."""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from sqlalchemy import delete, select

from logicrm import bounds, db
from logicrm.audit import service as audit
from logicrm.customers import records
from logicrm.imports.columns import Boolean, Choice, Column, Date, DateTime, Email, Integer, Number, Text, ref
from logicrm.imports.kinds.base import Context, CustomerRef, Row
from logicrm.imports.kinds.bulk import Plan, RelatedKind, insert, update
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


class Departments(RelatedKind):
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
        return {
            key: ctx.session.get(Department, record["id"]) for key, record in self.stored(ctx, rows).items()
        }

    def stored(self, ctx: Context, rows: list[Row]) -> dict[Any, Mapping]:
        table, connection = Department.__table__, ctx.session.connection()
        if not rows:
            return {}
        found = connection.execute(
            select(table).where(
                db.pairs_among(
                    connection, (table.c.customer_id, table.c.name), {self.key(row) for row in rows}
                )
            )
        )
        return {(record["customer_id"], record["name"]): record for record in found.mappings()}


class Contacts(RelatedKind):
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


# each service dimension with its expectation, perception and importance columns
DIMENSION_COLUMNS = tuple(
    (dimension, *(f"{dimension.value}_{part}" for part in ("expectation", "perception", "importance")))
    for dimension in Dimension
)


class Surveys(RelatedKind):
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
        for _dimension, *parts in DIMENSION_COLUMNS:
            expectation, perception, importance = (values.get(column) for column in parts)
            if expectation is None and perception is None:
                if importance is not None:
                    row.error(parts[2], "given without expectation and perception")
                continue
            answered += 1
            for column, value in zip(parts[:2], (expectation, perception), strict=True):
                if value is None:
                    row.error(column, "required when the dimension is answered")
                elif not low <= value <= high:
                    row.error(column, f"{value:g} is outside the declared scale {low}–{high}")
        if answered == 0 and any(expectation in values for _d, expectation, _p, _i in DIMENSION_COLUMNS):
            row.error(
                "timeliness_expectation",
                "no dimension answered: fill expectation and perception of at least one",
            )

    def resolve_more(self, ctx: Context, row: Row, customer: CustomerRef) -> None:
        values = row.values
        if any(expectation in values for _d, expectation, _p, _i in DIMENSION_COLUMNS):
            row.record["scores"] = [
                {
                    "dimension": dimension,
                    "importance": values.get(importance) or 1.0,
                    "expectation": values[expectation],
                    "perception": values[perception],
                }
                for dimension, expectation, perception, importance in DIMENSION_COLUMNS
                if values.get(expectation) is not None
            ]
        if "contact_ref" in row.values:
            contact_ref = row.values["contact_ref"]
            if contact_ref is None:
                row.record["contact_id"] = None
                return
            found = ctx.contacts([contact_ref])[contact_ref]
            if found is None or found.customer_id != customer.id:
                row.error(
                    "contact_ref", f"customer {row.values['customer_ref']!r} has no contact {contact_ref!r}"
                )
            else:
                row.record["contact_id"] = found.id

    def resolve(self, ctx: Context, rows: list[Row]) -> None:
        ctx.contacts(row.values["contact_ref"] for row in rows if row.values.get("contact_ref"))
        super().resolve(ctx, rows)

    def stored(self, ctx: Context, rows: list[Row]) -> dict[Any, Mapping]:
        """The stored responses with their scores (as score dicts)."""
        stored = {key: {**record, "scores": []} for key, record in super().stored(ctx, rows).items()}
        by_id = {record["id"]: record for record in stored.values()}
        if by_id:
            table, connection = SurveyScore.__table__, ctx.session.connection()
            for score in connection.execute(
                select(table).where(db.among(connection, table.c.response_id, by_id)).order_by(table.c.id)
            ).mappings():
                by_id[score["response_id"]]["scores"].append(dict(score))
        return stored

    def decide(self, ctx: Context, plan: Plan, writes: list[tuple[Row, Mapping | None]]) -> None:
        for row, old in writes:
            if old is None and "scores" not in row.record:
                row.error(
                    "timeliness_expectation", "a new response needs its scores: add the dimension columns"
                )
        super().decide(ctx, plan, [(row, old) for row, old in writes if not row.errors])

    def changes(self, old: Mapping, values: dict) -> dict:
        changed = super().changes(old, _without_scores(values))
        scores = values.get("scores")
        if scores is not None and relations.score_table(old["scores"]) != relations.score_table(scores):
            changed["scores"] = scores
        return changed

    def apply(self, ctx: Context, plan: Plan) -> None:
        """Responses as the other kinds; their scores replaced whole, a change of them recorded apart
        and leaving the response's version as it is (as the row-by-row way does)."""
        responses, scores, connection = (
            SurveyResponse.__table__,
            SurveyScore.__table__,
            ctx.session.connection(),
        )
        new = insert(ctx, responses, [_without_scores(values) for _row, values in plan.creates])
        update(
            ctx,
            responses,
            [(old, fields) for _row, old, changed in plan.updates if (fields := _without_scores(changed))],
        )
        rescored = {
            old["id"]: changed["scores"] for _row, old, changed in plan.updates if "scores" in changed
        }
        if rescored:
            connection.execute(delete(scores).where(db.among(connection, scores.c.response_id, rescored)))
        created_scores = insert(
            ctx,
            scores,
            [
                {**score, "response_id": response_id}
                for response_id, given in (
                    *(
                        (stored["id"], values["scores"])
                        for (_row, values), stored in zip(plan.creates, new, strict=True)
                    ),
                    *rescored.items(),
                )
                for score in given
            ],
        )
        by_response: dict[int, list[dict]] = {}
        for score in created_scores:
            by_response.setdefault(score["response_id"], []).append(score)
        kind = self.record_kind
        audit.record_many(
            ctx.session,
            user=ctx.user,
            events=[
                *(
                    ("survey", stored["id"], stored["customer_id"], "create",
                     records.created(kind, SimpleNamespace(**stored, scores=by_response[stored["id"]]), values))
                    for (_row, values), stored in zip(plan.creates, new, strict=True)
                ),
                *(
                    event
                    for _row, old, changed in plan.updates
                    for event in (
                        ("survey", old["id"], changed.get("customer_id", old["customer_id"]), "update",
                         audit.diff(old, _without_scores(changed))),
                        ("survey", old["id"], changed.get("customer_id", old["customer_id"]), "update",
                         {"scores": [relations.score_table(old["scores"]), relations.score_table(changed["scores"])]}
                         if "scores" in changed else {}),
                    )
                ),
            ],
        )  # fmt: skip

    def update(self, ctx: Context, obj: SurveyResponse, row: Row) -> bool:
        changes = dict(row.record)
        scores = changes.pop("scores", None)
        changed = self._apply(ctx, obj, changes)
        if scores is not None:
            old = relations.score_table(obj.scores)
            if old != relations.score_table(scores):
                # the old scores go first: a dimension scored again would otherwise meet its old row
                obj.scores = []
                ctx.session.flush()
                obj.scores = [SurveyScore(**score) for score in scores]
                ctx.session.flush()
                audit.record(ctx.session, user=ctx.user, entity="survey", entity_id=obj.id, customer_id=obj.customer_id,
                             action="update", changes={"scores": [old, relations.score_table(scores)]})  # fmt: skip
                changed = True
        return changed


def _without_scores(values: Mapping) -> dict:
    return {name: value for name, value in values.items() if name != "scores"}


class Interactions(RelatedKind):
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
