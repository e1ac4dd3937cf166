"""The import API: uploads inline (201) and as background jobs (202), rejected rows, limits and roles."""

from __future__ import annotations

import csv
import io
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from logicrm.audit.models import AuditEvent
from logicrm.customers.models import Customer
from logicrm.imports import progress, service
from logicrm.imports.csvfile import escape_formula
from logicrm.imports.kinds import KINDS
from logicrm.imports.models import ImportJob
from logicrm.lanes.models import Shipment
from logicrm.relations.models import Contact, Department
from tests import factories
from tests.imports.conftest import SHIPMENT_HEADER, count, csv_text, shipment_rows, upload


def _settings(app, **changes) -> None:
    app.config["LOGICRM"] = app.config["LOGICRM"].replace(**changes)


def _wait(api, location: str, deadline_s: float = 30) -> tuple[dict, list[dict]]:
    """Poll a job until it finishes; return it and every state seen on the way."""
    seen, end = [], time.monotonic() + deadline_s
    path = location.removeprefix("/api/v1")
    while time.monotonic() < end:
        response = api.get(path)
        assert response.status_code == 200, response.json
        seen.append(response.json)
        if response.json["state"] not in ("queued", "running"):
            return response.json, seen
        time.sleep(0.02)
    pytest.fail(f"job {location} did not finish in time: {seen[-1]}")


def test_a_small_file_is_imported_within_the_request(api, db, lane):
    response = upload(api, "shipments", csv_text(SHIPMENT_HEADER, shipment_rows(3)), filename="march.csv")
    assert response.status_code == 201, response.json
    body = response.json
    assert (body["state"], body["kind"], body["filename"], body["rows_done"]) == (
        "succeeded",
        "shipments",
        "march.csv",
        3,
    )
    assert body["counts"] == {"created": 3, "updated": 0, "unchanged": 0, "invalid": 0, "errors": []}
    assert response.headers["Location"].endswith(f"/api/v1/imports/{body['id']}")
    assert api.get(f"/imports/{body['id']}").json["state"] == "succeeded"
    assert count(db, Shipment) == 3


def test_a_large_file_runs_as_a_job_that_reports_progress(app, api, db, lane):
    total = 20_000
    _settings(app, import_inline_max_bytes=10_000, import_batch_rows=1_000)
    data = csv_text(SHIPMENT_HEADER, shipment_rows(total)).encode()
    response = upload(api, "shipments", data)
    assert response.status_code == 202, response.json
    assert response.json["state"] == "queued" and response.json["bytes_total"] == len(data)
    job, seen = _wait(api, response.headers["Location"])
    assert job["state"] == "succeeded", job
    assert (job["rows_done"], job["bytes_done"], job["bytes_total"]) == (total, len(data), len(data))
    assert job["counts"] == {"created": total, "updated": 0, "unchanged": 0, "invalid": 0, "errors": []}
    done = [poll["rows_done"] for poll in seen]
    assert done == sorted(done)  # progress never goes back
    assert count(db, Shipment) == total

    again, _seen = _wait(api, upload(api, "shipments", data).headers["Location"])
    assert again["counts"]["unchanged"] == total and again["counts"]["created"] == 0


def test_a_running_job_answers_a_poll_at_once_with_its_progress(app, api, db, lane):
    """Polling must not wait for the import (on SQLite the import holds the write lock all along)."""
    total = 30_000
    _settings(app, import_inline_max_bytes=10_000, import_batch_rows=1_000)
    response = upload(api, "shipments", csv_text(SHIPMENT_HEADER, shipment_rows(total)))
    assert response.status_code == 202
    job_id, spool = (
        response.json["id"],
        service.spool_dir(settings=app.config["LOGICRM"], instance_path=app.instance_path),
    )
    end = time.monotonic() + 30
    while time.monotonic() < end:  # until the job has written rows inside its transaction
        with db.session(write=False) as session:
            job = session.get(ImportJob, job_id)
            if job.state == "running" and progress.live_progress(job=job, spool_dir=spool)["rows_done"]:
                break
        time.sleep(0.01)
    began = time.monotonic()
    poll = api.get(f"/imports/{job_id}")
    waited = time.monotonic() - began
    try:
        assert poll.status_code == 200
        assert waited < 1.0, f"the poll waited {waited:.1f} s (state {poll.json['state']})"
        assert poll.json["state"] == "running" and 0 < poll.json["rows_done"] < total
    finally:
        finished, _seen = _wait(api, response.headers["Location"])
    assert finished["state"] == "succeeded" and finished["rows_done"] == total


def test_one_bad_row_among_10000_gives_a_rejected_csv_that_re_imports_once_fixed(app, api, db, lane):
    _settings(app, import_inline_max_bytes=10 << 20)
    rows = shipment_rows(10_000)
    good, rows[9_998][3] = rows[9_998][3], "2025-12-31T00:00:00Z"  # delivered before shipped; line 10,000
    response = upload(api, "shipments", csv_text(SHIPMENT_HEADER, rows))
    assert response.status_code == 201
    job = response.json
    assert job["state"] == "rejected" and job["counts"]["invalid"] == 1 and job["counts"]["created"] == 0
    assert [(e["line"], e["column"]) for e in job["counts"]["errors"]] == [(10_000, "delivered_at")]
    assert count(db, Shipment) == 0

    errors = api.get(f"/imports/{job['id']}/errors").json
    assert errors["meta"]["total"] == 1
    [reject] = errors["items"]
    assert (reject["line"], reject["cells"], reject["errors"][0]["column"]) == (
        10_000,
        rows[9_998],
        "delivered_at",
    )

    csv_response = api.get(job["rejected_rows_url"].removeprefix("/api/v1"))
    assert csv_response.status_code == 200 and csv_response.mimetype == "text/csv"
    text = csv_response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    header, *rejected = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert header == [*SHIPMENT_HEADER, "import_errors"]
    assert len(rejected) == 1 and rejected[0][:-1] == rows[9_998]
    assert rejected[0][-1].startswith("delivered_at: must not be before shipped_at")

    rejected[0][3] = good  # fix it in the rejected-rows file and upload that file as it is
    fixed = upload(api, "shipments", csv_text(header, rejected))
    assert (fixed.json["state"], fixed.json["counts"]["created"]) == ("succeeded", 1)
    rows[9_998][3] = good
    rest = upload(api, "shipments", csv_text(SHIPMENT_HEADER, rows)).json
    assert (rest["state"], rest["counts"]["created"], rest["counts"]["unchanged"]) == ("succeeded", 9_999, 1)
    assert count(db, Shipment) == 10_000


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (("external_ref", "naem", "tier"), "unknown column 'naem' (did you mean 'name'?)"),
        (("external_ref", "tier"), "missing required column name"),
    ],
)
def test_a_header_error_answers_201_with_state_rejected_and_the_reason(api, db, header, message):
    response = upload(api, "customers", csv_text(header, [["A"] * len(header)]))
    assert response.status_code == 201
    assert response.json["state"] == "rejected"
    assert message in response.json["error"]
    assert count(db, Customer) == 0


def test_dry_run_and_options_through_the_query(api, db, lane):
    body = csv_text(("external_ref", "link_ref", "shipped_at"), [["X", "L1", "01.03.2026 08:00"]])
    dry = upload(api, "shipments", body, dry_run=True, date_format="%d.%m.%Y", timezone="Asia/Shanghai")
    assert (dry.json["state"], dry.json["dry_run"], dry.json["counts"]["created"]) == ("succeeded", True, 1)
    assert count(db, Shipment) == 0
    real = upload(api, "shipments", body, date_format="%d.%m.%Y", timezone="Asia/Shanghai")
    assert real.json["state"] == "succeeded"
    with db.session(write=False) as session:
        assert session.scalar(select(Shipment.shipped_at)).isoformat() == "2026-03-01T00:00:00+00:00"


def test_an_unknown_timezone_or_kind_is_refused(api, lane):
    body = csv_text(SHIPMENT_HEADER, shipment_rows(1))
    bad_zone = upload(api, "shipments", body, timezone="Mars/Olympus")
    assert bad_zone.status_code == 422 and "Mars/Olympus" in bad_zone.get_data(as_text=True)
    assert upload(api, "pallets", body).status_code == 404


def test_an_upload_over_the_limit_answers_413_json(app, api, db, lane):
    _settings(app, import_max_upload_bytes=2_000)
    saved = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 2_000
    try:
        response = upload(api, "shipments", csv_text(SHIPMENT_HEADER, shipment_rows(100)))
    finally:
        app.config["MAX_CONTENT_LENGTH"] = saved
    assert response.status_code == 413
    assert response.is_json and "import_max_upload_bytes" in response.json["message"]
    assert count(db, Shipment) == 0


@pytest.mark.parametrize("role", ["planner", "viewer"])
def test_planners_and_viewers_may_not_import(api, actors, db, role):
    body = csv_text(("external_ref", "name"), [["A", "Alpha"]])
    response = upload(api.as_(actors[role]), "customers", body)
    assert response.status_code == 403
    assert count(db, Customer) == 0
    assert upload(api.as_(None), "customers", body).status_code == 401


def test_kinds_lists_every_kind_with_its_columns(api):
    kinds = {kind["name"]: kind for kind in api.get("/imports/kinds").json}
    assert list(kinds) == list(KINDS)
    shipments = {column["name"]: column for column in kinds["shipments"]["columns"]}
    assert list(shipments) == KINDS["shipments"].column_names
    assert shipments["external_ref"]["required"] and not shipments["promised_at"]["required"]
    assert shipments["in_full"]["default"] == "true"


@pytest.fixture
def accounts(api, actors):
    """am owns A1 (shipper) with lane LA; am2 owns B1 (shipper and consignee) with lane LB."""
    mine = factories.customer(
        api, "Mine Ltd", roles=("shipper", "consignee"), external_ref="A1", owner_id=actors["am"].user_id
    )
    theirs = factories.customer(
        api, "Theirs Ltd", roles=("shipper", "consignee"), external_ref="B1", owner_id=actors["am2"].user_id
    )
    factories.department(api, theirs, "logistics")
    other = factories.customer(
        api, "Other Consignee", roles=("consignee",), external_ref="X1", owner_id=actors["am2"].user_id
    )
    factories.link(api, theirs, other, external_ref="LB")
    factories.link(api, mine, other, external_ref="LA")
    return mine, theirs


def _state(api, customer_id: int) -> tuple:
    customer = api.get(f"/customers/{customer_id}").json
    history = api.get(f"/customers/{customer_id}/history", query={"page_size": 500}).json["items"]
    return customer, history


def test_an_account_manager_cannot_update_another_managers_customer_by_external_ref(
    api, actors, db, accounts
):
    mine, theirs = accounts
    before, events = _state(api, theirs["id"]), count(db, AuditEvent)
    body = csv_text(
        ("external_ref", "name", "tier"), [["A1", "Mine Renamed", "vip"], ["B1", "Hijacked", "vip"]]
    )
    response = upload(api.as_(actors["am"]), "customers", body)
    assert response.status_code == 201, response.json
    assert response.json["state"] == "rejected", response.json
    assert [(e["line"], e["column"]) for e in response.json["counts"]["errors"]] == [(3, "external_ref")]
    assert _state(api, theirs["id"]) == before
    assert api.get(f"/customers/{mine['id']}").json["name"] == "Mine Ltd"  # all or nothing
    assert count(db, AuditEvent) == events

    skipped = upload(api.as_(actors["am"]), "customers", body, skip_invalid=True)
    assert (skipped.json["counts"]["updated"], skipped.json["counts"]["invalid"]) == (1, 1), skipped.json
    assert _state(api, theirs["id"]) == before
    assert api.get(f"/customers/{mine['id']}").json["name"] == "Mine Renamed"


def test_rows_referencing_another_managers_customers_look_unknown(api, actors, db, accounts):
    _mine, theirs = accounts
    am = api.as_(actors["am"])
    before = _state(api, theirs["id"])

    contacts = upload(
        am,
        "contacts",
        csv_text(("external_ref", "customer_ref", "name"), [["P1", "A1", "Li"], ["P2", "B1", "Wang"]]),
        skip_invalid=True,
    )
    assert contacts.json["counts"]["created"] == 1
    assert contacts.json["counts"]["errors"] == [
        {"line": 3, "column": "customer_ref", "reason": "no customer with external_ref 'B1'"}  # as if unknown
    ]
    departments = upload(
        am, "departments", csv_text(("customer_ref", "name", "decision_weight"), [["B1", "logistics", "9"]])
    )
    assert departments.json["state"] == "rejected"
    assert departments.json["counts"]["errors"][0]["reason"] == "no customer with external_ref 'B1'"
    tickets = upload(
        am,
        "tickets",
        csv_text(
            ("external_ref", "customer_ref", "kind", "subject", "opened_at"),
            [["T1", "B1", "complaint", "late", "2026-03-01"]],
        ),
    )
    assert tickets.json["counts"]["errors"][0]["column"] == "customer_ref"
    links = upload(
        am,
        "links",
        csv_text(
            ("external_ref", "shipper_ref", "consignee_ref", "origin", "destination"),
            [["LX", "B1", "X1", "a", "b"]],
        ),
    )
    assert links.json["state"] == "rejected"

    rows = [*shipment_rows(1, link_ref="LA"), *shipment_rows(1, link_ref="LB", prefix="B")]
    shipments = upload(am, "shipments", csv_text(SHIPMENT_HEADER, rows), skip_invalid=True)
    assert shipments.json["counts"]["created"] == 1
    assert shipments.json["counts"]["errors"] == [
        {"line": 3, "column": "link_ref", "reason": "no link with external_ref 'LB'"}
    ]

    assert _state(api, theirs["id"]) == before  # nothing of am2's changed
    with db.session(write=False) as session:
        assert (
            session.scalar(select(Department.decision_weight).where(Department.customer_id == theirs["id"]))
            == 1.0
        )
        assert set(session.scalars(select(Contact.external_ref))) == {"P1"}
        assert set(session.scalars(select(Shipment.link_id))) == {_link_id(api, "LA")}


def _link_id(api, external_ref: str) -> int:
    return next(
        link["id"] for link in api.get("/links").json["items"] if link["external_ref"] == external_ref
    )


def test_an_account_manager_sees_only_their_own_jobs(api, actors, accounts):
    mine = upload(
        api.as_(actors["am"]), "customers", csv_text(("external_ref", "name"), [["N1", "New One"]])
    ).json
    theirs = upload(
        api.as_(actors["am2"]), "customers", csv_text(("external_ref", "name"), [["N2", "New Two"]])
    ).json
    assert mine["state"] == theirs["state"] == "succeeded"
    listed = api.as_(actors["am"]).get("/imports").json["items"]
    assert [job["id"] for job in listed] == [mine["id"]]
    assert api.as_(actors["am"]).get(f"/imports/{theirs['id']}").status_code == 404
    assert {job["id"] for job in api.as_(actors["manager"]).get("/imports").json["items"]} == {
        mine["id"],
        theirs["id"],
    }


# ------------------------------------------------------------------------------------------ options


@pytest.mark.parametrize("date_format", ["%Q", "abc", "%d.%m.", "%d.%m.%Y %H"])
def test_an_unusable_date_format_is_refused_naming_it_before_the_file_is_read(api, db, date_format):
    response = upload(api, "customers", b"\xff\xfe not even a CSV", date_format=date_format)
    assert response.status_code == 422, response.json
    assert list(response.json["errors"]["json"]) == ["date_format"]
    assert response.json["message"].startswith(f"date_format: {date_format!r}")
    assert count(db, ImportJob) == 0


def _multipart(api, kind: str, fields: dict, *, files: dict | None = None, **query):
    """POST a multipart body of `fields` (text) and `files` (name -> (bytes, filename))."""
    data = {name: (io.BytesIO(content), filename) for name, (content, filename) in (files or {}).items()}
    data.update(fields)
    return api.client.post(
        f"/api/v1/imports/{kind}",
        data=data,
        query_string=query,
        headers={"Authorization": f"Bearer {api.key}"},
        content_type="multipart/form-data",
    )


def test_the_options_may_come_as_form_fields_of_the_upload(api, db, lane):
    body = csv_text(("external_ref", "link_ref", "shipped_at"), [["X", "L1", "01.03.2026 08:00"]]).encode()
    fields = {"date_format": "%d.%m.%Y", "timezone": "Asia/Shanghai", "skip_invalid": "true"}
    dry = _multipart(api, "shipments", {**fields, "dry_run": "true"}, files={"file": (body, "s.csv")})
    assert dry.status_code == 201, dry.json
    assert (
        dry.json["state"],
        dry.json["dry_run"],
        dry.json["skip_invalid"],
        dry.json["counts"]["created"],
    ) == (
        "succeeded",
        True,
        True,
        1,
    )
    assert count(db, Shipment) == 0  # dry_run as a form field is a dry run
    real = _multipart(api, "shipments", fields, files={"file": (body, "s.csv")})
    assert (real.json["state"], real.json["dry_run"]) == ("succeeded", False)
    with db.session(write=False) as session:
        assert session.scalar(select(Shipment.shipped_at)).isoformat() == "2026-03-01T00:00:00+00:00"


@pytest.mark.parametrize(
    ("fields", "files", "query", "named"),
    [
        ({"dryrun": "true"}, {}, {}, "dryrun"),
        ({}, {"rejects": (b"x", "r.csv")}, {}, "rejects"),
        ({"dry_run": "true"}, {}, {"dry_run": "false"}, "dry_run"),
        ({"dry_run": "perhaps"}, {}, {}, "dry_run"),
    ],
    ids=["unknown field", "unknown file part", "given twice", "not a boolean"],
)
def test_an_unknown_doubled_or_bad_form_field_is_refused_naming_it(
    api, db, lane, fields, files, query, named
):
    body, jobs = csv_text(SHIPMENT_HEADER, shipment_rows(1)).encode(), count(db, ImportJob)
    response = _multipart(api, "shipments", fields, files={"file": (body, "s.csv"), **files}, **query)
    assert response.status_code == 422, response.json
    assert named in response.json["errors"]["form"]
    assert count(db, Shipment) == 0 and count(db, ImportJob) == jobs


def test_a_text_field_named_file_is_refused_not_read_as_a_file(api, db):
    response = _multipart(api, "customers", {"file": "external_ref,name\nA,Alpha\n"})
    assert response.status_code == 422, response.json
    assert "file" in response.json["errors"]["form"]


def test_the_openapi_document_shows_the_options_in_the_query_and_the_body(api):
    operation = api.get("/openapi.json").json["paths"]["/api/v1/imports/{kind}"]["post"]
    body = operation["requestBody"]["content"]["multipart/form-data"]["schema"]
    if "$ref" in body:
        body = api.get("/openapi.json").json["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]
    assert set(body["properties"]) == {"file", "dry_run", "skip_invalid", "date_format", "timezone"}
    assert body["required"] == ["file"]
    query = {parameter["name"] for parameter in operation["parameters"] if parameter["in"] == "query"}
    assert query == {"dry_run", "skip_invalid", "date_format", "timezone"}


# ------------------------------------------------------------------------------------------ hostile files


FORMULAS = [
    '=HYPERLINK("http://evil.example","x")',
    "@SUM(A1:A2)",
    "+1+1",
    "-2+3",
    "\tcmd",
    "\r=1",
    "Acme;=1+1",
]


def test_the_rejected_rows_file_escapes_formula_cells_and_re_imports_to_the_same_text(api, db):
    rows = [[f"F{n}", formula, formula, "gold"] for n, formula in enumerate(FORMULAS)]
    response = upload(api, "customers", csv_text(("external_ref", "name", "region", "tier"), rows))
    job = response.json
    assert job["state"] == "rejected" and job["counts"]["invalid"] == len(FORMULAS)
    text = api.get(f"/imports/{job['id']}/rejected.csv").get_data(as_text=True).removeprefix("\ufeff")
    header, *rejected = list(csv.reader(io.StringIO(text)))
    for row, original in zip(rejected, rows, strict=True):
        assert row[1:3] == [escape_formula(original[1])] * 2  # as an export writes them
        assert not row[1].startswith(("=", "+", "-", "@", "\t", "\r")), row[1]
    for row in rejected:
        row[3] = "vip"  # fix the tier, import the rejected-rows file as it is
    fixed = upload(api, "customers", csv_text(header, rejected))
    assert fixed.json["state"] == "succeeded", fixed.json
    with db.session(write=False) as session:
        stored = session.execute(select(Customer.name, Customer.region).order_by(Customer.external_ref)).all()
    assert [tuple(row) for row in stored] == [(formula, formula) for formula in FORMULAS]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kind=st.sampled_from(["customers", "shipments", "tickets"]),
    data=st.binary(max_size=300)
    | st.text(st.sampled_from(list("external_ref,name;\t\"'\r\n\x00=上")), max_size=120).map(str.encode),
)
def test_any_upload_answers_with_a_job_never_a_server_error(api, lane, kind, data):
    response = upload(api, kind, data, skip_invalid=True)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.json["state"] in ("succeeded", "rejected")


# ------------------------------------------------------------------------------------------ hidden records


@pytest.fixture
def hidden(api, actors, accounts):
    """Records of am2's that am may not see, each keyed by an external_ref: customer B1 (with a
    registration number), lane LB, and on B1 a department, contact, survey, interaction, ticket and
    a shipment on LB."""
    _mine, theirs = accounts
    api.patch(f"/customers/{theirs['id']}", json={"registration_number": "REG-B1"}, headers={"If-Match": "*"})
    department = factories.department(api, theirs, "finance")
    factories.contact(api, theirs, external_ref="PB")
    factories.survey(api, theirs, department, external_ref="VB")
    factories.interaction(api, theirs, external_ref="IB")
    factories.ticket(api, theirs, external_ref="TB")
    lane = next(link for link in api.get("/links").json["items"] if link["external_ref"] == "LB")
    factories.shipments(api, lane, external_ref="SB")
    return theirs


# (kind, header, row with {ref} where the reference goes, the hidden record's ref, the column reported)
REFERENCES = [
    ("customers", ("external_ref", "name", "acquisition_channel", "referred_by_ref"),
     ["N1", "New One", "referral", "{ref}"], "B1", "referred_by_ref"),
    ("departments", ("customer_ref", "name"), ["{ref}", "sales"], "B1", "customer_ref"),
    ("contacts", ("external_ref", "customer_ref", "name"), ["P9", "{ref}", "Li"], "B1", "customer_ref"),
    # Both ends of a lane must be customers am sees: a hidden one reads as no customer at all.
    ("links", ("external_ref", "shipper_ref", "consignee_ref", "origin", "destination"),
     ["L9", "{ref}", "X1", "a", "b"], "B1", "shipper_ref"),  # both ends am2's
    ("links", ("external_ref", "shipper_ref", "consignee_ref", "origin", "destination"),
     ["L9", "{ref}", "A1", "a", "b"], "X1", "shipper_ref"),  # X1 is no shipper
    ("links", ("external_ref", "shipper_ref", "consignee_ref", "origin", "destination"),
     ["L9", "{ref}", "B1", "a", "b"], "X1", "shipper_ref"),  # ...nor does B1 make it visible
    ("shipments", ("external_ref", "link_ref", "shipped_at"), ["S9", "{ref}", "2026-03-01"], "LB", "link_ref"),
    ("surveys", ("external_ref", "customer_ref", "department", "collected_at", "timeliness_expectation",
                 "timeliness_perception"), ["V9", "{ref}", "finance", "2026-03-01", "5", "4"], "B1", "customer_ref"),
    ("surveys", ("external_ref", "customer_ref", "department", "contact_ref", "collected_at"),
     ["V9", "A1", "sales", "{ref}", "2026-03-01"], "PB", "contact_ref"),
    ("interactions", ("external_ref", "customer_ref", "kind", "at", "summary"),
     ["I9", "{ref}", "call", "2026-03-01", "x"], "B1", "customer_ref"),
    ("tickets", ("external_ref", "customer_ref", "kind", "subject", "opened_at"),
     ["T9", "{ref}", "complaint", "late", "2026-03-01"], "B1", "customer_ref"),
    ("tickets", ("external_ref", "customer_ref", "link_ref", "kind", "subject", "opened_at"),
     ["T9", "A1", "{ref}", "complaint", "late", "2026-03-01"], "LB", "link_ref"),
]  # fmt: skip


def _reasons(am, kind, header, row, ref) -> list[tuple[str, str]]:
    body = csv_text(header, [[cell.replace("{ref}", ref) for cell in row]])
    job = upload(am, kind, body, dry_run=True).json
    assert job["state"] == "rejected", job
    return [(error["column"], error["reason"].replace(repr(ref), "REF")) for error in job["counts"]["errors"]]


@pytest.mark.parametrize(("kind", "header", "row", "ref", "column"), REFERENCES)
def test_a_reference_to_another_managers_record_reads_exactly_as_one_to_no_record(
    api, actors, hidden, kind, header, row, ref, column
):
    am = api.as_(actors["am"])
    if kind == "surveys":
        factories.department(api, api.get("/customers", query={"q": "A1"}).json["items"][0], "sales")
    seen_as = _reasons(am, kind, header, row, ref)
    assert column in [column for column, _reason in seen_as]
    assert seen_as == _reasons(am, kind, header, row, "NO-SUCH-REF")
    assert not any("see" in reason or "Theirs" in reason for _column, reason in seen_as)


# (kind, header, row keyed by a hidden record's external_ref)
KEYS = [
    ("customers", ("external_ref", "name"), ["B1", "Hijacked"]),
    ("contacts", ("external_ref", "customer_ref", "name"), ["PB", "A1", "Li"]),
    ("links", ("external_ref", "shipper_ref", "consignee_ref", "origin", "destination"), ["LB", "A1", "Y1", "a", "b"]),
    ("shipments", ("external_ref", "link_ref", "shipped_at"), ["SB", "LA", "2026-03-01"]),
    ("surveys", ("external_ref", "customer_ref", "department", "collected_at", "timeliness_expectation",
                 "timeliness_perception"), ["VB", "A1", "sales", "2026-03-01", "5", "4"]),
    ("interactions", ("external_ref", "customer_ref", "kind", "at", "summary"), ["IB", "A1", "call", "2026-03-01", "x"]),
    ("tickets", ("external_ref", "customer_ref", "kind", "subject", "opened_at"), ["TB", "A1", "claim", "x", "2026-03-01"]),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "header", "row"), KEYS, ids=[kind for kind, *_ in KEYS])
def test_a_row_keyed_like_another_managers_record_says_only_that_the_key_is_taken(
    api, actors, db, hidden, kind, header, row
):
    factories.department(api, api.get("/customers", query={"q": "A1"}).json["items"][0], "sales")
    factories.customer(
        api, "Own Receiver", roles=("consignee",), external_ref="Y1", owner_id=actors["am"].user_id
    )
    events = count(db, AuditEvent)
    job = upload(api.as_(actors["am"]), kind, csv_text(header, [row])).json
    assert job["state"] == "rejected", job
    assert job["counts"]["errors"] == [
        {"line": 2, "column": "external_ref", "reason": f"{row[0]!r} is already used by another record"}
    ]
    assert count(db, AuditEvent) == events


def test_a_registration_number_of_another_managers_customer_is_not_named(api, actors, hidden):
    body = csv_text(("external_ref", "name", "registration_number"), [["N1", "New One", "REG-B1"]])
    job = upload(api.as_(actors["am"]), "customers", body).json
    assert job["counts"]["errors"] == [
        {
            "line": 2,
            "column": "registration_number",
            "reason": "a customer with this registration number already exists; ask a manager",
        }
    ]
    named = upload(api, "customers", body).json  # the administrator sees it: the message names it
    assert "Theirs Ltd" in named["counts"]["errors"][0]["reason"]
