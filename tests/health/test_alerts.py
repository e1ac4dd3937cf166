"""Alerts as the API reads them (logicrm/health/alerts.py)."""

from __future__ import annotations

from logicrm.health import alerts
from logicrm.users import service as users
from tests.outbox.alerts import raise_alerts


def test_alerts_among_more_accounts_than_a_statement_takes_parameters(actors, db):
    # a manager's portfolio at 100k accounts: PostgreSQL takes at most 65,535 parameters per statement,
    # so the ids travel as one array (db.among), not one placeholder each
    wanted, _other = raise_alerts(
        db,
        [
            (name, "standard", "am@test.example", "risk_high", "high", "opened", [])
            for name in ("Wanted Co", "Other Co")
        ],
    )
    ids = [wanted.customer_id, *range(10**6, 10**6 + 70_000)]
    with db.session(write=False) as session:
        user = users.get(session, user_id=actors["am"].user_id)
        found = session.scalars(alerts.list_statement(session, user=user, customer_ids=ids)).all()
    assert [alert.id for alert in found] == [wanted.alert_id]  # not the other account's
