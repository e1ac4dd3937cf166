"""Name normalisation (pure) and duplicate detection through the API."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logicrm.customers.names import (
    SIMILAR_AT,
    match_name,
    name_keys,
    normalize_name,
    registration_key,
    search_pattern,
    similarity,
)
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


# Fuzzy matching -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chinese", "english"),
    [
        ("杭州鲜达超市有限公司", "Hangzhou Xianda Supermarket Co., Ltd."),
        ("上海鹏达食品有限公司", "Shanghai Pengda Foods Co., Ltd."),
        ("重庆长安汽车股份有限公司", "Chongqing Changan Automotive Co., Ltd."),  # 重 read as chong, not zhong
        ("厦门汇通供应链管理有限公司", "Xiamen Huitong Supply Chain Management Co., Ltd."),
    ],
)
def test_a_chinese_name_matches_its_english_form(chinese, english):
    assert similarity(match_name(chinese), match_name(english)) >= SIMILAR_AT
    assert name_keys(chinese) & name_keys(english), "they must share a blocking key to be compared at all"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Acme Logistics", "Acme Logistcs"),  # a typo
        ("Nordwind Foods GmbH", "Nordwind Food"),  # plural and legal form
        ("Müller Spedition", "Muller Spedition"),  # a diacritic dropped
        ("Logistics Acme", "Acme Logistics"),  # words swapped
    ],
)
def test_typos_and_spellings_score_as_probable_duplicates(a, b):
    assert similarity(match_name(a), match_name(b)) >= SIMILAR_AT
    assert name_keys(a) & name_keys(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Beijing Logistics", "Nanjing Logistics"),
        ("Depot 1 Logistics", "Depot 12 Logistics"),  # numbers differ: other companies
        ("上海华联物流", "北京华联物流"),
        ("Alpha Visible Shipping", "Beta Visible Receiving"),
    ],
)
def test_other_companies_score_below_the_duplicate_line(a, b):
    assert similarity(match_name(a), match_name(b)) < SIMILAR_AT


def test_match_names_and_keys():
    assert match_name("杭州鲜达超市有限公司") == "hang zhou xian da supermarket"
    assert match_name("Hangzhou Xianda Supermarket Co., Ltd.") == "hangzhou xianda supermarket"
    assert match_name("Сибирь Транс") == "sibir tran"
    # pinyin syllable pairs stand for the words a Chinese name has no spaces between
    assert name_keys("杭州鲜达") == {"hangzh", "zhouxi", "xianda"}
    # short words, legal forms and bare numbers are no keys
    assert name_keys("AB Co. 12 Logistics Ltd") == {"logist"}


@given(st.text(alphabet="ABCdef0123456789", min_size=1, max_size=12), st.data())
def test_registration_numbers_compare_without_case_spaces_dashes(number, data):
    noisy = "".join(
        ch.lower() if data.draw(st.booleans()) else ch + data.draw(st.sampled_from(["", " ", "-", ".", "/"]))
        for ch in number
    )
    assert registration_key(noisy) == registration_key(number) == number.upper()


def test_registration_key_of_nothing():
    assert registration_key(None) is None and registration_key(" - ") is None
    assert registration_key("ＣＲＮ　０４８８３８８８") == "CRN04883888"  # full width


@given(st.text(max_size=40), st.text(max_size=40))
def test_similarity_is_a_symmetric_score(a, b):
    score = similarity(match_name(a), match_name(b))
    assert 0.0 <= score <= 1.0
    assert score == similarity(match_name(b), match_name(a))
    assert similarity(match_name(a), match_name(a)) == 1.0
