"""The links: dual roles trade both ways, power-law fan-out, mostly single-shipper consignees."""

from __future__ import annotations

import statistics
from collections import defaultdict

from sqlalchemy import func, select

from logicrm.lanes.models import Link, Shipment


def test_links_fan_out_by_a_power_law(session, shipper_ids, consignee_ids):
    """Dual roles trade both ways, power-law fan-out, mostly single-shipper consignees."""
    dual = shipper_ids & consignee_ids
    links = session.execute(select(Link.shipper_id, Link.consignee_id)).all()
    consignees_of, shippers_of = defaultdict(set), defaultdict(set)
    for shipper, consignee in links:
        consignees_of[shipper].add(consignee)
        shippers_of[consignee].add(shipper)
    assert all(consignees_of[d] and shippers_of[d] for d in dual)
    fan_out = sorted(len(consignees_of[s]) for s in shipper_ids)
    assert fan_out[-1] >= 4 * statistics.median(fan_out) and statistics.median(fan_out) <= 12
    served = [len(shippers_of[c]) for c in consignee_ids]
    assert (
        min(served) >= 1
        and sum(n == 1 for n in served) >= 0.6 * len(served)
        and sum(n > 1 for n in served) >= 20
    )


def test_some_links_have_only_a_declared_volume(session):
    declared_only = session.scalar(
        select(func.count(Link.id)).where(
            Link.declared_monthly_volume.is_not(None),
            ~select(Shipment.id).where(Shipment.link_id == Link.id).exists(),
        )
    )
    assert declared_only >= 3
