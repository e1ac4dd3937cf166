"""The churn model's evidence as scoring.signals gathers it: the satisfaction the health answer shows, and
a consignee's inbound volume against its shippers' other lanes."""

from __future__ import annotations

import collections
import datetime as dt
import itertools

import pytest

from logicrm.network import churn
from logicrm.network.churn import PortfolioRates, RiskSignals
from logicrm.network.params import ScoringParams
from logicrm.scoring import queries, signals
from logicrm.scoring import scores as scoring
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
        seen = scoring.observe(session, PARAMS, now=NOW)
        accounts = scoring.score(session, seen, PARAMS).accounts
    account, features = accounts[heard["id"]], seen.features[heard["id"]]
    furious = next(d for d in account.satisfaction.departments if d.name == "finance")
    assert furious.silent and not furious.no_data and furious.score < 0.5
    assert account.signals.weakest_deciding == pytest.approx(furious.score)
    assert account.signals.silent_deciding_department and not account.signals.no_survey_data
    assert features["weakest_deciding_shortfall"] == pytest.approx((0.5 - furious.score) / 0.5)
    assert features["silent_deciding_department"] == 1.0
    assert account.signals.nps == pytest.approx(account.satisfaction.loyalty.nps)

    silent = accounts[unheard["id"]]
    assert silent.satisfaction.no_data and silent.signals.no_survey_data
    assert silent.signals.satisfaction is None and silent.signals.nps is None
    features = seen.features[unheard["id"]]
    assert features["no_survey_data"] == 1.0
    assert features["dissatisfaction"] == features["weakest_deciding_shortfall"] == 0.0


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


def _lapses_by_definition(days: set[int], *, inactive_days: int, until: int) -> set[int]:
    """The days a shipper shipping on `days` had gone `inactive_days` without a shipment, by `until`."""
    ordered = sorted(days)
    after_gaps = {d + inactive_days for d, e in itertools.pairwise(ordered) if e - d >= inactive_days}
    tail = {ordered[-1] + inactive_days} if ordered[-1] + inactive_days <= until else set()
    return after_gaps | tail


def test_lapses_follow_each_long_gap_and_the_last_shipment_once_it_is_long_enough(api, db):
    inactive, until = 30, dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    start = dt.datetime(2026, 1, 1, 8, tzinfo=dt.UTC)
    # days after `start` each shipper shipped on, over two lanes whose days interleave and repeat
    plans = {
        "gaps of exactly, more and less than 30 days, then stopped": ([0, 30, 95, 100], [0, 100, 110]),
        "ships to the end": ([0, 20, 40], [50, 200, 320, 330]),
        "one day only": ([5], []),
    }
    expected = {}
    for name, lanes in plans.items():
        shipper = factories.customer(api, name, roles=("shipper",))
        for days in lanes:
            consignee = factories.customer(api, roles=("consignee",))
            link = factories.link(api, shipper, consignee)
            rows = [
                {"link_id": link["id"], "shipped_at": (start + dt.timedelta(days=d)).isoformat(), "revenue": 1, "cost": 1}
                for d in days
            ]  # fmt: skip
            if rows:
                assert api.post("/shipments", json={"shipments": rows}).status_code == 201
        first = queries.day_number(start)
        shipped = {first + d for days in lanes for d in days}
        expected[shipper["id"]] = _lapses_by_definition(
            shipped, inactive_days=inactive, until=queries.day_number(until)
        )
    with db.session(write=False) as session:
        found = collections.defaultdict(set)
        for shipper_id, day in queries.lapses(session, inactive_days=inactive, until=until):
            found[shipper_id].add(day)
        since = start + dt.timedelta(days=120)
        recent = set(queries.lapses(session, inactive_days=inactive, until=until, since=since))
    assert dict(found) == expected
    first = queries.day_number(start)
    # day 0 (next: 30, exactly 30 days on), day 30 (next: 95) and the last, day 110
    assert expected[min(expected)] == {first + 30, first + 60, first + 140}
    assert recent == {(s, d) for s, days in expected.items() for d in days if d >= queries.day_number(since)}


def _ship(api, link, days_ago: list[int], *, now: dt.datetime) -> None:
    """Ship on `link` at 1 am of each of the days `days_ago` before `now` (midnight)."""
    rows = [
        {"link_id": link["id"], "shipped_at": (now - dt.timedelta(days=d, hours=-1)).isoformat(), "revenue": 1, "cost": 1}
        for d in days_ago
    ]  # fmt: skip
    assert api.post("/shipments", json={"shipments": rows}).status_code == 201


NEW_FEATURES = ("volume_shortfall", "shipment_gap", "inbound_below_declared")


def test_the_shipment_evidence_is_point_in_time(api, db):
    """A shipper that shipped every third day for a year and stopped 65 days ago, to a consignee whose lane
    declares 20 shipments a month and which another shipper keeps serving. Each feature reads that
    evidence as of NOW, and shipments dated after NOW change none of them."""
    acquired = (NOW - dt.timedelta(days=500)).date().isoformat()
    leaving = factories.customer(api, roles=("shipper",), tier="standard", acquired_on=acquired)
    steady = factories.customer(api, roles=("shipper",), tier="standard", acquired_on=acquired)
    quiet = factories.customer(api, roles=("consignee",), tier="standard", acquired_on=acquired)
    lane = factories.link(api, leaving, quiet, declared_monthly_volume=20)
    other = factories.link(api, steady, quiet, declared_monthly_volume=4)
    _ship(api, lane, list(range(65, 365, 3)), now=NOW)
    _ship(api, other, list(range(1, 365, 7)), now=NOW)

    def read() -> dict[int, dict[str, float]]:
        with db.session(write=False) as session:
            features = scoring.observe(session, PARAMS, now=NOW).features
        ids = (leaving["id"], steady["id"], quiet["id"])
        return {c: {name: features[c][name] for name in NEW_FEATURES} for c in ids}

    before = read()
    shipper, consignee = before[leaving["id"]], before[quiet["id"]]
    # 100 shipments in the 305 days before the latest 60 and none in them: more than 4 errors short
    assert shipper["volume_shortfall"] == 1.0 and before[steady["id"]]["volume_shortfall"] < 0.5
    assert shipper["shipment_gap"] == pytest.approx(65 / PARAMS.churn_inactive_days)
    # the lane's fall is the shipper's behaviour, never the consignee's
    assert consignee["volume_shortfall"] == consignee["shipment_gap"] == 0
    # 26 + 39 received in half a year where the lanes declare 24 a month: about 40 % short after shrinkage
    declared = 24 * 180 / signals.DAYS_PER_MONTH
    received = 26 + len(range(65, 180, 3))
    k = PARAMS.rate_prior_strength
    assert consignee["inbound_below_declared"] == pytest.approx(1 - (received + k) / (declared + k))

    later = NOW + dt.timedelta(days=10)
    _ship(api, lane, [0, 1, 2, 3], now=later)  # shipping again, after NOW
    _ship(api, other, [0, 1, 2, 3], now=later)
    assert read() == before
