"""Name normalisation (pure) and duplicate detection through the API."""

from __future__ import annotations

import pytest

from logicrm.customers.names import normalize_name, search_pattern
from tests import factories as f


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("ACME Logistics GmbH", "Acme Logistics"),
        ("Acme Logistics Co., Ltd.", "acme logistics"),
        ("ＡＣＭＥ　Ｌｏｇｉｓｔｉｃｓ", "Acme Logistics"),
        ("Acme-Logistics, Inc.", "ACME LOGISTICS"),
        ("Müller & Söhne AG", "MÜLLER AND SÖHNE"),
        ("Acme Logistics GmbH & Co. KG", "Acme Logistics"),
        ("Smith & Co.", "Smith"),
        ("上海华联物流有限公司", "上海华联物流股份有限公司"),
        ("上海华联物流有限责任公司", "上海华联物流"),
        ("上海ＡＢＣ物流有限公司", "上海abc物流"),
        ("（上海）华联·物流", "上海华联物流"),
    ],
)
def test_same_company_normalises_equal(a, b):
    assert normalize_name(a) == normalize_name(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Acme Logistics", "Acme Logistic"),
        ("ab c", "abc"),
        ("上海华联物流", "北京华联物流"),
        ("Acme Air", "Acme Sea"),
        ("Smith & Sons", "Smith"),
    ],
)
def test_different_companies_stay_apart(a, b):
    assert normalize_name(a) != normalize_name(b)


def test_normalised_form():
    assert normalize_name("  ACME   Logistics GmbH ") == "acme logistics"
    assert normalize_name("上海ＡＢＣ物流有限公司") == "上海abc物流"
    # A name that is only a legal form keeps it rather than becoming empty.
    assert normalize_name("GmbH") == "gmbh"
    assert normalize_name("华联物流（上海）有限公司") == normalize_name("华联物流 上海") == "华联物流上海"
    assert search_pattern("ACME Logistics Ltd") == "%acme logistics%"
    # Pure punctuation normalises to nothing; it is searched for literally, LIKE wildcards escaped.
    assert search_pattern("%_") == "%\\%\\_%"
    assert search_pattern("华联") == "%华联%"


DUPLICATES = [
    ("ACME Logistics GmbH", "Acme Logistics"),
    ("Beta Freight Co., Ltd.", "ｂｅｔａ　ＦＲＥＩＧＨＴ"),
    ("上海华联物流有限公司", "上海华联物流股份有限公司"),
    ("上海ＡＢＣ物流有限公司", "上海abc物流"),
]


def test_probable_duplicate_answers_409_unless_insisted(api):
    other = f.customer(api, "Unrelated Trading")
    for first, second in DUPLICATES:
        existing = f.customer(api, first)
        refused = api.post("/customers", json={"name": second})
        assert refused.status_code == 409, (first, second, refused.json)
        assert refused.json["existing_id"] == existing["id"] and "name" in refused.json["errors"]["json"]
        forced = api.post("/customers", json={"name": second}, query={"allow_duplicate": "true"})
        assert forced.status_code == 201 and forced.json["normalized_name"] == existing["normalized_name"]
        # Renaming into a duplicate is refused the same way.
        renamed = api.update(f"/customers/{other['id']}", {"name": first})
        assert renamed.status_code == 409 and renamed.json["existing_id"] == existing["id"]
    assert api.get("/customers").json["meta"]["total"] == 1 + 2 * len(DUPLICATES)
    assert api.get(f"/customers/{other['id']}").json["name"] == "Unrelated Trading"


def test_same_registration_number_is_refused_even_when_insisting(api):
    existing = f.customer(api, "Acme Logistics", registration_number="91310000MA1FL0001X")
    for query in ({}, {"allow_duplicate": "true"}):
        refused = api.post(
            "/customers",
            json={"name": "Totally Different", "registration_number": "91310000MA1FL0001X"},
            query=query,
        )
        assert refused.status_code == 409, refused.json
        assert refused.json["existing_id"] == existing["id"]
        assert "registration_number" in refused.json["errors"]["json"]
    other = f.customer(api, "Other")
    patched = api.update(
        f"/customers/{other['id']}?allow_duplicate=true", {"registration_number": "91310000MA1FL0001X"}
    )
    assert patched.status_code == 409 and patched.json["existing_id"] == existing["id"]
    assert api.get("/customers").json["meta"]["total"] == 2


def test_deleted_customer_is_no_name_duplicate_but_blocks_its_restore(api):
    gone = f.customer(api, "Acme Logistics")
    assert api.remove(f"/customers/{gone['id']}").status_code == 204
    assert api.post("/customers", json={"name": "ACME Logistics GmbH"}).status_code == 201
    refused = api.post(f"/customers/{gone['id']}/restore")
    assert refused.status_code == 409 and api.get(f"/customers/{gone['id']}").status_code == 404
