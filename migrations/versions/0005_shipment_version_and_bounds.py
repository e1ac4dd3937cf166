"""shipment version and bounds

Shipments get a version for optimistic concurrency, like every other record people edit; existing rows
start at 1, and the server default lets bulk inserts (COPY, executemany) leave it out.

Every number people enter gets a CHECK from the bounds table (logicrm/bounds.py, frozen below as it
stands at this revision: a later change of a bound needs its own migration). Each replaces the weaker
check its column had, if any. Rows already outside a bound stop the upgrade, naming table, column and
count, and nothing changes: which value was meant is for people to decide, not for a migration to guess.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 09:00:00
"""

import sqlalchemy as sa
from alembic import op
from alembic.util import CommandError

from logicrm.bounds import Bound

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

MONEY = Bound(0, 10_000_000_000, "in the account currency")
SHARE = Bound(0, 1, "(share, 0–1)")
MONTHLY_VOLUME = Bound(0, 1_000_000, "shipments a month")
DECISION_WEIGHT = Bound(0, 1_000, "(relative weight)")
IMPORTANCE = Bound(0, 100, "(relative weight)", low_inclusive=False)
SCALE_POINT = Bound(-1_000, 1_000, "scale points")
LIKELIHOOD_TO_RECOMMEND = Bound(0, 10, "(0–10)")

# table: ({column: bound}, {name of the check the bounds replace: its SQL})
BOUNDS = {
    "departments": ({"decision_weight": DECISION_WEIGHT}, {"weight_not_negative": "decision_weight >= 0"}),
    "links": (
        {"declared_monthly_volume": MONTHLY_VOLUME},
        {"declared_volume_not_negative": "declared_monthly_volume IS NULL OR declared_monthly_volume >= 0"},
    ),
    "opportunities": (
        {"value": MONEY, "probability": SHARE},
        {"probability_range": "probability BETWEEN 0 AND 1"},
    ),
    "shipments": (
        {"claim_amount": MONEY, "revenue": MONEY, "cost": MONEY},
        {"money_not_negative": "revenue >= 0 AND cost >= 0 AND claim_amount >= 0"},
    ),
    "shipper_profiles": (
        {"on_time_target": SHARE, "contracted_annual_value": MONEY},
        {"on_time_range": "on_time_target IS NULL OR on_time_target BETWEEN 0 AND 1"},
    ),
    "survey_responses": (
        {
            "scale_min": SCALE_POINT,
            "scale_max": SCALE_POINT,
            "likelihood_to_recommend": LIKELIHOOD_TO_RECOMMEND,
        },
        {"ltr_range": "likelihood_to_recommend IS NULL OR likelihood_to_recommend BETWEEN 0 AND 10"},
    ),
    "survey_scores": (
        {"importance": IMPORTANCE, "expectation": SCALE_POINT, "perception": SCALE_POINT},
        {"importance_positive": "importance > 0"},
    ),
    "tickets": ({"claim_amount": MONEY}, {}),
}


def upgrade() -> None:
    _refuse_rows_outside_the_bounds()
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False))
    for table, (bounds, replaced) in BOUNDS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in replaced:
                batch_op.drop_constraint(batch_op.f(f"ck_{table}_{name}"), type_="check")
            for column, bound in bounds.items():
                batch_op.create_check_constraint(
                    batch_op.f(f"ck_{table}_{column}_range"), bound.check(column)
                )


def downgrade() -> None:
    # The bounds are stricter than the checks they replaced: every row that passed them passes those.
    for table, (bounds, replaced) in BOUNDS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in bounds:
                batch_op.drop_constraint(batch_op.f(f"ck_{table}_{column}_range"), type_="check")
            for name, condition in replaced.items():
                batch_op.create_check_constraint(batch_op.f(f"ck_{table}_{name}"), condition)
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.drop_column("version")


def _refuse_rows_outside_the_bounds() -> None:
    """Raise, naming every table and column with rows outside its bound, before anything is changed."""
    connection = op.get_bind()
    outside = []
    for table, (bounds, _replaced) in BOUNDS.items():
        for column, bound in bounds.items():
            condition = bound.check(column)
            count = connection.scalar(sa.text(f"SELECT count(*) FROM {table} WHERE NOT ({condition})"))
            if count:
                outside.append(
                    f"{table}.{column}: {count} row{'s' if count > 1 else ''} outside {bound.describe()} "
                    f"(find them with SELECT * FROM {table} WHERE NOT ({condition}))"
                )
    if outside:
        raise CommandError(
            "revision 0005 adds bounds that existing rows break; nothing was changed. Correct or delete "
            "these rows, then upgrade again:\n  " + "\n  ".join(outside)
        )
