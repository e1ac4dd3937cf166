"""The README documents every setting and parameter the code reads."""

from pathlib import Path

import pytest

from logicrm.config import documented
from logicrm.health.rules import describe_params as rule_params
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
