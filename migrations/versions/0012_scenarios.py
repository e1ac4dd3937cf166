"""lanes over time from an index alone: on PostgreSQL ix_shipments_link_shipped includes the columns a series
sums (revenue, cost, delivery times, in full, damage, claims), so a customer's or lane's metrics read the
index instead of one heap page per shipment. SQLite has no INCLUDE: its index stays as it was.

Saved what-if scenarios use the what_if_scenarios table of 0011 as it is.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 08:10:00
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

SERIES_COLUMNS = ["revenue", "cost", "delivered_at", "promised_at", "in_full", "damaged", "claim_amount"]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_shipments_link_shipped", table_name="shipments")
    op.create_index(
        "ix_shipments_link_shipped", "shipments", ["link_id", "shipped_at"], postgresql_include=SERIES_COLUMNS
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_shipments_link_shipped", table_name="shipments")
    op.create_index("ix_shipments_link_shipped", "shipments", ["link_id", "shipped_at"])
