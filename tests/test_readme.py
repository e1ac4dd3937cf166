"""The README documents every setting and parameter the code reads, and shows every screenshot the browser
tests write."""

import re
from pathlib import Path

import pytest

from logicrm.config import documented
from logicrm.health.rule_params import describe_params as rule_params
from logicrm.network.params import describe_params as scoring_params

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


@pytest.mark.parametrize(
    "variable",
    [v for v, _default, _doc in documented()]
    + [env for _name, env, _default, _doc in scoring_params()]
    + [env for _name, env, _default, _doc in rule_params()],
)
def test_every_variable_is_documented(variable):
    assert f"`{variable}`" in README


def test_readme_opens_with_the_two_commands():
    head = README.splitlines()[:6]
    assert any("scripts/run" in line for line in head) and any("scripts/test" in line for line in head)


MAIN_PAGES = {
    "my-day",
    "accounts",
    "account",
    "network",
    "what-if",
    "alerts",
    "service-desk",
    "portfolio",
    "admin",
}


def test_the_readme_shows_every_screenshot_the_browser_tests_write():
    root = Path(__file__).resolve().parent.parent
    written = set(
        re.findall(r'screenshot\("([\w-]+)"\)', (root / "tests/browser/test_journeys.py").read_text())
    )
    shown = set(re.findall(r"\(docs/screenshots/([\w-]+)\.png\)", README))
    assert written >= MAIN_PAGES
    assert shown == written
    assert all((root / "docs/screenshots" / f"{name}.png").is_file() for name in written)
