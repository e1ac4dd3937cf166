"""Links and shipments: the roles a lane's ends need, shipment keys repeated or unusual."""

from __future__ import annotations

from sqlalchemy import select

from logicrm.audit.models import AuditEvent
from logicrm.customers.models import Customer
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


def test_lanes_written_in_bulk_are_recorded_in_the_history_of_their_ends_old_and_new(app, db, actors):
    """As lanes.create and lanes.update record them: a create in both ends' history with the defaults
    it got, an update in the history of the old and the new ends, an unchanged lane nowhere."""
    run_import(app, "customers", WORLD["customers"])
    run_import(app, "links", WORLD["links"])
    header = ("external_ref", "shipper_ref", "consignee_ref", "origin", "destination")
    job = run_import(
        app,
        "links",
        csv_text(header, [["L1", "S1", "S2", "Kiel", "Shanghai"], ["L2", "S2", "C1", "Bremen", "上海"]]),
    )
    assert (job.counts["created"], job.counts["updated"], job.counts["unchanged"]) == (0, 1, 1)
    with db.session(write=False) as session:
        ids = dict(session.execute(select(Customer.external_ref, Customer.id)).all())
        links = dict(session.execute(select(Link.external_ref, Link.id)).all())
        events = session.execute(
            select(AuditEvent.entity_id, AuditEvent.customer_id, AuditEvent.action, AuditEvent.changes)
            .where(AuditEvent.entity == "link")
            .order_by(AuditEvent.id)
        ).all()
        versions = dict(session.execute(select(Link.external_ref, Link.version)).all())
    l2_created = {
        "shipper_id": [None, ids["S2"]],
        "consignee_id": [None, ids["C1"]],
        "origin": [None, "Bremen"],
        "destination": [None, "上海"],
        "service_type": [None, "ltl"],
        "status": [None, "active"],
    }
    l1_updated = {"consignee_id": [ids["C1"], ids["S2"]], "origin": ["Hamburg", "Kiel"]}
    assert [tuple(event) for event in events if event.entity_id == links["L2"]] == [
        (links["L2"], customer_id, "create", l2_created) for customer_id in sorted((ids["S2"], ids["C1"]))
    ]
    assert [tuple(event) for event in events if event.action == "update"] == [
        (links["L1"], customer_id, "update", l1_updated)
        for customer_id in sorted(ids[r] for r in ("S1", "S2", "C1"))
    ]
    assert versions == {"L1": 2, "L2": 1}


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
