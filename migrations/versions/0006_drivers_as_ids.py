"""risk drivers stored with partner ids, not names

Snapshots and alerts used to keep risk drivers as rendered for an administrator ("shipper Bałtyk Chemia"),
so readers who may not see that partner read its name. Drivers are now stored with ids and rendered per
reader. Snapshot drivers kept their kind and key, so they convert: the label goes, a partner's roles and
the weakest deciding department (part of the low-satisfaction label) are kept. Alert drivers kept only a
label, which cannot be traced back to an id: they are dropped with the "; drivers: …" tail of the message,
and the next health run fills both in again. Only risk alerts carry drivers now.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 10:00:00
"""

import re

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BATCH = 1000
ROLE_PREFIXES = (
    ("shipper and consignee ", ["shipper", "consignee"]),
    ("shipper ", ["shipper"]),
    ("consignee ", ["consignee"]),
)
WEAKEST = re.compile(r"\(weakest deciding: (.*)\)$")
RISK_RULES = ("risk_high", "risk_jump")

snapshots = sa.table("health_snapshots", sa.column("id", sa.Integer), sa.column("drivers", sa.JSON))
alerts = sa.table(
    "alerts",
    sa.column("id", sa.Integer),
    sa.column("rule", sa.String),
    sa.column("message", sa.Text),
    sa.column("details", sa.JSON),
)


def _stored(driver: dict) -> dict:
    label = driver.get("label") or ""
    stored = {"kind": driver.get("kind"), "key": driver.get("key"), "share": driver.get("share", 0.0)}
    if stored["kind"] == "neighbour":
        stored["roles"] = next((roles for prefix, roles in ROLE_PREFIXES if label.startswith(prefix)), [])
    elif weakest := WEAKEST.search(label):
        stored["department"] = weakest.group(1)
    return stored


def _rows(connection, table, *columns):
    last = 0
    while True:
        rows = connection.execute(
            sa.select(table.c.id, *columns).where(table.c.id > last).order_by(table.c.id).limit(BATCH)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id


def upgrade() -> None:
    connection = op.get_bind()
    for row in list(_rows(connection, snapshots, snapshots.c.drivers)):
        if any("label" in driver for driver in row.drivers or []):
            connection.execute(
                snapshots.update()
                .where(snapshots.c.id == row.id)
                .values(drivers=[_stored(driver) for driver in row.drivers])
            )
    for row in list(_rows(connection, alerts, alerts.c.rule, alerts.c.message, alerts.c.details)):
        details = dict(row.details or {})
        if "drivers" not in details:
            continue
        details.pop("drivers")
        if row.rule in RISK_RULES:
            details["drivers"] = []
        connection.execute(
            alerts.update()
            .where(alerts.c.id == row.id)
            .values(details=details, message=row.message.split("; drivers: ")[0])
        )


def downgrade() -> None:
    # Older code serves stored drivers as plain JSON, whatever their keys: nothing to undo.
    pass
