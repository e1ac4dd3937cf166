"""Teams on the bigger accounts, shipper contracts and consignee sites."""

from __future__ import annotations

from sqlalchemy import select

from logicrm.consignees.models import ConsigneeProfile
from logicrm.shippers.models import ShipperProfile


def test_bigger_accounts_have_teams(customers):
    assert sum(bool(c.team) for c in customers.values()) >= 20


def test_profiles_have_sites_as_text_and_services(session):
    profiles = session.scalars(select(ConsigneeProfile)).all()
    assert all(p.sites and all(isinstance(site, str) for site in p.sites) for p in profiles)  # API shape
    assert all(p.services for p in session.scalars(select(ShipperProfile)))
