"""Alert, job-run and snapshot payloads."""

from __future__ import annotations

import marshmallow as ma

from logicrm.api import PageArgs
from logicrm.health.models import AlertState, RunStatus
from logicrm.schemas import Id, enum_field
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
    satisfaction = F.Float(allow_none=True, metadata={"description": "0–100, as in live health"})
    two_sided = F.Float(allow_none=True, metadata={"description": "0–100, as in live health"})
    coverage = F.Float()
    loyalty_nps = F.Float(allow_none=True)
    own_risk = F.Float()
    network_risk = F.Float()
    exposure = F.Float()
    revenue_12m = F.Float()
    profit_12m = F.Float()
    abc_class = F.String()
    departments = F.List(F.Dict(), metadata={"description": "each with its score on 0–100"})
    drivers = F.List(F.Dict())
