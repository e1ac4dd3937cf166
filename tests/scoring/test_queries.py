"""The SQL aggregates scoring reads (logicrm/scoring/queries.py), against their pure definitions."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logicrm.customers.models import Customer
from logicrm.network.satisfaction import DimensionRating, response_score
from logicrm.relations.models import Department, Dimension, SurveyResponse, SurveyScore
from logicrm.scoring import queries

AT = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


@st.composite
def surveys(draw):
    """A response on a declared scale: each dimension's expectation and perception on it, and an importance."""
    low = draw(st.integers(-1000, 999))
    high = draw(st.integers(low + 1, min(low + 20, 1000)))
    point = st.integers(low, high) | st.floats(low, high, allow_nan=False)
    dimensions = draw(
        st.lists(st.sampled_from(list(Dimension)), min_size=1, max_size=len(Dimension), unique=True)
    )
    ratings = [
        DimensionRating(
            dimension=str(dimension),
            expectation=draw(point),
            perception=draw(point),
            importance=draw(st.floats(0.01, 100, allow_nan=False)),
        )
        for dimension in dimensions
    ]
    return low, high, ratings


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(survey=surveys())
def test_the_sql_response_score_is_the_pure_one(db, survey):
    """DESIGN §4.1 runs in production as SQL; the pure function is its definition: equal to 1e-12."""
    low, high, ratings = survey
    with db.session() as session:
        customer = Customer(name="Scored", normalized_name="scored")
        session.add(customer)
        session.flush()
        department = Department(customer_id=customer.id, name="logistics")
        session.add(department)
        session.flush()
        response = SurveyResponse(
            customer_id=customer.id, department_id=department.id, collected_at=AT, scale_min=low, scale_max=high,
            scores=[SurveyScore(dimension=r.dimension, expectation=r.expectation, perception=r.perception,
                                importance=r.importance) for r in ratings],
        )  # fmt: skip
        session.add(response)
        session.flush()
        (row,) = [r for r in queries.response_scores(session, since=AT) if r.id == response.id]
        expected = response_score(ratings, scale_min=low, scale_max=high)
        assert abs(float(row.score) - expected) <= 1e-12, (row.score, expected)
        session.rollback()
