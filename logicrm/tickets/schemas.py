"""Ticket payloads: the ticket, the queue, the timeline, notes and callbacks."""

from __future__ import annotations

import marshmallow as ma

from logicrm import bounds
from logicrm.api import PageArgs
from logicrm.customers.models import Tier
from logicrm.db import utcnow
from logicrm.schemas import AwareDateTime, Id, enum_field, external_ref_field, long_text, number
from logicrm.tickets.models import (
    Priority,
    RootCause,
    Severity,
    TicketEventKind,
    TicketKind,
    TicketStatus,
)

Length = ma.validate.Length
F = ma.fields


class TicketIn(ma.Schema):
    external_ref = external_ref_field()
    customer_id = Id(required=True)
    link_id = Id(allow_none=True)
    contact_id = Id(allow_none=True, metadata={"description": "who raised it"})
    assignee_id = Id(
        allow_none=True,
        metadata={
            "description": "an active user covering the account; by default its service agent, else its owner"
        },
    )
    kind = enum_field(TicketKind, required=True)
    severity = enum_field(Severity, load_default=Severity.MEDIUM)
    priority = enum_field(
        Priority,
        metadata={"description": "by default from the severity, one up for VIP, one down for standard"},
    )
    subject = F.String(required=True, validate=Length(min=1, max=300))
    opened_at = AwareDateTime(load_default=utcnow)
    first_response_at = AwareDateTime(allow_none=True)
    resolved_at = AwareDateTime(allow_none=True)
    status = enum_field(
        TicketStatus,
        load_default=TicketStatus.OPEN,
        metadata={"description": "resolving or closing an open ticket takes root_cause and resolution"},
    )
    claim_amount = number(bounds.MONEY, allow_none=True)
    root_cause = enum_field(RootCause, allow_none=True)
    resolution = long_text(allow_none=True, metadata={"description": "what was done"})
    compensation_amount = number(bounds.MONEY, allow_none=True, description="what the customer was given")

    @ma.validates_schema
    def _ordered(self, data, **_kwargs):
        opened = data.get("opened_at")
        for field in ("first_response_at", "resolved_at"):
            if opened and data.get(field) and data[field] < opened:
                raise ma.ValidationError("must not be before opened_at", field)


class CompensationOut(ma.Schema):
    kind = F.String(metadata={"description": "none, credit_note, freight_refund or claim_amount"})
    percent = F.Float(allow_none=True)
    max_amount = F.Float(allow_none=True)


class NextEscalationOut(ma.Schema):
    step = F.Integer()
    at = F.DateTime()
    escalate_to = F.String()


class HandlingOut(ma.Schema):
    kind = enum_field(TicketKind, allow_none=True, metadata={"description": "the plan's kind (null: any)"})
    severity = enum_field(Severity, allow_none=True)
    customer_message = F.String(metadata={"description": "what the customer is told"})
    compensation = F.Nested(CompensationOut)
    next_escalation = F.Nested(NextEscalationOut, allow_none=True)


class TicketOut(TicketIn):
    id = Id()
    priority = enum_field(Priority)
    first_response_due_at = F.DateTime(allow_none=True)
    resolution_due_at = F.DateTime(allow_none=True)
    sla_version = F.Integer(
        allow_none=True, metadata={"description": "the rulebook version of the due times"}
    )
    escalation_level = F.Integer(metadata={"description": "handling-plan steps taken"})
    breach_at = F.DateTime(
        allow_none=True, metadata={"description": "the next due time an open ticket must meet"}
    )
    breached = F.Boolean(metadata={"description": "a due time was (or is by now) missed"})
    handling = F.Nested(HandlingOut)
    version = F.Integer()


class TicketListArgs(PageArgs):
    customer_id = Id()
    status = enum_field(TicketStatus)
    assignee_id = Id()
    unassigned = F.Boolean(load_default=False, metadata={"description": "only tickets nobody is assigned"})
    kind = enum_field(TicketKind)
    breached = F.Boolean(metadata={"description": "true: only breached; false: only within their SLA"})


class QueueArgs(PageArgs):
    assignee_id = Id()
    unassigned = F.Boolean(load_default=False)
    team_member_id = Id(metadata={"description": "accounts this user owns or is on the team of"})
    tier = enum_field(Tier)
    kind = enum_field(TicketKind)
    breached = F.Boolean()


class TicketEventOut(ma.Schema):
    id = Id()
    ticket_id = Id()
    at = F.DateTime()
    user_id = Id(allow_none=True)
    kind = enum_field(TicketEventKind)
    text = F.String(allow_none=True)
    details = F.Dict(keys=F.String())
    escalation_step = F.Integer(allow_none=True)


class NoteIn(ma.Schema):
    text = F.String(required=True, validate=Length(min=1, max=bounds.LONG_TEXT))
    to_customer = F.Boolean(
        load_default=False,
        metadata={"description": "a reply told the customer; the first one is the ticket's first response"},
    )


class CallbackIn(ma.Schema):
    outcome = F.String(required=True, validate=Length(min=1, max=bounds.LONG_TEXT))
    satisfaction = number(
        bounds.CALLBACK_SCORE,
        integer=True,
        allow_none=True,
        load_default=None,
        description="the answer to 'how satisfied are you with how we handled it?'",
    )
    department_id = Id(
        allow_none=True,
        load_default=None,
        metadata={"description": "who answered; by default the callback's or the contact's department"},
    )
    contact_id = Id(allow_none=True, load_default=None)
    comment = long_text(allow_none=True, load_default=None)


class CallbackOut(ma.Schema):
    task_ids = F.List(Id(), metadata={"description": "the callback tasks now done"})
    survey_id = Id(allow_none=True, metadata={"description": "the survey response holding the answer"})
