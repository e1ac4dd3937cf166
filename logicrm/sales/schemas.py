"""Opportunity payloads."""

from __future__ import annotations

import marshmallow as ma

from logicrm import bounds
from logicrm.sales.models import OpportunityKind, OpportunityStage
from logicrm.schemas import Id, enum_field, number

Length = ma.validate.Length


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
