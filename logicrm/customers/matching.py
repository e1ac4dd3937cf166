"""Finding the customer a name or registration number probably belongs to: exact and fuzzy matches over the
blocking keys every customer's names leave in customer_name_keys (kept current by reindex_names)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.orm import Session

from logicrm.customers import names
from logicrm.customers.models import Customer, CustomerAlias, CustomerNameKey


@dataclass(frozen=True, slots=True)
class Duplicate:
    """An existing customer that is probably the company being written, why, and how sure (0–1)."""

    customer: Customer
    reason: str  # registration_number | name | similar_name
    score: float


# Candidates for a fuzzy match: the customers sharing most blocking keys with the name, at most this many.
CANDIDATES = 200


def find_duplicate(
    session: Session,
    *,
    name: str,
    registration_number: str | None,
    aliases: Iterable[str] = (),
    exclude_id: int | None = None,
) -> Duplicate | None:
    """Return a customer that is probably the same company, and why: the same registration number once
    normalised; the same normalised name (or one of its aliases); or a name scoring names.SIMILAR_AT or
    more, among live customers sharing a blocking key, unless both carry different registration numbers."""
    others = Customer.id != (exclude_id or 0)
    registration = names.registration_key(registration_number)
    if registration:
        same = session.scalar(select(Customer).where(Customer.registration_key == registration, others))
        if same is not None:
            return Duplicate(same, "registration_number", 1.0)
    written = [name, *aliases]
    normalized = {names.normalize_name(text) for text in written}
    aliased = select(CustomerAlias.customer_id).where(CustomerAlias.normalized_name.in_(normalized))
    same = session.scalar(
        select(Customer)
        .where(
            or_(Customer.normalized_name.in_(normalized), Customer.id.in_(aliased)),
            Customer.deleted_at.is_(None),
            others,
        )
        .order_by(Customer.id)
        .limit(1)
    )
    if same is not None:
        return Duplicate(same, "name", 1.0)
    return _similar(session, written, registration, exclude_id)


def _similar(
    session: Session, written: list[str], registration: str | None, exclude_id: int | None
) -> Duplicate | None:
    keys = set().union(*(names.name_keys(text) for text in written))
    if not keys:
        return None
    shared = (
        select(CustomerNameKey.customer_id)
        .join(Customer, Customer.id == CustomerNameKey.customer_id)
        .where(
            CustomerNameKey.key.in_(keys),
            CustomerNameKey.customer_id != (exclude_id or 0),
            Customer.deleted_at.is_(None),
        )
        .group_by(CustomerNameKey.customer_id)
        .order_by(func.count().desc(), CustomerNameKey.customer_id)
        .limit(CANDIDATES)
    )
    candidates = {
        row.id: row
        for row in session.execute(
            select(Customer.id, Customer.match_name, Customer.registration_key).where(Customer.id.in_(shared))
        )
    }
    if not candidates:
        return None
    known = defaultdict(list)
    for row in candidates.values():
        known[row.id].append(row.match_name)
    for customer_id, match in session.execute(
        select(CustomerAlias.customer_id, CustomerAlias.match_name).where(
            CustomerAlias.customer_id.in_(candidates)
        )
    ):
        known[customer_id].append(match)
    matches = [names.match_name(text) for text in written]
    best, best_id = 0.0, None
    for customer_id, theirs in sorted(known.items()):
        other = candidates[customer_id].registration_key
        if registration and other and registration != other:
            continue  # two registration numbers: two legal entities, however alike their names
        score = max(names.similarity(mine, their) for mine in matches for their in theirs)
        if score > best:
            best, best_id = score, customer_id
    if best < names.SIMILAR_AT:
        return None
    return Duplicate(session.get(Customer, best_id), "similar_name", round(best, 3))


def reindex_names(session: Session, *, customer_ids: Iterable[int]) -> None:
    """Rebuild the blocking keys of these customers from their names and aliases (after any change)."""
    ids = sorted(set(customer_ids))
    if not ids:
        return
    session.flush()
    session.execute(delete(CustomerNameKey).where(CustomerNameKey.customer_id.in_(ids)))
    written = session.execute(select(Customer.id, Customer.name).where(Customer.id.in_(ids))).all()
    written += session.execute(
        select(CustomerAlias.customer_id, CustomerAlias.name).where(CustomerAlias.customer_id.in_(ids))
    ).all()
    keys = {(customer_id, key) for customer_id, text in written for key in names.name_keys(text)}
    if keys:
        session.execute(insert(CustomerNameKey), [{"customer_id": c, "key": key} for c, key in sorted(keys)])
