"""Customer-core payloads: what the API accepts and returns."""

from __future__ import annotations

import marshmallow as ma
from flask import g

from logicrm import access, bounds
from logicrm.api import PageArgs
from logicrm.consignees.schemas import ConsigneeProfileIn, ConsigneeProfileOut
from logicrm.customers.models import AcquisitionChannel, CustomerStatus, Tier
from logicrm.customers.service import SORTS
from logicrm.db import utcnow
from logicrm.relations.models import Dimension, InteractionKind
from logicrm.sales.models import OpportunityKind, OpportunityStage
from logicrm.schemas import AwareDateTime, Id, enum_field, external_ref_field, long_text, number
from logicrm.shippers.schemas import ShipperProfileIn, ShipperProfileOut
from logicrm.tickets.models import Severity, TicketKind, TicketStatus

Length = ma.validate.Length


class CustomerIn(ma.Schema):
    name = ma.fields.String(required=True, validate=Length(min=1, max=300))
    external_ref = external_ref_field()
    registration_number = ma.fields.String(allow_none=True, validate=Length(min=1, max=64))
    industry = ma.fields.String(allow_none=True, validate=Length(max=100))
    region = ma.fields.String(allow_none=True, validate=Length(max=100))
    tier = enum_field(Tier, load_default=Tier.STANDARD)
    status = enum_field(CustomerStatus, load_default=CustomerStatus.ACTIVE)
    owner_id = Id(allow_none=True)
    team_ids = ma.fields.List(Id(), load_default=list)
    acquisition_channel = enum_field(AcquisitionChannel, allow_none=True)
    referred_by_id = Id(allow_none=True)
    acquired_on = ma.fields.Date(allow_none=True)
    churned_on = ma.fields.Date(allow_none=True, metadata={"description": "not before acquired_on"})


class CustomerCreateIn(CustomerIn):
    shipper = ma.fields.Nested(
        ShipperProfileIn, allow_none=True, metadata={"description": "give to add the shipper role"}
    )
    consignee = ma.fields.Nested(
        ConsigneeProfileIn, allow_none=True, metadata={"description": "give to add the consignee role"}
    )


class CustomerOut(ma.Schema):
    id = Id()
    external_ref = ma.fields.String()
    name = ma.fields.String()
    normalized_name = ma.fields.String()
    registration_number = ma.fields.String(allow_none=True)
    industry = ma.fields.String(allow_none=True)
    region = ma.fields.String(allow_none=True)
    tier = enum_field(Tier)
    status = enum_field(CustomerStatus)
    owner_id = Id(allow_none=True)
    team_ids = ma.fields.Method("_team_ids")
    roles = ma.fields.List(ma.fields.String())
    acquisition_channel = enum_field(AcquisitionChannel, allow_none=True)
    referred_by_id = Id(allow_none=True)
    acquired_on = ma.fields.Date(allow_none=True)
    churned_on = ma.fields.Date(allow_none=True)
    deleted_at = ma.fields.DateTime(allow_none=True)
    merged_into_id = Id(allow_none=True)
    version = ma.fields.Integer()
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()
    shipper = ma.fields.Nested(ShipperProfileOut, attribute="shipper_profile", allow_none=True)
    consignee = ma.fields.Nested(ConsigneeProfileOut, attribute="consignee_profile", allow_none=True)

    def _team_ids(self, customer) -> list[int]:
        return sorted(user.id for user in customer.team)


class CustomerListArgs(PageArgs):
    role = ma.fields.String(validate=ma.validate.OneOf(["shipper", "consignee"]))
    tier = enum_field(Tier)
    status = enum_field(CustomerStatus)
    owner_id = Id()
    region = ma.fields.String(validate=Length(max=100))
    industry = ma.fields.String(validate=Length(max=100))
    q = ma.fields.String(
        validate=Length(max=300),
        metadata={
            "description": "name search (Latin or Chinese; case, width and legal suffixes ignored) or exact external_ref"
        },
    )
    include_deleted = ma.fields.Boolean(load_default=False)
    sort = ma.fields.String(
        load_default="name", validate=ma.validate.OneOf([*SORTS, *(f"-{s}" for s in SORTS)])
    )


class RoleViewArgs(CustomerListArgs):
    class Meta:
        exclude = ("role",)


class DuplicateArgs(ma.Schema):
    allow_duplicate = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "create even if a customer with the same normalised name exists"},
    )


class MergeIn(ma.Schema):
    source_id = Id(required=True, metadata={"description": "customer folded into this one"})


class MergeOut(ma.Schema):
    customer = ma.fields.Nested(CustomerOut)
    moved = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())


class AuditEventOut(ma.Schema):
    id = Id()
    at = ma.fields.DateTime()
    user_id = Id(allow_none=True)
    entity = ma.fields.String()
    entity_id = Id()
    action = ma.fields.String()
    changes = ma.fields.Dict(metadata={"description": "field → [old, new]"})


class ByCustomerArgs(PageArgs):
    customer_id = Id()


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


class TicketIn(ma.Schema):
    external_ref = external_ref_field()
    customer_id = Id(required=True)
    link_id = Id(allow_none=True)
    kind = enum_field(TicketKind, required=True)
    severity = enum_field(Severity, load_default=Severity.MEDIUM)
    subject = ma.fields.String(required=True, validate=Length(min=1, max=300))
    opened_at = AwareDateTime(load_default=utcnow)
    first_response_at = AwareDateTime(allow_none=True)
    resolved_at = AwareDateTime(allow_none=True)
    status = enum_field(TicketStatus, load_default=TicketStatus.OPEN)
    claim_amount = number(bounds.MONEY, allow_none=True)

    @ma.validates_schema
    def _ordered(self, data, **_kwargs):
        opened = data.get("opened_at")
        for field in ("first_response_at", "resolved_at"):
            if opened and data.get(field) and data[field] < opened:
                raise ma.ValidationError("must not be before opened_at", field)


class TicketOut(TicketIn):
    id = Id()
    version = ma.fields.Integer()


class OpportunityIn(ma.Schema):
    customer_id = Id(required=True)
    kind = enum_field(OpportunityKind, required=True)
    stage = enum_field(OpportunityStage, load_default=OpportunityStage.LEAD)
    title = ma.fields.String(required=True, validate=Length(min=1, max=300))
    value = number(bounds.MONEY, load_default=0)
    probability = number(bounds.SHARE, load_default=0.1)
    expected_close = ma.fields.Date(allow_none=True)


class OpportunityOut(OpportunityIn):
    id = Id()
    version = ma.fields.Integer()
