"""health snapshots keep satisfaction on the 0–100 index the health answer shows

Snapshots used to keep satisfaction, two-sided satisfaction and each department's score in [0, 1] while
every answer showed them on 0–100, so a history read 0.51 where the account's health read 51. They are
now kept on the 0–100 index (50 = expectations exactly met): the old rows are scaled by 100, and back
on downgrade. Department entries of old snapshots keep the fields they had (no gap or band).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BATCH = 1000

snapshots = sa.table(
    "health_snapshots",
    sa.column("id", sa.Integer),
    sa.column("satisfaction", sa.Float),
    sa.column("two_sided", sa.Float),
    sa.column("departments", sa.JSON),
)


def _scale(factor: float) -> None:
    connection = op.get_bind()
    connection.execute(
        snapshots.update().values(
            satisfaction=snapshots.c.satisfaction * factor, two_sided=snapshots.c.two_sided * factor
        )
    )
    last = 0
    while True:
        rows = connection.execute(
            sa.select(snapshots.c.id, snapshots.c.departments)
            .where(snapshots.c.id > last)
            .order_by(snapshots.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        for row in rows:
            departments = row.departments or []
            if any(d.get("score") is not None for d in departments):
                scaled = [
                    {**d, "score": None if d.get("score") is None else d["score"] * factor}
                    for d in departments
                ]
                connection.execute(
                    snapshots.update().where(snapshots.c.id == row.id).values(departments=scaled)
                )
        last = rows[-1].id


def upgrade() -> None:
    _scale(100.0)


def downgrade() -> None:
    _scale(0.01)
