"""Lanes over time: the month-by-month (and week-by-week) series of a lane and of a customer's lanes, and
each listed lane's last 90 days."""

from __future__ import annotations

import datetime as dt

import pytest

from logicrm import bounds
from logicrm.lanes.metrics import periods_between
from tests import factories as f
from tests.scoring import extremes


def _row(link: dict, shipped: str, **fields) -> dict:
    return {"link_id": link["id"], "shipped_at": shipped, "revenue": 100, "cost": 70, **fields}


@pytest.fixture
def lane(api) -> dict:
    """A lane with shipments in January, March (one late, one damaged with a claim) and early April."""
    shipper, consignee = f.customer(api, "Shipper"), f.customer(api, "Consignee", roles=("consignee",))
    link = f.link(api, shipper, consignee)
    rows = [
        _row(link, "2026-01-10T08:00:00Z", promised_at="2026-01-12T08:00:00Z", delivered_at="2026-01-11T08:00:00Z"),
        _row(link, "2026-03-02T08:00:00Z", promised_at="2026-03-04T08:00:00Z", delivered_at="2026-03-05T08:00:00Z"),
        _row(link, "2026-03-20T08:00:00Z", promised_at="2026-03-24T08:00:00Z", delivered_at="2026-03-22T08:00:00Z",
             damaged=True, claim_amount=40, revenue=300, cost=150),
        # 23:30 on March 31st two hours west of UTC is April 1st in UTC: April's
        _row(link, "2026-03-31T23:30:00-02:00"),
    ]  # fmt: skip
    assert api.post("/shipments", json={"shipments": rows}).status_code == 201
    return {"link": link, "shipper": shipper, "consignee": consignee}


def test_a_lane_month_by_month(api, lane):
    answer = api.get(
        f"/links/{lane['link']['id']}/metrics",
        query={"from": "2026-01-01T00:00:00Z", "to": "2026-05-01T00:00:00Z"},
    )
    assert answer.status_code == 200, answer.json
    body = answer.json
    assert body["interval"] == "month" and body["from"].startswith("2026-01-01")
    months = {row["period"]: row for row in body["series"]}
    assert list(months) == ["2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01"]
    assert [months[m]["shipments"] for m in months] == [1, 0, 2, 1]
    march = months["2026-03-01"]
    assert (march["revenue"], march["cost"], march["margin"]) == (400.0, 220.0, 180.0)
    assert march["margin_share"] == pytest.approx(0.45)
    assert (march["delivered"], march["otif"]) == (2, 0.5)
    assert (march["damaged"], march["damage_rate"], march["claims"], march["claim_amount"]) == (
        1,
        0.5,
        1,
        40.0,
    )
    assert months["2026-02-01"]["otif"] is None and months["2026-02-01"]["margin_share"] is None
    assert months["2026-04-01"]["delivered"] == 0 and months["2026-04-01"]["otif"] is None
    totals = body["totals"]
    assert totals["shipments"] == 4 and totals["revenue"] == sum(row["revenue"] for row in body["series"])
    assert totals["otif"] == pytest.approx(2 / 3)


def test_a_lane_week_by_week(api, lane):
    body = api.get(
        f"/links/{lane['link']['id']}/metrics",
        query={"from": "2026-03-01T00:00:00Z", "to": "2026-03-23T00:00:00Z", "interval": "week"},
    ).json
    weeks = [(row["period"], row["shipments"]) for row in body["series"]]
    # ISO weeks start on Monday: Sunday March 1st belongs to the week of Monday February 23rd
    assert weeks == [("2026-02-23", 0), ("2026-03-02", 1), ("2026-03-09", 0), ("2026-03-16", 1)]


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ({"from": "2026-05-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "must be before to"),
        ({"from": "2000-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "at most 120 months"),
        (
            {"from": "2010-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z", "interval": "week"},
            "at most 520 weeks",
        ),
    ],
)
def test_a_range_that_cannot_be_served_is_refused_by_name(api, lane, query, reason):
    answer = api.get(f"/links/{lane['link']['id']}/metrics", query=query)
    assert answer.status_code == 422 and reason in answer.json["errors"]["query"]["from"][0]
    assert api.get(f"/links/{lane['link']['id']}/metrics", query={"interval": "day"}).status_code == 422


def test_the_default_range_is_the_year_up_to_now(api, lane):
    body = api.get(f"/links/{lane['link']['id']}/metrics").json
    end = dt.datetime.fromisoformat(body["to"])
    assert abs((dt.datetime.now(dt.UTC) - end).total_seconds()) < 60
    assert (end - dt.datetime.fromisoformat(body["from"])).days == 365
    assert len(body["series"]) in (12, 13)


def test_a_customer_s_lanes_by_role_with_each_lane_s_totals(api, lane):
    distributor = f.customer(api, "Distributor", roles=("shipper", "consignee"))
    inbound = f.link(api, lane["shipper"], distributor, origin="Kiel", destination="Oslo")
    outbound = f.link(api, distributor, lane["consignee"], origin="Oslo", destination="Bergen")
    rows = [
        _row(inbound, "2026-02-01T08:00:00Z", revenue=500, cost=400),
        _row(outbound, "2026-02-02T08:00:00Z"),
    ]
    assert api.post("/shipments", json={"shipments": rows}).status_code == 201
    window = {"from": "2026-01-01T00:00:00Z", "to": "2026-05-01T00:00:00Z"}
    shipper = api.get(f"/customers/{lane['shipper']['id']}/metrics", query=window).json
    assert shipper["totals"]["shipments"] == 5 and shipper["totals"]["revenue"] == 1100.0
    # the lanes by revenue over the range, largest first
    assert [(ln["link_id"], ln["shipments"], ln["revenue"]) for ln in shipper["lanes"]] == [
        (lane["link"]["id"], 4, 600.0),
        (inbound["id"], 1, 500.0),
    ]
    both = api.get(f"/customers/{distributor['id']}/metrics", query=window).json
    as_shipper = api.get(f"/customers/{distributor['id']}/metrics", query={**window, "role": "shipper"}).json
    assert both["totals"]["shipments"] == 2 and as_shipper["totals"]["shipments"] == 1
    assert [(ln["as_role"], ln["partner_name"]) for ln in as_shipper["lanes"]] == [("shipper", "Consignee")]
    assert {m["period"]: m["shipments"] for m in both["series"]}["2026-02-01"] == 2


def test_the_far_end_of_a_lane_is_named_only_when_the_reader_sees_it(api, actors):
    am, am2 = api.as_(actors["am"]), api.as_(actors["am2"])
    mine = f.customer(am, "Mine Shipping")
    hidden = f.customer(am2, "Hidden Receiving", roles=("consignee",))
    link = f.link(api, mine, hidden)
    f.shipments(api, link, 2)
    lanes = am.get(
        f"/customers/{mine['id']}/metrics",
        query={"from": "2026-01-01T00:00:00Z", "to": "2026-06-01T00:00:00Z"},
    ).json["lanes"]
    assert [(ln["partner_id"], ln["partner_name"], ln["shipments"]) for ln in lanes] == [
        (hidden["id"], None, 2)
    ]
    assert am.get(f"/customers/{hidden['id']}/metrics").status_code == 404
    # the lane itself is visible through its visible end
    assert am.get(f"/links/{link['id']}/metrics").status_code == 200
    assert am.get("/links/987654321/metrics").status_code == 404


def test_listed_lanes_carry_their_last_90_days(api):
    shipper, consignee = f.customer(api, "S"), f.customer(api, "C", roles=("consignee",))
    busy, idle = f.link(api, shipper, consignee), f.link(api, shipper, consignee, origin="Bonn")
    now = dt.datetime.now(dt.UTC)
    rows = [
        _row(busy, (now - dt.timedelta(days=days)).isoformat(), promised_at=(now - dt.timedelta(days=days - 2)).isoformat(),
             delivered_at=(now - dt.timedelta(days=days - late)).isoformat())
        for days, late in ((10, 1), (40, 3), (120, 1))  # the last is older than 90 days
    ]  # fmt: skip
    assert api.post("/shipments", json={"shipments": rows}).status_code == 201
    items = {item["id"]: item for item in api.get("/links").json["items"]}
    assert items[busy["id"]]["last_90_days"] == {
        "shipments": 2,
        "revenue": 200.0,
        "margin": 60.0,
        "otif": 0.5,
    }
    assert items[idle["id"]]["last_90_days"] == {"shipments": 0, "revenue": 0.0, "margin": 0.0, "otif": None}
    assert "last_90_days" not in api.get(f"/links/{busy['id']}").json


def test_periods_cover_the_range_they_touch():
    at = lambda text: dt.datetime.fromisoformat(text)  # noqa: E731
    assert periods_between(at("2026-01-15T00:00:00+00:00"), at("2026-03-01T00:00:00+00:00"), "month") == [
        "2026-01-01",
        "2026-02-01",
    ]
    assert periods_between(at("2026-12-31T12:00:00+00:00"), at("2027-01-05T00:00:00+00:00"), "week") == [
        "2026-12-28",
        "2027-01-04",
    ]


def test_money_written_past_the_api_is_held_to_its_bound(api, db, lane):
    # issue 10's values: 1.7e308 on SQLite; PostgreSQL's numeric(14, 2) holds NaN instead
    revenue = "1.7e308" if db.engine.dialect.name == "sqlite" else "'NaN'"
    extremes.write_raw(db, "shipments", f"UPDATE shipments SET revenue = {revenue}", {})
    window = {"from": "2026-01-01T00:00:00Z", "to": "2026-05-01T00:00:00Z"}
    answer = api.get(f"/links/{lane['link']['id']}/metrics", query=window)
    body = extremes.strict_json(answer.get_data(as_text=True))
    assert answer.status_code == 200 and extremes.all_finite(body)
    held = bounds.MONEY.high if db.engine.dialect.name == "sqlite" else 0.0
    assert body["totals"]["revenue"] == 4 * held
