"""The shipments: twelve months of them, a few still on their way."""

from __future__ import annotations

from sqlalchemy import func, select

from logicrm.lanes.models import Shipment
from tests.demo.conftest import NOW, days_ago


def test_twelve_months_shipped_and_a_few_in_transit(session):
    first, last = session.execute(select(func.min(Shipment.shipped_at), func.max(Shipment.shipped_at))).one()
    assert first <= days_ago(358) and days_ago(3) <= last < NOW
    in_transit = session.scalar(select(func.count(Shipment.id)).where(Shipment.delivered_at.is_(None)))
    assert 0 < in_transit < 0.1 * session.scalar(select(func.count(Shipment.id)))
