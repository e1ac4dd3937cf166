"""Scores in words: the churn horizon is read from whatever the scores state, and an alert's cause names it."""

from __future__ import annotations

from types import SimpleNamespace

from logicrm.network import churn, drivers
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


def test_a_dissatisfied_alert_names_each_departments_gap_and_band(app):
    details = {
        "departments": [
            {"name": "IT", "gap": -3.6, "band": "well below expectations", "score": 20.0},
            {"name": "Finance", "gap": -2.4, "band": "well below expectations", "score": 30.0},
        ],
        "threshold_gap": -1.8,
        "threshold": 35.0,
    }
    with app.test_request_context("/"):
        cause = words.alert_cause("department_dissatisfied", details)
    assert cause == (
        "Deciding department short of expectations: IT -3.6, well below expectations, Finance -2.4, well "
        "below expectations (gap on a 1–7 scale, 0 = met; alert below -1.8)."
    )
    with app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        assert "远低于期望" in words.alert_cause("department_dissatisfied", details)


def test_an_older_dissatisfied_alert_reads_as_the_gap_its_score_gives(app):
    for details in (
        {"departments": [{"name": "IT", "score": 20.0}], "threshold": 35.0},
        {"departments": [{"name": "IT", "score": 0.2}], "threshold": 0.35},  # stored on 0–1 before that
    ):
        with app.test_request_context("/"):
            cause = words.alert_cause("department_dissatisfied", details)
        assert cause == (
            "Deciding department short of expectations: IT -3.6 (gap on a 1–7 scale, 0 = met; alert below -1.8)."
        )


def test_risk_jump_and_exposure_say_the_horizon_when_the_alert_stored_one(app):
    jump = {"rise": 0.2, "previous_network_risk": 0.1, "network_risk": 0.3, "threshold": 0.15}
    exposure = {"share": 0.06, "network_risk": 0.2, "threshold": 0.05}
    with app.test_request_context("/"):
        assert words.alert_cause("risk_jump", {**jump, "horizon_days": 180}).startswith(
            "Probability of leaving within 180 days rose +20 pp"
        )
        assert words.alert_cause("risk_jump", jump).startswith("Network risk rose +20 pp")
        assert words.alert_cause("exposure_high", {**exposure, "horizon_days": 180}).endswith(
            "its probability of leaving within 180 days is 20%."
        )
        assert words.alert_cause("exposure_high", exposure).endswith("its network risk is 20%.")


def test_every_driver_the_scores_name_has_a_label_of_its_own_in_the_pages():
    assert set(words.OWN_DRIVERS) == set(drivers.OWN_LABELS)  # none reads as "other drivers"
    assert set(churn.FEATURE_NAMES) <= set(words.OWN_DRIVERS)


def test_a_stored_feature_driver_reads_as_its_label_not_as_other_drivers(app):
    with app.test_request_context():
        text = words.driver_text({"kind": "own", "key": "inbound_drop", "share": 0.2}, {})
    assert text == "receiving less than its shippers send elsewhere"
