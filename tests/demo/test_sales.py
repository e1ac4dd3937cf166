"""Opportunities of every kind."""

from __future__ import annotations

from sqlalchemy import select

from logicrm.sales.models import Opportunity, OpportunityKind


def test_opportunities_of_every_kind(session):
    assert set(session.scalars(select(Opportunity.kind).distinct())) == set(OpportunityKind)
