"""Data problems: what scoring did with a stored value it could not use as it is, and the parts of one
account's score that failed. One account's bad data never takes the run down: every number read is held to
its bound from logicrm/bounds.py (the nearest bound when outside it, left out when not a number), a part
of one account's score that still fails falls back to "unknown", and each is noted on that account's
published `data_problems`.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from logicrm.bounds import Bound
from logicrm.memory import pickled_by_fields

log = logging.getLogger(__name__)


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class DataProblem:
    """A stored value scoring did not use as it is, or a part of one account's score that failed.

    `field` is the column (`table.column`) or the part of the score; `record_id` the row holding the
    value (for shipments and survey ratings: their link or response), None for a failed part; `note`
    says what scoring did instead.
    """

    field: str
    record_id: int | None
    note: str


class Problems:
    """The data problems of each customer, noted while aggregates become records and scores."""

    def __init__(self) -> None:
        self.by_customer: dict[int, list[DataProblem]] = defaultdict(list)

    def note(self, customers: Iterable[int], field: str, record_id: int | None, note: str) -> None:
        """Note one problem on every customer it degrades."""
        problem = DataProblem(field, record_id, note)
        for customer_id in dict.fromkeys(customers):
            self.by_customer[customer_id].append(problem)

    def number(self, value, bound: Bound, *, customers: Iterable[int], field: str, record_id: int):
        """Return a stored number held to its bound: the nearest bound when outside, None when not a number."""
        if value is None:
            return None
        if not isinstance(value, int | float) or math.isnan(value):
            self.note(customers, field, record_id, f"{value!r} is not a number: left out")
            return None
        if bound.low <= value <= bound.high:
            return value
        held = min(max(value, bound.low), bound.high)
        self.note(customers, field, record_id, f"{value:g} is outside {bound.describe()}: scored as {held:g}")
        return held

    def guard(self, customer_id: int, part: str, score: Callable, fallback: Callable):
        """Return score(); should it fail, note the failure on the account and return fallback()."""
        try:
            return score()
        except Exception as error:  # one account's bad data degrades its own score, never the run
            log.warning("scoring customer %s: %s failed", customer_id, part, exc_info=True)
            self.note(
                (customer_id,), part, None, f"failed ({type(error).__name__}: {error}): scored as unknown"
            )
            return fallback()

    def log_summary(self) -> None:
        if self.by_customer:
            fields = sorted({p.field for problems in self.by_customer.values() for p in problems})
            log.warning(
                "scored %d accounts with data problems in %s", len(self.by_customer), ", ".join(fields)
            )
