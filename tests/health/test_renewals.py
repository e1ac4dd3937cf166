"""Renewals: the health run opens a renewal deal ahead of a shipper's contract end, once per contract, and
the contract-expiring alert clears only when a renewal reaches the configured stage."""

from __future__ import annotations

import datetime as dt

import pytest

from logicrm.health import runs
from tests import factories as f


@pytest.fixture
def config(app) -> runs.RunConfig:
    return runs.RunConfig(app.config["LOGICRM"], app.config["LOGICRM_SCORING"], app.config["LOGICRM_RULES"])


def _shipper(api, name: str, days_left: int, value: float | None = None, **fields) -> dict:
    end = (dt.date.today() + dt.timedelta(days=days_left)).isoformat()
    return f.customer(api, name, shipper={"contract_end": end, "contracted_annual_value": value}, **fields)


def _renewals(api, customer: dict) -> list[dict]:
    deals = api.get("/opportunities", query={"customer_id": customer["id"]}).json["items"]
    return [deal for deal in deals if deal["kind"] == "renewal"]


def _expiring(api, customer: dict) -> list[str]:
    alerts = api.get("/alerts", query={"customer_id": customer["id"], "rule": "contract_expiring"}).json
    return [alert["state"] for alert in alerts["items"]]


def test_a_renewal_is_opened_once_ahead_of_the_contract_end(api, actors, db, config):
    due = _shipper(api, "Due Soon", 60, 50_000, owner_id=actors["am"].user_id)
    later = _shipper(api, "Due Later", 200)
    handled = _shipper(api, "Handled", 30)
    f.opportunity(api, handled, kind="renewal", title="talks started")  # names no contract end
    first = runs.run_health(db, config)
    runs.run_health(db, config)
    assert first.counts["renewals_opened"] == 1
    [renewal] = _renewals(api, due)
    assert (renewal["stage"], renewal["probability"], renewal["value"], renewal["source"]) == (
        "lead", 0.1, 50_000.0, "renewal_job",
    )  # fmt: skip
    assert renewal["contract_end"] == renewal["expected_close"] == due["shipper"]["contract_end"]
    assert renewal["owner_id"] == actors["am"].user_id and [s["stage"] for s in renewal["stages"]] == ["lead"]
    assert _renewals(api, later) == [] and len(_renewals(api, handled)) == 1


def test_the_expiring_alert_clears_only_when_the_renewal_is_far_enough_along(api, db, config):
    shipper = _shipper(api, "Expiring", 20)
    runs.run_health(db, config)
    [renewal] = _renewals(api, shipper)  # opened by the run, in lead
    runs.run_health(db, config)
    assert _expiring(api, shipper) == ["open"]  # a lead renewal does not silence it
    assert api.update(f"/opportunities/{renewal['id']}", {"stage": "negotiation"}).status_code == 200
    runs.run_health(db, config)
    assert _expiring(api, shipper) == ["resolved"]


def test_a_lead_the_run_opened_is_no_renewal_to_the_churn_model_until_someone_works_it(api, db, config):
    shipper = _shipper(api, "Expiring Quietly", 20)

    def own_risk() -> float:
        return api.get(f"/customers/{shipper['id']}/health").json["own_risk"]

    before = own_risk()
    runs.run_health(db, config)
    [renewal] = _renewals(api, shipper)  # opened by the run, in lead
    assert own_risk() == pytest.approx(before, abs=1e-9)
    assert api.update(f"/opportunities/{renewal['id']}", {"stage": "proposal"}).status_code == 200
    assert own_risk() < before - 0.01
