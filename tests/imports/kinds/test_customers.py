"""The customers kind: profiles, referrals further down the file, updates recorded in the history."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from logicrm.customers.models import Customer
from logicrm.shippers.models import ShipperProfile
from tests.imports.conftest import count, csv_text, run_import
from tests.imports.world import WORLD


def test_a_shipper_with_an_empty_on_time_target_imports_unchanged_the_second_time(app, db, actors):
    body = csv_text(("external_ref", "name", "shipper", "on_time_target"), [["S", "Shipper", "true", ""]])
    assert run_import(app, "customers", body).counts["created"] == 1
    with db.session(write=False) as session:
        created = session.scalar(select(ShipperProfile.on_time_target))
    again = run_import(app, "customers", body)
    with db.session(write=False) as session:
        assert session.scalar(select(ShipperProfile.on_time_target)) == created
    assert (again.counts["updated"], again.counts["unchanged"]) == (0, 1)


def test_a_changed_row_is_updated_and_recorded_in_the_history_with_old_and_new_values(app, db, actors, api):
    run_import(app, "customers", WORLD["customers"])
    changed = csv_text(
        ("external_ref", "name", "region", "contracted_annual_value", "shipper"),
        [["S1", "上海物流有限公司", "North China", "1300000", "true"]],
    )
    job = run_import(app, "customers", changed)
    assert (job.state, job.counts["updated"], job.counts["unchanged"]) == ("succeeded", 1, 0)
    with db.session(write=False) as session:
        s1 = session.scalar(select(Customer).where(Customer.external_ref == "S1"))
        # columns the file left out keep their values
        assert (s1.name, s1.region, s1.industry) == ("上海物流有限公司", "North China", "logistics")
        assert s1.shipper_profile.contracted_annual_value == 1300000
        assert s1.shipper_profile.contract_end == dt.date(2026, 12, 31)
    history = api.get(f"/customers/{s1.id}/history", query={"page_size": 100}).json["items"]
    changes = [event["changes"] for event in history if event["action"] == "update"]
    assert {"region": ["East China", "North China"]} in changes, history
    assert any(change.get("contracted_annual_value") == [1200000.5, 1300000.0] for change in changes), changes


def test_referred_by_may_name_a_customer_further_down_the_file(app, db, actors):
    body = csv_text(
        ("external_ref", "name", "acquisition_channel", "referred_by_ref"),
        [["A", "Alpha", "referral", "C"], ["B", "Beta", "referral", "A"], ["C", "Gamma", "", ""]],
    )
    job = run_import(app, "customers", body)
    assert (job.state, job.counts["created"]) == ("succeeded", 3)
    with db.session(write=False) as session:
        ids = dict(session.execute(select(Customer.external_ref, Customer.id)).all())
        referred = dict(session.execute(select(Customer.external_ref, Customer.referred_by_id)).all())
    assert referred == {"A": ids["C"], "B": ids["A"], "C": None}
    assert run_import(app, "customers", body).counts["unchanged"] == 3


def test_a_referral_to_no_customer_at_all_is_a_row_error(app, db, actors):
    body = csv_text(("external_ref", "name", "referred_by_ref"), [["A", "Alpha", "ZZZ"]])
    job = run_import(app, "customers", body)
    assert job.state == "rejected"
    assert job.counts["errors"] == [
        {
            "line": 2,
            "column": "referred_by_ref",
            "reason": "no customer with external_ref 'ZZZ' in the database or this file",
        }
    ]
    assert count(db, Customer) == 0
