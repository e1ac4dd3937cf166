"""What a stored alert says in words (logicrm/health/measures.py), for alerts of older releases too; alerts
raised now are read in tests/health/test_rules.py, beside the rules that raise them."""

import pytest

from logicrm.health import measures


@pytest.mark.parametrize(
    "details",
    [
        # raised before gaps were stored: the index on 0–100, or earlier still the score on 0–1
        {"departments": [{"name": "Finance", "score": 30.0}], "threshold": 35.0},
        {"departments": [{"name": "Finance", "score": 0.3}], "threshold": 0.35},
    ],
)
def test_an_older_dissatisfied_alert_reads_as_the_same_gap_without_a_band(details):
    assert measures.dissatisfied_gaps(details) == (
        [("Finance", pytest.approx(-2.4), None)],
        pytest.approx(-1.8),
    )
    assert measures.measure("department_dissatisfied", details) == (
        "Finance, the weakest deciding department, -2.4 points from its expectations "
        "(gap on a 1–7 scale, 0 = met; alert below -1.8)"
    )


def test_a_risk_alert_from_before_the_horizon_says_probability_without_inventing_one():
    assert measures.measure("risk_high", {"network_risk": 0.42, "threshold": 0.3}) == (
        "probability of leaving 42%, its partners' risk included (alert from 30%)"
    )
    assert (
        measures.measure("department_dissatisfied", {"departments": []}) == ""
    )  # foreign details say nothing
