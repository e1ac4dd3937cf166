"""Concurrent writers: 8 processes updating the same customers through the service layer lose no update
and never see "database is locked".

Each update is a read-modify-write of a shipper profile's contracted_annual_value in its own write session.
On SQLite, BEGIN IMMEDIATE serialises the writers; on PostgreSQL two writers may read the same version and
the loser's UPDATE ... WHERE version = ? matches no row (StaleDataError), so it reads again and retries.
"""

from __future__ import annotations

import multiprocessing
import queue
import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError

from logicrm.audit.models import AuditEvent
from logicrm.customers import service as customers
from logicrm.customers.models import Customer
from logicrm.db import Database, make_engine
from logicrm.shippers import service as shippers
from logicrm.shippers.models import ShipperProfile
from logicrm.users.models import User

WORKERS = 8
UPDATES_PER_WORKER = 25
CUSTOMERS = 3
PROFILE_FIELDS = ("contract_start", "contract_end", "services", "contracted_annual_value", "on_time_target")
DEADLINE_S = 120


def _increment(database: Database, *, user_id: int, customer_id: int) -> int:
    """Add 1 to the customer's contracted annual value; return how many optimistic conflicts it took."""
    conflicts = 0
    while True:
        try:
            with database.session_scope() as session:
                customer = session.get(Customer, customer_id)
                profile = {field: getattr(customer.shipper_profile, field) for field in PROFILE_FIELDS}
                profile["contracted_annual_value"] += 1
                shippers.put(session, user=session.get(User, user_id), customer=customer, data=profile)
            return conflicts
        except StaleDataError:  # another writer committed first: the version check did its job
            conflicts += 1


def _worker(url, user_id, customer_ids, index, start, results) -> None:
    """Run in a spawned process: open an own engine, wait for the others, then update."""
    import logicrm.models  # noqa: F401  (a process without the app loads every mapper itself)

    database = Database(make_engine(url))
    report = {"index": index, "done": dict.fromkeys(customer_ids, 0), "conflicts": 0, "errors": []}
    try:
        start.wait(timeout=60)
        for n in range(UPDATES_PER_WORKER):
            customer_id = customer_ids[(index + n) % len(customer_ids)]
            try:
                report["conflicts"] += _increment(database, user_id=user_id, customer_id=customer_id)
                report["done"][customer_id] += 1
            except OperationalError as error:  # "database is locked" and friends: a failure, keep counting
                report["errors"].append(str(error.orig))
    except Exception as error:
        report["errors"].append(f"{type(error).__name__}: {error}")
    finally:
        database.engine.dispose()
        results.put(report)


@pytest.mark.slow
def test_concurrent_writers_lose_no_update_and_never_see_database_is_locked(db, database_url, actors):
    with db.session_scope() as session:
        admin = session.get(User, actors["admin"].user_id)
        for n in range(CUSTOMERS):
            customers.create(
                session,
                user=admin,
                data={"name": f"Contended {n}", "shipper": {"contracted_annual_value": 0}},
            )
    with db.session(write=False) as session:
        customer_ids = list(session.scalars(select(Customer.id).order_by(Customer.id)))

    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(WORKERS), context.Queue()
    processes = [
        context.Process(
            target=_worker, args=(database_url, actors["admin"].user_id, customer_ids, i, start, results)
        )
        for i in range(WORKERS)
    ]
    began = time.monotonic()
    for process in processes:
        process.start()
    reports = []
    try:
        for _ in processes:
            reports.append(results.get(timeout=max(1, DEADLINE_S - (time.monotonic() - began))))
    except queue.Empty:
        pytest.fail(f"only {len(reports)} of {WORKERS} workers reported within {DEADLINE_S} s")
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()

    errors = [error for report in reports for error in report["errors"]]
    assert not errors, errors
    assert not any("database is locked" in error for error in errors)
    expected = {cid: sum(report["done"][cid] for report in reports) for cid in customer_ids}
    assert sum(expected.values()) == WORKERS * UPDATES_PER_WORKER
    with db.session(write=False) as session:
        for customer_id, count in expected.items():
            profile = session.get(ShipperProfile, customer_id)
            assert profile.contracted_annual_value == count, f"customer {customer_id}: lost updates"
            assert profile.version == 1 + count
            history = session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(
                    AuditEvent.customer_id == customer_id,
                    AuditEvent.entity == "shipper_profile",
                    AuditEvent.action == "update",
                )
            )
            assert history == count, f"customer {customer_id}: an update left no audit entry"
    if db.engine.dialect.name == "sqlite":
        # BEGIN IMMEDIATE: a writer reads only once it holds the lock, so no version check ever fails.
        assert sum(report["conflicts"] for report in reports) == 0
