"""GET /exports/{kind}: a UTF-8 CSV download, formulas defused, only what the caller may see."""

from __future__ import annotations

from logicrm.db import utcnow
from logicrm.exports import service as exports
from logicrm.health.models import Alert, HealthSnapshot, JobRun
from logicrm.imports.columns import Formats
from logicrm.imports.kinds import KINDS
from logicrm.tickets.models import Severity
from tests import factories as f
from tests.exports.conftest import records


def test_formula_cells_are_escaped_and_chinese_survives(api):
    f.customer(api, '=HYPERLINK("http://evil.example","点击")', external_ref="@ref", region="-1+1")
    f.customer(api, "杭州鲜达超市有限公司", external_ref="HZ-1", region="China East")
    response = api.get("/exports/customers")
    assert response.status_code == 200
    assert response.mimetype == "text/csv" and response.mimetype_params["charset"] == "utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="customers.csv"'
    raw = response.data.decode("utf-8")
    assert raw.startswith("\ufeff")
    rows = records(raw)
    assert [row["name"] for row in rows] == [
        '\'=HYPERLINK("http://evil.example","点击")',
        "杭州鲜达超市有限公司",
    ]
    assert (rows[0]["external_ref"], rows[0]["region"]) == ("'@ref", "'-1+1")
    assert "'=HYPERLINK" in raw  # in the raw file, not only after csv parsing


def test_a_cell_holding_another_locales_separator_is_quoted_and_runs_nothing_there(api):
    f.customer(api, "Acme;=1+1", external_ref="A1", region="x|@SUM(A1)", industry="-1", roles=("consignee",))
    raw = api.get("/exports/customers").get_data(as_text=True)
    line = raw.splitlines()[1]
    assert line.startswith('A1,"Acme;\'=1+1",,-1,"x|\'@SUM(A1)",'), line  # -1 stays a number
    for separator in (";", "|", "\t"):  # Excel splitting on this locale's separator finds no formula
        assert not any(piece.lstrip('"').startswith(("=", "+", "-", "@")) for piece in line.split(separator))
    name = next(column for column in KINDS["customers"].columns if column.name == "name")
    assert name.type.parser(Formats())(records(raw)[0]["name"]) == "Acme;=1+1"  # the import reads it back


def _add_health(db, customers) -> None:
    with db.session_scope() as session:
        run = JobRun(job="health_run", slot="manual-1")
        session.add(run)
        session.flush()
        for customer in customers:
            session.add(
                HealthSnapshot(
                    run_id=run.id,
                    customer_id=customer["id"],
                    taken_at=utcnow(),
                    satisfaction=0.5,
                    two_sided=None,
                    coverage=1.0,
                    loyalty_nps=-20.0,
                    own_risk=0.25,
                    network_risk=0.3,
                    exposure=1200.0,
                    revenue_12m=5000.0,
                    profit_12m=-125.5,
                    abc_class="B",
                )
            )
            session.add(
                Alert(
                    customer_id=customer["id"],
                    rule="satisfaction_low",
                    severity=Severity.HIGH,
                    dedupe_key=f"{customer['id']}:satisfaction_low",
                    value=0.5,
                    message=f"=satisfaction of {customer['name']} fell",
                )
            )


def test_an_account_manager_exports_only_their_accounts(api, actors, db, portfolio):
    _add_health(db, portfolio.values())
    am = api.as_(actors["am"])
    expected = {
        "customers": ("external_ref", {"A1", "A2"}),
        "departments": ("customer_ref", {"A1"}),
        "contacts": ("external_ref", {"C-A1"}),
        "links": ("external_ref", {"A1-A2", "A1-B2"}),
        "shipments": ("external_ref", {"S-A1-A2", "S-A1-B2"}),
        "health_snapshots": ("customer_ref", {"A1"}),
        "alerts": ("customer_ref", {"A1"}),
    }
    for kind, (column, refs) in expected.items():
        response = am.get(f"/exports/{kind}")
        assert response.status_code == 200, (kind, response.json)
        assert {row[column] for row in records(response.data.decode())} == refs, kind
    everything = records(api.get("/exports/shipments").data.decode())
    assert {row["external_ref"] for row in everything} == {"S-A1-A2", "S-A1-B2", "S-B1-B2"}
    alerts = records(api.get("/exports/alerts").data.decode())
    assert [row["message"] for row in alerts] == ["'=satisfaction of A1 fell", "'=satisfaction of B1 fell"]
    snapshot = records(am.get("/exports/health_snapshots").data.decode())[0]
    assert list(snapshot) == [column.name for column in exports.SNAPSHOT_COLUMNS]
    assert (snapshot["customer_name"], snapshot["two_sided"], snapshot["profit_12m"]) == ("A1", "", "-125.50")


def test_deleted_customers_and_their_records_are_not_exported(api, portfolio):
    assert api.remove(f"/customers/{portfolio['b1']['id']}").status_code == 204
    assert {row["external_ref"] for row in records(api.get("/exports/customers").data.decode())} == {
        "A1",
        "A2",
        "B2",
    }
    assert {row["external_ref"] for row in records(api.get("/exports/links").data.decode())} == {
        "A1-A2",
        "A1-B2",
    }
    assert {row["external_ref"] for row in records(api.get("/exports/contacts").data.decode())} == {"C-A1"}


def test_planners_may_not_export_contacts_but_may_export_the_rest(api, actors, portfolio):
    planner, viewer = api.as_(actors["planner"]), api.as_(actors["viewer"])
    refused = planner.get("/exports/contacts")
    assert refused.status_code == 403 and "contacts" in refused.json["message"]
    assert planner.get("/exports/customers").status_code == 200
    assert viewer.get("/exports/contacts").status_code == 200
    assert api.as_(None).get("/exports/customers").status_code == 401


def test_an_unknown_kind_is_404_naming_the_kinds(api):
    response = api.get("/exports/unknown")
    assert response.status_code == 404 and response.mimetype == "application/json"
    assert "not found" in response.json["message"]
    assert all(kind in response.json["message"] for kind in exports.EXPORT_KINDS)


def test_the_openapi_document_shows_a_csv_download(api):
    operation = api.get("/openapi.json").json["paths"]["/api/v1/exports/{kind}"]["get"]
    assert operation["summary"] and "text/csv" in operation["responses"]["200"]["content"]
