"""CSV exports through the service: the import format in, the same data out, and in again."""

from __future__ import annotations

import datetime as dt
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logicrm.customers.models import AcquisitionChannel, CustomerStatus, Tier
from logicrm.exports import service as exports
from logicrm.imports import service as imports
from logicrm.imports.csvfile import write_rows
from logicrm.imports.kinds import KINDS
from logicrm.lanes.models import LinkStatus, ServiceType
from logicrm.relations.models import Dimension, InteractionKind
from logicrm.tickets.models import Severity, TicketKind, TicketStatus
from logicrm.users import service as users
from logicrm.users.models import UserRole
from tests import factories as f
from tests.conftest import _empty_tables

ORDER = ("customers", "departments", "contacts", "links", "shipments", "surveys", "interactions", "tickets")
USERS = ("li.wei@test.example", "-ana@test.example")  # emails may start like a formula too
FORMULA_STARTS = ("", "", "=", "+", "-", "@", "'", "\t", "=SUM(A1:A9)", "-1", "Acme;=1+1")
# Every locale's separator, quotes, line breaks and formula starts inside a cell too.
LETTERS = "abcXYZ 09.,;\t\"|'\n\r=+-@杭州鲜达超市有限公司物流"


def _text(max_size: int = 12, *, strip: bool = False):
    """Text a spreadsheet might execute: Chinese, quotes, separators, newlines, formula starts."""
    body = st.text(
        alphabet=LETTERS.translate({10: None, 13: None}) if strip else LETTERS, min_size=1, max_size=max_size
    )
    text = st.builds(lambda start, rest: start + rest, st.sampled_from(FORMULA_STARTS), body)
    if strip:
        return text.map(str.strip).filter(bool)
    return text.filter(lambda value: not value.isspace())


def _optional(strategy):
    return st.none() | strategy


_moments = st.datetimes(dt.datetime(2020, 1, 1), dt.datetime(2030, 1, 1), timezones=st.just(dt.UTC))
_dates = st.dates(dt.date(2020, 1, 1), dt.date(2030, 1, 1))
_money = st.integers(0, 10_000_000).map(lambda cents: cents / 100)


def _after(moment: dt.datetime):
    return st.integers(0, 10_000_000).map(lambda seconds: moment + dt.timedelta(seconds=seconds))


def _on_or_after(day: dt.date):
    return st.integers(0, 900).map(lambda days: day + dt.timedelta(days=days))


_list_item = _text(8, strip=True).filter(lambda text: "|" not in text)


def _ref(prefix: str, index: int):
    return st.sampled_from(FORMULA_STARTS[:-1]).map(lambda start: f"{start}{prefix}{index}")


@st.composite
def networks(draw) -> dict[str, list[dict]]:
    """A small network, each kind's rows as column values, every column given (defaults explicit)."""
    data = {kind: [] for kind in ORDER}
    count = draw(st.integers(2, 4))
    refs = [draw(_ref("客户", i)) for i in range(count)]
    for i, external_ref in enumerate(refs):
        shipper, consignee = draw(st.booleans()), draw(st.booleans())
        acquired = draw(_optional(_dates))
        start = draw(_optional(_dates))
        data["customers"].append(
            {
                "external_ref": external_ref,
                "name": draw(_text(20)),
                "registration_number": draw(st.sampled_from([None, f"REG-{i}"])),
                "industry": draw(_optional(_text())),
                "region": draw(_optional(_text())),
                "tier": draw(st.sampled_from(Tier)),
                "status": draw(st.sampled_from(CustomerStatus)),
                "owner_email": draw(_optional(st.sampled_from(USERS))),
                "team_emails": sorted(draw(st.sets(st.sampled_from(USERS)))),
                "acquisition_channel": draw(_optional(st.sampled_from(AcquisitionChannel))),
                "referred_by_ref": draw(_optional(st.sampled_from(refs[:i] + refs[i + 1 :]))),
                "acquired_on": acquired,
                "churned_on": None if acquired is None else draw(_optional(_on_or_after(acquired))),
                "shipper": shipper,
                "contract_start": start if shipper else None,
                "contract_end": draw(_on_or_after(start)) if shipper and start else None,
                "services": sorted(draw(st.sets(_list_item, max_size=2))) if shipper else [],
                "contracted_annual_value": draw(_optional(_money)) if shipper else None,
                # always given: an empty cell creates the profile with the model default 0.95, not empty
                "on_time_target": draw(st.floats(0, 1)) if shipper else None,
                "consignee": consignee,
                "sites": draw(st.lists(_list_item, max_size=2)) if consignee else [],
                "receiving_windows": draw(_optional(_text())) if consignee else None,
                "delivery_requirements": draw(_optional(_text())) if consignee else None,
                "allow_duplicate": True,  # as every export writes it: the names may well be alike
            }
        )
    departments = {}
    for customer in data["customers"]:
        names = draw(st.lists(_text(10, strip=True), min_size=1, max_size=2, unique=True))
        departments[customer["external_ref"]] = names
        for name in names:
            data["departments"].append(
                {
                    "customer_ref": customer["external_ref"],
                    "name": name,
                    "decision_weight": draw(st.floats(0, 10)),
                    "is_decision_maker": draw(st.booleans()),
                }
            )
    contacts = {}
    for n in range(draw(st.integers(0, 3))):
        customer_ref = draw(st.sampled_from(refs))
        contact = {
            "external_ref": draw(_ref("C", n)),
            "customer_ref": customer_ref,
            "department": draw(_optional(st.sampled_from(departments[customer_ref]))),
            "name": draw(_text()),
            "role": draw(_optional(_text())),
            "email": draw(_optional(st.just(f"person{n}@client.example"))),
            "phone": draw(_optional(_text())),
        }
        contacts.setdefault(customer_ref, []).append(contact["external_ref"])
        data["contacts"].append(contact)
    shippers = [c["external_ref"] for c in data["customers"] if c["shipper"]]
    consignees = [c["external_ref"] for c in data["customers"] if c["consignee"]]
    lanes = [(s, c) for s in shippers for c in consignees if s != c]
    for n, (shipper_ref, consignee_ref) in enumerate(
        draw(st.lists(st.sampled_from(lanes), max_size=3)) if lanes else []
    ):
        started = draw(_optional(_dates))
        data["links"].append(
            {
                "external_ref": draw(_ref("L", n)),
                "shipper_ref": shipper_ref,
                "consignee_ref": consignee_ref,
                "origin": draw(_text()),
                "destination": draw(_text()),
                "service_type": draw(st.sampled_from(ServiceType)),
                "declared_monthly_volume": draw(_optional(st.floats(0, 1e6))),
                "started_on": started,
                "ended_on": draw(_optional(_on_or_after(started))) if started else None,
                "status": draw(st.sampled_from(LinkStatus)),
            }
        )
    for n in range(draw(st.integers(0, 4)) if data["links"] else 0):
        shipped = draw(_moments)
        data["shipments"].append(
            {
                "external_ref": draw(_ref("S", n)),
                "link_ref": draw(st.sampled_from([link["external_ref"] for link in data["links"]])),
                "shipped_at": shipped,
                "promised_at": draw(_optional(_after(shipped))),
                "delivered_at": draw(_optional(_after(shipped))),
                "in_full": draw(st.booleans()),
                "damaged": draw(st.booleans()),
                "claim_amount": draw(_money),
                "revenue": draw(_money),
                "cost": draw(_money),
            }
        )
    for n in range(draw(st.integers(0, 3))):
        customer_ref = draw(st.sampled_from(refs))
        low, high = draw(st.sampled_from([(1, 5), (1, 7), (0, 10), (-3, 3)]))
        answered = draw(st.sets(st.sampled_from(Dimension), min_size=1, max_size=3))
        survey = {
            "external_ref": draw(_ref("Q", n)),
            "customer_ref": customer_ref,
            "department": draw(st.sampled_from(departments[customer_ref])),
            "contact_ref": draw(_optional(st.sampled_from(contacts.get(customer_ref, [None])))),
            "collected_at": draw(_moments),
            "channel": draw(_optional(_text())),
            "scale_min": low,
            "scale_max": high,
            "likelihood_to_recommend": draw(_optional(st.integers(0, 10))),
            "comment": draw(_optional(_text(40))),
        }
        points = st.floats(low, high).map(lambda point: point + 0.0)  # -0.0 is stored as 0.0
        for dimension in answered:
            survey[f"{dimension}_expectation"] = draw(points)
            survey[f"{dimension}_perception"] = draw(points)
            survey[f"{dimension}_importance"] = draw(st.floats(0.1, 5))
        data["surveys"].append(survey)
    for n in range(draw(st.integers(0, 2))):
        customer_ref = draw(st.sampled_from(refs))
        data["interactions"].append(
            {
                "external_ref": draw(_ref("I", n)),
                "customer_ref": customer_ref,
                "department": draw(_optional(st.sampled_from(departments[customer_ref]))),
                "user_email": draw(_optional(st.sampled_from(USERS))),
                "kind": draw(st.sampled_from(InteractionKind)),
                "at": draw(_moments),
                "summary": draw(_text(40)),
                "next_follow_up": draw(_optional(_dates)),
            }
        )
    for n in range(draw(st.integers(0, 2))):
        customer_ref = draw(st.sampled_from(refs))
        own = [
            link["external_ref"]
            for link in data["links"]
            if customer_ref in (link["shipper_ref"], link["consignee_ref"])
        ]
        opened = draw(_moments)
        data["tickets"].append(
            {
                "external_ref": draw(_ref("T", n)),
                "customer_ref": customer_ref,
                "link_ref": draw(_optional(st.sampled_from(own))) if own else None,
                "kind": draw(st.sampled_from(TicketKind)),
                "severity": draw(st.sampled_from(Severity)),
                "subject": draw(_text(30)),
                "opened_at": opened,
                "first_response_at": draw(_optional(_after(opened))),
                "resolved_at": draw(_optional(_after(opened))),
                "status": draw(st.sampled_from(TicketStatus)),
                "claim_amount": draw(_optional(_money)),
            }
        )
    return data


def _canonical(kind: str, rows: list[dict]) -> str:
    """The file an export of these rows must be: every column, formatted as the import reads it."""
    columns = KINDS[kind].columns
    return "".join(
        write_rows([c.name for c in columns], ([c.format(row.get(c.name)) for c in columns] for row in rows))
    )


def _import(db, kind: str, text: str) -> dict:
    with db.session_scope() as session:
        outcome = imports.run(
            session,
            kind=KINDS[kind],
            user=imports.command_line_user(),
            stream=io.BytesIO(text.encode()),
            options=imports.Options(),
        )
        assert outcome.state == "succeeded", (kind, list(outcome.rejects))
    return outcome.counts


def _export(db, kind: str, user=None) -> str:
    with db.session(write=False) as session:
        header, rows = exports.table(session, kind=kind, user=user or imports.command_line_user())
        return "".join(write_rows(header, rows))


def _create_users(db) -> None:
    with db.session_scope() as session:
        for email in USERS:
            users.create(session, name=email.split("@")[0], email=email, role=UserRole.ACCOUNT_MANAGER)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(network=networks())
def test_an_export_is_the_imported_file_and_reimports_to_the_same_data(db, network):
    _empty_tables(db)
    _create_users(db)
    files = {kind: _canonical(kind, network[kind]) for kind in ORDER}
    for kind in ORDER:
        _import(db, kind, files[kind])
    exported = {kind: _export(db, kind) for kind in ORDER}
    assert exported == files

    for kind in ORDER:  # the export imported over its own data changes nothing
        counts = _import(db, kind, exported[kind])
        assert (counts["created"], counts["updated"], counts["unchanged"]) == (0, 0, len(network[kind])), kind

    _empty_tables(db)  # and into an empty database it rebuilds the same data
    _create_users(db)
    for kind in ORDER:
        _import(db, kind, exported[kind])
    assert {kind: _export(db, kind) for kind in ORDER} == exported


def test_accounts_and_interactions_of_a_deactivated_user_export_and_reimport_unchanged(api, actors, db):
    am = api.as_(actors["am"])
    customer = f.customer(am, "Left Behind", external_ref="LB1", roles=("shipper",))
    f.interaction(am, customer, external_ref="I-LB1")
    with db.session_scope() as session:  # deactivated before handovers existed: it still owns the account
        users.deactivate(session, user=users.get(session, user_id=actors["am"].user_id))
    for kind in ("customers", "interactions"):
        exported = _export(db, kind)
        assert "am@test.example" in exported
        assert _import(db, kind, exported)["unchanged"] == 1, kind
