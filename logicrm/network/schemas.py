"""Link and shipment payloads."""

from __future__ import annotations

import marshmallow as ma

from logicrm.api import PageArgs
from logicrm.network.models import LinkStatus, ServiceType
from logicrm.schemas import AwareDateTime, enum_field, external_ref_field

Length = ma.validate.Length


class LinkIn(ma.Schema):
    external_ref = external_ref_field()
    shipper_id = ma.fields.Integer(required=True)
    consignee_id = ma.fields.Integer(required=True)
    origin = ma.fields.String(required=True, validate=Length(min=1, max=100))
    destination = ma.fields.String(required=True, validate=Length(min=1, max=100))
    service_type = enum_field(ServiceType, load_default=ServiceType.FTL)
    declared_monthly_volume = ma.fields.Float(
        allow_none=True,
        validate=ma.validate.Range(min=0),
        metadata={"description": "shipments a month expected before any exist"},
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
    id = ma.fields.Integer()
    version = ma.fields.Integer()


class LinkListArgs(PageArgs):
    customer_id = ma.fields.Integer(metadata={"description": "links where this customer is either end"})
    shipper_id = ma.fields.Integer()
    consignee_id = ma.fields.Integer()
    status = enum_field(LinkStatus)


class ShipmentIn(ma.Schema):
    link_id = ma.fields.Integer(required=True)
    external_ref = external_ref_field()
    shipped_at = AwareDateTime(required=True)
    promised_at = AwareDateTime(allow_none=True)
    delivered_at = AwareDateTime(allow_none=True)
    in_full = ma.fields.Boolean(load_default=True)
    damaged = ma.fields.Boolean(load_default=False)
    claim_amount = ma.fields.Float(load_default=0, validate=ma.validate.Range(min=0))
    revenue = ma.fields.Float(load_default=0, validate=ma.validate.Range(min=0))
    cost = ma.fields.Float(load_default=0, validate=ma.validate.Range(min=0))

    @ma.validates_schema
    def _delivered_after_shipped(self, data, **_kwargs):
        shipped = data.get("shipped_at")
        for field in ("delivered_at", "promised_at"):
            if shipped and data.get(field) and data[field] < shipped:
                raise ma.ValidationError(f"must not be before shipped_at ({shipped.isoformat()})", field)


class ShipmentOut(ShipmentIn):
    id = ma.fields.Integer()
    version = ma.fields.Integer()


class ShipmentListArgs(PageArgs):
    link_id = ma.fields.Integer()
    customer_id = ma.fields.Integer(
        metadata={"description": "shipments on links where this customer is either end"}
    )
    shipped_from = AwareDateTime()
    shipped_to = AwareDateTime()


class BulkShipmentsOut(ma.Schema):
    created = ma.fields.Integer()
    updated = ma.fields.Integer()
    ids = ma.fields.List(
        ma.fields.Integer(), metadata={"description": "ids in the order of the request rows"}
    )
