"""Consignee profile payloads."""

from __future__ import annotations

import marshmallow as ma

from logicrm.schemas import Id


class ConsigneeProfileIn(ma.Schema):
    sites = ma.fields.List(ma.fields.String(validate=ma.validate.Length(min=1, max=200)), load_default=list)
    receiving_windows = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=2000))
    delivery_requirements = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=4000))


class ConsigneeProfileOut(ConsigneeProfileIn):
    customer_id = Id()
    version = ma.fields.Integer()
