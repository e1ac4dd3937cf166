"""Department, contact, survey and interaction payloads."""

from __future__ import annotations

import marshmallow as ma
from flask import g

from logicrm import access, bounds
from logicrm.relations.models import Dimension, InteractionKind
from logicrm.schemas import AwareDateTime, Id, enum_field, external_ref_field, long_text, number

Length = ma.validate.Length


class DepartmentIn(ma.Schema):
    customer_id = Id(required=True)
    name = ma.fields.String(required=True, validate=Length(min=1, max=100))
    decision_weight = number(bounds.DECISION_WEIGHT, load_default=1.0)
    is_decision_maker = ma.fields.Boolean(load_default=False)


class DepartmentOut(DepartmentIn):
    id = Id()
    version = ma.fields.Integer()


class ContactIn(ma.Schema):
    external_ref = external_ref_field()
    customer_id = Id(required=True)
    department_id = Id(allow_none=True)
    name = ma.fields.String(required=True, validate=Length(min=1, max=200))
    role = ma.fields.String(allow_none=True, validate=Length(max=100))
    email = ma.fields.Email(allow_none=True, validate=Length(max=254))
    phone = ma.fields.String(allow_none=True, validate=Length(max=50))


class ContactOut(ContactIn):
    """A contact; email and phone are omitted for planners."""

    id = Id()
    version = ma.fields.Integer()

    @ma.post_dump
    def _hide_personal_data(self, data, **_kwargs):
        return access.redact(g.user, "contact", data)


class SurveyScoreIn(ma.Schema):
    dimension = enum_field(Dimension, required=True)
    importance = number(bounds.IMPORTANCE, load_default=1.0)
    expectation = number(bounds.SCALE_POINT, required=True, description="on the response's scale")
    perception = number(bounds.SCALE_POINT, required=True, description="on the response's scale")


class SurveyIn(ma.Schema):
    external_ref = external_ref_field()
    customer_id = Id(required=True)
    department_id = Id(required=True)
    contact_id = Id(allow_none=True)
    ticket_id = Id(allow_none=True, metadata={"description": "the case a callback survey asked about"})
    collected_at = AwareDateTime(required=True)
    channel = ma.fields.String(allow_none=True, validate=Length(max=40))
    scale_min = number(bounds.SCALE_POINT, integer=True, load_default=1)
    scale_max = number(bounds.SCALE_POINT, integer=True, load_default=7)
    likelihood_to_recommend = number(bounds.LIKELIHOOD_TO_RECOMMEND, integer=True, allow_none=True)
    comment = long_text(allow_none=True)
    scores = ma.fields.List(ma.fields.Nested(SurveyScoreIn), required=True, validate=Length(min=1))

    @ma.validates_schema
    def _on_scale(self, data, **_kwargs):
        low, high = data["scale_min"], data["scale_max"]
        if high <= low:
            raise ma.ValidationError(f"must be greater than scale_min ({low})", "scale_max")
        errors: dict = {}
        dimensions = set()
        for index, score in enumerate(data["scores"]):
            for field in ("expectation", "perception"):
                if not low <= score[field] <= high:
                    errors.setdefault(index, {})[field] = [
                        f"{score[field]:g} is outside the declared scale {low}–{high}"
                    ]
            if score["dimension"] in dimensions:
                errors.setdefault(index, {})["dimension"] = [f"{score['dimension']} given twice"]
            dimensions.add(score["dimension"])
        if errors:
            raise ma.ValidationError({"scores": errors})


class SurveyScoreOut(SurveyScoreIn):
    id = Id()


class SurveyOut(SurveyIn):
    id = Id()
    version = ma.fields.Integer()
    scores = ma.fields.List(ma.fields.Nested(SurveyScoreOut))


class InteractionIn(ma.Schema):
    external_ref = external_ref_field()
    customer_id = Id(required=True)
    department_id = Id(allow_none=True)
    user_id = Id(allow_none=True, metadata={"description": "defaults to the caller"})
    kind = enum_field(InteractionKind, required=True)
    at = AwareDateTime(required=True)
    summary = ma.fields.String(required=True, validate=Length(min=1, max=bounds.LONG_TEXT))
    next_follow_up = ma.fields.Date(allow_none=True)


class InteractionOut(InteractionIn):
    id = Id()
    version = ma.fields.Integer()
