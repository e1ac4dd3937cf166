"""Service KPI payloads."""

from __future__ import annotations

import marshmallow as ma

from logicrm.schemas import Id

F = ma.fields
DEFAULT_DAYS = 30
LONGEST_DAYS = 3_660


class PeriodArgs(ma.Schema):
    since = F.Date(metadata={"description": "first day (UTC); by default 30 days before until"})
    until = F.Date(metadata={"description": "last day (UTC), included; by default today"})

    @ma.validates_schema
    def _ordered(self, data, **_kwargs):
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            raise ma.ValidationError("must not be after until", "since")
        if since and until and (until - since).days >= LONGEST_DAYS:
            raise ma.ValidationError(f"a period is at most {LONGEST_DAYS} days", "since")


class KpiRowOut(ma.Schema):
    user_id = Id(metadata={"description": "the agent, or the owner whose accounts make the team"})
    name = F.String(allow_none=True)
    tickets_handled = F.Integer(metadata={"description": "resolved or closed in the period"})
    first_response_hours = F.Float(allow_none=True, metadata={"description": "mean, of the tickets handled"})
    resolution_hours = F.Float(allow_none=True, metadata={"description": "mean, from opening"})
    sla_breach_rate = F.Float(
        allow_none=True, metadata={"description": "share of the tickets handled that missed a due time"}
    )
    callbacks_done = F.Integer()
    callback_satisfaction = F.Float(allow_none=True, metadata={"description": "mean answer, 1–5"})
    tasks_done = F.Integer()
    tasks_on_time_rate = F.Float(allow_none=True, metadata={"description": "share done by their due day"})
    accounts = F.Integer(metadata={"description": "live accounts owned"})
    contacts = F.Integer(metadata={"description": "contacts that count on those accounts"})
    contacts_expected = F.Float(metadata={"description": "what their cadences ask for over the period"})
    contact_ratio = F.Float(allow_none=True, metadata={"description": "contacts / contacts_expected"})


class ServiceReportOut(ma.Schema):
    since = F.Date()
    until = F.Date()
    rulebook_version = F.Integer(metadata={"description": "the cadences and kinds that count come from it"})
    agents = F.List(F.Nested(KpiRowOut), metadata={"description": "per person assigned the work"})
    teams = F.List(
        F.Nested(KpiRowOut), metadata={"description": "per account owner: the work on their accounts"}
    )
