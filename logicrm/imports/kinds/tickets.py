"""Tickets: complaints, claims and requests of a customer, optionally about one of its lanes."""

from __future__ import annotations

from logicrm.imports.columns import Choice, Column, DateTime, Text, money, ref
from logicrm.imports.kinds.base import Context, CustomerRef, Row
from logicrm.imports.kinds.bulk import RelatedKind
from logicrm.tickets import service as tickets
from logicrm.tickets.models import Severity, Ticket, TicketKind, TicketStatus


class Tickets(RelatedKind):
    name = "tickets"
    model = Ticket
    entity = "ticket"
    record_kind = tickets.TICKETS
    columns = (
        Column("external_ref", ref(), required=True),
        Column("customer_ref", ref(), required=True),
        Column("link_ref", ref(), doc="the lane it is about (one of the customer's)"),
        Column("kind", Choice(TicketKind), required=True),
        Column("severity", Choice(Severity), default=Severity.MEDIUM),
        Column("subject", Text(300), required=True),
        Column("opened_at", DateTime(), required=True),
        Column("first_response_at", DateTime()),
        Column("resolved_at", DateTime()),
        Column("status", Choice(TicketStatus), default=TicketStatus.OPEN),
        Column("claim_amount", money()),
    )
    plain = (
        "kind",
        "severity",
        "subject",
        "opened_at",
        "first_response_at",
        "resolved_at",
        "status",
        "claim_amount",
    )
    fields = {"customer_id": "customer_ref", "link_id": "link_ref"}
    not_before = {"first_response_at": "opened_at", "resolved_at": "opened_at"}

    def resolve(self, ctx: Context, rows: list[Row]) -> None:
        ctx.links(row.values["link_ref"] for row in rows if row.values.get("link_ref"))  # one query a batch
        super().resolve(ctx, rows)

    def resolve_more(self, ctx: Context, row: Row, customer: CustomerRef) -> None:
        if "link_ref" in row.values:
            link_ref = row.values["link_ref"]
            link = ctx.links([link_ref])[link_ref] if link_ref else None
            if link_ref and (link is None or customer.id not in (link.shipper_id, link.consignee_id)):
                row.error("link_ref", f"customer {row.values['customer_ref']!r} has no link {link_ref!r}")
            row.record["link_id"] = link.id if link else None
