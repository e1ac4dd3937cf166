"""The customers kind: profiles, referrals further down the file, updates recorded in the history."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from logicrm.customers.models import Customer
from logicrm.imports.models import ImportReject
from logicrm.shippers.models import ShipperProfile
from tests import factories as f
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


def test_a_probable_duplicate_is_flagged_not_created_unless_the_row_insists(app, db, actors, api):
    existing = f.customer(api, "Nordwind Logistics GmbH", registration_number="HRB 104233")
    header = ("external_ref", "name", "registration_number", "allow_duplicate")
    rows = [
        ["N1", "Nordwind Logistcs", "", ""],  # a typo of an existing name
        ["N2", "NORDWIND LOGISTICS", "", "false"],  # the same name
        ["N3", "Other Name AG", "hrb-104233", "true"],  # the same legal entity: insisting does not help
        ["N4", "Nordwind Logistic", "", "true"],  # insists: created
        ["N5", "Nordwind Logistik", "", ""],  # a near twin of N4, in the same file
        ["N6", "Fresh Company", "", ""],
    ]
    job = run_import(app, "customers", csv_text(header, rows), skip_invalid=True)
    assert (job.counts["created"], job.counts["invalid"]) == (2, 4), job.counts
    reasons = {
        reject.line: (reject.errors[0]["column"], reject.errors[0]["reason"])
        for reject in _rejects(db, job.id)
        if reject.errors  # the header's line carries none
    }
    assert reasons[2] == (
        "name",
        f"probable duplicate of customer {existing['id']} (Nordwind Logistics GmbH): similar name "
        "(match score 0.97); set allow_duplicate to true if it is another company",
    )
    assert (
        reasons[3][1].startswith(f"probable duplicate of customer {existing['id']}")
        and "same name" in reasons[3][1]
    )
    assert reasons[4][0] == "registration_number" and "set allow_duplicate" not in reasons[4][1]
    assert reasons[6][0] == "name" and "similar name" in reasons[6][1]
    assert set(reasons) == {2, 3, 4, 6}  # line 1 is the header
    with db.session(write=False) as session:
        refs = set(session.scalars(select(Customer.external_ref)))
    assert refs == {existing["external_ref"], "N4", "N6"}


def _rejects(db, job_id: int):
    with db.session(write=False) as session:
        return session.scalars(select(ImportReject).where(ImportReject.job_id == job_id)).all()


def test_an_emptied_referral_is_cleared_and_a_bad_one_rejected_with_its_line_and_cells(app, db, actors):
    header = ("external_ref", "name", "referred_by_ref")
    run_import(app, "customers", csv_text(header, [["A", "Alpha", ""], ["B", "Beta", "A"]]))
    rows = [["A", "Alpha", "A"], ["B", "Beta", ""], ["C", "Gamma", "B"]]
    job = run_import(app, "customers", csv_text(header, rows), skip_invalid=True)
    assert (job.counts["created"], job.counts["updated"], job.counts["invalid"]) == (1, 1, 1), job.counts
    [reject] = [reject for reject in _rejects(db, job.id) if reject.errors]
    assert (reject.line, reject.cells["values"], reject.errors) == (
        2,
        ["A", "Alpha", "A"],
        [{"column": "referred_by_ref", "reason": "a customer cannot refer itself"}],
    )
    with db.session(write=False) as session:
        ids = dict(session.execute(select(Customer.external_ref, Customer.id)).all())
        referred = dict(session.execute(select(Customer.external_ref, Customer.referred_by_id)).all())
    assert referred == {"A": None, "B": None, "C": ids["B"]}
