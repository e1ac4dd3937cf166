"""name keys by key and customer: a blocking key's posting list is read from its lowest customer ids;
customers' deleted_at indexed for the deleted ones only

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 17:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_customer_name_keys_key", table_name="customer_name_keys")
    op.create_index("ix_customer_name_keys_key_customer", "customer_name_keys", ["key", "customer_id"])
    op.drop_index("ix_customers_deleted_at", table_name="customers")
    op.create_index(
        "ix_customers_deleted_at",
        "customers",
        ["deleted_at"],
        sqlite_where=sa.text("deleted_at IS NOT NULL"),
        postgresql_where=sa.text("deleted_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_customers_deleted_at", table_name="customers")
    op.create_index("ix_customers_deleted_at", "customers", ["deleted_at"])
    op.drop_index("ix_customer_name_keys_key_customer", table_name="customer_name_keys")
    op.create_index("ix_customer_name_keys_key", "customer_name_keys", ["key"])
