"""Customer-core payloads: what the API accepts and returns."""

from __future__ import annotations

import marshmallow as ma

from logicrm.api import PageArgs
from logicrm.customers.models import AcquisitionChannel, CustomerStatus, Tier
from logicrm.customers.service import SORTS
from logicrm.schemas import Id, enum_field, external_ref_field

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
        "ShipperProfileIn", allow_none=True, metadata={"description": "give to add the shipper role"}
    )
    consignee = ma.fields.Nested(
        "ConsigneeProfileIn", allow_none=True, metadata={"description": "give to add the consignee role"}
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
    shipper = ma.fields.Nested("ShipperProfileOut", attribute="shipper_profile", allow_none=True)
    consignee = ma.fields.Nested("ConsigneeProfileOut", attribute="consignee_profile", allow_none=True)

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
