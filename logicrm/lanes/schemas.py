"""Link and shipment payloads."""

from __future__ import annotations

import marshmallow as ma

from logicrm import bounds
from logicrm.api import PageArgs
from logicrm.db import PERIODS, utcnow
from logicrm.lanes import metrics
from logicrm.lanes.models import LinkStatus, ServiceType
from logicrm.schemas import AwareDateTime, Id, WholeNumber, enum_field, external_ref_field, number

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


MONEY = "in the account currency"


class RecentOut(ma.Schema):
    shipments = ma.fields.Integer(metadata={"description": "count shipped in the last 90 days"})
    revenue = ma.fields.Float(metadata={"description": f"{MONEY}, summed over the last 90 days"})
    margin = ma.fields.Float(metadata={"description": f"revenue − cost, {MONEY}, over the last 90 days"})
    otif = ma.fields.Float(
        allow_none=True,
        metadata={
            "description": "share on time in full, 0–1, of those delivered in the last 90 days; null: none"
        },
    )


class LinkOut(LinkIn):
    id = Id()
    version = ma.fields.Integer()
    last_90_days = ma.fields.Nested(
        RecentOut, dump_only=True, metadata={"description": "in lists: the lane's last 90 days"}
    )


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


class MetricsArgs(ma.Schema):
    start = AwareDateTime(
        data_key="from", metadata={"description": "first shipping time counted (default: a year before `to`)"}
    )
    end = AwareDateTime(data_key="to", metadata={"description": "shipments before this (default: now)"})
    interval = ma.fields.String(
        load_default="month",
        validate=ma.validate.OneOf(PERIODS),
        metadata={"description": "month (1st of the month) or week (ISO, from Monday); UTC"},
    )

    @ma.post_load
    def _range(self, data, **_kwargs):
        data["start"], data["end"] = metrics.default_range(
            start=data.get("start"), end=data.get("end"), now=utcnow()
        )
        if data["start"] >= data["end"]:
            raise ma.ValidationError(f"must be before to ({data['end'].isoformat()})", "from")
        periods = len(metrics.periods_between(data["start"], data["end"], data["interval"]))
        if periods > metrics.MAX_PERIODS[data["interval"]]:
            limit = metrics.MAX_PERIODS[data["interval"]]
            raise ma.ValidationError(f"at most {limit} {data['interval']}s at once, asked {periods}", "from")
        return data


class CustomerMetricsArgs(MetricsArgs):
    role = ma.fields.String(
        validate=ma.validate.OneOf(["shipper", "consignee"]),
        metadata={"description": "only the lanes where the customer is shipper (or consignee); default both"},
    )
    lanes_limit = WholeNumber(
        load_default=metrics.LANES_SHOWN,
        validate=ma.validate.Range(min=1, max=metrics.LANES_SHOWN_MAX),
        metadata={"description": "how many lanes to list, those earning most over the range first"},
    )


class PeriodOut(ma.Schema):
    """One period's shipments (by shipping time, UTC); totals are the same figures over the whole range."""

    period = ma.fields.String(metadata={"description": "YYYY-MM-DD: the month's 1st or the week's Monday"})
    shipments = ma.fields.Integer(
        metadata={"description": "count shipped in the period (the lane's volume: shipments are its unit)"}
    )
    revenue = ma.fields.Float(metadata={"description": f"{MONEY}, summed over the period"})
    cost = ma.fields.Float(metadata={"description": f"{MONEY}, summed over the period"})
    margin = ma.fields.Float(metadata={"description": f"revenue − cost, {MONEY}, over the period"})
    margin_share = ma.fields.Float(
        allow_none=True,
        metadata={"description": "margin / revenue, 0–1 (negative at a loss); null: no revenue"},
    )
    delivered = ma.fields.Integer(metadata={"description": "count delivered with a promised time"})
    otif = ma.fields.Float(
        allow_none=True,
        metadata={
            "description": "share on time (delivered by the promise) and in full, 0–1; null: none delivered"
        },
    )
    damaged = ma.fields.Integer(metadata={"description": "count of damaged shipments"})
    damage_rate = ma.fields.Float(allow_none=True, metadata={"description": "damaged / shipments, 0–1"})
    claims = ma.fields.Integer(metadata={"description": "count of shipments with a claim"})
    claim_amount = ma.fields.Float(metadata={"description": f"{MONEY}, summed over the period"})


class TotalsOut(PeriodOut):
    class Meta:
        exclude = ("period",)


class LaneTotalsOut(TotalsOut):
    link_id = Id()
    as_role = ma.fields.String(metadata={"description": "the customer's end of the lane"})
    partner_id = Id(metadata={"description": "the other end"})
    partner_name = ma.fields.String(allow_none=True, metadata={"description": "null when not yours to see"})
    origin = ma.fields.String()
    destination = ma.fields.String()
    service_type = enum_field(ServiceType)
    status = enum_field(LinkStatus)


class LinkMetricsOut(ma.Schema):
    link_id = Id()
    start = ma.fields.DateTime(data_key="from", metadata={"description": "first shipping time counted"})
    end = ma.fields.DateTime(data_key="to", metadata={"description": "shipments before this"})
    interval = ma.fields.String(metadata={"description": "the length of each period: month or week"})
    series = ma.fields.List(
        ma.fields.Nested(PeriodOut),
        metadata={"description": "every period the range touches, empty ones too"},
    )
    totals = ma.fields.Nested(TotalsOut, metadata={"description": "the same figures over the whole range"})


class CustomerMetricsOut(LinkMetricsOut):
    class Meta:
        exclude = ("link_id",)

    customer_id = Id()
    role = ma.fields.String(allow_none=True)
    lanes_total = ma.fields.Integer(metadata={"description": "all its lanes (of the role asked)"})
    lanes = ma.fields.List(
        ma.fields.Nested(LaneTotalsOut),
        metadata={"description": "its lanes_limit lanes earning most over the range, largest first"},
    )
