"""Data the API refuses, written straight into the database: what rows from before the bounds, raw SQL or a
future bug may hold. Shared by the scoring tests and the health run's.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass

from sqlalchemy import text

from logicrm.db import Database
from logicrm.scoring import revisions
from tests import factories

# the factories' shipments (March 2026) and surveys (April 2026) all count as recent on this day
NOW = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)


def write_raw(db: Database, table: str, statement: str, rows: list[dict] | dict | None = None) -> None:
    """Run an UPDATE on `table` (once per parameter row) past its CHECKs, as if the rows predated them.

    SQLite ignores CHECKs for the statement; PostgreSQL drops the table's CHECKs and adds them back
    NOT VALID, which is how a constraint added over existing rows leaves them. The scores' revision
    moves, as after any write.
    """
    with db.engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA ignore_check_constraints = ON")
            try:
                connection.execute(text(statement), rows or {})
            finally:
                connection.exec_driver_sql("PRAGMA ignore_check_constraints = OFF")
        else:
            checks = connection.execute(
                text(
                    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
                    " WHERE conrelid = CAST(:table AS regclass) AND contype = 'c'"
                ),
                {"table": table},
            ).all()
            for name, _ in checks:
                connection.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
            connection.execute(text(statement), rows or {})
            for name, definition in checks:
                condition = definition.removesuffix(" NOT VALID")
                connection.execute(text(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {condition} NOT VALID'))
    with db.session_scope() as session:
        revisions.bump(session, revisions.NETWORK, revisions.SCORES)


@dataclass(frozen=True)
class Portfolio:
    """A small network: shippers s1, s2; consignees c1, c2; a distributor d; a declared-only lane."""

    customers: dict[str, int]
    shipped_links: list[int]
    declared_link: int
    departments: dict[int, int]  # department id → its customer's id
    ends: dict[int, tuple[int, int]]  # link id → (shipper id, consignee id)


def build_portfolio(api) -> Portfolio:
    """Create the network through the API, with shipments, departments and surveys."""
    made = {
        "s1": factories.customer(api, roles=("shipper",)),
        "s2": factories.customer(api, roles=("shipper",)),
        "d": factories.customer(api, roles=("shipper", "consignee")),
        "c1": factories.customer(api, roles=("consignee",)),
        "c2": factories.customer(api, roles=("consignee",)),
    }
    ends = {}
    for shipper, consignee in (("s1", "c1"), ("s2", "c1"), ("s1", "d"), ("d", "c2"), ("s2", "c2")):
        link = factories.link(api, made[shipper], made[consignee])
        ends[link["id"]] = (made[shipper]["id"], made[consignee]["id"])
    *shipped, declared = ends
    for link in shipped:
        factories.shipments(api, {"id": link}, 3)
    departments = {}
    for name in ("c1", "d"):
        for department_name, decides in (("logistics", True), ("finance", False)):
            department = factories.department(api, made[name], department_name, is_decision_maker=decides)
            factories.survey(api, made[name], department)
            departments[department["id"]] = made[name]["id"]
    return Portfolio({k: v["id"] for k, v in made.items()}, shipped, declared, departments, ends)


def issue_10_examples(db: Database, portfolio: Portfolio) -> None:
    """Write the three values of issue 10 that made every scoring endpoint answer 500.

    A numeric(14, 2) column of PostgreSQL cannot hold revenue 1.7e308; there, the shipments hold NaN, which
    its CHECK `revenue >= 0` lets through and which poisoned every sum just the same.
    """
    write_raw(
        db,
        "links",
        "UPDATE links SET declared_monthly_volume = 1e307 WHERE id = :id",
        {"id": portfolio.declared_link},
    )
    # two departments of one account weighing 1e308 each: their sum overflowed
    write_raw(
        db,
        "departments",
        "UPDATE departments SET decision_weight = 1e308 WHERE id = :id",
        [{"id": department} for department in portfolio.departments],
    )
    revenue = "1.7e308" if db.engine.dialect.name == "sqlite" else "'NaN'"
    write_raw(
        db,
        "shipments",
        f"UPDATE shipments SET revenue = {revenue} WHERE link_id = :id",
        {"id": portfolio.shipped_links[0]},
    )


def strict_json(body: str):
    """Parse JSON as the standard has it: Infinity and NaN are not JSON."""

    def refuse(constant: str):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(body, parse_constant=refuse)


def all_finite(value) -> bool:
    """Say whether every number in a parsed JSON document (or plain data) is finite."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(all_finite(v) for v in value.values())
    if isinstance(value, list | tuple):
        return all(all_finite(v) for v in value)
    return True
