"""data revisions for cache invalidation across API workers

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "revisions",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_revisions")),
    )
    # Seeded here so bumps are plain UPDATEs: no insert race between workers.
    op.bulk_insert(table, [{"name": "network", "value": 0}, {"name": "scores", "value": 0}])


def downgrade() -> None:
    op.drop_table("revisions")
