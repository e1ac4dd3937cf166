"""A world's CSV files are what `logicrm import` takes: checked against the import kinds, and imported
for real into a fresh SQLite database through the command line."""

from __future__ import annotations

import csv
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np

from tests.worlds import IMPORT_ORDER, export_csv, generate, world_config

LOGICRM = Path(sys.executable).with_name("logicrm")  # the console script of this venv


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_file_has_the_columns_of_its_import_kind(tmp_path):
    from logicrm.imports.kinds import KINDS

    paths = export_csv(generate(world_config(accounts=20, years=0.3, seed=2)), tmp_path)
    assert list(paths) == list(IMPORT_ORDER) == [kind for kind in KINDS if kind in paths]
    for kind, path in paths.items():
        with open(path, encoding="utf-8", newline="") as handle:
            header = next(csv.reader(handle))
        known = {column.name for column in KINDS[kind].columns}
        required = {column.name for column in KINDS[kind].columns if column.required}
        assert set(header) <= known and required <= set(header), kind


def test_a_world_imports_cleanly_through_the_cli_into_a_fresh_database(tmp_path):
    world = generate(world_config(accounts=20, years=0.4, contagion="strong", seed=4))
    paths = export_csv(world, tmp_path / "csv")
    database = tmp_path / "world.db"
    env = {**os.environ, "LOGICRM_DATABASE_URL": f"sqlite:///{database}"}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(LOGICRM), *args], env=env, capture_output=True, text=True, timeout=120)

    upgraded = run("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    for kind, path in paths.items():
        imported = run("import", kind, str(path))
        rows = len(_rows(path))
        assert imported.returncode == 0, imported.stderr
        assert f"{rows:,} created, 0 updated, 0 unchanged, 0 invalid" in imported.stderr, imported.stderr

    with sqlite3.connect(database) as connection:

        def count(sql: str) -> int:
            return connection.execute(sql).fetchone()[0]

        accounts = world.accounts
        kept = world.exported()
        churned = kept & (accounts.churned <= world.last_day)
        assert count("SELECT count(*) FROM customers") == kept.sum()
        assert (
            count("SELECT count(*) FROM customers WHERE status = 'churned' AND churned_on IS NOT NULL")
            == churned.sum()
        )
        assert count("SELECT count(*) FROM shipper_profiles") == (kept & accounts.is_shipper).sum()
        assert count("SELECT count(*) FROM consignee_profiles") == (kept & accounts.is_consignee).sum()
        in_history = (world.shipments.shipped >= world.first_day) & (
            world.shipments.shipped < world.last_day + 1
        )
        assert count("SELECT count(*) FROM shipments") == in_history.sum() > 0
        assert count("SELECT count(*) FROM links WHERE ended_on IS NOT NULL") > 0
        # A churned customer's status date is the world's, and its lanes carried nothing after it.
        churner = int(np.argmax(np.where(churned, accounts.churned, -1)))  # the latest churn of the history
        ref = accounts.ref[churner]
        churned_on = connection.execute(
            "SELECT churned_on FROM customers WHERE external_ref = ?", (ref,)
        ).fetchone()[0]
        last_shipped = connection.execute(
            "SELECT max(s.shipped_at) FROM shipments s JOIN links l ON s.link_id = l.id JOIN customers c "
            "ON c.id IN (l.shipper_id, l.consignee_id) WHERE c.external_ref = ?", (ref,)
        ).fetchone()[0]  # fmt: skip
        assert churned_on == world.date(accounts.churned[churner]).isoformat()
        assert last_shipped is not None and last_shipped[:10] < churned_on
