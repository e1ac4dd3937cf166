"""Each account's own evidence at one moment (network.churn.RiskSignals), from the SQL aggregates, and the
history of churn events the model learns from.

Everything here is point in time: given `now`, it uses only what was known then, so the churn model can
replay any past date as if it were today (scoring.model), and the health run scores today the same way.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session

from logicrm.bounds import MONTHLY_VOLUME, SHARE
from logicrm.network import rhythm
from logicrm.network.churn import PortfolioRates, RiskSignals
from logicrm.network.params import ScoringParams
from logicrm.scoring import queries

DAYS_PER_WEEK = 7.0
# the rhythm is judged over this much past: two years of weeks
RHYTHM_DAYS = 730
# a shipper that shipped in fewer distinct weeks than this has no rhythm to judge yet
MIN_RHYTHM_WEEKS = 3
DAYS_PER_MONTH = 365.25 / 12  # a declared monthly volume, per day


@dataclass(frozen=True)
class History:
    """What happened when, for every origin at once: churn events and when each account began."""

    events: dict[int, tuple[int, ...]]  # customer -> days (since 1970) of its churn events, sorted
    first_seen: dict[int, int]  # customer -> the day it is known to have been a customer from
    records_from: int | None  # the day the shipment records begin (an account may be older than them)
    until: int  # the last day the history covers (labels need origin + horizon ≤ until)

    def churned_between(self, customer_id: int, start: int, end: int) -> bool:
        """Tell whether the customer had a churn event on a day in (start, end]."""
        return any(start < day <= end for day in self.events.get(customer_id, ()))

    def event_in(self, start: int, end: int) -> dict[int, int]:
        """Map each customer with a churn event in (start, end] to its latest such day."""
        return {
            c: max(d for d in days if start < d <= end)
            for c, days in self.events.items()
            if any(start < d <= end for d in days)
        }


def history(
    session: Session, params: ScoringParams, *, now: dt.datetime, since: dt.datetime | None = None
) -> History:
    """Load the churn events (status set to churned; a shipper gone inactive_days without shipping) in
    [since, now] (all of them without `since`) and when each account began."""
    first = -1 if since is None else queries.day_number(since)
    last = queries.day_number(now)
    events: dict[int, list[int]] = defaultdict(list)
    for customer_id, day in (
        *queries.status_churns(session),
        *queries.lapses(session, inactive_days=params.churn_inactive_days, until=now, since=since),
    ):
        if first <= day <= last:
            events[customer_id].append(day)
    return History(
        events={c: tuple(sorted(days)) for c, days in events.items()},
        first_seen=queries.first_seen(session),
        records_from=queries.first_shipment_day(session),
        until=queries.day_number(now),
    )


@dataclass(frozen=True)
class Rhythm:
    """The shippers' shipment rhythm at one moment."""

    today: int
    last_day: dict[int, int]  # shipper -> its last shipping day within the rhythm window
    p_alive: dict[int, float]  # shipper -> P(its rhythm still runs), where there is rhythm to judge

    def lapsed(self, inactive_days: int) -> set[int]:
        """The shippers that shipped within the rhythm window but not in the last `inactive_days`: churned
        already, by the model's definition."""
        return {shipper for shipper, last in self.last_day.items() if self.today - last >= inactive_days}


def rhythm_at(session: Session, *, now: dt.datetime) -> Rhythm:
    """Each shipper's last shipping day and probability that its shipment rhythm still runs (BG/NBD in
    weeks, fitted on the portfolio's shippers as of `now`); shippers with fewer than MIN_RHYTHM_WEEKS
    shipping weeks have no rhythm to judge."""
    rows = queries.shipper_rhythm(session, since=now - dt.timedelta(days=RHYTHM_DAYS), now=now)
    today = queries.day_number(now)
    last_day = {row.shipper_id: row.last_day for row in rows}
    judged = [row for row in rows if row.weeks >= MIN_RHYTHM_WEEKS]
    if not judged:
        return Rhythm(today, last_day, {})
    x = np.array([row.weeks - 1 for row in judged], dtype=float)
    t_x = np.array([(row.last_day - row.first_day) / DAYS_PER_WEEK for row in judged])
    age = np.array([(today - row.first_day) / DAYS_PER_WEEK for row in judged])
    try:
        fitted = rhythm.fit(x, t_x, age)
    except ValueError:  # nobody repeats: no rhythm to learn from
        return Rhythm(today, last_day, {})
    alive = rhythm.p_alive(fitted.params, x, t_x, age)
    return Rhythm(today, last_day, {row.shipper_id: float(p) for row, p in zip(judged, alive, strict=True)})


def rates(flows, params: ScoringParams) -> PortfolioRates:
    """The portfolio's on-time and trouble rates over the trailing window, priors of every account's."""
    delivered = sum(f.delivered_window for f in flows)
    shipments = sum(f.volume_window for f in flows)
    return PortfolioRates(
        on_time=sum(f.on_time_window for f in flows) / delivered if delivered else 0.9,
        troubled=sum(f.troubled_window for f in flows) / shipments if shipments else 0.02,
        prior_strength=params.rate_prior_strength,
        volume_trend_min_shipments=params.volume_trend_min_shipments,
        window_over_recent=params.volume_window_days / params.volume_recent_days,
        recent_days=params.volume_recent_days,
        inactive_days=params.churn_inactive_days,
        contact_overdue_cap=params.contact_overdue_cap,
    )


@dataclass(frozen=True, slots=True)
class Inbound:
    """A consignee's inbound lanes at one moment: shipments in the recent days and in the window, and the
    recent shipments expected of them from how its shippers' other lanes went."""

    recent: float
    window: float
    expected: float


NO_INBOUND = Inbound(0.0, 0.0, 0.0)


def inbound(flows, *, prior_strength: float) -> dict[int, Inbound]:
    """Each consignee's inbound volume against what its shippers' trends predict.

    A lane's volume is routed by its shipper, so a shipper's general decline is its own evidence; but a
    consignee that orders less from every shipper shows as lanes falling while the shippers' other lanes
    hold. Each lane s→c is expected to keep the recent/window ratio of s's other lanes (shrunk toward the
    portfolio's ratio by `prior_strength` shipments, so a shipper with few other shipments, or none,
    predicts the portfolio's trend, season included); the consignee's expectation is the sum over its
    lanes. A shipper winding down then lowers its consignees' expectation, not their evidence."""
    pair = defaultdict(lambda: [0, 0])  # (shipper, consignee) -> recent, window
    outbound = defaultdict(lambda: [0, 0])
    for f in flows:
        for totals in (pair[f.shipper_id, f.consignee_id], outbound[f.shipper_id]):
            totals[0] += f.volume_recent
            totals[1] += f.volume_window
    recent_total = sum(recent for recent, _ in outbound.values())
    window_total = sum(window for _, window in outbound.values())
    portfolio = recent_total / window_total if window_total else 0.0
    result: dict[int, Inbound] = {}
    for (shipper, consignee), (recent, window) in pair.items():
        shipper_recent, shipper_window = outbound[shipper]
        others = (shipper_recent - recent + prior_strength * portfolio) / (
            shipper_window - window + prior_strength
        )
        seen = result.get(consignee, NO_INBOUND)
        result[consignee] = Inbound(
            seen.recent + recent, seen.window + window, seen.expected + window * others
        )
    return result


def _declared(value) -> float:
    """A lane's declared monthly volume as a number of shipments (scores._links notes a bad one)."""
    if not isinstance(value, int | float) or math.isnan(value):
        return 0.0
    return min(max(float(value), MONTHLY_VOLUME.low), MONTHLY_VOLUME.high)


@dataclass(frozen=True, slots=True)
class LaneTotals:
    """What every account's lanes carried (from the lanes' flows alone)."""

    outbound: dict[int, list[int]]  # shipper -> shipments recent, in the window, twice the recent days, year
    received_half_year: dict[int, list[float]]  # consignee -> shipments, declared shipments in the half year
    served: dict[int, list[int]]  # account -> delivered, on time, shipments, troubled (any end)
    received: dict[int, Inbound]  # consignee -> its inbound lanes (`inbound`)


def lane_totals(flows, params: ScoringParams) -> LaneTotals:
    """Sum the lanes' flows per account. Volume and rhythm are a shipper's outbound lanes only (also
    against its own year), a consignee's inbound volume counts against what its shippers' trends predict
    (`inbound`) and against what its lanes declare; service quality counts every lane the account is an
    end of (a distributor: both its roles)."""
    outbound = defaultdict(lambda: [0, 0, 0, 0])
    received_half_year = defaultdict(lambda: [0, 0.0])
    served = defaultdict(lambda: [0, 0, 0, 0])
    for f in flows:
        totals = outbound[f.shipper_id]
        for k, amount in enumerate(
            (f.volume_recent, f.volume_window, f.volume_recent_twice, f.shipments_12m)
        ):
            totals[k] += amount
        received_half_year[f.consignee_id][0] += f.volume_half_year
        received_half_year[f.consignee_id][1] += (
            _declared(f.declared_monthly_volume) * queries.HALF_YEAR_DAYS / DAYS_PER_MONTH
        )
        for customer_id in {f.shipper_id, f.consignee_id}:
            totals = served[customer_id]
            for k, amount in enumerate(
                (f.delivered_window, f.on_time_window, f.volume_window, f.troubled_window)
            ):
                totals[k] += amount
    return LaneTotals(
        dict(outbound),
        dict(received_half_year),
        dict(served),
        inbound(flows, prior_strength=params.rate_prior_strength),
    )


def build(
    data, params: ScoringParams, satisfaction, before, *, now: dt.datetime, alive: dict[int, float],
    last_shipped: dict[int, int], first_seen: dict[int, int], problems, lanes: LaneTotals,
) -> dict[int, RiskSignals]:  # fmt: skip
    """Gather the evidence of each account of `data.customers`, over the lanes' totals (`lane_totals`)."""
    today = queries.day_number(now)
    signals = {}
    for row in data.customers:
        lanes_in = lanes.received.get(row.id, NO_INBOUND)
        recent, window, recent_twice, year = lanes.outbound.get(row.id, (0, 0, 0, 0))
        inbound_half_year, declared_half_year = lanes.received_half_year.get(row.id, (0, 0.0))
        shipped = last_shipped.get(row.id)
        delivered, on_time, shipments, troubled = lanes.served.get(row.id, (0, 0, 0, 0))
        last = data.last_contacts.get(row.id)
        sat = satisfaction[row.id]
        deciding = [d.score for d in sat.departments if d.is_decision_maker and d.score is not None]
        began = first_seen.get(row.id)
        signals[row.id] = RiskSignals(
            satisfaction=sat.score,
            satisfaction_before=before[row.id],
            weakest_deciding=min(deciding) if deciding else None,
            nps=sat.loyalty.nps,
            silent_deciding_department=bool(sat.silent_deciding),
            no_survey_data=sat.no_data,
            is_shipper=bool(row.is_shipper),
            p_alive=alive.get(row.id),
            volume_recent=recent,
            volume_window=window,
            volume_recent_twice=recent_twice,
            volume_year=year,
            days_since_shipment=None if shipped is None else float(today - shipped),
            inbound_recent=lanes_in.recent,
            inbound_window=lanes_in.window,
            inbound_expected=lanes_in.expected,
            inbound_half_year=inbound_half_year,
            declared_half_year=declared_half_year,
            delivered=delivered,
            on_time=on_time,
            otif_target=problems.number(
                row.on_time_target,
                SHARE,
                customers=(row.id,),
                field="shipper_profiles.on_time_target",
                record_id=row.id,
            ),
            shipments=shipments,
            troubled=troubled,
            overdue_tickets=data.overdue_tickets.get(row.id, 0),
            days_since_contact=(now - last).total_seconds() / 86_400 if last else None,
            cadence_days=float(params.cadence_days(str(row.tier))),
            contract_days_left=(row.contract_end - now.date()).days if row.contract_end else None,
            contract_warning_days=float(params.contract_ending_days),
            renewal_open=row.id in data.open_renewals,
            too_new=began is None or today - began < params.min_tenure_days,
        )
    return signals
