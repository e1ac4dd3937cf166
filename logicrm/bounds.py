"""The realistic range of every number and text LogiCRM stores: one table for the API schemas, the CSV
imports and the database's CHECK constraints.

A finite but absurd value (revenue 1.7e308, a decision weight 1e308) used to overflow scoring for the
whole portfolio; bounds stop it at the door with a 4xx naming the field. Stdlib only.
"""

from __future__ import annotations

from dataclasses import dataclass

# Ids are PostgreSQL `integer` columns.
ID_MAX = 2**31 - 1
PAGE_MAX = 1_000_000


@dataclass(frozen=True, slots=True)
class Bound:
    """An inclusive range, with the unit people read it in."""

    low: float
    high: float
    unit: str
    low_inclusive: bool = True

    def describe(self) -> str:
        """Say the range in words, for schema and import documentation."""
        opening = "≥" if self.low_inclusive else ">"
        return f"{opening} {self.low:g} and ≤ {self.high:g} {self.unit}".strip()

    def check(self, column: str) -> str:
        """Return the SQL condition that holds this bound on `column` (NULL passes: optional fields)."""
        low = ">=" if self.low_inclusive else ">"
        return f"{column} IS NULL OR ({column} {low} {self.low!r} AND {column} <= {self.high!r})"


# Money: one shipment, claim, deal or contract; Numeric(14, 2) holds up to 10^12.
MONEY = Bound(0, 10_000_000_000, "in the account currency")
SHARE = Bound(0, 1, "(share, 0–1)")
VOLUME_CUT = Bound(0, 100, "% of the shipper's volume", low_inclusive=False)
PAUSE_WEEKS = Bound(1, 52, "weeks")
MONTHLY_VOLUME = Bound(0, 1_000_000, "shipments a month")
DECISION_WEIGHT = Bound(0, 1_000, "(relative weight)")
IMPORTANCE = Bound(0, 100, "(relative weight)", low_inclusive=False)
SCALE_POINT = Bound(-1_000, 1_000, "scale points")
LIKELIHOOD_TO_RECOMMEND = Bound(0, 10, "(0–10)")
# The rulebook's dials: service levels, escalation points, cadences and due offsets.
SLA_HOURS = Bound(0, 8_760, "hours (elapsed)", low_inclusive=False)
SLA_SHARE = Bound(0, 10, "× the resolution time", low_inclusive=False)
CADENCE_DAYS = Bound(1, 3_650, "days")
DUE_DAYS = Bound(0, 365, "days")
PERCENT = Bound(0, 100, "%")
CALLBACK_SCORE = Bound(1, 5, "(1 = very dissatisfied, 5 = very satisfied)")
# Alert thresholds: the outer range; health.rules checks each one's own (a share, a multiple, levels).
THRESHOLD = Bound(0, 1_000, "(a share 0–1 or a multiple; see its meaning)")
THRESHOLD_STEPS = Bound(-3_650, 3_650, "(days, or severity levels for a tier step)")

# Longest free texts (characters).
LONG_TEXT = 10_000
