"""Fixtures of the export tests: a portfolio split between two account managers, and reading a CSV."""

from __future__ import annotations

import csv
import io

import pytest

from tests import factories as f


def records(text: str) -> list[dict]:
    """The rows of a CSV text (its byte-order mark dropped), by column name."""
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


@pytest.fixture
def portfolio(api, actors):
    """am owns shipper A1 and consignee A2; am2 owns B1 (shipper) and B2 (consignee); lanes and shipments
    A1→A2 (am only), A1→B2 (both), B1→B2 (am2 only); a contact, snapshot and alert on A1 and on B1."""
    am, am2 = api.as_(actors["am"]), api.as_(actors["am2"])
    a1 = f.customer(am, "A1", external_ref="A1", roles=("shipper",))
    a2 = f.customer(am, "A2", external_ref="A2", roles=("consignee",))
    b1 = f.customer(am2, "B1", external_ref="B1", roles=("shipper",))
    b2 = f.customer(am2, "B2", external_ref="B2", roles=("consignee",))
    for shipper, consignee in ((a1, a2), (a1, b2), (b1, b2)):
        lane = f.link(api, shipper, consignee, external_ref=f"{shipper['name']}-{consignee['name']}")
        f.shipments(api, lane, external_ref=f"S-{lane['external_ref']}")
    for customer in (a1, b1):
        f.contact(api, customer, external_ref=f"C-{customer['name']}")
        f.department(api, customer)
    return {"a1": a1, "b1": b1}
