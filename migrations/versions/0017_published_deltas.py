"""published deltas: after an incremental refresh, the changes over the full publication it started from

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 22:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("published_scores") as batch:
        batch.add_column(sa.Column("base_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("published_scores") as batch:
        batch.drop_column("base_id")
