"""dirty_accounts: the accounts writes touched since the worker's last refresh, so it refreshes only them

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 20:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dirty_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dirty_accounts")),
    )


def downgrade() -> None:
    op.drop_table("dirty_accounts")
