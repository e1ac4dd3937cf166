"""Alert, job-run and snapshot payloads."""

from __future__ import annotations

import dataclasses

import marshmallow as ma

from logicrm import bounds
from logicrm.api import PageArgs, PageMeta
from logicrm.customers.models import Tier
from logicrm.db import utcnow
from logicrm.health import kpis
from logicrm.health.models import AlertState, DeliveryMode, RunStatus
from logicrm.health.rule_params import RuleParams
from logicrm.health.rules import RULES
from logicrm.relations.models import InteractionKind
from logicrm.rulebook import document
from logicrm.schemas import AwareDateTime, Id, enum_field, number
from logicrm.tasks.models import TaskKind
from logicrm.tickets.models import Severity, TicketKind

F = ma.fields
Length = ma.validate.Length


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
    rulebook_version = F.Integer(allow_none=True, metadata={"description": "the rules it was judged by"})


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
    rulebook_version = F.Integer(allow_none=True)


class SnapshotOut(ma.Schema):
    id = Id()
    run_id = Id()
    taken_at = F.DateTime()
    satisfaction = F.Float(
        allow_none=True,
        metadata={"description": "satisfaction index 0–100 (50 = expectations exactly met); null: no data"},
    )
    two_sided = F.Float(allow_none=True, metadata={"description": "two-sided satisfaction, index 0–100"})
    coverage = F.Float(metadata={"description": "share 0–1 of the decision weight with a verdict"})
    loyalty_nps = F.Float(allow_none=True, metadata={"description": "NPS −100…100; null: no data"})
    own_risk = F.Float(
        metadata={"description": "probability (0–1) of leaving within horizon_days, own evidence"}
    )
    network_risk = F.Float(
        metadata={"description": "probability (0–1) of leaving within horizon_days, partners included"}
    )
    horizon_days = F.Integer(allow_none=True, metadata={"description": "null: taken before the churn model"})
    model_version = F.Integer(allow_none=True, metadata={"description": "null: the cold-start prior"})
    p_alive = F.Float(
        allow_none=True, metadata={"description": "shipment rhythm's P(alive); null: no rhythm"}
    )
    exposure = F.Float()
    revenue_12m = F.Float()
    profit_12m = F.Float()
    abc_class = F.String()
    departments = F.List(
        F.Dict(),
        metadata={
            "description": "id, name, weight, is_decision_maker, score (index 0–100), gap (1–7 scale "
            "points, 0 = met), band, silent, no_data"
        },
    )
    drivers = F.List(F.Dict())
    rulebook_version = F.Integer(allow_none=True)


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
    satisfaction = F.Nested(
        TrendOut, metadata={"description": "satisfaction index 0–100 (50 = expectations exactly met)"}
    )
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


# The rulebook ------------------------------------------------------------------------------------------


def _threshold_field(field: dataclasses.Field) -> ma.fields.Field:
    doc = {"description": field.metadata["doc"]}
    if field.metadata.get("choices"):
        return F.String(validate=ma.validate.OneOf(field.metadata["choices"]), metadata=doc)
    if isinstance(field.default, int):
        return number(bounds.THRESHOLD_STEPS, description=doc["description"], integer=True)
    return number(bounds.THRESHOLD, description=doc["description"])


# every rule parameter, each optional: one left out keeps the value in force (LOGICRM_RULES_* or default)
ThresholdsIn = ma.Schema.from_dict(
    {f.name: _threshold_field(f) for f in dataclasses.fields(RuleParams)}, name="Thresholds"
)
RULE_NAMES = ma.validate.OneOf(list(RULES))
TIER_FIELDS = tuple(Tier)


def _per_tier(field_for, name: str, *, required: bool = True) -> type[ma.Schema]:
    return ma.Schema.from_dict({str(t): field_for(required=required) for t in TIER_FIELDS}, name=name)


class SlaIn(ma.Schema):
    first_response_hours = number(
        bounds.SLA_HOURS, required=True, description="elapsed hours to the first response"
    )
    resolution_hours = number(bounds.SLA_HOURS, required=True, description="elapsed hours to resolution")

    @ma.validates_schema
    def _ordered(self, data, **_kwargs):
        if data["first_response_hours"] > data["resolution_hours"]:
            raise ma.ValidationError("must not be more than resolution_hours", "first_response_hours")


SlaPerTierIn = ma.Schema.from_dict(
    {str(t): F.Nested(SlaIn, required=True) for t in TIER_FIELDS}, name="SlaPerTier"
)


class EscalationStepIn(ma.Schema):
    at_sla_share = number(
        bounds.SLA_SHARE,
        required=True,
        description="escalate once this share of the resolution time has passed",
    )
    escalate_to = F.String(required=True, validate=ma.validate.OneOf(document.ESCALATION_TARGETS))
    reassign = F.Boolean(
        load_default=False, metadata={"description": "also assign the ticket to that person"}
    )


class CompensationIn(ma.Schema):
    kind = F.String(required=True, validate=ma.validate.OneOf(document.COMPENSATIONS))
    percent = number(
        bounds.PERCENT, allow_none=True, load_default=None, description="of the freight or claim"
    )
    max_amount = number(bounds.MONEY, allow_none=True, load_default=None)


class HandlingPlanIn(ma.Schema):
    kind = enum_field(
        TicketKind, allow_none=True, load_default=None, metadata={"description": "null: any kind"}
    )
    severity = enum_field(Severity, allow_none=True, load_default=None, metadata={"description": "null: any"})
    customer_message = F.String(required=True, validate=Length(min=1, max=2000))
    compensation = F.Nested(CompensationIn, required=True)
    steps = F.List(F.Nested(EscalationStepIn), load_default=list, validate=Length(max=10))

    @ma.validates_schema
    def _in_order(self, data, **_kwargs):
        shares = [step["at_sla_share"] for step in data["steps"]]
        if shares != sorted(set(shares)):
            raise ma.ValidationError("steps must come at increasing shares of the resolution time", "steps")


def _due_days(required: bool = True) -> ma.fields.Field:
    return number(bounds.DUE_DAYS, integer=True, required=required)


def _cadence_days(required: bool = True) -> ma.fields.Field:
    return number(bounds.CADENCE_DAYS, integer=True, required=required)


def _task_kind(required: bool = True) -> ma.fields.Field:
    return enum_field(TaskKind, required=required)


class CallbackRulesIn(ma.Schema):
    kinds = F.List(
        enum_field(TicketKind), required=True, metadata={"description": "ticket kinds called back"}
    )
    due_days = F.Nested(_per_tier(_due_days, "CallbackDueDays"), required=True)
    survey = F.Boolean(required=True, metadata={"description": "ask the one-question satisfaction survey"})
    expectation = number(
        bounds.CALLBACK_SCORE, required=True, description="the answer (1–5) that means expectations are met"
    )


class CadenceIn(ma.Schema):
    counting_kinds = F.List(
        enum_field(InteractionKind),
        required=True,
        validate=Length(min=1),
        metadata={"description": "interaction kinds that count as contact (an email newsletter does not)"},
    )
    days = F.Nested(_per_tier(_cadence_days, "CadenceDays"), required=True)
    departments = F.Dict(
        keys=F.String(validate=Length(min=1, max=100)),
        values=F.Nested(_per_tier(_cadence_days, "DepartmentCadenceDays", required=False)),
        load_default=dict,
        metadata={"description": "per deciding department (by name): its own cadence on some tiers"},
    )
    task_lead_days = number(
        bounds.DUE_DAYS,
        integer=True,
        required=True,
        description="the task opens this long before the cadence runs out",
    )
    task_kind = F.Nested(_per_tier(_task_kind, "CadenceTaskKind"), required=True)


def _template(text: str) -> None:
    try:
        names = document.template_fields(text)
    except ValueError as error:
        raise ma.ValidationError(str(error)) from None
    unknown = sorted(set(names) - set(document.PLACEHOLDERS))
    if unknown:
        raise ma.ValidationError(f"unknown placeholders {unknown}; use {list(document.PLACEHOLDERS)}")


class PlaybookStepIn(ma.Schema):
    kind = enum_field(TaskKind, required=True)
    title = F.String(
        required=True,
        validate=[Length(min=1, max=300), _template],
        metadata={"description": "may name {customer}, {tier}, {rule} and {department}"},
    )
    due_days = number(
        bounds.DUE_DAYS, integer=True, required=True, description="due this long after the alert opens"
    )
    assignee = F.String(
        required=True,
        validate=ma.validate.OneOf(document.PEOPLE),
        metadata={"description": "the owner, or the team member in that role (else the owner)"},
    )
    tiers = F.List(
        enum_field(Tier), allow_none=True, load_default=None, metadata={"description": "null: every tier"}
    )
    for_each_department = F.Boolean(
        load_default=False, metadata={"description": "one task per department the alert names"}
    )


class RulebookDocumentIn(ma.Schema):
    thresholds = F.Nested(ThresholdsIn, load_default=dict)
    disabled_rules = F.List(F.String(validate=RULE_NAMES), load_default=list)
    sla = F.Nested(SlaPerTierIn, required=True)
    handling_plans = F.List(
        F.Nested(HandlingPlanIn),
        required=True,
        validate=Length(min=1, max=100),
        metadata={"description": "the most specific plan matching a ticket's kind and severity applies"},
    )
    callback = F.Nested(CallbackRulesIn, required=True)
    cadence = F.Nested(CadenceIn, required=True)
    playbooks = F.Dict(
        keys=F.String(validate=RULE_NAMES),
        values=F.List(F.Nested(PlaybookStepIn), validate=Length(max=20)),
        required=True,
    )

    @ma.validates_schema
    def _catch_all(self, data, **_kwargs):
        if not any(plan["kind"] is None and plan["severity"] is None for plan in data["handling_plans"]):
            raise ma.ValidationError(
                "add a plan for any kind and severity (kind and severity null)", "handling_plans"
            )


class RulebookIn(ma.Schema):
    note = F.String(
        allow_none=True, load_default=None, validate=Length(max=500), metadata={"description": "why"}
    )
    document = F.Nested(RulebookDocumentIn, required=True)


class RulebookPatchIn(ma.Schema):
    note = F.String(allow_none=True, load_default=None, validate=Length(max=500))
    document = F.Dict(
        keys=F.String(),
        required=True,
        metadata={
            "description": "a JSON merge patch (RFC 7396) of the document: objects merge, null removes"
        },
    )


class RulebookOut(ma.Schema):
    version = F.Integer(metadata={"description": "0: the built-in defaults, nothing saved yet"})
    created_at = F.DateTime(allow_none=True)
    created_by_id = Id(allow_none=True)
    note = F.String(allow_none=True)
    document = F.Dict(
        keys=F.String(), metadata={"description": "thresholds as in force, every section whole"}
    )
    rules = F.Dict(
        keys=F.String(), values=F.String(), metadata={"description": "every rule and what it checks"}
    )


class AlertSettingsModesIn(ma.Schema):
    low = enum_field(DeliveryMode)
    medium = enum_field(DeliveryMode)
    high = enum_field(DeliveryMode)


class AlertSettingsIn(ma.Schema):
    modes = F.Nested(
        AlertSettingsModesIn,
        load_default=dict,
        metadata={"description": "per severity: immediate (email at once, and in the digest), digest or off"},
    )
    customer_ids = F.List(
        Id(),
        load_default=list,
        validate=Length(max=10_000),
        metadata={"description": "accounts whose alerts you follow without being on their team"},
    )


class AlertSettingsOut(ma.Schema):
    modes = F.Nested(AlertSettingsModesIn)
    customer_ids = F.List(Id(), metadata={"description": "the accounts you subscribe to"})
