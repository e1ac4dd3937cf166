"""The database layer: SQLite pragmas and locking, UTC timestamps, and constraints enforced by the database."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from sqlalchemy import CheckConstraint, event, func, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError, OperationalError, StatementError

from logicrm import bounds, migrate
from logicrm.customers.models import Customer
from logicrm.db import KEY_LOCK_BUCKETS, Base, Database, bulk_insert, lock_keys, make_engine
from logicrm.lanes.models import Link, Shipment
from logicrm.lanes.shipments import SHIPMENT_FIELDS
from logicrm.relations.models import Department, SurveyResponse, SurveyScore
from logicrm.sales.models import Opportunity
from logicrm.shippers.models import ShipperProfile
from logicrm.tickets.models import Ticket
from logicrm.users import service as users
from logicrm.users.models import User, UserRole

SHORT_BUSY_MS = 300
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


# --- SQLite: pragmas and locking -------------------------------------------------------------------


@pytest.fixture(scope="module")
def sqlite_url(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('locking') / 'logicrm.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture
def sqlite_db(sqlite_url):
    """A Database on a migrated SQLite file whose writers give up on the lock quickly."""
    database = Database(make_engine(sqlite_url, busy_timeout_ms=SHORT_BUSY_MS))
    yield database
    database.engine.dispose()


def _add_user(database: Database, name: str) -> int:
    with database.session_scope() as session:
        email = f"{name}-{time.monotonic_ns()}@test.example"
        return users.create(session, name=name, email=email, role=UserRole.VIEWER).id


def test_sqlite_engine_uses_wal_foreign_keys_and_busy_timeout(sqlite_url):
    engine = make_engine(sqlite_url, busy_timeout_ms=1234)
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1234
    finally:
        engine.dispose()


def test_writer_session_takes_the_write_lock_at_its_first_read(sqlite_db):
    with sqlite_db.session() as first, sqlite_db.session() as second:
        first.execute(select(1))  # only a read, but BEGIN IMMEDIATE already holds the write lock
        started = time.monotonic()
        with pytest.raises(OperationalError, match="database is locked"):
            second.execute(select(1))
        # The second writer waited for the busy timeout instead of starting alongside the first.
        assert time.monotonic() - started >= SHORT_BUSY_MS / 1000 * 0.8


def test_second_writer_waits_for_the_first_to_commit_then_proceeds(sqlite_url):
    database = Database(make_engine(sqlite_url, busy_timeout_ms=10_000))
    user_id = _add_user(database, "waiter")
    order: list[str] = []

    def second_writer():
        with database.session_scope() as session:
            session.get(User, user_id)
            order.append("second began")
            session.get(User, user_id).name = "second"

    try:
        with database.session() as first:
            first.get(User, user_id).name = "first"
            first.flush()
            thread = threading.Thread(target=second_writer)
            thread.start()
            time.sleep(0.3)
            order.append("first commits")
            first.commit()
        thread.join(timeout=10)
        assert order == ["first commits", "second began"]
        with database.session(write=False) as session:
            assert session.get(User, user_id).name == "second"
    finally:
        database.engine.dispose()


def test_reader_sessions_do_not_take_the_write_lock(sqlite_db):
    user_id = _add_user(sqlite_db, "reader")
    with sqlite_db.session(write=False) as reader:
        assert reader.get(User, user_id) is not None  # the reader's transaction is open
        with sqlite_db.session_scope() as writer:  # would fail after SHORT_BUSY_MS if it were locked out
            writer.get(User, user_id).name = "written while a reader reads"
    with sqlite_db.session() as writer:
        writer.get(User, user_id).name = "uncommitted"
        writer.flush()  # the writer holds the lock and has written ...
        with sqlite_db.session(write=False) as reader:  # ... and WAL readers still read the last commit
            assert reader.get(User, user_id).name == "written while a reader reads"


def test_deferred_transactions_that_read_then_write_fail_which_is_why_writers_begin_immediate(sqlite_db):
    """SQLite's default BEGIN: two transactions read, one commits, the other cannot write any more."""
    user_id = _add_user(sqlite_db, "deferred")
    with sqlite_db.session(write=False) as first, sqlite_db.session(write=False) as second:
        first.get(User, user_id)
        second.get(User, user_id)
        first.get(User, user_id).name = "first"
        first.commit()
        second.get(User, user_id).name = "second"
        with pytest.raises(OperationalError, match="database is locked"):
            second.flush()


# --- UTC timestamps (both backends) -----------------------------------------------------------------


def test_utc_datetime_stores_aware_values_and_returns_them_in_utc(db):
    moment = dt.datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=SHANGHAI)
    with db.session_scope() as session:
        user = users.create(session, name="Zhang", email="zhang@test.example", role=UserRole.VIEWER)
        user.created_at = moment
    with db.session(write=False) as session:
        stored = session.get(User, user.id).created_at
        raw = session.execute(text("SELECT created_at FROM users WHERE id = :id"), {"id": user.id}).scalar()
    assert stored == moment
    assert stored.tzinfo is dt.UTC
    assert stored.hour == 1
    if db.engine.dialect.name == "sqlite":
        assert raw == "2026-03-01 01:30:15.123456"  # naive text, always UTC
    else:
        assert raw == moment and raw.utcoffset() is not None
        columns = {column["name"]: column for column in inspect(db.engine).get_columns("users")}
        assert columns["created_at"]["type"].timezone  # timestamptz


def test_utc_datetime_refuses_naive_values(db):
    with db.session() as session:
        session.add(
            User(
                name="Naive",
                email="naive@test.example",
                role=UserRole.VIEWER,
                created_at=dt.datetime(2026, 3, 1, 9, 30),
            )
        )
        with pytest.raises(StatementError, match="naive datetime") as raised:
            session.flush()
    assert isinstance(raised.value.orig, ValueError)


# --- Constraints live in the database (both backends) -----------------------------------------------
# Core inserts and raw SQL skip every Python-side check, so only the database can refuse these rows.

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def _customer(connection, name: str, **values) -> int:
    row = {"name": name, "normalized_name": name.lower(), **values}
    return connection.execute(insert(Customer).values(row).returning(Customer.id)).scalar_one()


def _link(connection) -> int:
    shipper, consignee = _customer(connection, "shipper"), _customer(connection, "consignee")
    row = {"shipper_id": shipper, "consignee_id": consignee, "origin": "Hamburg", "destination": "Shanghai"}
    return connection.execute(insert(Link).values(row).returning(Link.id)).scalar_one()


def _department(connection) -> tuple[int, int]:
    customer = _customer(connection, "surveyed")
    row = {"customer_id": customer, "name": "logistics"}
    return customer, connection.execute(insert(Department).values(row).returning(Department.id)).scalar_one()


def _survey(ids: tuple[int, int], ltr: int) -> dict:
    return {
        "customer_id": ids[0],
        "department_id": ids[1],
        "collected_at": NOW,
        "likelihood_to_recommend": ltr,
    }


# name: (setup(connection) -> context, violate(connection, context), what the error names)
VIOLATIONS = {
    "duplicate external_ref": (
        lambda c: _customer(c, "first", external_ref="ERP-1"),
        lambda c, _: _customer(c, "second", external_ref="ERP-1"),
        r"uq_customers_external_ref|customers\.external_ref",
    ),
    "duplicate registration_number": (
        lambda c: _customer(c, "first", registration_number="91310000MA1FL"),
        lambda c, _: _customer(c, "second", registration_number="91310000MA1FL"),
        r"uq_customers_registration_number|customers\.registration_number",
    ),
    "enum value outside the enumeration": (
        lambda c: _customer(c, "tiered"),
        lambda c, customer: c.execute(
            text("UPDATE customers SET tier = 'platinum' WHERE id = :id"), {"id": customer}
        ),
        r"ck_customers_tier",
    ),
    "link from a customer to itself": (
        lambda c: _customer(c, "both roles"),
        lambda c, customer: c.execute(
            insert(Link).values(shipper_id=customer, consignee_id=customer, origin="A", destination="B")
        ),
        r"ck_links_ends_differ",
    ),
    "link to an unknown customer": (
        lambda c: _customer(c, "lonely"),
        lambda c, customer: c.execute(
            insert(Link).values(shipper_id=customer, consignee_id=customer + 999, origin="A", destination="B")
        ),
        r"FOREIGN KEY|fk_links_consignee_id_customers",
    ),
    "shipment delivered before shipped": (
        _link,
        lambda c, link: c.execute(
            insert(Shipment).values(link_id=link, shipped_at=NOW, delivered_at=NOW - dt.timedelta(hours=1))
        ),
        r"ck_shipments_delivered_after_shipped",
    ),
    "likelihood to recommend above 10": (
        _department,
        lambda c, ids: c.execute(insert(SurveyResponse).values(_survey(ids, 11))),
        r"ck_survey_responses_likelihood_to_recommend_range",
    ),
}


@pytest.mark.parametrize("case", VIOLATIONS, ids=list(VIOLATIONS))
def test_database_refuses_rows_that_break_a_constraint(db, case):
    setup, violate, names = VIOLATIONS[case]
    with db.engine.begin() as connection:
        context = setup(connection)
    with pytest.raises(IntegrityError, match=names), db.engine.begin() as connection:
        violate(connection, context)


def test_many_customers_may_have_no_registration_number(db):
    with db.engine.begin() as connection:
        _customer(connection, "first", registration_number=None)
        _customer(connection, "second", registration_number=None)
        assert connection.scalar(select(func.count()).select_from(Customer)) == 2


def test_edge_values_pass_the_constraints(db):
    with db.engine.begin() as connection:
        link = _link(connection)
        connection.execute(insert(Shipment).values(link_id=link, shipped_at=NOW, delivered_at=NOW))
        ids = _department(connection)
        connection.execute(insert(SurveyResponse).values([_survey(ids, 0), _survey(ids, 10)]))


# --- Every number people enter stays within its bound (both backends) -------------------------------


def _row_of(connection, model) -> int:
    """Insert one valid row of `model`; return its key."""
    if model is Shipment:
        values = {"link_id": _link(connection), "shipped_at": NOW}
    elif model is Link:
        return _link(connection)
    elif model is Department:
        return _department(connection)[1]
    elif model is SurveyResponse:
        values = _survey(_department(connection), 9)
    elif model is SurveyScore:
        response = _row_of(connection, SurveyResponse)
        values = {"response_id": response, "dimension": "timeliness", "expectation": 5, "perception": 5}
    elif model is Ticket:
        values = {"customer_id": _customer(connection, "claimant"), "kind": "claim", "subject": "dent"}
    elif model is Opportunity:
        values = {"customer_id": _customer(connection, "prospect"), "kind": "new", "title": "warehousing"}
    else:
        values = {"customer_id": _customer(connection, "shipper")}
    key = next(iter(model.__table__.primary_key))
    return connection.execute(insert(model).values(values).returning(key)).scalar_one()


BOUNDED = [
    (Shipment, "revenue", bounds.MONEY),
    (Shipment, "cost", bounds.MONEY),
    (Shipment, "claim_amount", bounds.MONEY),
    (Ticket, "claim_amount", bounds.MONEY),
    (Ticket, "compensation_amount", bounds.MONEY),
    (Opportunity, "value", bounds.MONEY),
    (Opportunity, "probability", bounds.SHARE),
    (ShipperProfile, "on_time_target", bounds.SHARE),
    (ShipperProfile, "contracted_annual_value", bounds.MONEY),
    (Link, "declared_monthly_volume", bounds.MONTHLY_VOLUME),
    (Department, "decision_weight", bounds.DECISION_WEIGHT),
    (SurveyScore, "importance", bounds.IMPORTANCE),
    (SurveyScore, "expectation", bounds.SCALE_POINT),
    (SurveyScore, "perception", bounds.SCALE_POINT),
    (SurveyResponse, "scale_min", bounds.SCALE_POINT),
    (SurveyResponse, "scale_max", bounds.SCALE_POINT),
    (SurveyResponse, "likelihood_to_recommend", bounds.LIKELIHOOD_TO_RECOMMEND),
]
# scale_ordered (scale_max > scale_min) keeps scale_min off the top of the range and scale_max off its
# bottom: there, and past them, it fails first whatever the bounds say
UNREACHABLE_EDGES = {("scale_min", "high"), ("scale_max", "low")}


def _set(connection, model, key: int, **values) -> None:
    primary_key = next(iter(model.__table__.primary_key))
    connection.execute(model.__table__.update().where(primary_key == key).values(values))


def _step(model, column: str) -> float:
    """The smallest change the column stores: 1 for whole numbers, a cent otherwise."""
    return 1 if model.__table__.c[column].type.python_type is int else 0.01


@pytest.mark.parametrize(
    ("model", "column", "bound"), BOUNDED, ids=[f"{m.__tablename__}.{c}" for m, c, _ in BOUNDED]
)
def test_database_refuses_numbers_outside_their_bound(db, model, column, bound):
    with db.engine.begin() as connection:
        key = _row_of(connection, model)
    step = _step(model, column)
    below = bound.low - step if bound.low_inclusive else bound.low
    for edge, outside in (("low", below), ("high", bound.high + step)):
        if (column, edge) in UNREACHABLE_EDGES:
            continue
        with (
            pytest.raises(IntegrityError, match=f"ck_{model.__tablename__}_{column}_range"),
            db.engine.begin() as connection,
        ):
            _set(connection, model, key, **{column: outside})


@pytest.mark.parametrize(
    ("model", "column", "bound"), BOUNDED, ids=[f"{m.__tablename__}.{c}" for m, c, _ in BOUNDED]
)
def test_numbers_on_the_edges_of_their_bound_pass(db, model, column, bound):
    with db.engine.begin() as connection:
        key = _row_of(connection, model)
        low = bound.low if bound.low_inclusive else bound.low + _step(model, column)
        for edge, value in (("low", low), ("high", bound.high)):
            if (column, edge) in UNREACHABLE_EDGES:
                continue
            _set(connection, model, key, **{column: value})
            stored = connection.scalar(
                select(model.__table__.c[column]).where(next(iter(model.__table__.primary_key)) == key)
            )
            assert stored == value


def test_the_range_checks_are_exactly_the_bounded_columns():
    declared = {
        (table.name, check.name.removeprefix(f"ck_{table.name}_").removesuffix("_range"))
        for table in Base.metadata.tables.values()
        for check in table.constraints
        if isinstance(check, CheckConstraint) and str(check.name).endswith("_range")
    }
    assert declared == {(model.__tablename__, column) for model, column, _bound in BOUNDED}


# --- Bulk inserts store what the ORM stores (both backends) -----------------------------------------

MOMENTS = [
    dt.datetime(1, 1, 1, tzinfo=dt.UTC),
    dt.datetime(999, 5, 6, 7, 8, 9, 10, tzinfo=dt.UTC),
    dt.datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=SHANGHAI),
    dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),
    None,
]


def test_bulk_insert_stores_exactly_what_the_orm_stores(db):
    with db.session_scope() as session:
        link = _link(session.connection())
        rows = [
            (f"bulk-{n}", link, NOW, moment, moment and NOW, n % 2 == 0, n % 2 == 1, 0.0, 12.34, 5.0)
            for n, moment in enumerate(MOMENTS)
        ]
        for ref, *values in rows:
            session.add(
                Shipment(**dict(zip(SHIPMENT_FIELDS, (ref.replace("bulk", "orm"), *values), strict=True)))
            )
        session.flush()
        bulk_insert(session.connection(), Shipment.__table__, SHIPMENT_FIELDS, rows)
    with db.session(write=False) as session:
        stored = {
            ref: tuple(values)
            for ref, *values in session.execute(
                text(f"SELECT external_ref, {', '.join(SHIPMENT_FIELDS[2:])} FROM shipments")
            )
        }
        # the bulk rows leave the version out: the server default starts them where the ORM does
        assert set(session.scalars(select(Shipment.version))) == {1}
    for n in range(len(MOMENTS)):
        assert stored[f"bulk-{n}"] == stored[f"orm-{n}"]
    if db.engine.dialect.name == "sqlite":  # the text the ORM's type stores, years below 1000 included
        assert stored["bulk-1"][1] == "0999-05-06 07:08:09.000010"
        assert stored["bulk-2"][1] == "2026-03-01 01:30:15.123456"


def test_lock_keys_holds_a_bounded_number_of_locks_however_many_keys_a_transaction_locks(db):
    """An import locks every customer name of its file in one transaction: 20,000 keys (more than the
    server's shared lock table holds by default) take at most KEY_LOCK_BUCKETS advisory locks."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite writers hold the database lock instead")
    with db.session() as session:
        lock_keys(session, [f"customer-name:company {k}" for k in range(20_000)])
        lock_keys(session, ["customer-name:company 7", "customer-name:one more"])  # again: no new wait
        held = session.scalar(
            text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")
        )
    assert 900 < held <= KEY_LOCK_BUCKETS


def test_lock_keys_asks_only_for_buckets_the_transaction_does_not_hold(db):
    """An import's batches lock thousands of keys each: a bucket held already costs no statement, and one a
    rolled-back savepoint released (PostgreSQL releases its locks with it) is asked for again."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite writers hold the database lock instead")
    first, second = "customer-name:thames foods", "customer-name:nordwind"
    statements = []
    with db.session() as session:
        event.listen(session.connection(), "before_cursor_execute", lambda *args: statements.append(args[2]))

        def held() -> int:
            sql = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
            return session.scalar(text(sql))

        lock_keys(session, [first])
        assert held() == 1
        savepoint = session.begin_nested()
        lock_keys(session, [second])
        assert held() == 2
        savepoint.rollback()
        assert held() == 1
        lock_keys(session, [first, second])
        assert held() == 2
        before = len(statements)
        lock_keys(session, [second, first, first])
        assert len(statements) == before
