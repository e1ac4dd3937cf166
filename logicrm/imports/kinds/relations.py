"""A customer's departments, contacts, survey responses and interactions."""

from __future__ import annotations

from sqlalchemy import select, tuple_

from logicrm import bounds
from logicrm.audit import service as audit
from logicrm.imports.columns import Boolean, Choice, Column, Date, DateTime, Email, Integer, Number, Text, ref
from logicrm.imports.kinds.base import Context, CustomerRef, RelatedServiceKind, Row, chunked
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
        for chunk in chunked(keys):
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
