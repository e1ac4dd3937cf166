"""Links and shipments: the roles a lane's ends need, shipment keys repeated or unusual."""

from __future__ import annotations

from sqlalchemy import select

from logicrm.lanes.models import Link, Shipment
from tests.imports.conftest import SHIPMENT_HEADER, count, csv_text, run_import, shipment_rows
from tests.imports.world import WORLD


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
