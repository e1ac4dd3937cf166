"""A world's CSV files are what `logicrm import` takes: checked against the import kinds, and imported
for real into a fresh database (SQLite, and PostgreSQL when configured) by `logicrm db upgrade` and
`logicrm import`, run through Flask's CLI runner."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from sqlalchemy import text

from logicrm import create_app
from logicrm.cli import register_commands
from tests.test_migrations import empty_database, empty_database_url  # noqa: F401  (fixtures)
from tests.worlds import IMPORT_ORDER, export_csv, generate, world_config


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


def test_a_world_imports_cleanly_through_the_cli_into_a_fresh_database(empty_database_url, tmp_path):  # noqa: F811
    world = generate(world_config(accounts=20, years=0.4, contagion="strong", seed=4))
    paths = export_csv(world, tmp_path)
    app = create_app({"database_url": empty_database_url})
    register_commands(app)  # what the `logicrm` script adds; create_app alone has no commands
    engine = app.extensions["logicrm.db"].engine
    runner = app.test_cli_runner()
    try:
        upgraded = runner.invoke(args=["db", "upgrade"])
        assert upgraded.exit_code == 0, upgraded.output
        for kind, path in paths.items():
            imported = runner.invoke(args=["import", kind, str(path)])
            rows = len(_rows(path))
            assert imported.exit_code == 0, imported.output
            assert f"{rows:,} created, 0 updated, 0 unchanged, 0 invalid" in imported.stderr, imported.stderr
        with engine.connect() as connection:
            _check_database(world, lambda sql, **values: connection.execute(text(sql), values).scalar())
    finally:
        engine.dispose()


def _check_database(world, scalar) -> None:
    accounts = world.accounts
    kept = world.exported()
    churned = kept & (accounts.churned <= world.last_day)
    assert scalar("SELECT count(*) FROM customers") == kept.sum()
    assert scalar("SELECT count(*) FROM customers WHERE status = 'churned'") == churned.sum()
    assert scalar("SELECT count(*) FROM customers WHERE churned_on IS NOT NULL") == churned.sum()
    assert scalar("SELECT count(*) FROM shipper_profiles") == (kept & accounts.is_shipper).sum()
    assert scalar("SELECT count(*) FROM consignee_profiles") == (kept & accounts.is_consignee).sum()
    shipped = world.shipments.shipped
    assert (
        scalar("SELECT count(*) FROM shipments")
        == ((shipped >= world.first_day) & (shipped < world.last_day + 1)).sum()
    )
    assert scalar("SELECT count(*) FROM links WHERE ended_on IS NOT NULL") > 0
    # The latest churn of the history: its status date is the world's, and its lanes carried nothing after it.
    churner = int(np.argmax(np.where(churned, accounts.churned, -1)))
    ref = accounts.ref[churner]
    churned_on = scalar("SELECT churned_on FROM customers WHERE external_ref = :ref", ref=ref)
    last_shipped = scalar(
        "SELECT max(s.shipped_at) FROM shipments s JOIN links l ON s.link_id = l.id JOIN customers c "
        "ON c.id IN (l.shipper_id, l.consignee_id) WHERE c.external_ref = :ref", ref=ref,
    )  # fmt: skip
    assert str(churned_on) == world.date(accounts.churned[churner]).isoformat()
    assert last_shipped is not None and str(last_shipped)[:10] < str(churned_on)
