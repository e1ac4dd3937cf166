import datetime as dt
import enum
import json

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from logicrm.audit import service as audit
from logicrm.audit.models import AuditEvent

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=6,
)


@given(st.dictionaries(st.text(), st.lists(values, min_size=2, max_size=2) | values, max_size=8))
def test_encode_writes_what_json_dumps_writes(changes):
    assert audit.encode(changes) == json.dumps(changes)


class Tier(enum.Enum):
    KEY = "key"


def test_created_and_diff_turn_values_plain_as_before():
    at = dt.datetime(2026, 3, 31, 14, 5, tzinfo=dt.UTC)
    values = {
        "name": "Acme",
        "tier": Tier.KEY,
        "at": at,
        "on": dt.date(2026, 4, 1),
        "weight": 1.5,
        "gone": None,
    }
    assert audit.created(values) == {
        "name": [None, "Acme"],
        "tier": [None, "key"],
        "at": [None, "2026-03-31T14:05:00+00:00"],
        "on": [None, "2026-04-01"],
        "weight": [None, 1.5],
    }
    stored = {"name": "Acme", "tier": None, "at": at, "weight": 1.5}
    assert audit.diff(stored, {"name": "Acme", "tier": Tier.KEY, "at": None, "weight": 2}) == {
        "tier": [None, "key"],
        "at": ["2026-03-31T14:05:00+00:00", None],
        "weight": [1.5, 2],
    }


def test_record_many_stores_the_changes_record_stores(session):
    user = None  # the system
    changes = [
        {"name": [None, 'Ünïcode "quoted" \\ name'], "weight": [None, 0.1], "flag": [None, True]},
        {"services": [["road"], ["road", "sea"]]},
        {"note": ["a", None]},
    ]
    for number, change in enumerate(changes):
        audit.record(
            session,
            user=user,
            entity="thing",
            entity_id=number,
            customer_id=7,
            action="create",
            changes=change,
        )
    audit.record_many(
        session,
        user=user,
        events=[("thing", 100 + number, 7, "create", change) for number, change in enumerate(changes)]
        + [("thing", 200, 7, "update", {})],  # an update that changed nothing: no event
    )
    session.flush()
    stored = session.execute(
        select(AuditEvent.entity_id, AuditEvent.changes).order_by(AuditEvent.entity_id)
    ).all()
    assert [entity_id for entity_id, _changes in stored] == [0, 1, 2, 100, 101, 102]
    assert [c for _id, c in stored[:3]] == changes == [c for _id, c in stored[3:]]
    texts = (
        session.connection()
        .exec_driver_sql("SELECT CAST(changes AS TEXT) FROM audit_events ORDER BY entity_id")
        .scalars()
        .all()
    )
    assert texts[:3] == texts[3:]  # the same JSON text, not only the same values
