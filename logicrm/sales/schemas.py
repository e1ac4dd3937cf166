"""Opportunity and pipeline payloads."""

from __future__ import annotations

import marshmallow as ma

from logicrm import bounds
from logicrm.sales.models import OpportunityKind, OpportunityStage
from logicrm.schemas import Id, enum_field, number

Length = ma.validate.Length
F = ma.fields
MONEY = "in the account currency"


class OpportunityIn(ma.Schema):
    customer_id = Id(required=True)
    kind = enum_field(OpportunityKind, required=True)
    stage = enum_field(OpportunityStage, load_default=OpportunityStage.LEAD)
    title = F.String(required=True, validate=Length(min=1, max=300))
    value = number(bounds.MONEY, load_default=0)
    probability = number(
        bounds.SHARE,
        description="default: the configured probability of the stage it enters; won 1 and lost 0, always",
    )
    expected_close = F.Date(allow_none=True)
    owner_id = Id(
        allow_none=True, metadata={"description": "the user selling it (default: the customer's owner)"}
    )
    service_lines = F.List(
        F.String(validate=Length(min=1, max=60)),
        validate=Length(max=20),
        metadata={"description": "what it sells: warehousing, distribution, customs, value_added_services…"},
    )
    contract_end = F.Date(
        allow_none=True, metadata={"description": "a renewal: the end of the contract it renews"}
    )


class StageStayOut(ma.Schema):
    stage = enum_field(OpportunityStage)
    entered_at = F.DateTime()
    left_at = F.DateTime(allow_none=True, metadata={"description": "null while the deal is in this stage"})
    user_id = Id(allow_none=True, metadata={"description": "who moved it into the stage"})


class OpportunityOut(OpportunityIn):
    id = Id()
    version = F.Integer()
    created_at = F.DateTime()
    closed_on = F.Date(allow_none=True, metadata={"description": "the day it was won or lost"})
    source = F.String(
        allow_none=True, metadata={"description": "what opened it: renewal_job, or a growth suggestion"}
    )
    stages = F.List(F.Nested(StageStayOut), metadata={"description": "its stage history, oldest first"})


class StageRowOut(ma.Schema):
    stage = F.String()
    deals = F.Integer(metadata={"description": "count in this stage now"})
    value = F.Float(metadata={"description": f"their value, {MONEY}"})
    weighted_value = F.Float(metadata={"description": f"their value × probability, {MONEY}"})
    win_rate = F.Float(
        allow_none=True,
        metadata={"description": "of the closed deals that passed through this stage, the share won, 0–1"},
    )
    average_days = F.Float(
        allow_none=True, metadata={"description": "mean length of finished stays in it, days"}
    )


class OwnerRowOut(ma.Schema):
    owner_id = Id(allow_none=True)
    open_deals = F.Integer(metadata={"description": "count"})
    open_value = F.Float(metadata={"description": MONEY})
    weighted_value = F.Float(metadata={"description": f"open value × probability, {MONEY}"})
    won = F.Integer(metadata={"description": "count, all time"})
    lost = F.Integer(metadata={"description": "count, all time"})
    win_rate = F.Float(allow_none=True, metadata={"description": "won / (won + lost), 0–1, all time"})
    average_days_to_win = F.Float(
        allow_none=True, metadata={"description": "mean days from creation to the day won"}
    )


class ForecastOut(ma.Schema):
    month = F.String(
        allow_none=True, metadata={"description": "YYYY-MM of the expected close; null: undated"}
    )
    deals = F.Integer(metadata={"description": "open deals expected to close that month, count"})
    value = F.Float(metadata={"description": MONEY})
    weighted_value = F.Float(metadata={"description": f"value × probability, {MONEY}"})


class StalledOut(ma.Schema):
    id = Id()
    customer_id = Id()
    title = F.String()
    stage = F.String()
    owner_id = Id(allow_none=True)
    value = F.Float(metadata={"description": MONEY})
    days_in_stage = F.Float(metadata={"description": "days since it entered its stage"})


class PipelineOut(ma.Schema):
    as_of = F.DateTime()
    by_stage = F.List(
        F.Nested(StageRowOut), metadata={"description": "the funnel in order, then won and lost"}
    )
    by_owner = F.List(F.Nested(OwnerRowOut))
    forecast = F.List(F.Nested(ForecastOut), metadata={"description": "by month, oldest first"})
    win_rate = F.Float(allow_none=True, metadata={"description": "won / (won + lost), 0–1, all time"})
    stalled_days = F.Integer(metadata={"description": "an open deal this many days in one stage is stalled"})
    stalled = F.List(F.Nested(StalledOut), metadata={"description": "longest stalled first"})
