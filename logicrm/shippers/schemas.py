"""Shipper profile payloads."""

from __future__ import annotations

import marshmallow as ma

from logicrm import bounds
from logicrm.schemas import Id, number


class ShipperProfileIn(ma.Schema):
    contract_start = ma.fields.Date(allow_none=True)
    contract_end = ma.fields.Date(allow_none=True)
    services = ma.fields.List(ma.fields.String(validate=ma.validate.Length(min=1, max=60)), load_default=list)
    contracted_annual_value = number(bounds.MONEY, allow_none=True)
    on_time_target = number(
        bounds.SHARE, allow_none=True, load_default=0.95, description="SLA: share of shipments on time"
    )

    @ma.validates_schema
    def _contract_ordered(self, data, **_kwargs):
        start, end = data.get("contract_start"), data.get("contract_end")
        if start and end and end < start:
            raise ma.ValidationError("must not be before contract_start", "contract_end")


class ShipperProfileOut(ShipperProfileIn):
    customer_id = Id()
    version = ma.fields.Integer()
