"""Alert, job-run and snapshot payloads."""

from __future__ import annotations

import marshmallow as ma

from logicrm.api import PageArgs, PageMeta
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
