"""Customer-core payloads: what the API accepts and returns."""

from __future__ import annotations

import marshmallow as ma

from logicrm import bounds
from logicrm.api import PageArgs
from logicrm.customers.models import AcquisitionChannel, CustomerStatus, Tier
from logicrm.customers.names import SIMILAR_AT
from logicrm.customers.service import SORTS
from logicrm.schemas import Id, enum_field, external_ref_field, number

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
    aliases = ma.fields.List(
        ma.fields.Nested("AliasOut"),
        metadata={"description": "its other names (POST /customers/{id}/aliases)"},
    )

    def _team_ids(self, customer) -> list[int]:
        # a listed customer (customers.answers) comes as a dict with its team's ids
        return customer["team_ids"] if type(customer) is dict else sorted(user.id for user in customer.team)


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


class AliasIn(ma.Schema):
    name = ma.fields.String(required=True, validate=Length(min=1, max=300))
    label = ma.fields.String(
        allow_none=True,
        validate=Length(max=60),
        metadata={"description": "what name it is: English name, Chinese name, former name, trading name…"},
    )


class AliasOut(AliasIn):
    id = Id()
    customer_id = Id()
    version = ma.fields.Integer()


MATCH_SCORE = bounds.Bound(0.5, 1, "(name similarity, 1: the same)")


class DuplicateScanArgs(ma.Schema):
    min_score = number(
        MATCH_SCORE,
        load_default=SIMILAR_AT,
        description="report names at least this alike (the duplicate check uses 0.9)",
    )


class DuplicateCustomerOut(ma.Schema):
    id = Id()
    name = ma.fields.String()
    registration_number = ma.fields.String(allow_none=True)
    status = enum_field(CustomerStatus)


class DuplicatePairOut(ma.Schema):
    a_id = Id()
    b_id = Id()
    score = ma.fields.Float(metadata={"description": "0–1; 1: the same registration number or name"})
    reason = ma.fields.String(metadata={"description": "registration_number, name or similar_name"})


class MergeSuggestionOut(ma.Schema):
    target_id = Id(metadata={"description": "POST /customers/{target_id}/merge"})
    source_id = Id(metadata={"description": '…with {"source_id": source_id}'})


class DuplicateGroupOut(ma.Schema):
    customers = ma.fields.List(ma.fields.Nested(DuplicateCustomerOut))
    pairs = ma.fields.List(ma.fields.Nested(DuplicatePairOut))
    score = ma.fields.Float(metadata={"description": "the group's best pair score"})
    keep_id = Id(metadata={"description": "the customer to keep: active, with a registration number, oldest"})
    merges = ma.fields.List(ma.fields.Nested(MergeSuggestionOut))


class DuplicateScanOut(ma.Schema):
    groups = ma.fields.List(ma.fields.Nested(DuplicateGroupOut))
    customers_scanned = ma.fields.Integer()
    pairs_compared = ma.fields.Integer()
    blocks_skipped = ma.fields.Integer(
        metadata={"description": "blocking keys shared by too many customers to compare them all"}
    )
    min_score = ma.fields.Float()
    seconds = ma.fields.Float()
