"""Alerts as the API reads them (logicrm/health/alerts.py)."""

from __future__ import annotations

from logicrm.health import alerts
from logicrm.health.models import Alert, Severity
from logicrm.users import service as users
from tests import factories


def test_alerts_among_more_accounts_than_a_statement_takes_parameters(api, actors, db):
    # a manager's portfolio at 100k accounts: PostgreSQL takes at most 65,535 parameters per statement,
    # so the ids travel as one array (db.among), not one placeholder each
    customer = factories.customer(api, owner_id=actors["am"].user_id)
    other = factories.customer(api, owner_id=actors["am"].user_id)
    with db.session_scope() as session:
        for owner in (customer, other):
            session.add(
                Alert(
                    customer_id=owner["id"],
                    rule="risk_high",
                    severity=Severity.HIGH,
                    dedupe_key=f"{owner['id']}:risk_high",
                    value=0.72,
                    message="Network risk 0.72 is at or above 0.60",
                )
            )
    ids = [customer["id"], *range(10**6, 10**6 + 70_000)]
    with db.session(write=False) as session:
        user = users.get(session, user_id=actors["am"].user_id)
        found = session.scalars(alerts.list_statement(session, user=user, customer_ids=ids)).all()
    assert [alert.customer_id for alert in found] == [customer["id"]]
