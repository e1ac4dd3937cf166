"""The companies: regions, industries, and the account managers who own them."""

from __future__ import annotations

from collections import defaultdict


def test_companies_spread_over_regions_and_industries(customers):
    assert {c.region for c in customers.values()} >= {
        "China East",
        "China South",
        "Germany",
        "Benelux",
        "Poland",
        "USA West",
    }
    assert {c.industry for c in customers.values()} >= {
        "FMCG",
        "retail",
        "automotive",
        "electronics",
        "pharma",
        "chemicals",
    }


def test_three_account_managers_share_the_companies(customers):
    owners = defaultdict(int)
    for c in customers.values():
        owners[c.owner_id] += 1
    assert len(owners) == 3 and min(owners.values()) >= 0.2 * len(customers)
