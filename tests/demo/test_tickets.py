"""Tickets of every kind a logistics provider's desk meets, a few still open, the resolved ones settled."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from logicrm.customers.models import Customer
from logicrm.tickets.models import Ticket, TicketKind
from tests.demo.conftest import OPEN

# what the default handling plans compensate: claims, damage and losses, delays (a freight refund), invoice
# errors and severe complaints (credit notes)
COMPENSATED = {TicketKind.CLAIM, TicketKind.DAMAGE, TicketKind.LOSS, TicketKind.DELAY, TicketKind.BILLING,
               TicketKind.COMPLAINT}  # fmt: skip


def test_every_kind_at_a_believable_volume_a_few_open(session):
    volumes = Counter(dict(session.execute(select(Ticket.kind, func.count()).group_by(Ticket.kind)).all()))
    assert set(volumes) == set(TicketKind)
    # requests are the everyday case; a loss is rarer than damage; everything happens more than a few times
    assert volumes.most_common(1)[0][0] == TicketKind.REQUEST
    assert 30 <= volumes[TicketKind.LOSS] < volumes[TicketKind.DAMAGE]
    assert min(volumes.values()) >= 30
    open_kinds = set(session.scalars(select(Ticket.kind).where(Ticket.status.in_(OPEN)).distinct()))
    assert len(open_kinds) >= 4
    assert 0 < session.scalar(select(func.count(Ticket.id)).where(Ticket.status.in_(OPEN))) < 60


def test_resolved_tickets_carry_a_root_cause_a_resolution_and_their_compensation(session):
    resolved = session.scalars(select(Ticket).where(Ticket.status.not_in(OPEN))).all()
    assert all(t.root_cause and t.resolution and t.resolved_at for t in resolved)
    compensated = Counter(t.kind for t in resolved if t.compensation_amount)
    assert set(compensated) == COMPENSATED
    for ticket in resolved:
        if (
            ticket.kind in (TicketKind.CLAIM, TicketKind.DAMAGE, TicketKind.LOSS)
            and ticket.compensation_amount
        ):
            assert ticket.compensation_amount == ticket.claim_amount  # the handling plan settles the claim
        if ticket.kind == TicketKind.DELAY and ticket.compensation_amount:
            assert ticket.compensation_amount <= 2000  # a tenth of the freight, at most 2,000
    still_open = session.scalars(select(Ticket).where(Ticket.status.in_(OPEN))).all()
    assert not any(t.root_cause or t.compensation_amount for t in still_open)


def test_every_ticket_is_assigned_as_the_desk_would_with_its_due_times(session):
    owners = dict(session.execute(select(Customer.id, Customer.owner_id)).all())
    for ticket in session.scalars(select(Ticket)):
        assert ticket.assignee_id == owners[ticket.customer_id]  # no service agents in the demo: the owner
        assert ticket.first_response_due_at and ticket.resolution_due_at and ticket.priority
