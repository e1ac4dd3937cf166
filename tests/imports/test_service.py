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
from logicrm.lanes.models import Shipment
from logicrm.relations.models import Contact, Department, SurveyResponse
from logicrm.shippers.models import ShipperProfile
from tests.imports.conftest import SHIPMENT_HEADER, count, csv_text, run_import, shipment_rows
from tests.imports.world import ROWS, WORLD

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
