"""The duplicate check through the API: registration numbers compared normalised, similar and translated
names found through the blocking keys, and a hidden customer never named."""

from __future__ import annotations

from collections import Counter, defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from logicrm.customers.matching import Candidate, _Postings, _Sharing, find_duplicates
from logicrm.customers.models import CustomerNameKey
from logicrm.customers.names import name_keys
from tests import factories as f


def test_a_registration_number_written_differently_is_the_same_legal_entity(api):
    existing = f.customer(api, "Thames Foods Ltd", registration_number="CRN04883888")
    for written in ("CRN 04883888", "crn-0488-3888", "ＣＲＮ０４８８３８８８"):
        for query in ({}, {"allow_duplicate": "true"}):
            refused = api.post(
                "/customers", json={"name": "Another Name", "registration_number": written}, query=query
            )
            assert refused.status_code == 409, (written, refused.json)
            assert refused.json["existing_id"] == existing["id"] and refused.json["allow_duplicate"] is False
            assert "registration_number" in refused.json["errors"]["json"]
    assert api.get("/customers").json["meta"]["total"] == 1


def test_a_similar_name_is_a_probable_duplicate_with_its_score(api):
    existing = f.customer(api, "Nordwind Logistics GmbH")
    refused = api.post("/customers", json={"name": "Nordwind Logistcs"})
    assert refused.status_code == 409, refused.json
    assert refused.json["existing_id"] == existing["id"] and refused.json["allow_duplicate"] is True
    assert 0.9 <= refused.json["match_score"] < 1 and "similar name" in refused.json["message"]
    forced = api.post("/customers", json={"name": "Nordwind Logistcs"}, query={"allow_duplicate": "true"})
    assert forced.status_code == 201
    # renaming another customer into a near twin is caught too
    other = f.customer(api, "Completely Different Trading")
    renamed = api.update(f"/customers/{other['id']}", {"name": "Nordwind Logistic GmbH"})
    assert renamed.status_code == 409 and renamed.json["existing_id"] in {existing["id"], forced.json["id"]}


def test_a_chinese_company_entered_under_its_english_name_is_found(api):
    existing = f.customer(api, "杭州鲜达超市有限公司", roles=("consignee",))
    refused = api.post("/customers", json={"name": "Hangzhou Xianda Supermarket Co., Ltd."})
    assert refused.status_code == 409 and refused.json["existing_id"] == existing["id"]
    assert refused.json["match_score"] == 1.0


def test_names_that_differ_by_their_number_or_registration_are_other_companies(api):
    f.customer(api, "Rhein Depot 1 GmbH")
    assert api.post("/customers", json={"name": "Rhein Depot 2 GmbH"}).status_code == 201
    f.customer(api, "Hanse Foods Hamburg GmbH", registration_number="HRB 1234 Hamburg")
    distinct = api.post(
        "/customers", json={"name": "Hanse Food Hamburg GmbH", "registration_number": "HRB 99 Bremen"}
    )
    assert distinct.status_code == 201, distinct.json
    unregistered = api.post("/customers", json={"name": "Hanse Food Hamburg"})
    assert unregistered.status_code == 409, "without a number of its own it may be either of them"


def test_a_hidden_customer_with_a_similar_name_is_not_named(api, actors):
    other_am = api.as_(actors["am2"])
    hidden = f.customer(other_am, "Zephyrwald Verborgen Freight")
    refused = api.as_(actors["am"]).post("/customers", json={"name": "Zephyrwald Verborgen Freigth"})
    assert refused.status_code == 409
    body = refused.get_data(as_text=True)
    assert "existing_id" not in refused.json and "Zephyrwald" not in body and str(hidden["id"]) not in body
    assert "similar name" in refused.json["message"] and refused.json["allow_duplicate"] is True


def test_blocking_keys_follow_every_name_change(api, db):
    customer = f.customer(api, "Pacific Beverages Inc.")

    def keys() -> set[str]:
        with db.session(write=False) as session:
            return set(
                session.scalars(
                    select(CustomerNameKey.key).where(CustomerNameKey.customer_id == customer["id"])
                )
            )

    assert keys() == name_keys("Pacific Beverages Inc.")
    assert api.update(f"/customers/{customer['id']}", {"name": "Summit Apparel Inc."}).status_code == 200
    assert keys() == name_keys("Summit Apparel Inc.")
    alias = api.post(f"/customers/{customer['id']}/aliases", json={"name": "山顶服饰"})
    assert alias.status_code == 201
    assert keys() == name_keys("Summit Apparel Inc.") | name_keys("山顶服饰")
    assert api.remove(f"/customers/{customer['id']}/aliases/{alias.json['id']}").status_code == 204
    assert keys() == name_keys("Summit Apparel Inc.")


def test_a_deleted_customer_is_no_similar_name(api):
    gone = f.customer(api, "Cascade Electronics LLC")
    assert api.remove(f"/customers/{gone['id']}").status_code == 204
    assert api.post("/customers", json={"name": "Cascade Electronic LLC"}).status_code == 201


def test_a_batch_finds_what_each_candidate_finds_alone(api, db):
    """find_duplicates checks a batch in a few queries; each answer is the one a batch of one gets."""
    thames = f.customer(api, "Thames Foods Ltd", registration_number="CRN04883888")
    f.customer(api, "Nordwind Logistics GmbH")
    f.customer(api, "Nordwind Logistik Hamburg")
    f.customer(api, "杭州鲜达超市有限公司", roles=("consignee",))
    for n in range(5):
        f.customer(api, f"Depot {n} Logistics Hamburg")
    batch = [
        Candidate("Anything", "crn 0488 3888"),
        Candidate("Thames Foods", None),
        Candidate("Thames Foods", None, exclude_id=thames["id"]),
        Candidate("Nordwind Logistcs", None),
        Candidate("Hangzhou Xianda Supermarket Co., Ltd.", None),
        Candidate("Depot 3 Logistic Hamburg", None),
        Candidate("Depot 9 Logistics Hamburg", None),
        Candidate("Unrelated Name", None, aliases=("Nordwind Logistik Hamburg",)),
        Candidate("Nothing Like It", None),
    ]
    with db.session(write=False) as session:
        together = find_duplicates(session, candidates=batch)
        alone = [find_duplicates(session, candidates=[c])[0] for c in batch]
        described = [d and (d.customer.name, d.reason, d.score) for d in together]
        assert described == [d and (d.customer.name, d.reason, d.score) for d in alone]
    assert [d and d.reason for d in together] == [
        "registration_number", "name", None, "similar_name", "similar_name", "similar_name", None, "name", None
    ]  # fmt: skip
    assert described[5][0] == "Depot 3 Logistics Hamburg"


class _ListedPostings:
    """Posting lists held in memory, read as _Postings reads the stored ones: the lists up to `whole_up_to`
    whole, the longer ones by membership and from their heads."""

    def __init__(self, postings: dict[str, list[int]], whole_up_to: int):
        self.postings, self.whole_up_to = postings, whole_up_to
        self.read = 0  # ids handed out from the long lists' heads

    def whole(self, key):
        listed = self.postings.get(key, [])
        return listed if len(listed) <= self.whole_up_to else None

    def members(self, key, customer_ids):
        return set(self.postings[key]).intersection(customer_ids)

    def head(self, key, size):
        self.read += min(size, len(self.postings[key]))
        return self.postings[key][:size]


def _ranked_by_sql(postings: dict[str, list[int]], keys) -> list[int]:
    counts = Counter(i for key in keys for i in postings.get(key, ()))
    return sorted(counts, key=lambda i: (-counts[i], i))  # GROUP BY … ORDER BY count DESC, id


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from("abcde"),
        st.lists(st.integers(1, 40), unique=True).map(sorted),
        min_size=1,
    ),
    st.sets(st.sampled_from("abcdef"), min_size=1),
    st.integers(1, 12),
    st.integers(0, 41),
)
def test_the_customers_sharing_most_keys_rank_as_sql_ranks_them(postings, keys, limit, whole_up_to):
    sharing = _Sharing(_ListedPostings(postings, whole_up_to))
    assert sharing.most(frozenset(keys), limit) == _ranked_by_sql(postings, keys)[:limit]


def test_a_key_every_name_shares_is_read_only_as_far_as_the_ranking_needs():
    """'compan' lists every customer, 'hambur' one in eight: the ranking reads their heads, not the lists."""
    postings = {
        "compan": list(range(1, 100_001)),
        "hambur": list(range(8, 100_001, 8)),
        "nordwi": [5, 80_000],
    }
    listed = _ListedPostings(postings, whole_up_to=1000)
    ranking = _Sharing(listed).most(frozenset(postings), 201)
    assert ranking == _ranked_by_sql(postings, postings)[:201] and ranking[:2] == [80_000, 5]
    assert listed.read < 10_000


def test_the_stored_posting_lists_rank_as_sql_ranks_them(api, db):
    """_Postings reads the stored lists (live customers only) whole, or by membership and head, and the
    ranking over them is the SQL one, whichever lists are long."""
    cities = ("Hamburg", "Bremen", "Rostock")
    created = [f.customer(api, f"Depot {n} {cities[n % 3]} Logistics")["id"] for n in range(24)]
    created += [f.customer(api, f"Nordwind {cities[n % 2]}")["id"] for n in range(4)]
    for customer_id in created[3::7]:
        assert api.remove(f"/customers/{customer_id}").status_code == 204
    with db.session(write=False) as session:
        connection = session.connection()
        live = set(created) - set(created[3::7])
        stored = defaultdict(list)
        for key, customer_id in session.execute(
            select(CustomerNameKey.key, CustomerNameKey.customer_id).order_by(CustomerNameKey.customer_id)
        ):
            if customer_id in live:
                stored[key].append(customer_id)
        assert {len(stored[key]) for key in ("depot", "logist", "hambur")} == {21, 8}  # long and shorter
        for keys in (
            {"depot", "logist", "hambur"},
            {"nordwi", "hambur", "logist"},
            {"bremen", "nordwi", "zzz"},
        ):
            for whole_up_to in (0, 1, 4, 10, 1000):
                postings = _Postings(connection, set(keys), whole_up_to=whole_up_to)
                for limit in (1, 3, 12, 40):
                    ranking = _Sharing(postings).most(frozenset(keys), limit)
                    assert ranking == _ranked_by_sql(stored, keys)[:limit], (keys, whole_up_to, limit)
