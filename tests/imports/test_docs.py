"""docs/imports.md and docs/examples/ stay true to the import code: the column tables list each kind's
columns, and the example files import cleanly, in the documented order, and again unchanged."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from logicrm.imports import service
from logicrm.imports.kinds import KINDS

DOCS = Path(__file__).resolve().parents[2] / "docs"
GUIDE = (DOCS / "imports.md").read_text(encoding="utf-8")
EXAMPLES = DOCS / "examples"
ORDER = ("customers", "departments", "contacts", "links", "shipments", "surveys", "interactions", "tickets")


def _column_table(kind: str) -> list[tuple[str, bool]]:
    """(column, required) rows of the first table under the heading `### <kind>` of docs/imports.md."""
    section = re.search(rf"^### {kind}\n(.*?)(?=^#{{1,3}} |\Z)", GUIDE, re.MULTILINE | re.DOTALL)
    assert section, f"docs/imports.md has no '### {kind}' section"
    lines = [line for line in section.group(1).splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert header[:2] == ["column", "required"], header
    rows = []
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        assert cells[1] in ("yes", ""), f"{kind}: required must be 'yes' or empty, not {cells[1]!r}"
        rows.append((cells[0].strip("`"), cells[1] == "yes"))
    return rows


def test_the_order_is_every_kind_once():
    assert sorted(ORDER) == sorted(KINDS)


@pytest.mark.parametrize("kind", ORDER)
def test_the_column_table_lists_the_kinds_columns_in_order(kind):
    expected = [(column.name, column.required) for column in KINDS[kind].columns]
    assert _column_table(kind) == expected


@pytest.mark.parametrize("kind", ORDER)
def test_every_example_has_a_documented_header(kind):
    header = (EXAMPLES / f"{kind}.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    names = re.split("[,;\t]", header)
    assert set(names) <= set(KINDS[kind].column_names), set(names) - set(KINDS[kind].column_names)


def _import_examples(db) -> dict[str, dict]:
    counts = {}
    for kind in ORDER:
        with db.session_scope() as session, open(EXAMPLES / f"{kind}.csv", "rb") as stream:
            outcome = service.run(
                session,
                kind=KINDS[kind],
                user=service.command_line_user(),
                stream=stream,
                options=service.Options(),
            )
            assert outcome.state == "succeeded", (kind, list(outcome.rejects))
            counts[kind] = outcome.counts
    return counts


def test_the_examples_import_cleanly_and_a_second_pass_changes_nothing(db):
    first = _import_examples(db)
    assert all(counts["invalid"] == 0 and counts["created"] > 0 for counts in first.values()), first
    second = _import_examples(db)
    assert all(
        counts["unchanged"] == first[kind]["created"] and counts["created"] == counts["updated"] == 0
        for kind, counts in second.items()
    ), second
