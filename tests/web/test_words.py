"""Scores in words: the churn horizon is read from whatever the scores state, and an alert's cause names it."""

from __future__ import annotations

from types import SimpleNamespace

from logicrm.web import words


def test_horizon_days_is_read_from_a_mapping_or_an_object_and_only_when_stated():
    assert words.horizon_days({"horizon_days": 180, "network_risk": 0.2}) == 180
    assert words.horizon_days(SimpleNamespace(horizon_days=90)) == 90
    assert words.horizon_days({"network_risk": 0.2}) is None  # scores from before the scoring rewrite
    assert words.horizon_days(SimpleNamespace(network_risk=0.2)) is None
    assert words.horizon_days({"horizon_days": None}) is None
    assert words.horizon_days({"horizon_days": 0}) is None


def test_a_risk_alert_says_its_horizon_when_the_scores_state_one(app):
    details = {"network_risk": 0.4321, "threshold": 0.3}
    with app.test_request_context("/"):
        without = words.alert_cause("risk_high", details)
        with_horizon = words.alert_cause("risk_high", {**details, "horizon_days": 180})
    assert without.startswith("Network risk 43")
    assert with_horizon.startswith("Probability of leaving within 180 days: 43")
    assert "alert from 30" in with_horizon
