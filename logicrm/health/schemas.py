"""Alert, job-run and snapshot payloads."""

from __future__ import annotations

import marshmallow as ma

from logicrm.api import PageArgs, PageMeta
from logicrm.db import utcnow
from logicrm.health import kpis
from logicrm.health.models import AlertState, RunStatus
from logicrm.schemas import AwareDateTime, Id, enum_field
from logicrm.tickets.models import Severity

F = ma.fields


class AlertListArgs(PageArgs):
    state = enum_field(AlertState)
    rule = F.String(validate=ma.validate.Length(max=40))
    severity = enum_field(Severity)
    customer_id = Id()
    owner_id = Id()


class AlertOut(ma.Schema):
    id = Id()
    customer_id = Id()
    rule = F.String()
    severity = enum_field(Severity)
    state = enum_field(AlertState)
    value = F.Float(metadata={"description": "the rule's measure; higher is worse"})
    message = F.String()
    details = F.Dict()
    first_seen = F.DateTime()
    last_seen = F.DateTime()
    acknowledged_at = F.DateTime(allow_none=True)
    acknowledged_by_id = Id(allow_none=True)
    resolved_at = F.DateTime(allow_none=True)


class RunListArgs(PageArgs):
    job = F.String(validate=ma.validate.Length(max=40))
    slot = F.String(validate=ma.validate.Length(max=64))
    status = enum_field(RunStatus)


class RunOut(ma.Schema):
    id = Id()
    job = F.String()
    slot = F.String()
    status = enum_field(RunStatus)
    started_at = F.DateTime()
    finished_at = F.DateTime(allow_none=True)
    counts = F.Dict(
        metadata={
            "description": "customers, findings, alerts opened/refreshed/resolved, deliveries, seconds per phase"
        }
    )
    error = F.String(allow_none=True)
    config_hash = F.String(allow_none=True)


class SnapshotOut(ma.Schema):
    id = Id()
    run_id = Id()
    taken_at = F.DateTime()
    satisfaction = F.Float(allow_none=True, metadata={"description": "0–1 (×100 for display)"})
    two_sided = F.Float(allow_none=True)
    coverage = F.Float()
    loyalty_nps = F.Float(allow_none=True)
    own_risk = F.Float()
    network_risk = F.Float()
    exposure = F.Float()
    revenue_12m = F.Float()
    profit_12m = F.Float()
    abc_class = F.String()
    departments = F.List(F.Dict())
    drivers = F.List(F.Dict())


class HistoryArgs(PageArgs):
    start = AwareDateTime(data_key="from", metadata={"description": "snapshots taken at or after this"})
    end = AwareDateTime(data_key="to", metadata={"description": "snapshots taken before this"})

    @ma.validates_schema
    def _ordered(self, data, **_kwargs):
        if data.get("start") and data.get("end") and data["start"] >= data["end"]:
            raise ma.ValidationError(f"must be before to ({data['end'].isoformat()})", "from")


class TrendOut(ma.Schema):
    points = F.Integer(metadata={"description": "snapshots in the range that know the measure"})
    first = F.Float(allow_none=True, metadata={"description": "at the earliest of them"})
    last = F.Float(allow_none=True, metadata={"description": "at the latest of them"})
    change = F.Float(allow_none=True, metadata={"description": "last − first, in the measure's unit"})
    slope_per_30_days = F.Float(
        allow_none=True,
        metadata={"description": "least-squares slope over the range, the measure's unit per 30 days"},
    )


class HistoryTrendOut(ma.Schema):
    satisfaction = F.Nested(TrendOut, metadata={"description": "satisfaction score, 0–1"})
    own_risk = F.Nested(TrendOut, metadata={"description": "own churn risk, a probability 0–1"})
    network_risk = F.Nested(TrendOut, metadata={"description": "churn risk with the network's, 0–1"})
    revenue_12m = F.Nested(
        TrendOut, metadata={"description": "revenue of the 12 months before each snapshot, account currency"}
    )
    profit_12m = F.Nested(
        TrendOut, metadata={"description": "profit of the 12 months before each snapshot, account currency"}
    )


class HistoryPage(ma.Schema):
    items = F.List(F.Nested(SnapshotOut))
    meta = F.Nested(PageMeta)
    trend = F.Nested(
        HistoryTrendOut, metadata={"description": "over every snapshot in the range, not one page"}
    )


MONEY_YEAR = "account currency, over the 12 months before the point"
SHARE = "a share 0–1"


class KpiArgs(ma.Schema):
    start = AwareDateTime(
        data_key="from", metadata={"description": "points at or after this (default: 3 years before `to`)"}
    )
    end = AwareDateTime(data_key="to", metadata={"description": "points before this (default: now)"})

    @ma.post_load
    def _range(self, data, **_kwargs):
        end = data.get("end") or utcnow()
        start = data.get("start") or end - kpis.DEFAULT_SPAN
        if start >= end:
            raise ma.ValidationError(f"must be before to ({end.isoformat()})", "from")
        return {"start": start, "end": end}


class KpiRetentionOut(ma.Schema):
    """Paying customers of the year before the point (the base) against the year up to it."""

    base_customers = F.Integer(
        metadata={"description": "customers paying in the year before the last 12 months"}
    )
    retained_customers = F.Integer(
        metadata={"description": "of the base, those still paying in the last 12 months"}
    )
    customer_retention = F.Float(
        allow_none=True, metadata={"description": f"retained / base, {SHARE}, yearly"}
    )
    churned_customers = F.Integer(metadata={"description": "base − retained, over the last 12 months"})
    churn_rate = F.Float(allow_none=True, metadata={"description": f"churned / base, {SHARE}, yearly"})
    base_revenue = F.Float(
        metadata={"description": "the base's revenue in the year before the last 12 months, account currency"}
    )
    revenue_retention = F.Float(
        allow_none=True,
        metadata={
            "description": f"gross: the base's revenue kept (each capped at its earlier year) / base revenue, {SHARE}, yearly"
        },
    )
    churned_revenue = F.Float(
        metadata={"description": "earlier-year revenue of the churned customers, account currency"}
    )
    revenue_churn_rate = F.Float(
        allow_none=True, metadata={"description": f"churned revenue / base revenue, {SHARE}, yearly"}
    )
    net_revenue_retention = F.Float(
        allow_none=True,
        metadata={
            "description": "the base's revenue in the last 12 months / base revenue (above 1: growth), yearly"
        },
    )


class KpiRevenueOut(ma.Schema):
    paying_customers = F.Integer(
        metadata={"description": "customers with revenue in the 12 months before the point"}
    )
    revenue = F.Float(metadata={"description": MONEY_YEAR})
    repeat_contract_share = F.Float(
        allow_none=True,
        metadata={"description": f"revenue share of customers with a won renewal, {SHARE}, 12 months"},
    )
    pareto_ratio = F.Float(
        allow_none=True,
        metadata={
            "description": f"revenue share of the top 20% of paying customers (payers only), {SHARE}, 12 months"
        },
    )
    pareto_label = F.String(metadata={"description": "what the Pareto ratio counts, in words"})
    top_10_share = F.Float(
        allow_none=True,
        metadata={"description": f"revenue share of the 10 largest accounts, {SHARE}, 12 months"},
    )
    herfindahl = F.Float(
        allow_none=True,
        metadata={
            "description": "sum of squared revenue shares of paying customers, 0–1 (1: one customer), 12 months"
        },
    )


class KpiAcquisitionOut(ma.Schema):
    channel = F.String(metadata={"description": "the customer's acquisition channel, or unknown"})
    customers = F.Integer(
        metadata={"description": "count whose first paid shipment fell in the 12 months before the point"}
    )
    revenue = F.Float(metadata={"description": f"theirs, {MONEY_YEAR}"})


class KpiLifetimeValueOut(ma.Schema):
    years_multiplier = F.Float(
        allow_none=True,
        metadata={
            "description": "r / (1 + d − r): expected remaining years, discounted (r: yearly customer retention, d: 10%)"
        },
    )
    average = F.Float(
        allow_none=True,
        metadata={"description": "a paying customer's yearly margin × the multiplier, account currency"},
    )
    total = F.Float(allow_none=True, metadata={"description": "every paying customer's, account currency"})
    expected_shipments_per_customer = F.Float(
        allow_none=True,
        metadata={"description": "a paying customer's yearly shipments × the multiplier, count"},
    )


class KpiFlowOut(ma.Schema):
    source = F.String(
        attribute="from",
        data_key="from",
        metadata={"description": "stage at `since` (new: not a customer then)"},
    )
    target = F.String(attribute="to", data_key="to", metadata={"description": "stage at the point"})
    customers = F.Integer(metadata={"description": "count moving between `since` and the point"})


class KpiLifecycleOut(ma.Schema):
    since = F.String(metadata={"description": "the previous point: flows count the moves since then"})
    counts = F.Dict(
        keys=F.String(),
        values=F.Integer(),
        metadata={"description": "customers per stage at the point: " + ", ".join(kpis.STAGES)},
    )
    flows = F.List(F.Nested(KpiFlowOut))


class KpiPointOut(ma.Schema):
    as_of = F.DateTime(metadata={"description": "the moment the figures describe"})
    run_id = Id(allow_none=True, metadata={"description": "the health run that stored them"})
    replayed = F.Boolean(metadata={"description": "computed later for a past date (no health run)"})
    retention = F.Nested(KpiRetentionOut)
    revenue = F.Nested(KpiRevenueOut)
    acquisition = F.List(F.Nested(KpiAcquisitionOut))
    lifetime_value = F.Nested(KpiLifetimeValueOut)
    lifecycle = F.Nested(KpiLifecycleOut)


class KpiSeriesOut(ma.Schema):
    start = F.DateTime(data_key="from")
    end = F.DateTime(data_key="to")
    points = F.List(F.Nested(KpiPointOut), metadata={"description": "oldest first"})
