"""published scores: the portfolio as last computed, for every process to read

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 08:00:00
"""

import sqlalchemy as sa
from alembic import op

import logicrm.db

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "published_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("config_hash", sa.String(length=16), nullable=False),
        sa.Column("code_version", sa.String(length=16), nullable=False),
        sa.Column("supersedes", sa.Integer(), nullable=False),
        sa.Column("network_revision", sa.Integer(), nullable=False),
        sa.Column("scores_revision", sa.Integer(), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=True),
        sa.Column("computed_at", logicrm.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_at", logicrm.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_published_scores")),
        sa.UniqueConstraint(
            "config_hash", "code_version", "supersedes", name=op.f("uq_published_scores_config_hash")
        ),
    )


def downgrade() -> None:
    op.drop_table("published_scores")
