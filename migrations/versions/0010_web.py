"""web workspace: passwords, language and sign-in attempts

Users get a password hash (scrypt; none means the user cannot sign in to the web workspace, as every
existing user until `logicrm users set-password`) and a preferred language (none: the browser's). Sign-in
attempts are kept so throttling counts failures per email and per address across processes.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 12:00:00
"""

import sqlalchemy as sa
from alembic import op

from logicrm.db import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("password_hash", sa.String(255), nullable=True))
        batch.add_column(sa.Column("language", sa.String(16), nullable=True))
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("address", sa.String(45), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("succeeded", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    op.create_index("ix_login_attempts_email_at", "login_attempts", ["email", "at"])
    op.create_index("ix_login_attempts_address_at", "login_attempts", ["address", "at"])


def downgrade() -> None:
    op.drop_index("ix_login_attempts_address_at", table_name="login_attempts")
    op.drop_index("ix_login_attempts_email_at", table_name="login_attempts")
    op.drop_table("login_attempts")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("language")
        batch.drop_column("password_hash")
