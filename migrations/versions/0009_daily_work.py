"""the account team's daily work: service desk, tasks, rulebook, team roles, alert preferences

- tickets: the kinds a logistics provider meets (delay, damage, loss, billing, documentation), a contact,
  an assignee, a priority, first-response and resolution due times from the tier SLA (with the rulebook
  version they came from), a root cause, a resolution, a compensation amount, the escalation level;
  their timeline (`ticket_events`; an escalation step is unique per ticket). Existing tickets get the
  due times and priority of the built-in defaults (rulebook version 0), frozen below as they stand at
  this revision.
- tasks; rulebook versions; the role of each team member; the ticket a callback survey was about;
  per-user alert preferences and subscriptions; the rulebook version of each run, snapshot and alert.

Downgrading refuses while tickets of the new kinds exist (which old kind each was is for people to say).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 09:00:00
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op
from alembic.util import CommandError

from logicrm.db import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

OLD_KINDS = ("complaint", "claim", "request")
NEW_KINDS = ("delay", "damage", "loss", "billing", "documentation")
# the built-in SLA (hours to first response, to resolution) and priorities at this revision
SLA_HOURS = {"vip": (4.0, 48.0), "key": (8.0, 120.0), "standard": (24.0, 240.0)}
PRIORITIES = ("low", "normal", "high", "urgent")
SEVERITY_LEVEL = {"low": 0, "medium": 1, "high": 2}
TIER_STEP = {"vip": 1, "key": 0, "standard": -1}
BATCH = 1000


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=24)


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "rulebook_versions",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("document", sa.JSON(), nullable=False),
        _fk("rulebook_versions", "created_by_id", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_rulebook_versions")),
    )
    with op.batch_alter_table("rulebook_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rulebook_versions_created_by_id"), ["created_by_id"], unique=False
        )

    op.create_table(
        "alert_preferences",
        sa.Column("user_id", sa.Integer(), nullable=False),
        *(
            sa.Column(severity, _enum(f"{severity}_mode", "immediate", "digest", "off"), nullable=False)
            for severity in ("low", "medium", "high")
        ),
        _fk("alert_preferences", "user_id", "users", "CASCADE"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_alert_preferences")),
    )
    op.create_table(
        "alert_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        _fk("alert_subscriptions", "customer_id", "customers", "CASCADE"),
        _fk("alert_subscriptions", "user_id", "users", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_subscriptions")),
        sa.UniqueConstraint("customer_id", "user_id", name=op.f("uq_alert_subscriptions_customer_id")),
    )
    with op.batch_alter_table("alert_subscriptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_subscriptions_user_id"), ["user_id"], unique=False)

    _upgrade_tickets()

    op.create_table(
        "ticket_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            _enum(
                "ticketeventkind",
                "opened",
                "note",
                "reply",
                "status",
                "assigned",
                "priority",
                "escalated",
                "resolved",
                "callback",
            ),
            nullable=False,
        ),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("escalation_step", sa.Integer(), nullable=True),
        _fk("ticket_events", "ticket_id", "tickets", "CASCADE"),
        _fk("ticket_events", "user_id", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_events")),
        sa.UniqueConstraint("ticket_id", "escalation_step", name=op.f("uq_ticket_events_ticket_id")),
    )
    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_events_ticket_at", ["ticket_id", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_ticket_events_user_id"), ["user_id"], unique=False)

    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        *(
            sa.Column(column, sa.Integer(), nullable=True)
            for column in (
                "department_id",
                "contact_id",
                "ticket_id",
                "alert_id",
                "interaction_id",
                "assignee_id",
                "created_by_id",
            )
        ),
        sa.Column(
            "kind",
            _enum("taskkind", "call", "visit", "qbr", "callback", "survey", "renewal", "follow_up", "review"),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", _enum("taskstatus", "open", "done", "not_needed"), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("completed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "source",
            _enum("tasksource", "manual", "follow_up", "playbook", "cadence", "callback"),
            nullable=False,
        ),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _fk("tasks", "alert_id", "alerts", "SET NULL"),
        _fk("tasks", "assignee_id", "users", "SET NULL"),
        _fk("tasks", "contact_id", "contacts", "SET NULL"),
        _fk("tasks", "created_by_id", "users", "SET NULL"),
        _fk("tasks", "customer_id", "customers", "CASCADE"),
        _fk("tasks", "department_id", "departments", "SET NULL"),
        _fk("tasks", "interaction_id", "interactions", "SET NULL"),
        _fk("tasks", "ticket_id", "tickets", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_tasks_dedupe_key")),
    )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        for column in (
            "alert_id",
            "contact_id",
            "created_by_id",
            "department_id",
            "interaction_id",
            "ticket_id",
        ):
            batch_op.create_index(batch_op.f(f"ix_tasks_{column}"), [column], unique=False)
        batch_op.create_index(
            "ix_tasks_assignee_status_due", ["assignee_id", "status", "due_on"], unique=False
        )
        batch_op.create_index("ix_tasks_customer_status", ["customer_id", "status"], unique=False)

    with op.batch_alter_table("customer_team", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "role",
                _enum("teamrole", "executive_sponsor", "account_manager", "service_agent", "member"),
                server_default="member",
                nullable=False,
            )
        )
    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ticket_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_survey_responses_ticket_id"), ["ticket_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_survey_responses_ticket_id_tickets"),
            "tickets",
            ["ticket_id"],
            ["id"],
            ondelete="SET NULL",
        )
    for table in ("alerts", "health_snapshots", "job_runs"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("rulebook_version", sa.Integer(), nullable=True))


def _upgrade_tickets() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_tickets_ticketkind"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_tickets_ticketkind"),
            "kind IN ({})".format(", ".join(f"'{kind}'" for kind in (*OLD_KINDS, *NEW_KINDS))),
        )
        batch_op.add_column(sa.Column("contact_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("assignee_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("priority", _enum("priority", *PRIORITIES), server_default="normal", nullable=False)
        )
        batch_op.add_column(sa.Column("first_response_due_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("resolution_due_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("sla_version", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "root_cause",
                _enum(
                    "rootcause",
                    "carrier_delay",
                    "handling_damage",
                    "packaging",
                    "routing_error",
                    "capacity_shortage",
                    "documentation_error",
                    "billing_error",
                    "system_error",
                    "customer_side",
                    "force_majeure",
                    "no_fault_found",
                    "other",
                ),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("resolution", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "compensation_amount", sa.Numeric(precision=14, scale=2, asdecimal=False), nullable=True
            )
        )
        batch_op.add_column(sa.Column("escalation_level", sa.Integer(), server_default="0", nullable=False))
        batch_op.create_check_constraint(
            batch_op.f("ck_tickets_compensation_amount_range"),
            "compensation_amount IS NULL OR (compensation_amount >= 0 AND compensation_amount <= 10000000000)",
        )
        batch_op.create_index(batch_op.f("ix_tickets_assignee_id"), ["assignee_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index("ix_tickets_status_first_response_due", ["status", "first_response_due_at"])
        batch_op.create_index("ix_tickets_status_resolution_due", ["status", "resolution_due_at"])
        batch_op.create_foreign_key(
            batch_op.f("fk_tickets_contact_id_contacts"),
            "contacts",
            ["contact_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_tickets_assignee_id_users"), "users", ["assignee_id"], ["id"], ondelete="SET NULL"
        )
    _backfill_tickets()


def _backfill_tickets() -> None:
    """Due times and priority of the existing tickets, from the built-in SLA (rulebook version 0)."""
    tickets = sa.table(
        "tickets",
        sa.column("id", sa.Integer),
        sa.column("customer_id", sa.Integer),
        sa.column("severity", sa.String),
        sa.column("opened_at", UTCDateTime(timezone=True)),
        sa.column("priority", sa.String),
        sa.column("first_response_due_at", UTCDateTime(timezone=True)),
        sa.column("resolution_due_at", UTCDateTime(timezone=True)),
        sa.column("sla_version", sa.Integer),
    )
    customers = sa.table("customers", sa.column("id", sa.Integer), sa.column("tier", sa.String))
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(
            sa.select(tickets.c.id, tickets.c.severity, tickets.c.opened_at, customers.c.tier)
            .join(customers, customers.c.id == tickets.c.customer_id)
            .where(tickets.c.id > last)
            .order_by(tickets.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        updates = []
        for row in rows:
            first, resolution = SLA_HOURS[row.tier]
            level = min(max(SEVERITY_LEVEL[row.severity] + TIER_STEP[row.tier], 0), len(PRIORITIES) - 1)
            updates.append(
                {
                    "b_id": row.id,
                    "b_priority": PRIORITIES[level],
                    "b_first": row.opened_at + dt.timedelta(hours=first),
                    "b_resolution": row.opened_at + dt.timedelta(hours=resolution),
                }
            )
        connection.execute(
            tickets.update()
            .where(tickets.c.id == sa.bindparam("b_id"))
            .values(
                priority=sa.bindparam("b_priority"),
                first_response_due_at=sa.bindparam("b_first", type_=UTCDateTime(timezone=True)),
                resolution_due_at=sa.bindparam("b_resolution", type_=UTCDateTime(timezone=True)),
                sla_version=0,
            ),
            updates,
        )
        last = rows[-1].id


def downgrade() -> None:
    connection = op.get_bind()
    kinds = sa.table("tickets", sa.column("kind", sa.String))
    newer = connection.execute(
        sa.select(sa.func.count()).select_from(kinds).where(kinds.c.kind.in_(NEW_KINDS))
    ).scalar()
    if newer:
        raise CommandError(
            f"{newer} tickets are of kinds revision 0006 does not know ({', '.join(NEW_KINDS)}); "
            "change them to complaint, claim or request first"
        )
    for table in ("job_runs", "health_snapshots", "alerts"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("rulebook_version")
    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_survey_responses_ticket_id_tickets"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_survey_responses_ticket_id"))
        batch_op.drop_column("ticket_id")
    with op.batch_alter_table("customer_team", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_customer_team_teamrole"), type_="check")
        batch_op.drop_column("role")
    op.drop_table("tasks")
    op.drop_table("ticket_events")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_tickets_assignee_id_users"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_tickets_contact_id_contacts"), type_="foreignkey")
        batch_op.drop_index("ix_tickets_status_resolution_due")
        batch_op.drop_index("ix_tickets_status_first_response_due")
        batch_op.drop_index(batch_op.f("ix_tickets_contact_id"))
        batch_op.drop_index(batch_op.f("ix_tickets_assignee_id"))
        for check in ("compensation_amount_range", "priority", "rootcause"):
            batch_op.drop_constraint(batch_op.f(f"ck_tickets_{check}"), type_="check")
        for column in (
            "escalation_level",
            "compensation_amount",
            "resolution",
            "root_cause",
            "sla_version",
            "resolution_due_at",
            "first_response_due_at",
            "priority",
            "assignee_id",
            "contact_id",
        ):
            batch_op.drop_column(column)
        batch_op.drop_constraint(batch_op.f("ck_tickets_ticketkind"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_tickets_ticketkind"), "kind IN ({})".format(", ".join(f"'{k}'" for k in OLD_KINDS))
        )
    op.drop_table("alert_subscriptions")
    op.drop_table("alert_preferences")
    op.drop_table("rulebook_versions")
