"""The consignee role: the side that receives the goods and judges delivery: its profile (sites, receiving windows) and its shippers."""

from __future__ import annotations

from sqlalchemy import Select
from sqlalchemy.orm import Session

from logicrm.customers import profiles
from logicrm.customers import service as customers
from logicrm.customers.models import Customer
from logicrm.errors import Conflict
from logicrm.lanes import service as lanes
from logicrm.users.models import User

ROLE = "consignee"


def get(session: Session, *, user: User, customer_id: int):
    """Return the consignee profile of a customer the user may see, or raise NotFound."""
    return profiles.get(customers.get(session, user=user, customer_id=customer_id), role=ROLE)


def put(session: Session, *, user: User, customer: Customer, data: dict):
    """Add or replace the consignee role of a customer."""
    return profiles.put(session, user=user, customer=customer, role=ROLE, data=data)


def delete(session: Session, *, user: User, customer: Customer) -> None:
    """Remove the consignee role; refused while lanes use it."""
    in_use = lanes.first_link_id(session, customer_id=customer.id, as_role=ROLE)
    if in_use is not None:
        raise Conflict(
            f"customer {customer.id} still has links as {ROLE} (e.g. link {in_use}); end them first"
        )
    profiles.delete(session, user=user, customer=customer, role=ROLE)


def list_statement(*, user: User, **filters) -> Select:
    """Select the customers holding the consignee role (same filters as the customer list)."""
    return customers.list_statement(user=user, role=ROLE, **filters)


def shippers_statement(*, user: User, customer_id: int) -> Select:
    """Select the visible shippers this consignee has lanes with."""
    return lanes.partners_statement(user=user, customer_id=customer_id, as_role=ROLE)
