"""Ticket payloads."""

from __future__ import annotations

import marshmallow as ma

from logicrm import bounds
from logicrm.db import utcnow
from logicrm.schemas import AwareDateTime, Id, enum_field, external_ref_field, number
from logicrm.tickets.models import Severity, TicketKind, TicketStatus

Length = ma.validate.Length


class TicketIn(ma.Schema):
    external_ref = external_ref_field()
    customer_id = Id(required=True)
    link_id = Id(allow_none=True)
    kind = enum_field(TicketKind, required=True)
    severity = enum_field(Severity, load_default=Severity.MEDIUM)
    subject = ma.fields.String(required=True, validate=Length(min=1, max=300))
    opened_at = AwareDateTime(load_default=utcnow)
    first_response_at = AwareDateTime(allow_none=True)
    resolved_at = AwareDateTime(allow_none=True)
    status = enum_field(TicketStatus, load_default=TicketStatus.OPEN)
    claim_amount = number(bounds.MONEY, allow_none=True)

    @ma.validates_schema
    def _ordered(self, data, **_kwargs):
        opened = data.get("opened_at")
        for field in ("first_response_at", "resolved_at"):
            if opened and data.get(field) and data[field] < opened:
                raise ma.ValidationError("must not be before opened_at", field)


class TicketOut(TicketIn):
    id = Id()
    version = ma.fields.Integer()
