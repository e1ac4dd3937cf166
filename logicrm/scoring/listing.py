"""The account list as people work it: the customers a user may see, filtered on their records in SQL and
on their scores (risk band, ABC class), sorted by name or by a score, one page at a time.

Scores live in the scored portfolio, not in a column, so the SQL selects the matching ids in name order
and the scores filter and sort them; only the page's customers are then loaded whole. At 10,000 accounts
that is one query of ids and a sort in memory.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from logicrm.customers import service as customers
from logicrm.customers.models import Customer
from logicrm.scoring.scores import AccountScores, PortfolioScores
from logicrm.users.models import User

# sort key -> (score of an account, highest first?); accounts without the score come last
SCORE_SORTS: dict[str, tuple[Callable[[AccountScores], float | None], bool]] = {
    "risk": (lambda a: a.network_risk, True),
    "value": (lambda a: a.value.revenue, True),
    "exposure": (lambda a: a.value.exposure, True),
    "satisfaction": (lambda a: a.satisfaction.score, False),
}
SORTS = ("name", *SCORE_SORTS)
BANDS = ("low", "medium", "high")


@dataclass(frozen=True)
class Row:
    """One account of the list: the customer and its scores (None when not scored: churned or deleted)."""

    customer: Customer
    scores: AccountScores | None


@dataclass(frozen=True)
class Filters:
    """What narrows the list; band edges are [low, high) probabilities of the network risk."""

    role: str | None = None
    tier: str | None = None
    owner_id: int | None = None
    team_member_id: int | None = None
    region: str | None = None
    q: str | None = None
    abc_class: str | None = None
    band: tuple[float, float] | None = None


def _matching_ids(session: Session, *, user: User, filters: Filters) -> list[int]:
    statement = customers.list_statement(
        user=user,
        role=filters.role,
        tier=filters.tier,
        owner_id=filters.owner_id,
        team_member_id=filters.team_member_id,
        region=filters.region,
        q=filters.q,
    )
    return list(session.scalars(statement.with_only_columns(Customer.id)))


def _scored(ids: list[int], portfolio: PortfolioScores, filters: Filters) -> list[int]:
    accounts = portfolio.accounts
    if filters.abc_class is not None:
        ids = [i for i in ids if i in accounts and accounts[i].value.abc == filters.abc_class]
    if filters.band is not None:
        low, high = filters.band
        ids = [
            i for i in ids if i in accounts and low <= accounts[i].network_risk < (high if high < 1 else 2)
        ]
    return ids


def _sorted(ids: list[int], portfolio: PortfolioScores, sort: str) -> list[int]:
    """Order ids (given in name order) by a score; ties and unscored accounts keep name order."""
    key, descending = SCORE_SORTS[sort.lstrip("-")]
    reverse = descending != sort.startswith("-")
    scored = [(key(portfolio.accounts[i]), i) for i in ids if i in portfolio.accounts]
    known = [(value, i) for value, i in scored if value is not None]
    known.sort(key=lambda pair: pair[0], reverse=reverse)  # stable: equal scores stay in name order
    placed = {i for _value, i in known}
    return [i for _value, i in known] + [i for i in ids if i not in placed]


def ordered_ids(
    session: Session, portfolio: PortfolioScores, *, user: User, filters: Filters, sort: str = "name"
) -> list[int]:
    """Return the ids of every account of the list, in its order."""
    ids = _scored(_matching_ids(session, user=user, filters=filters), portfolio, filters)
    if sort.lstrip("-") == "name":
        return ids[::-1] if sort.startswith("-") else ids
    return _sorted(ids, portfolio, sort)


def rows(session: Session, portfolio: PortfolioScores, ids: list[int]) -> list[Row]:
    """Load these customers whole, in this order, with their scores."""
    loaded = {c.id: c for c in session.scalars(select(Customer).where(Customer.id.in_(ids)))}
    return [Row(loaded[i], portfolio.accounts.get(i)) for i in ids if i in loaded]


def page(
    session: Session,
    portfolio: PortfolioScores,
    *,
    user: User,
    filters: Filters,
    sort: str,
    page: int,
    page_size: int,
) -> dict:
    """Return one page of the list and its meta (total, page, page_size, pages)."""
    ids = ordered_ids(session, portfolio, user=user, filters=filters, sort=sort)
    start = (page - 1) * page_size
    return {
        "items": rows(session, portfolio, ids[start : start + page_size]),
        "meta": {
            "total": len(ids),
            "page": page,
            "page_size": page_size,
            "pages": math.ceil(len(ids) / page_size) if ids else 0,
        },
    }


def every_row(
    session: Session, portfolio: PortfolioScores, *, user: User, filters: Filters, sort: str, batch: int = 500
) -> Iterator[Row]:
    """Yield every row of the list in order, loading `batch` customers at a time (for exports)."""
    ids = ordered_ids(session, portfolio, user=user, filters=filters, sort=sort)
    for start in range(0, len(ids), batch):
        yield from rows(session, portfolio, ids[start : start + batch])
