"""The churn model's evidence as scoring.signals gathers it: the satisfaction the health answer shows, and
a consignee's inbound volume against its shippers' other lanes."""

from __future__ import annotations

import collections
import datetime as dt

import pytest

from logicrm.network import churn
from logicrm.network.churn import PortfolioRates, RiskSignals
from logicrm.network.params import ScoringParams
from logicrm.scoring import scores as scoring
from logicrm.scoring import signals
from tests import factories
from tests.scoring.extremes import NOW

PARAMS = ScoringParams()


def _survey(api, customer, department, *, days_ago, expectation, perception, likelihood):
    factories.survey(
        api,
        customer,
        department,
        collected_at=(NOW - dt.timedelta(days=days_ago)).isoformat(),
        likelihood_to_recommend=likelihood,
        scores=[{"dimension": "timeliness", "expectation": expectation, "perception": perception}],
    )


def test_a_silent_furious_decision_maker_still_weighs_and_no_answer_is_no_data(api, db):
    """A deciding department that stopped answering keeps its decaying verdict in the weakest-deciding
    feature and flags itself silent; an account whose departments never answered is no data, not safe."""
    heard = factories.customer(api, roles=("consignee",))
    finance = factories.department(api, heard, "finance", is_decision_maker=True)
    logistics = factories.department(api, heard, "logistics", decision_weight=2)
    _survey(api, heard, finance, days_ago=200, expectation=7, perception=1, likelihood=0)
    _survey(api, heard, logistics, days_ago=5, expectation=4, perception=6, likelihood=10)
    unheard = factories.customer(api, roles=("consignee",))
    factories.department(api, unheard, "finance", is_decision_maker=True)

    with db.session(write=False) as session:
        accounts = scoring.compute(session, PARAMS, now=NOW).accounts
    account = accounts[heard["id"]]
    furious = next(d for d in account.satisfaction.departments if d.name == "finance")
    assert furious.silent and not furious.no_data and furious.score < 0.5
    assert account.signals.weakest_deciding == pytest.approx(furious.score)
    assert account.signals.silent_deciding_department and not account.signals.no_survey_data
    assert account.features["weakest_deciding_shortfall"] == pytest.approx((0.5 - furious.score) / 0.5)
    assert account.features["silent_deciding_department"] == 1.0
    assert account.signals.nps == pytest.approx(account.satisfaction.loyalty.nps)

    silent = accounts[unheard["id"]]
    assert silent.satisfaction.no_data and silent.signals.no_survey_data
    assert silent.signals.satisfaction is None and silent.signals.nps is None
    assert silent.features["no_survey_data"] == 1.0
    assert silent.features["dissatisfaction"] == silent.features["weakest_deciding_shortfall"] == 0.0


Flow = collections.namedtuple("Flow", "shipper_id consignee_id volume_recent volume_window")


def test_a_consignee_inbound_counts_against_its_shippers_other_lanes():
    """A consignee that stopped ordering stands out while its shipper's other lanes hold; a shipper winding
    down everywhere lowers its consignees' expectation instead (its decline is its own evidence)."""
    flows = [
        Flow(1, 11, 2, 30),  # the consignee that stopped ordering
        Flow(1, 12, 10, 30),
        Flow(1, 13, 10, 30),
        Flow(2, 21, 3, 30),  # shipper 2 winds down on all its lanes
        Flow(2, 22, 3, 30),
        Flow(2, 23, 3, 30),
        Flow(3, 21, 10, 30),  # 21 also receives from shipper 3, whose lanes hold
    ]
    k = 20.0
    received = signals.inbound(flows, prior_strength=k)
    portfolio = 41 / 210
    holding = (20 + k * portfolio) / (60 + k)
    assert received[11] == signals.Inbound(2, 30, pytest.approx(30 * holding))
    assert churn.features(RiskSignals(**_inbound(received[11])), PortfolioRates())["inbound_drop"] > 0.7
    winding = (6 + k * portfolio) / (60 + k)
    assert received[22].expected == pytest.approx(30 * winding)
    # its lane fell nearly as far as 11's (3 against 2 of 30), but it reads only what the shrinkage leaves
    assert churn.features(RiskSignals(**_inbound(received[22])), PortfolioRates())["inbound_drop"] < 0.2
    # a shipper with no other lane predicts the portfolio's trend
    assert received[21].expected == pytest.approx(30 * winding + 30 * portfolio)


def _inbound(received: signals.Inbound) -> dict:
    return {
        "inbound_recent": received.recent,
        "inbound_window": received.window,
        "inbound_expected": received.expected,
    }
