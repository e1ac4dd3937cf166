"""Growth suggestion payloads."""

from __future__ import annotations

import marshmallow as ma

from logicrm import bounds
from logicrm.growth.service import KINDS
from logicrm.schemas import Id, number

F = ma.fields


class SuggestionArgs(ma.Schema):
    customer_id = Id(metadata={"description": "only this customer's suggestions"})
    kind = F.String(validate=ma.validate.OneOf(KINDS))


class SuggestionOut(ma.Schema):
    customer_id = Id()
    customer_name = F.String()
    kind = F.String(metadata={"description": ", ".join(KINDS)})
    service = F.String(allow_none=True, metadata={"description": "kind service: the service not yet bought"})
    reason = F.String(metadata={"description": "why, in words, with the figures behind it"})
    value = F.Float(
        allow_none=True,
        metadata={
            "description": "yearly revenue at stake, in the account currency, over the last 12 months: "
            "inbound revenue (shipper_role), contracted − actual (share_of_wallet), the referrals' "
            "revenue (referrer); null for service"
        },
    )
    opportunity_kind = F.String(metadata={"description": "the kind of deal converting it opens"})


class SuggestionsOut(ma.Schema):
    items = F.List(F.Nested(SuggestionOut), metadata={"description": "largest value first"})


class ConvertIn(ma.Schema):
    customer_id = Id(required=True)
    kind = F.String(required=True, validate=ma.validate.OneOf(KINDS))
    service = F.String(validate=ma.validate.Length(min=1, max=60), allow_none=True)
    title = F.String(validate=ma.validate.Length(min=1, max=300), metadata={"description": "e.g. the reason"})
    value = number(bounds.MONEY, description="the deal's value (e.g. the suggestion's)")
