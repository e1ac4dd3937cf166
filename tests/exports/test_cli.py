"""`logicrm export`: a kind to a file or standard output, as a user or as everything."""

from __future__ import annotations

from tests.exports.conftest import records


def test_cli_exports_to_a_file_or_stdout_as_a_user(app, db, api, actors, portfolio, tmp_path):
    runner = app.test_cli_runner()
    path = tmp_path / "links.csv"
    result = runner.invoke(args=["export", "links", "--output", str(path), "--user", "am@test.example"])
    assert result.exit_code == 0, result.output
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert {row["external_ref"] for row in records(raw.decode())} == {"A1-A2", "A1-B2"}

    everything = runner.invoke(args=["export", "links"])
    assert everything.exit_code == 0, everything.output
    assert not everything.stdout.startswith("\ufeff")
    assert {row["external_ref"] for row in records(everything.stdout)} == {"A1-A2", "A1-B2", "B1-B2"}

    unknown = runner.invoke(args=["export", "lanes"])
    assert unknown.exit_code == 1 and "kinds: customers" in unknown.output
    refused = runner.invoke(args=["export", "contacts", "--user", "planner@test.example"])
    assert refused.exit_code == 1 and "may not export contacts" in refused.output
