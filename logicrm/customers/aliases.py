"""A customer's other names (its Chinese and English names, a former or trading name): searched with the
customer list's `q` and matched by the duplicate check like its own name."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from logicrm.audit import service as audit
from logicrm.customers import names
from logicrm.customers import service as customers
from logicrm.customers.matching import reindex_names
from logicrm.customers.models import Customer, CustomerAlias
from logicrm.errors import Conflict, NotFound
from logicrm.users.models import User

ALIAS_FIELDS = ("name", "label")


def list_statement(*, customer_id: int) -> Select:
    """Select the aliases of one customer, in the order they were added."""
    return select(CustomerAlias).where(CustomerAlias.customer_id == customer_id).order_by(CustomerAlias.id)


def get(session: Session, *, customer: Customer, alias_id: int) -> CustomerAlias:
    """Return one alias of this customer, or raise NotFound."""
    alias = session.get(CustomerAlias, alias_id)
    if alias is None or alias.customer_id != customer.id:
        raise NotFound(f"alias {alias_id} of customer {customer.id} not found")
    return alias


def create(
    session: Session, *, user: User, customer: Customer, data: dict, allow_duplicate: bool = False
) -> CustomerAlias:
    """Give a customer another name; refused when it is already one of its names, or (like a new customer's
    name) when it probably names another customer."""
    normalized = names.normalize_name(data["name"])
    taken = [
        customer.normalized_name,
        *session.scalars(
            list_statement(customer_id=customer.id).with_only_columns(CustomerAlias.normalized_name)
        ),
    ]
    if normalized in taken:
        raise Conflict(
            f"{data['name']!r} is already a name of customer {customer.id}",
            errors={"json": {"name": ["already a name of this customer"]}},
        )
    customers.refuse_duplicate(
        session,
        user,
        customers.Candidate(data["name"], None, allow_duplicate=allow_duplicate, exclude_id=customer.id),
    )
    alias = CustomerAlias(customer_id=customer.id, **data)
    session.add(alias)
    session.flush()
    reindex_names(session, customer_ids=[customer.id])
    _record(session, user, alias, "create", audit.snapshot(alias, ALIAS_FIELDS))
    return alias


def add_merged_name(session: Session, *, customer: Customer, name: str) -> CustomerAlias | None:
    """Keep a merged-away customer's name as an alias of the one it was merged into (unless it is one)."""
    normalized = names.normalize_name(name)
    known = session.scalar(
        select(CustomerAlias.id).where(
            CustomerAlias.customer_id == customer.id, CustomerAlias.normalized_name == normalized
        )
    )
    if known is not None or normalized == customer.normalized_name:
        return None
    alias = CustomerAlias(customer_id=customer.id, name=name, label="merged")
    session.add(alias)
    session.flush()
    return alias


def delete(session: Session, *, user: User, alias: CustomerAlias) -> None:
    """Remove an alias (the history keeps it)."""
    _record(session, user, alias, "delete", audit.removed(alias, ALIAS_FIELDS))
    customer_id = alias.customer_id
    session.delete(alias)
    session.flush()
    reindex_names(session, customer_ids=[customer_id])


def _record(session: Session, user: User, alias: CustomerAlias, action: str, changes: dict) -> None:
    audit.record(
        session,
        user=user,
        entity="customer_alias",
        entity_id=alias.id,
        customer_id=alias.customer_id,
        action=action,
        changes=changes,
    )
