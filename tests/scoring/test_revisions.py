"""Data revisions (logicrm/scoring/revisions.py): writes to what scores read move them, other writes do not."""

from __future__ import annotations

from sqlalchemy import insert, select, update

from logicrm.customers.models import Customer
from logicrm.health.models import JobRun
from logicrm.lanes.models import Shipment
from logicrm.scoring import revisions
from logicrm.users.models import User, UserRole
from tests import factories as f


def moved(db, write) -> tuple[int, int]:
    """Run `write(session)` in one transaction; return how far (network, scores) moved."""
    with db.session(write=False) as session:
        before = revisions.current(session)
    with db.session_scope() as session:
        write(session)
    with db.session(write=False) as session:
        after = revisions.current(session)
    return after[0] - before[0], after[1] - before[1]


def test_orm_writes_to_scored_tables_move_scores_and_lanes_move_the_network_too(api, db):
    customer = f.customer(api, "Scored Co", roles=("shipper",))
    assert moved(db, lambda s: setattr(s.get(Customer, customer["id"]), "region", "Bavaria")) == (0, 1)
    lane = f.link(api, customer, f.customer(api, "Receiver Co", roles=("consignee",)))
    (shipment_id,) = f.shipments(api, lane)
    assert moved(db, lambda s: setattr(s.get(Shipment, shipment_id), "revenue", 5)) == (1, 1)


def test_bulk_statements_through_a_session_move_them_like_a_flush(api, db):
    lane = f.link(api, f.customer(api, roles=("shipper",)), f.customer(api, roles=("consignee",)))
    (shipment_id,) = f.shipments(api, lane)
    assert moved(
        db, lambda s: s.execute(update(Shipment).where(Shipment.id == shipment_id).values(cost=3))
    ) == (1, 1)
    assert moved(db, lambda s: s.execute(update(Customer).values(industry="food"))) == (0, 1)


def test_writes_nothing_is_scored_on_leave_them_alone(api, db):
    """Users, keys, history and the health run's own rows are no input of the scores."""
    assert moved(db, lambda s: s.add(User(name="X", email="x@example.com", role=UserRole.VIEWER))) == (0, 0)
    assert moved(db, lambda s: s.execute(insert(JobRun).values(job="j", slot="s", host="h", pid=1))) == (0, 0)


def test_deferred_collects_every_write_into_one_bump(api, db):
    customer = f.customer(api, "Deferred Co", roles=("shipper",))

    def many_writes(session):
        with revisions.deferred(session):
            for n in range(5):
                session.get(Customer, customer["id"]).region = f"Region {n}"
                session.flush()
            session.execute(update(Customer).values(industry="food"))

    assert moved(db, many_writes) == (0, 1)
    with db.session(write=False) as session:
        assert session.scalar(select(Customer.region).where(Customer.id == customer["id"])) == "Region 4"
