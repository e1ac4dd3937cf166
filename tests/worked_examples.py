"""The worked examples of docs/ pages, read by the tests that recompute them (so page and code cannot drift)."""

from __future__ import annotations

from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def table(name: str, *, page: str = "scoring.md") -> list[list[str]]:
    """Return the body rows of the table between the `worked-example:<name>` markers of a docs page."""
    text = (DOCS / page).read_text()
    body = text.split(f"<!-- worked-example:{name} -->")[1].split(f"<!-- /worked-example:{name} -->")[0]
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")] for line in body.strip().splitlines()
    ]
    return rows[2:]
