"""A customer's role profiles (shipper, consignee): create, replace and remove them, with their history.

The profile models live in shippers/ and consignees/; this module reaches them through the Customer
relationships, so the customer core imports neither (they build on it).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from logicrm.audit import service as audit
from logicrm.customers.models import Customer
from logicrm.errors import NotFound
from logicrm.users.models import User

ROLES = ("shipper", "consignee")


def model(role: str) -> type:
    """Return the profile model of a role."""
    return getattr(Customer, f"{role}_profile").property.mapper.class_


def fields(role: str) -> list[str]:
    """Return the fields of a role's profile that people set."""
    return [c.key for c in model(role).__table__.columns if c.key not in ("customer_id", "version")]


def get(customer: Customer, *, role: str):
    """Return the customer's profile in `role`, or raise NotFound."""
    profile = getattr(customer, f"{role}_profile")
    if profile is None:
        raise NotFound(f"customer {customer.id} has no {role} role")
    return profile


def put(session: Session, *, user: User, customer: Customer, role: str, data: dict):
    """Create or replace a role profile and record the change."""
    profile = getattr(customer, f"{role}_profile")
    if profile is None:
        profile = model(role)(customer_id=customer.id, **data)
        session.add(profile)
        session.flush()
        session.refresh(customer)
        action, diff = "create", audit.snapshot(profile, data.keys())
    else:
        action, diff = "update", audit.apply_changes(profile, replacement(role, data))
        session.flush()
    _record(session, user, customer, role, action, diff)
    return profile


def replacement(role: str, data: dict) -> dict:
    """The values putting `data` over an existing profile writes: the whole profile, fields left out cleared."""
    return {column: data.get(column) for column in fields(role)}


def delete(session: Session, *, user: User, customer: Customer, role: str) -> None:
    """Remove a role profile and record it (the role's service checks first that nothing uses it)."""
    session.delete(get(customer, role=role))
    session.flush()
    session.refresh(customer)
    _record(session, user, customer, role, "delete", {})


def _record(session: Session, user: User, customer: Customer, role: str, action: str, changes: dict) -> None:
    audit.record(
        session,
        user=user,
        entity=f"{role}_profile",
        entity_id=customer.id,
        customer_id=customer.id,
        action=action,
        changes=changes,
    )
