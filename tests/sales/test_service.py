"""Opportunities' stage rules: probabilities follow the configured stage probabilities, a won deal has
probability 1 and a lost one 0, every stage change is kept as a stay, and the owner defaults to the
customer's."""

from __future__ import annotations

import pytest

from tests import factories as f


def test_a_deal_takes_its_stage_probability_and_keeps_its_stage_history(api, actors):
    customer = f.customer(api, owner_id=actors["am"].user_id)
    deal = f.opportunity(api, customer, service_lines=["warehousing", "customs"])
    assert (deal["stage"], deal["probability"], deal["owner_id"]) == ("lead", 0.1, actors["am"].user_id)
    assert deal["service_lines"] == ["warehousing", "customs"] and deal["closed_on"] is None
    assert [(s["stage"], s["left_at"]) for s in deal["stages"]] == [("lead", None)]

    moved = api.update(f"/opportunities/{deal['id']}", {"stage": "negotiation"}).json
    assert moved["probability"] == 0.5  # the configured negotiation probability
    assert [s["stage"] for s in moved["stages"]] == ["lead", "negotiation"]
    assert moved["stages"][0]["left_at"] == moved["stages"][1]["entered_at"]
    assert moved["stages"][1]["user_id"] == actors["admin"].user_id

    # a probability given by hand stands while the stage does not change
    tuned = api.update(f"/opportunities/{deal['id']}", {"probability": 0.65, "title": "bigger"}).json
    assert tuned["probability"] == 0.65 and len(tuned["stages"]) == 2

    won = api.update(f"/opportunities/{deal['id']}", {"stage": "won"}).json
    assert (won["probability"], won["closed_on"] is not None) == (1.0, True)
    assert [s["left_at"] is None for s in won["stages"]] == [False, False, True]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"stage": "lost", "probability": 0.9}, "a lost deal has probability 0, not 0.9"),
        ({"stage": "won", "probability": 0.5}, "a won deal has probability 1, not 0.5"),
        ({"stage": "lead", "owner_id": 987654}, "no user 987654"),
    ],
)
def test_inconsistent_deals_are_refused_by_field(api, body, message):
    customer = f.customer(api)
    answer = api.post(
        "/opportunities", json={"customer_id": customer["id"], "kind": "new", "title": "x", **body}
    )
    field = next(iter(body.keys() - {"stage"}))
    assert answer.status_code == 422 and answer.json["errors"]["json"][field] == [message]


def test_a_closed_deal_keeps_its_probability_until_reopened(api):
    deal = f.opportunity(api, f.customer(api), stage="lost")
    assert deal["probability"] == 0.0
    refused = api.update(f"/opportunities/{deal['id']}", {"probability": 0.3})
    assert refused.status_code == 422 and "probability" in refused.json["errors"]["json"]
    reopened = api.update(f"/opportunities/{deal['id']}", {"stage": "proposal"}).json
    assert (reopened["probability"], reopened["closed_on"]) == (0.25, None)
