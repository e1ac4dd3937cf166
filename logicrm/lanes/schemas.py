"""Link and shipment payloads."""

from __future__ import annotations

import marshmallow as ma

from logicrm import bounds
from logicrm.api import PageArgs
from logicrm.lanes.models import LinkStatus, ServiceType
from logicrm.schemas import AwareDateTime, Id, enum_field, external_ref_field, number

Length = ma.validate.Length


class LinkIn(ma.Schema):
    external_ref = external_ref_field()
    shipper_id = Id(required=True)
    consignee_id = Id(required=True)
    origin = ma.fields.String(required=True, validate=Length(min=1, max=100))
    destination = ma.fields.String(required=True, validate=Length(min=1, max=100))
    service_type = enum_field(ServiceType, load_default=ServiceType.FTL)
    declared_monthly_volume = number(
        bounds.MONTHLY_VOLUME, allow_none=True, description="expected before any shipment exists"
    )
    started_on = ma.fields.Date(allow_none=True)
    ended_on = ma.fields.Date(allow_none=True)
    status = enum_field(LinkStatus, load_default=LinkStatus.ACTIVE)

    @ma.validates_schema
    def _valid(self, data, **_kwargs):
        if data.get("shipper_id") is not None and data.get("shipper_id") == data.get("consignee_id"):
            raise ma.ValidationError("must differ from shipper_id", "consignee_id")
        if data.get("started_on") and data.get("ended_on") and data["ended_on"] < data["started_on"]:
            raise ma.ValidationError("must not be before started_on", "ended_on")


class LinkOut(LinkIn):
    id = Id()
    version = ma.fields.Integer()


class LinkListArgs(PageArgs):
    customer_id = Id(metadata={"description": "links where this customer is either end"})
    shipper_id = Id()
    consignee_id = Id()
    status = enum_field(LinkStatus)


class ShipmentIn(ma.Schema):
    link_id = Id(required=True)
    external_ref = external_ref_field()
    shipped_at = AwareDateTime(required=True)
    promised_at = AwareDateTime(allow_none=True)
    delivered_at = AwareDateTime(allow_none=True)
    in_full = ma.fields.Boolean(load_default=True)
    damaged = ma.fields.Boolean(load_default=False)
    claim_amount = number(bounds.MONEY, load_default=0)
    revenue = number(bounds.MONEY, load_default=0)
    cost = number(bounds.MONEY, load_default=0)

    @ma.validates_schema
    def _delivered_after_shipped(self, data, **_kwargs):
        shipped = data.get("shipped_at")
        for field in ("delivered_at", "promised_at"):
            if shipped and data.get(field) and data[field] < shipped:
                raise ma.ValidationError(f"must not be before shipped_at ({shipped.isoformat()})", field)


class ShipmentOut(ShipmentIn):
    id = Id()
    version = ma.fields.Integer()


class ShipmentListArgs(PageArgs):
    link_id = Id()
    customer_id = Id(metadata={"description": "shipments on links where this customer is either end"})
    shipped_from = AwareDateTime()
    shipped_to = AwareDateTime()


class BulkShipmentsOut(ma.Schema):
    created = ma.fields.Integer()
    updated = ma.fields.Integer()
    ids = ma.fields.List(Id(), metadata={"description": "ids in the order of the request rows"})
