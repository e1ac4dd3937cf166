"""Company names and registration numbers in each region's style."""

from __future__ import annotations


def test_names_are_latin_and_chinese_with_legal_suffixes_and_unique(customers):
    """Latin and Chinese names with legal suffixes, unique after normalisation."""
    names = [c.name for c in customers.values()]
    assert len({c.normalized_name for c in customers.values()}) == len(customers)
    assert any("有限公司" in name for name in names) and any(name.endswith("GmbH") for name in names)
    assert any(name.endswith("Co., Ltd.") for name in names) and any(name.endswith("B.V.") for name in names)


def test_most_companies_have_a_registration_number(customers):
    assert sum(c.registration_number is not None for c in customers.values()) >= 0.8 * len(customers)
