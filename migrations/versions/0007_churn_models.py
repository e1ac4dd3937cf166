"""churn models, and snapshots that say which model, horizon and rhythm they were scored with

Churn risk becomes a probability of a defined event within a stated horizon, from a model learnt on the
provider's own history (issue 12). Each fitted model is kept with its back-test; one is active. A
snapshot records the model version and horizon its risks were computed with, and a shipper's P(alive).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 12:00:00
"""

import sqlalchemy as sa
from alembic import op

import logicrm.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "churn_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", logicrm.db.UTCDateTime(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("horizon_days", sa.Integer(), nullable=False),
        sa.Column("inactive_days", sa.Integer(), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("means", sa.JSON(), nullable=False),
        sa.Column("scales", sa.JSON(), nullable=False),
        sa.Column("coefficients", sa.JSON(), nullable=False),
        sa.Column("intercept", sa.Double(), nullable=False),
        sa.Column("calibration", sa.JSON(), nullable=False),
        sa.Column("coupling", sa.Double(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.Date(), nullable=True),
        sa.Column("window_end", sa.Date(), nullable=True),
        sa.Column("origins", sa.Integer(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("backtest", sa.JSON(), nullable=False),
        sa.Column("config_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_churn_models")),
        sa.UniqueConstraint("version", name=op.f("uq_churn_models_version")),
    )
    op.create_index(op.f("ix_churn_models_active"), "churn_models", ["active"], unique=False)
    with op.batch_alter_table("health_snapshots") as batch:
        batch.add_column(sa.Column("model_version", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("horizon_days", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("p_alive", sa.Double(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("health_snapshots") as batch:
        batch.drop_column("p_alive")
        batch.drop_column("horizon_days")
        batch.drop_column("model_version")
    op.drop_index(op.f("ix_churn_models_active"), table_name="churn_models")
    op.drop_table("churn_models")
