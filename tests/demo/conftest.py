"""The demo network, loaded once per backend for all tests of the demo, and helpers to query it.

Loading takes seconds, so the tests here share one load and only read it: they use the `session` below,
never the `app` or `db` fixtures (those empty the tables).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy import select

from logicrm.consignees.models import ConsigneeProfile
from logicrm.customers.models import Customer
from logicrm.demo import DemoSummary, load_demo
from logicrm.relations.models import Department, SurveyResponse
from logicrm.shippers.models import ShipperProfile
from logicrm.tickets.models import TicketStatus
from tests.conftest import fresh_app

SEED = 7
TODAY = dt.date(2025, 6, 30)
NOW = dt.datetime.combine(TODAY, dt.time(), tzinfo=dt.UTC)
OPEN = (TicketStatus.OPEN, TicketStatus.IN_PROGRESS)


def days_ago(days: float) -> dt.datetime:
    return NOW - dt.timedelta(days=days)


def silent_departments():
    """Departments (as a WHERE clause on Department) with no survey response in 180 days."""
    answered = select(SurveyResponse.id).where(
        SurveyResponse.department_id == Department.id, SurveyResponse.collected_at >= days_ago(180)
    )
    return ~answered.exists()


@dataclass
class Loaded:
    app: Flask
    summary: DemoSummary


@pytest.fixture(scope="package")
def demo(database_url, tmp_path_factory) -> Loaded:
    """The demo of SEED up to TODAY in the test database, with the app on it and the load's summary."""
    app = fresh_app(database_url, str(tmp_path_factory.mktemp("instance")))
    database = app.extensions["logicrm.db"]
    with database.session_scope() as writer:
        summary = load_demo(writer, seed=SEED, today=TODAY)
    yield Loaded(app, summary)
    database.engine.dispose()


@pytest.fixture
def session(demo):
    """A session reading the loaded demo (replaces the root `session`, which starts from empty tables)."""
    with demo.app.extensions["logicrm.db"].session() as s:
        yield s


@pytest.fixture
def customers(session) -> dict[int, Customer]:
    return {c.id: c for c in session.scalars(select(Customer))}


@pytest.fixture
def shipper_ids(session) -> set[int]:
    return set(session.scalars(select(ShipperProfile.customer_id)))


@pytest.fixture
def consignee_ids(session) -> set[int]:
    return set(session.scalars(select(ConsigneeProfile.customer_id)))
