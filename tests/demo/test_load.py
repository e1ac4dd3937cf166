"""Loading the demo: what it writes matches its summary, the summary names the accounts to watch, every
demo user gets a working key, and a loaded database is left alone."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from logicrm.customers.models import Customer
from logicrm.customers.names import normalize_name
from logicrm.demo import ADMIN_EMAIL
from logicrm.lanes.models import Link, Shipment
from logicrm.relations.models import Department, Interaction, SurveyResponse, SurveyScore
from logicrm.sales.models import Opportunity
from logicrm.tickets.models import Ticket
from logicrm.users import keys as api_keys
from logicrm.users.models import UserRole


def test_counts_are_in_range_and_as_reported(demo, session, shipper_ids, consignee_ids):
    """Counts in the documented ranges (everyone who was a customer in the two years), and as reported."""
    dual = shipper_ids & consignee_ids
    counts = demo.summary.counts
    assert 40 <= len(shipper_ids) == counts["shippers"] <= 50
    assert 440 <= len(consignee_ids) == counts["consignees"] <= 500
    assert 8 <= len(dual) == counts["dual_role"] <= 12
    assert session.scalar(select(func.count(Customer.id))) == counts["customers"]
    n_shipments = session.scalar(select(func.count(Shipment.id)))
    assert 100_000 <= n_shipments == counts["shipments"] <= 200_000
    for model, key in (
        (SurveyScore, "survey_scores"),
        (Link, "links"),
        (Department, "departments"),
        (SurveyResponse, "survey_responses"),
        (Interaction, "interactions"),
        (Ticket, "tickets"),
        (Opportunity, "opportunities"),
    ):
        assert session.scalar(select(func.count()).select_from(model)) == counts[key], key


def test_customers_carry_their_refs_and_normalized_names(customers):
    assert all(c.normalized_name == normalize_name(c.name) for c in customers.values())
    assert all(re.fullmatch(r"CUS-\d{4}", c.external_ref) for c in customers.values())


def test_summary_names_every_account_to_watch(demo, customers):
    summary = demo.summary
    assert summary.names == {i: c.name for i, c in customers.items()}
    text = "\n".join(summary.lines())
    named = {i for ids in summary.troubled.values() for i in ids} | set(summary.healthy_vips)
    assert all(customers[i].name in text for i in named)


def test_admin_key_and_every_demo_users_key_authenticate(demo, session):
    summary = demo.summary
    key = api_keys.authenticate(session, token=summary.admin_key)
    assert key is not None and key.user.email == ADMIN_EMAIL and key.user.role == UserRole.ADMIN
    keys = {email: api_keys.authenticate(session, token=secret) for email, secret in summary.api_keys.items()}
    assert all(key.user.email == email for email, key in keys.items())
    assert {key.user.role for key in keys.values()} == set(UserRole)


def test_demo_if_empty_leaves_a_loaded_database_alone(demo, session, customers):
    """`logicrm demo --if-empty` does nothing on a loaded database."""
    session.rollback()  # end our transaction: on SQLite it holds the write lock
    result = demo.app.test_cli_runner().invoke(args=["demo", "--if-empty"])
    assert result.exit_code == 0 and result.output == ""
    assert session.scalar(select(func.count(Customer.id))) == len(customers)
