"""The Simplified Chinese catalogue: complete, its placeholders intact, its compiled .mo up to date, and
chosen from the browser's languages before anyone signs in."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

import logicrm.web

WEB = Path(logicrm.web.__file__).parent
CATALOGUE = WEB / "translations" / "zh_Hans" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%(?:\([a-z_]+\))?[-.0-9]*[sdfg%]")


def _source_texts(tmp_path) -> set[str]:
    """Every text marked for translation in the web package, as scripts/translations extracts them."""
    template = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", str(WEB / "babel.cfg"),
         "-k", "_l", "-k", "lazy_gettext", "--no-location", "-o", str(template), "."],
        cwd=WEB.parent.parent, check=True, capture_output=True,
    )  # fmt: skip
    with template.open("rb") as source:
        return {message.id for message in read_po(source) if message.id}


def _catalogue():
    with CATALOGUE.open("rb") as source:
        return read_po(source, locale="zh_Hans")


def test_every_text_has_its_chinese_translation_with_the_same_placeholders(tmp_path):
    catalogue = _catalogue()
    translated = {message.id: message.string for message in catalogue if message.id and message.string}
    assert sorted(_source_texts(tmp_path) - translated.keys()) == []
    assert [
        text
        for text, chinese in translated.items()
        if sorted(PLACEHOLDER.findall(text)) != sorted(PLACEHOLDER.findall(chinese))
    ] == []


def test_the_compiled_catalogue_matches_its_source():
    compiled = io.BytesIO()
    write_mo(compiled, _catalogue())
    with CATALOGUE.with_suffix(".mo").open("rb") as committed:
        shipped = {message.id: message.string for message in read_mo(committed) if message.id}
    compiled.seek(0)
    assert shipped == {message.id: message.string for message in read_mo(compiled) if message.id}


def test_the_browsers_language_chooses_before_signing_in(app):
    client = app.test_client()
    chinese = client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert 'lang="zh-Hans"' in chinese.get_data(as_text=True)
    assert "登录 LogiCRM" in chinese.get_data(as_text=True)
    english = client.get("/login", headers={"Accept-Language": "de-DE,en;q=0.5"})
    assert "Sign in to LogiCRM" in english.get_data(as_text=True)
