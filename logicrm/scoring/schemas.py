"""Payloads of the network-intelligence endpoints.

Satisfaction and loyalty scores are shown on 0–100 (how managers read them); risks and driver shares
are probabilities in [0, 1], so a driver list reads "risk 0.71: consignee X 0.22, claims 0.15, …".
"""

from __future__ import annotations

import dataclasses

import marshmallow as ma

from logicrm import bounds
from logicrm.api import PageArgs
from logicrm.customers.models import Tier
from logicrm.schemas import Id, WholeNumber, enum_field, number

F = ma.fields


class DriverOut(ma.Schema):
    kind = F.String(metadata={"description": "baseline, own, neighbour or other"})
    key = F.Raw(
        allow_none=True,
        metadata={"description": "driver name (own), customer id (neighbour), null (baseline)"},
    )
    label = F.String()
    share = F.Float(metadata={"description": "part of the network risk; the shares sum to it"})


class DepartmentHealthOut(ma.Schema):
    id = Id()
    name = F.String()
    weight = F.Float()
    is_decision_maker = F.Boolean()
    score = F.Float(
        allow_none=True, metadata={"description": "0–100; null when silent (unknown, not average)"}
    )
    responses = F.Integer()
    last_response = F.DateTime(allow_none=True)
    silent = F.Boolean()


class SatisfactionOut(ma.Schema):
    overall = F.Float(
        allow_none=True, metadata={"description": "0–100, capped at the weakest deciding department + cap"}
    )
    uncapped = F.Float(allow_none=True)
    capped = F.Boolean()
    coverage = F.Float(metadata={"description": "share of decision weight with recent responses"})
    weakest_deciding_department = F.Nested(DepartmentHealthOut, allow_none=True)
    two_sided = F.Float(
        allow_none=True, metadata={"description": "0–100: own blended with the other side's verdict"}
    )
    ninety_days_ago = F.Float(allow_none=True)
    departments = F.List(F.Nested(DepartmentHealthOut))


class LoyaltyOut(ma.Schema):
    nps = F.Float(allow_none=True, metadata={"description": "decayed NPS, −100…100 (attitude)"})
    score = F.Float(allow_none=True, metadata={"description": "0–100"})
    responses = F.Integer()


class RetentionOut(ma.Schema):
    shipments_last_30_days = F.Integer()
    shipments_trailing_window = F.Integer()
    otif = F.Float(allow_none=True)
    otif_target = F.Float(allow_none=True)
    claims_rate = F.Float()


class ValueOut(ma.Schema):
    revenue_12m = F.Float()
    cost_12m = F.Float()
    profit_12m = F.Float()
    margin = F.Float(allow_none=True)
    abc_class = F.String()
    value_tier = F.String()
    tier_mismatch = F.String(allow_none=True)


class HealthOut(ma.Schema):
    customer_id = Id()
    name = F.String()
    roles = F.List(F.String())
    tier = F.String()
    satisfaction = F.Nested(SatisfactionOut)
    loyalty = F.Nested(LoyaltyOut)
    retention = F.Nested(RetentionOut)
    own_risk = F.Float()
    network_risk = F.Float()
    drivers = F.List(F.Nested(DriverOut))
    value = F.Nested(ValueOut)
    exposure = F.Float(metadata={"description": "revenue/month lost by the cascade if this account leaves"})
    config_hash = F.String()
    as_of = F.DateTime()


class RankingArgs(PageArgs):
    role = F.String(validate=ma.validate.OneOf(["shipper", "consignee"]))
    tier = enum_field(Tier)
    owner_id = Id()


class RiskRowOut(ma.Schema):
    id = Id()
    name = F.String()
    roles = F.List(F.String())
    tier = F.String()
    owner_id = Id(allow_none=True)
    own_risk = F.Float()
    network_risk = F.Float()
    top_driver = F.Nested(DriverOut, allow_none=True)


class RankingMeta(ma.Schema):
    total = F.Integer()
    page = F.Integer()
    page_size = F.Integer()
    pages = F.Integer()
    config_hash = F.String()
    as_of = F.DateTime()


class RiskPage(ma.Schema):
    items = F.List(F.Nested(RiskRowOut))
    meta = F.Nested(RankingMeta)


class HubRowOut(ma.Schema):
    id = Id()
    name = F.String()
    roles = F.List(F.String())
    tier = F.String()
    exposure = F.Float(metadata={"description": "revenue/month lost by the cascade if it leaves"})
    shippers_lost = F.Integer()
    consignees_lost = F.Integer()


class HubPage(ma.Schema):
    items = F.List(F.Nested(HubRowOut))
    meta = F.Nested(RankingMeta)


class GraphArgs(ma.Schema):
    center = Id(required=True)
    depth = WholeNumber(load_default=1, validate=ma.validate.Range(min=1, max=3))


class GraphNodeOut(ma.Schema):
    id = Id()
    name = F.String(allow_none=True, metadata={"description": "null for accounts you may not see"})
    hidden = F.Boolean(
        metadata={
            "description": "an account you may not see, at the far end of one of your lanes: id and roles only"
        }
    )
    roles = F.List(F.String())
    tier = F.String(allow_none=True, metadata={"description": "null when hidden"})
    satisfaction = F.Float(allow_none=True, metadata={"description": "0–100; null when hidden or unknown"})
    risk = F.Float(allow_none=True, metadata={"description": "network risk; null when hidden"})


class GraphEdgeOut(ma.Schema):
    shipper = Id()
    consignee = Id()
    monthly_volume = F.Float()
    revenue_per_month = F.Float()
    influence_down = F.Float(metadata={"description": "shipper → consignee"})
    influence_up = F.Float(metadata={"description": "consignee → shipper"})


class GraphOut(ma.Schema):
    nodes = F.List(F.Nested(GraphNodeOut))
    edges = F.List(F.Nested(GraphEdgeOut))
    config_hash = F.String()


class WhatIfIn(ma.Schema):
    remove_customers = F.List(Id(), load_default=list)
    remove_links = F.List(Id(), load_default=list)
    threshold = number(
        dataclasses.replace(bounds.SHARE, low_inclusive=False),
        load_default=None,
        description="an account keeping less than this share of its volume is lost; "
        "default: the scoring parameter cascade_threshold",
    )

    @ma.validates_schema
    def _something_removed(self, data, **_kwargs):
        if not data["remove_customers"] and not data["remove_links"]:
            raise ma.ValidationError("give remove_customers or remove_links", "remove_customers")


class LostCustomerOut(ma.Schema):
    id = Id()
    name = F.String()
    round = F.Integer()
    roles = F.List(F.String())
    shipments_per_month = F.Float(metadata={"description": "on all its lanes, over the volume window"})
    revenue_per_month = F.Float(metadata={"description": "on all its lanes, over the volume window"})


class WhatIfOut(ma.Schema):
    rounds = F.List(F.List(Id()), metadata={"description": "ids of the accounts lost in each round"})
    lost_customers = F.List(F.Nested(LostCustomerOut))
    hidden_lost_customers = F.Integer(
        metadata={"description": "lost accounts you may not see (named only for you)"}
    )
    links_cut = F.Integer()
    shipments_per_month_lost = F.Float()
    revenue_per_month_lost = F.Float()
    expected_revenue_per_month_lost = F.Float(
        metadata={
            "description": "what the removal adds to the expected revenue loss under the risk model "
            "(removed accounts at risk 1, compared with nobody removed)"
        }
    )
    threshold = F.Float()
    config_hash = F.String()


class BucketOut(ma.Schema):
    bucket = F.String()
    count = F.Integer()


class MismatchOut(ma.Schema):
    id = Id()
    name = F.String()
    tier = F.String()
    value_tier = F.String()
    mismatch = F.String()


class PortfolioOut(ma.Schema):
    customers = F.Integer()
    by_role = F.Dict(keys=F.String(), values=F.Integer())
    by_tier = F.Dict(keys=F.String(), values=F.Integer())
    by_abc_class = F.Dict(keys=F.String(), values=F.Integer())
    pareto_ratio = F.Float(
        allow_none=True, metadata={"description": "share of customers making 80% of profit"}
    )
    satisfaction_distribution = F.List(F.Nested(BucketOut))
    risk_distribution = F.List(F.Nested(BucketOut))
    tier_mismatches = F.List(F.Nested(MismatchOut))
    config_hash = F.String()
    as_of = F.DateTime()
