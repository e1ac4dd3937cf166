"""name keys by key and customer: a blocking key's posting list is read from its lowest customer ids

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-01 17:00:00
"""

from alembic import op

revision = "0016"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_customer_name_keys_key", table_name="customer_name_keys")
    op.create_index("ix_customer_name_keys_key_customer", "customer_name_keys", ["key", "customer_id"])


def downgrade() -> None:
    op.drop_index("ix_customer_name_keys_key_customer", table_name="customer_name_keys")
    op.create_index("ix_customer_name_keys_key", "customer_name_keys", ["key"])
