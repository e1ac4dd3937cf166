"""Imports through the service on a real database: upserts, idempotence, all-or-nothing, options."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from logicrm.audit.models import AuditEvent
from logicrm.customers.models import Customer
from logicrm.imports.kinds import KINDS
from logicrm.lanes.models import Link, Shipment
from logicrm.relations.models import Contact, Department, SurveyResponse
from logicrm.shippers.models import ShipperProfile
from tests.imports.conftest import SHIPMENT_HEADER, count, csv_text, run_import, shipment_rows

# One file per kind, in the order their references need; every kind, most columns, non-ASCII text.
WORLD = {
    "customers": csv_text(
        (
            "external_ref",
            "name",
            "industry",
            "region",
            "tier",
            "owner_email",
            "team_emails",
            "acquisition_channel",
            "referred_by_ref",
            "acquired_on",
            "shipper",
            "contract_start",
            "contract_end",
            "services",
            "contracted_annual_value",
            "on_time_target",
            "consignee",
            "sites",
            "receiving_windows",
        ),
        [
            [
                "S1",
                "上海物流有限公司",
                "logistics",
                "East China",
                "vip",
                "am@test.example",
                "am2@test.example|manager@test.example",
                "referral",
                "S2",
                "2024-01-15",
                "true",
                "2025-01-01",
                "2026-12-31",
                "ftl|ltl",
                "1200000.50",
                "0.95",
                "false",
                "",
                "",
            ],
            [
                "S2",
                "Shipper Two GmbH",
                "",
                "",
                "key",
                "",
                "",
                "web",
                "",
                "",
                "true",
                "",
                "",
                "",
                "",
                "",
                "true",
                "Hamburg|Bremen",
                "Mo-Fr 8-16",
            ],
            [
                "C1",
                "=Consignee One Ltd",
                "retail",
                "",
                "standard",
                "",
                "",
                "",
                "",
                "",
                "false",
                "",
                "",
                "",
                "",
                "",
                "true",
                "Shanghai",
                "24/7",
            ],
        ],
    ),
    "departments": csv_text(
        ("customer_ref", "name", "decision_weight", "is_decision_maker"),
        [["S1", "logistics", "2", "true"], ["S1", "采购部", "1,5", "false"], ["C1", "warehouse", "", ""]],
    ),
    "contacts": csv_text(
        ("external_ref", "customer_ref", "department", "name", "role", "email", "phone"),
        [
            ["P1", "S1", "logistics", "李伟", "head of logistics", "li.wei@example.cn", "+86 21 5555 0101"],
            ["P2", "C1", "", "Anna Berg", "", "", ""],
        ],
    ),
    "links": csv_text(
        (
            "external_ref",
            "shipper_ref",
            "consignee_ref",
            "origin",
            "destination",
            "service_type",
            "declared_monthly_volume",
            "started_on",
            "status",
        ),
        [
            ["L1", "S1", "C1", "Hamburg", "Shanghai", "ftl", "40", "2025-02-01", "active"],
            ["L2", "S2", "C1", "Bremen", "上海", "ltl", "", "", ""],
        ],
    ),
    "shipments": csv_text(
        (
            "external_ref",
            "link_ref",
            "shipped_at",
            "promised_at",
            "delivered_at",
            "in_full",
            "damaged",
            "claim_amount",
            "revenue",
            "cost",
        ),
        [
            [
                "SH1",
                "L1",
                "2026-03-01T08:00:00+08:00",
                "2026-03-05T00:00:00Z",
                "2026-03-04T10:30:00Z",
                "true",
                "false",
                "0",
                "1200.10",
                "900",
            ],
            ["SH2", "L2", "2026-03-02 09:00", "", "", "", "", "", "", ""],
        ],
    ),
    "surveys": csv_text(
        (
            "external_ref",
            "customer_ref",
            "department",
            "contact_ref",
            "collected_at",
            "channel",
            "likelihood_to_recommend",
            "comment",
            "timeliness_expectation",
            "timeliness_perception",
            "timeliness_importance",
            "reliability_expectation",
            "reliability_perception",
        ),
        [
            [
                "Q1",
                "S1",
                "logistics",
                "P1",
                "2026-04-01T10:00:00Z",
                "phone",
                "8",
                "准时",
                "6",
                "5,5",
                "2",
                "7",
                "6",
            ]
        ],
    ),
    "interactions": csv_text(
        (
            "external_ref",
            "customer_ref",
            "department",
            "user_email",
            "kind",
            "at",
            "summary",
            "next_follow_up",
        ),
        [
            [
                "I1",
                "S1",
                "logistics",
                "am@test.example",
                "visit",
                "2026-04-02T09:00:00Z",
                "quarterly review",
                "2026-05-01",
            ]
        ],
    ),
    "tickets": csv_text(
        (
            "external_ref",
            "customer_ref",
            "link_ref",
            "kind",
            "severity",
            "subject",
            "opened_at",
            "first_response_at",
            "status",
            "claim_amount",
        ),
        [
            [
                "T1",
                "S1",
                "L1",
                "claim",
                "high",
                "damaged pallet",
                "2026-03-05T08:00:00Z",
                "2026-03-05T09:00:00Z",
                "in_progress",
                "250.5",
            ]
        ],
    ),
}
ROWS = {kind: text.count("\r\n") - 1 for kind, text in WORLD.items()}
TABLES = (
    "customers",
    "customer_team",
    "shipper_profiles",
    "consignee_profiles",
    "departments",
    "contacts",
    "links",
    "shipments",
    "survey_responses",
    "survey_scores",
    "interactions",
    "tickets",
    "audit_events",
)


def _snapshot(db) -> dict:
    with db.session(write=False) as session:
        return {
            table: sorted(map(tuple, session.execute(text(f"SELECT * FROM {table}"))), key=repr)
            for table in TABLES
        }


def _import_world(app, **options) -> dict:
    jobs = {}
    for kind, body in WORLD.items():
        job = run_import(app, kind, body, **options)
        assert job.state == "succeeded", (kind, job.error, job.counts)
        jobs[kind] = job
    return jobs


def test_importing_every_kind_twice_changes_nothing_the_second_time(app, db, actors):
    first = _import_world(app)
    assert {kind: job.counts["created"] for kind, job in first.items()} == ROWS
    before = _snapshot(db)
    assert before["survey_scores"] and before["customer_team"]

    second = _import_world(app)
    for kind, job in second.items():
        assert (job.counts["created"], job.counts["updated"], job.counts["unchanged"]) == (
            0,
            0,
            ROWS[kind],
        ), kind
    assert _snapshot(db) == before  # no new audit event, no version moved, identical data


def test_a_shipper_with_an_empty_on_time_target_imports_unchanged_the_second_time(app, db, actors):
    body = csv_text(("external_ref", "name", "shipper", "on_time_target"), [["S", "Shipper", "true", ""]])
    assert run_import(app, "customers", body).counts["created"] == 1
    with db.session(write=False) as session:
        created = session.scalar(select(ShipperProfile.on_time_target))
    again = run_import(app, "customers", body)
    with db.session(write=False) as session:
        assert session.scalar(select(ShipperProfile.on_time_target)) == created
    assert (again.counts["updated"], again.counts["unchanged"]) == (0, 1)


def test_the_world_files_are_stored_as_written(app, db, actors):
    _import_world(app)
    with db.session(write=False) as session:
        s1 = session.scalar(select(Customer).where(Customer.external_ref == "S1"))
        assert s1.name == "上海物流有限公司"
        assert s1.referred_by_id == session.scalar(select(Customer.id).where(Customer.external_ref == "S2"))
        assert s1.owner_id == actors["am"].user_id
        assert sorted(u.id for u in s1.team) == sorted([actors["am2"].user_id, actors["manager"].user_id])
        assert s1.shipper_profile.contracted_annual_value == 1200000.50
        assert s1.shipper_profile.services == ["ftl", "ltl"]
        assert (
            session.scalar(select(Customer.name).where(Customer.external_ref == "C1")) == "=Consignee One Ltd"
        )
        assert session.scalar(select(Department.decision_weight).where(Department.name == "采购部")) == 1.5
        shipment = session.scalar(select(Shipment).where(Shipment.external_ref == "SH1"))
        assert shipment.shipped_at == dt.datetime(2026, 3, 1, 0, 0, tzinfo=dt.UTC)
        assert (shipment.revenue, shipment.in_full, shipment.damaged) == (1200.10, True, False)
        survey = session.scalar(select(SurveyResponse).where(SurveyResponse.external_ref == "Q1"))
        scores = {str(s.dimension): (s.importance, s.expectation, s.perception) for s in survey.scores}
        assert scores == {"timeliness": (2.0, 6.0, 5.5), "reliability": (1.0, 7.0, 6.0)}
        assert survey.contact_id == session.scalar(select(Contact.id).where(Contact.external_ref == "P1"))


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


def test_one_bad_row_among_10000_shipments_writes_nothing_and_names_line_and_column(app, db, lane):
    rows = shipment_rows(10_000)
    good, rows[6_789][2] = (
        rows[6_789][2],
        "2026-13-45T08:00:00Z",
    )  # physical line 6,791 (the header is line 1)
    job = run_import(app, "shipments", csv_text(SHIPMENT_HEADER, rows))
    assert job.state == "rejected"
    assert job.counts["invalid"] == 1 and job.counts["created"] == 0
    [error] = job.counts["errors"]
    assert (error["line"], error["column"]) == (6_791, "shipped_at")
    assert "2026-13-45T08:00:00Z" in error["reason"]
    assert job.rows_done == 10_000
    assert count(db, Shipment) == 0

    rows[6_789][2] = good
    fixed = run_import(app, "shipments", csv_text(SHIPMENT_HEADER, rows))
    assert (fixed.state, fixed.counts["created"], fixed.counts["invalid"]) == ("succeeded", 10_000, 0)
    assert count(db, Shipment) == 10_000


def test_skip_invalid_writes_exactly_the_valid_rows(app, db, lane):
    rows = shipment_rows(3_000)
    bad = {
        10: (2, "not a time"),  # unparseable
        500: (1, "NO-SUCH-LANE"),  # unknown link
        1_999: (3, "2025-01-01T00:00:00Z"),  # delivered before shipped
        2_500: (0, "SH00007"),  # the key of an earlier row (repeated in the file)
        2_999: (4, "-5"),  # negative revenue
    }
    for index, (column, value) in bad.items():
        rows[index][column] = value
    job = run_import(app, "shipments", csv_text(SHIPMENT_HEADER, rows), skip_invalid=True)
    assert job.state == "succeeded"
    assert (job.counts["created"], job.counts["invalid"]) == (3_000 - len(bad), len(bad))
    assert sorted(error["line"] for error in job.counts["errors"]) == sorted(index + 2 for index in bad)
    columns = {error["line"]: error["column"] for error in job.counts["errors"]}
    assert columns == {
        12: "shipped_at",
        502: "link_ref",
        2001: "delivered_at",
        2502: "external_ref",
        3001: "revenue",
    }
    with db.session(write=False) as session:
        stored = dict(session.execute(select(Shipment.external_ref, Shipment.revenue)).all())
    valid = {row[0]: float(row[4]) for index, row in enumerate(rows) if index not in bad}
    assert stored == valid  # the first SH00007 is in, the repeated one is not


def test_skip_invalid_with_customers_writes_the_valid_rows_only(app, db, actors):
    body = csv_text(
        ("external_ref", "name", "tier", "owner_email"),
        [
            ["A", "Alpha", "vip", ""],
            ["B", "Beta", "gold", ""],
            ["C", "Gamma", "", "nobody@test.example"],
            ["D", "Delta", "key", "am@test.example"],
            ["A", "Alpha again", "", ""],
        ],
    )
    job = run_import(app, "customers", body, skip_invalid=True)
    assert (job.state, job.counts["created"], job.counts["invalid"]) == ("succeeded", 2, 3)
    assert {(e["line"], e["column"]) for e in job.counts["errors"]} == {
        (3, "tier"),
        (4, "owner_email"),
        (6, "external_ref"),
    }
    with db.session(write=False) as session:
        assert dict(session.execute(select(Customer.external_ref, Customer.name)).all()) == {
            "A": "Alpha",
            "D": "Delta",
        }


def test_by_default_an_invalid_customer_row_writes_none_of_the_others(app, db, actors):
    body = csv_text(("external_ref", "name", "tier"), [["A", "Alpha", "vip"], ["B", "Beta", "gold"]])
    job = run_import(app, "customers", body)
    assert job.state == "rejected" and job.counts["invalid"] == 1
    assert count(db, Customer) == 0 and count(db, AuditEvent) == 0


def test_dry_run_reports_counts_and_writes_nothing(app, db, lane):
    run_import(app, "shipments", csv_text(SHIPMENT_HEADER, shipment_rows(10)))
    rows = shipment_rows(15)
    rows[0][4] = "999"  # changes SH00000
    job = run_import(app, "shipments", csv_text(SHIPMENT_HEADER, rows), dry_run=True)
    assert (job.state, job.dry_run) == ("succeeded", True)
    assert (job.counts["created"], job.counts["updated"], job.counts["unchanged"]) == (5, 1, 9)
    assert count(db, Shipment) == 10
    with db.session(write=False) as session:
        assert session.scalar(select(Shipment.revenue).where(Shipment.external_ref == "SH00000")) == 100.5


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (("external_ref", "nmae"), "unknown column 'nmae' (did you mean 'name'?)"),
        (("external_ref", "name", "revenue"), "unknown column 'revenue'"),
        (("external_ref", "industry"), "missing required column name"),
        (("external_ref", "name", "Name"), "column 'name' appears twice"),
    ],
)
def test_header_errors_reject_the_file_with_a_clear_error(app, db, actors, header, message):
    job = run_import(app, "customers", csv_text(header, [["A"] * len(header)]))
    assert job.state == "rejected"
    assert message in job.error and "header (line 1)" in job.error
    assert "A customers file has the columns: external_ref, name," in job.error
    assert count(db, Customer) == 0


def test_bom_semicolons_chinese_names_and_decimal_commas(app, db, actors):
    body = "\ufeff" + csv_text(
        ("external_ref", "name", "shipper", "contracted_annual_value", "on_time_target"),
        [
            ["CN1", "上海物流有限公司", "是", "1234,5", "0,95"],
            ["CN2", "深圳货运; 有限公司", "true", "7,25", ""],
        ],
        delimiter=";",
    )
    job = run_import(app, "customers", body.encode("utf-8"))
    assert job.state == "succeeded", job.counts
    with db.session(write=False) as session:
        stored = session.execute(
            select(Customer.name, ShipperProfile.contracted_annual_value, ShipperProfile.on_time_target)
            .join(ShipperProfile)
            .order_by(Customer.external_ref)
        ).all()
    assert [tuple(row) for row in stored] == [
        ("上海物流有限公司", 1234.5, 0.95),
        ("深圳货运; 有限公司", 7.25, 0.95),
    ]  # empty: the default


def test_local_date_format(app, db, actors):
    body = csv_text(
        ("external_ref", "name", "acquired_on"), [["A", "Alpha", "31.03.2026"], ["B", "Beta", "2026-04-01"]]
    )
    refused = run_import(app, "customers", body)
    assert refused.state == "rejected" and refused.counts["errors"][0]["column"] == "acquired_on"
    job = run_import(app, "customers", body, date_format="%d.%m.%Y")
    assert job.state == "succeeded"
    with db.session(write=False) as session:
        assert dict(session.execute(select(Customer.external_ref, Customer.acquired_on)).all()) == {
            "A": dt.date(2026, 3, 31),
            "B": dt.date(2026, 4, 1),
        }


def test_a_naive_timestamp_is_stored_in_utc_from_the_import_time_zone(app, db, lane):
    body = csv_text(
        ("external_ref", "link_ref", "shipped_at", "delivered_at"),
        [["X1", "L1", "2026-03-01 08:00:00", "2026-03-02T08:00:00+02:00"]],
    )
    job = run_import(app, "shipments", body, timezone="Asia/Shanghai")
    assert job.state == "succeeded", job.counts
    with db.session(write=False) as session:
        shipment = session.scalar(select(Shipment))
    assert shipment.shipped_at == dt.datetime(2026, 3, 1, 0, 0, tzinfo=dt.UTC)  # 08:00 in Shanghai: UTC −8 h
    assert shipment.delivered_at == dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC)  # an explicit offset wins


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


def test_surveys_with_dimension_columns_create_responses_with_scores(app, db, actors):
    run_import(app, "customers", WORLD["customers"])
    run_import(app, "departments", WORLD["departments"])
    body = csv_text(
        (
            "external_ref",
            "customer_ref",
            "department",
            "collected_at",
            "scale_max",
            "capacity_expectation",
            "capacity_perception",
            "handover_expectation",
            "handover_perception",
            "handover_importance",
        ),
        [
            ["Q1", "S1", "logistics", "2026-04-01", "10", "9", "4", "8", "8", "0,5"],
            ["Q2", "C1", "warehouse", "2026-04-02T10:00:00Z", "", "3", "6", "", "", ""],
        ],
    )
    job = run_import(app, "surveys", body)
    assert (job.state, job.counts["created"]) == ("succeeded", 2), job.counts
    with db.session(write=False) as session:
        surveys = {s.external_ref: s for s in session.scalars(select(SurveyResponse))}
        scores = {
            ref: {str(s.dimension): (s.importance, s.expectation, s.perception) for s in survey.scores}
            for ref, survey in surveys.items()
        }
    assert scores == {
        "Q1": {"capacity": (1.0, 9.0, 4.0), "handover": (0.5, 8.0, 8.0)},
        "Q2": {"capacity": (1.0, 3.0, 6.0)},
    }
    assert surveys["Q1"].scale_max == 10


def test_a_survey_score_outside_the_scale_or_half_answered_is_a_row_error(app, db, actors):
    run_import(app, "customers", WORLD["customers"])
    run_import(app, "departments", WORLD["departments"])
    body = csv_text(
        (
            "external_ref",
            "customer_ref",
            "department",
            "collected_at",
            "timeliness_expectation",
            "timeliness_perception",
            "reliability_expectation",
            "reliability_perception",
        ),
        [
            ["Q1", "S1", "logistics", "2026-04-01", "9", "4", "", ""],
            ["Q2", "S1", "logistics", "2026-04-01", "", "", "5", ""],
        ],
    )
    job = run_import(app, "surveys", body, skip_invalid=True)
    assert {(e["line"], e["column"]) for e in job.counts["errors"]} == {
        (2, "timeliness_expectation"),
        (3, "reliability_perception"),
    }
    assert count(db, SurveyResponse) == 0


def test_a_link_needs_the_roles_and_names_the_column_that_lacks_one(app, db, actors):
    run_import(app, "customers", WORLD["customers"])
    body = csv_text(
        ("external_ref", "shipper_ref", "consignee_ref", "origin", "destination"),
        [
            ["L9", "S2", "S1", "Bremen", "Shanghai"],
            ["L8", "C1", "S2", "x", "y"],
            ["L7", "S2", "NOPE", "x", "y"],
        ],
    )
    job = run_import(app, "links", body, skip_invalid=True)
    errors = {(e["line"], e["column"]): e["reason"] for e in job.counts["errors"]}
    assert errors == {
        (2, "consignee_ref"): "customer 'S1' has no consignee role; import it with consignee=true first",
        (3, "shipper_ref"): "customer 'C1' has no shipper role; import it with shipper=true first",
        (4, "consignee_ref"): "no customer with external_ref 'NOPE'",
    }
    assert count(db, Link) == 0


def test_contacts_in_an_unknown_department_are_row_errors(app, db, actors):
    run_import(app, "customers", WORLD["customers"])
    body = csv_text(("external_ref", "customer_ref", "department", "name"), [["P1", "S1", "sales", "Li"]])
    job = run_import(app, "contacts", body)
    assert job.state == "rejected"
    assert job.counts["errors"][0]["column"] == "department"
    assert count(db, Contact) == 0


def test_a_shipment_key_repeated_in_the_file_is_reported_wherever_the_repeat_falls(app, db, lane):
    """Within a batch, across batches, and for stored rows the file updated or left unchanged."""
    app.config["LOGICRM"] = app.config["LOGICRM"].replace(import_batch_rows=4)
    run_import(app, "shipments", csv_text(SHIPMENT_HEADER, shipment_rows(3)))  # SH00000..SH00002 stored
    rows = shipment_rows(6)  # lines 2-7: SH00000 changed, SH00001..2 unchanged, SH00003..5 new
    rows[0][4] = "999"
    repeats = [rows[0], rows[4], rows[1], rows[3]]  # lines 8-11 (batches: lines 2-5, 6-9, 10-13)
    changed_again = [*rows[2][:4], "1.25", rows[2][5]]  # line 12: SH00002 again, with other values
    job = run_import(
        app, "shipments", csv_text(SHIPMENT_HEADER, [*rows, *repeats, changed_again]), skip_invalid=True
    )
    assert (job.counts["created"], job.counts["updated"], job.counts["unchanged"]) == (3, 1, 2)
    errors = {error["line"]: (error["column"], error["reason"]) for error in job.counts["errors"]}
    assert errors == {
        8: ("external_ref", "also earlier in this file"),  # updated in the first batch
        9: ("external_ref", "also on line 6"),  # created in the same batch
        10: ("external_ref", "also earlier in this file"),  # unchanged in the first batch
        11: ("external_ref", "also earlier in this file"),  # created in the first batch
        12: ("external_ref", "also earlier in this file"),  # unchanged earlier, other values now
    }
    with db.session(write=False) as session:
        revenue = dict(session.execute(select(Shipment.external_ref, Shipment.revenue)).all())
    assert (revenue["SH00000"], revenue["SH00002"], len(revenue)) == (999, 102.5, 6)


def test_shipment_refs_with_quotes_backslashes_and_chinese_are_found_again(app, db, lane):
    rows = shipment_rows(4)
    for row, ref in zip(rows, ['SH"1"', "SH\\2", "运单-3", "SH'4"], strict=True):
        row[0] = ref
    body = csv_text(SHIPMENT_HEADER, rows)
    assert run_import(app, "shipments", body).counts["created"] == 4
    again = run_import(app, "shipments", body)
    assert (again.counts["created"], again.counts["unchanged"]) == (0, 4)


def test_short_rows_are_padded_long_ones_refused_and_an_all_invalid_batch_writes_nothing(app, db, lane):
    app.config["LOGICRM"] = app.config["LOGICRM"].replace(import_batch_rows=3)
    rows = shipment_rows(7)
    for row in rows[:3]:  # the whole first batch (lines 2-4) names an unknown lane
        row[1] = "NOPE"
    rows[4] = rows[4][:3]  # line 6: the trailing optional cells left out, as some exporters do
    rows[5] = [*rows[5], "", " "]  # line 7: blank extra cells are fine
    rows[6] = [*rows[6], "x"]  # line 8: a value beyond the header is not
    job = run_import(app, "shipments", csv_text(SHIPMENT_HEADER, rows), skip_invalid=True)
    errors = {error["line"]: error["column"] for error in job.counts["errors"]}
    assert errors == {2: "link_ref", 3: "link_ref", 4: "link_ref", 8: ""}
    assert job.counts["created"] == 3
    with db.session(write=False) as session:
        short = session.scalar(select(Shipment).where(Shipment.external_ref == "SH00004"))
    assert (short.delivered_at, short.revenue, short.cost) == (None, 0, 0)


# ------------------------------------------------------------------------------------------ hostile files


@pytest.mark.parametrize("ending", ["\r\n", "\n", "\r"], ids=["CRLF", "LF", "CR"])
def test_every_line_end_convention_imports_the_same(app, db, actors, ending):
    body = "".join(
        ending.join(line) + ending
        for line in [
            ["external_ref,name,receiving_windows,consignee"],
            ['C1,Alpha,"Mon-Fri\r\n06:00-14:00",true'],
            ["C2,Beta,,true"],
        ]
    )
    job = run_import(app, "customers", body)
    assert (job.state, job.counts["created"]) == ("succeeded", 2), (job.error, job.counts)
    broken = body.replace("C2,Beta,,", "C2,Beta,,maybe")  # a row error names its line in any convention
    assert run_import(app, "customers", broken).counts["errors"][0]["line"] == 4


def test_an_unterminated_quote_refuses_the_file_naming_the_line_it_opened_on(app, db, actors):
    body = 'external_ref,name\nA,Alpha\nB,"Beta GmbH\nC,Gamma\nD,Delta\n'
    job = run_import(app, "customers", body)
    assert job.state == "rejected"
    assert job.error.startswith("line 3: a quoted cell starting here is never closed")
    assert count(db, Customer) == 0


def test_a_nul_in_a_cell_is_a_row_error_and_never_stored(app, db, actors, api):
    body = csv_text(
        ("external_ref", "name", "region"),
        [["A", "Alpha\x00", "x"], ["B", "Beta", "\x00"], ["C", "Gamma", "ok"]],
    )
    job = run_import(app, "customers", body, skip_invalid=True)
    assert job.state == "succeeded" and job.counts["created"] == 1
    assert [(e["line"], e["column"]) for e in job.counts["errors"]] == [(2, "name"), (3, "region")]
    assert "NUL character" in job.counts["errors"][0]["reason"]
    with db.session(write=False) as session:
        assert session.scalars(select(Customer.name)).all() == ["Gamma"]
    rejected = api.get(f"/imports/{job.id}/rejected.csv")
    assert rejected.status_code == 200
    assert api.get(f"/imports/{job.id}/errors").json["items"][0]["cells"] == ["A", "Alpha\x00", "x"]


def test_a_fraction_in_a_whole_number_column_is_a_row_error(app, db, actors):
    run_import(app, "customers", WORLD["customers"])
    run_import(app, "departments", WORLD["departments"])
    body = csv_text(
        ("external_ref", "customer_ref", "department", "collected_at", "scale_min", "scale_max",
         "likelihood_to_recommend", "timeliness_expectation", "timeliness_perception"),
        [["V1", "S1", "logistics", "2026-03-01", "1", "7", "3.7", "5", "4"],
         ["V2", "S1", "logistics", "2026-03-01", "1.5", "7", "3", "5", "4"],
         ["V3", "S1", "logistics", "2026-03-01", "1.0", "7.0", "9", "5", "4"]],
    )  # fmt: skip
    job = run_import(app, "surveys", body, skip_invalid=True)
    assert [(e["line"], e["column"], e["reason"]) for e in job.counts["errors"]] == [
        (2, "likelihood_to_recommend", "'3.7' is not a whole number"),
        (3, "scale_min", "'1.5' is not a whole number"),
    ]
    with db.session(write=False) as session:
        stored = session.execute(
            select(SurveyResponse.scale_min, SurveyResponse.likelihood_to_recommend)
        ).all()
    assert [tuple(row) for row in stored] == [(1, 9)]


@pytest.mark.parametrize(
    ("kind", "header", "row", "column"),
    [
        ("links", ("external_ref", "shipper_ref", "consignee_ref", "origin", "destination",
                   "declared_monthly_volume"), ["L9", "S2", "C1", "a", "b", "1e307"], "declared_monthly_volume"),
        ("departments", ("customer_ref", "name", "decision_weight"), ["S1", "finance", "1e308"], "decision_weight"),
        ("customers", ("external_ref", "name", "shipper", "contracted_annual_value"),
         ["S9", "Nine", "true", "1.7e308"], "contracted_annual_value"),
        ("tickets", ("external_ref", "customer_ref", "kind", "subject", "opened_at", "claim_amount"),
         ["T9", "S1", "claim", "x", "2026-01-01", "10000000000.01"], "claim_amount"),
    ],
)  # fmt: skip
def test_a_huge_but_finite_number_is_a_row_error_naming_its_column(
    app, db, actors, kind, header, row, column
):
    run_import(app, "customers", WORLD["customers"])
    job = run_import(app, kind, csv_text(header, [row]))
    assert job.state == "rejected"
    assert [(e["line"], e["column"]) for e in job.counts["errors"]] == [(2, column)]
    assert "above the maximum" in job.counts["errors"][0]["reason"]


_cells = st.text(st.sampled_from(list("aZ1-+.,;:\"'\t\r\n\x00 =@|上é")), max_size=8)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kind=st.sampled_from(["customers", "shipments", "surveys", "links"]),
    tail=st.binary(max_size=200)
    | st.lists(st.lists(_cells, max_size=6), max_size=5).map(
        lambda rows: "\n".join(",".join(row) for row in rows).encode()
    ),
)
def test_any_bytes_after_a_valid_header_give_a_finished_job_never_a_crash(app, db, lane, kind, tail):
    header = ",".join(column.name for column in KINDS[kind].columns if column.required)
    job = run_import(app, kind, header.encode() + b"\n" + tail, skip_invalid=True)
    assert job.state in ("succeeded", "rejected"), job.error
