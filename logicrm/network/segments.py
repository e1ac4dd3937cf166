"""How often accounts like this one left (DESIGN §4.6): the churn history of an account's segments —
its industry, its tier and how it was won — as known at one moment.

Some segments churn more than others (a provider sees it in its own history), and the customer record
says which segments an account belongs to. For each kind of segment, the accounts live at the start of
the trailing window are the exposed ones and those with a churn event in the window (up to the moment,
never after) the leavers; each segment's rate is shrunk toward the portfolio's by its evidence
(beta-binomial), and an account reads the log-ratio of its segments' rates to the portfolio's, summed
over the kinds: 0 = as the portfolio, above 0 riskier, below 0 safer; bounded.

Pure: stdlib and sibling pure modules only.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from logicrm.network.churn import shrunk

KINDS = ("industry", "tier", "channel")


@dataclass(frozen=True, slots=True)
class SegmentRecord:
    """The segments one customer belongs to, as its record says (None: not recorded)."""

    customer_id: int
    industry: str | None
    tier: str | None
    channel: str | None


def segment_risk(
    records: Iterable[SegmentRecord],
    *,
    events: Mapping[int, Sequence[int]],
    first_seen: Mapping[int, int],
    start: int,
    today: int,
    strength: float,
    cap: float,
) -> dict[int, float]:
    """Return each customer's segment churn history as of day `today`: Σ over KINDS of
    log(shrunk segment rate / portfolio rate), clipped to [−cap, cap].

    Exposed: known as a customer by day `start` with no churn event on or before it. Churned: exposed,
    with an event in (start, today]; later events are not known yet. A segment not recorded (no industry,
    no channel) is a segment of its own, "not recorded", learnt like any other: unrecorded data is often
    a kind of account (imported from an old system, won before anyone asked), never read as safe by
    itself. No exposed account, or no churn among them: every account reads 0 (nothing to compare with).
    """
    records = list(records)
    exposed: list[SegmentRecord] = []
    churned: set[int] = set()
    for record in records:
        days = events.get(record.customer_id, ())
        began = first_seen.get(record.customer_id)
        if began is None or began > start or any(day <= start for day in days):
            continue
        exposed.append(record)
        if any(start < day <= today for day in days):
            churned.add(record.customer_id)
    if not exposed or not churned:
        return {record.customer_id: 0.0 for record in records}
    portfolio = len(churned) / len(exposed)
    counts: dict[tuple[str, str | None], list[int]] = defaultdict(lambda: [0, 0])  # leavers, exposed
    for record in exposed:
        for kind in KINDS:
            seen = counts[kind, _segment(record, kind)]
            seen[0] += record.customer_id in churned
            seen[1] += 1
    ratio = {
        key: math.log(shrunk(left, n, prior=portfolio, strength=strength) / portfolio)
        for key, (left, n) in counts.items()
    }
    return {
        record.customer_id: max(
            -cap, min(cap, sum(ratio.get((kind, _segment(record, kind)), 0.0) for kind in KINDS))
        )
        for record in records
    }


def _segment(record: SegmentRecord, kind: str) -> str | None:
    """The record's segment of one kind; industry is free text, so its case and spaces do not split it."""
    value = getattr(record, kind)
    if value is None:
        return None
    value = " ".join(str(value).split()).casefold()
    return value or None
