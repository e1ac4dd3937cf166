"""Alert rules (DESIGN §5): account facts in, findings out, and the alert lifecycle they drive.

Pure: plain records only, so a run, the SLA check and tests share the same decisions without a database.
Their parameters are logicrm.health.rule_params; what a stored alert says in words, logicrm.health.measures.
"""

import math
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from logicrm.health.rule_params import SEVERITIES, RuleParams

# the same values as logicrm.network (value.UNDER_SERVED...), restated so that this module needs nothing
# beyond the standard library
UNDER_SERVED = "under_served"  # its value says a higher tier than it has
OVER_SERVED = "over_served"  # its value says a lower tier than it has
GAP_SCALE_POINTS = 6.0  # satisfaction.GAP_SCALE_POINTS: gaps read on a 1–7 scale
# a rise or growth of exactly the threshold, computed as a difference of floats, may land a hair below it
_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class DepartmentFact:
    """A deciding department's satisfaction (None: unknown) and whether it has gone silent.

    `score` is on the core's 0–1 (0.5 = expectations met); `gap` the same verdict as the gap to
    expectation in points of a 1–7 scale (0 = met) and `band` its name in words, both as scoring gave them
    (logicrm.network.satisfaction), so that an alert reads like every other satisfaction figure.
    """

    name: str
    score: float | None
    silent: bool
    gap: float | None = None
    band: str | None = None

    def __post_init__(self):
        if (self.score is None) != (self.gap is None) or (self.gap is None) != (self.band is None):
            raise ValueError(
                f"department {self.name!r}: score, gap and band are known together or not at all"
            )


@dataclass(frozen=True, slots=True)
class ContactFact:
    """Days since a deciding department's last contact of a kind that counts (None: never), and its cadence."""

    department: str
    days_since_contact: float | None
    cadence_days: float


@dataclass(frozen=True, slots=True)
class TicketFact:
    """An open ticket and the SLA of its account's tier."""

    id: int
    subject: str
    kind: str
    days_open: float
    sla_days: float


@dataclass(frozen=True, slots=True)
class AccountFacts:
    """Everything the rules look at for one account, from one health run (or one SLA check).

    Figures must be plain floats (numpy float64 is one) so that findings' details serialise to JSON.
    """

    customer_id: int
    name: str
    tier: str
    owner_id: int | None  # whose capacity risk_high counts against (None: the unowned accounts together)
    horizon_days: int  # network_risk is the probability of leaving within this many days
    network_risk: float
    previous_network_risk: float | None  # None: no earlier snapshot
    exposure: float  # revenue/month the cascade loses if this account leaves
    portfolio_revenue: float  # the portfolio's revenue/month
    deciding_departments: tuple[DepartmentFact, ...]
    days_since_contact: float | None  # None: never contacted
    cadence_days: float  # expected contact cadence of the tier
    contract_days_left: float | None  # None: no contract end date; negative: already ended
    renewal_open: bool
    overdue_tickets: tuple[TicketFact, ...]
    tier_mismatch: str | None  # UNDER_SERVED, OVER_SERVED or None
    # risk drivers as stored (logicrm.network.drivers: ids, no names), rendered per reader at read time
    drivers: tuple[Mapping, ...]
    # the cadence per deciding department; when given, contact_overdue judges these instead of the
    # account's last contact
    contacts: tuple[ContactFact, ...] = ()
    has_executive_sponsor: bool | None = None  # None: not known


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule firing for one account: how bad (value, higher = worse), in words and in figures."""

    customer_id: int
    rule: str
    severity: str
    value: float
    message: str
    details: dict


class _Hit(NamedTuple):
    value: float
    escalated: bool
    text: str
    details: dict


def _risk_high(a: AccountFacts, p: RuleParams) -> _Hit | None:
    if a.network_risk < p.risk_high:
        return None
    text = (
        f"probability of leaving within {a.horizon_days} days {a.network_risk:.0%} "
        f"(alert at {p.risk_high:.0%}, for at most {p.risk_high_capacity:.0%} of a manager's accounts)"
    )
    details = {
        "network_risk": a.network_risk,
        "horizon_days": a.horizon_days,
        "threshold": p.risk_high,
        "capacity": p.risk_high_capacity,
    }
    return _Hit(a.network_risk, a.network_risk >= p.risk_high_escalate, text, details)


def within_capacity(facts: Iterable[AccountFacts], share: float) -> set[int]:
    """Return the accounts risk_high may fire for: per manager, the floor(share × accounts) (at least one)
    most likely to leave; ties go to the lower id so a run is reproducible."""
    books: dict[int | None, list[AccountFacts]] = {}
    for account in facts:
        books.setdefault(account.owner_id, []).append(account)
    allowed = set()
    for book in books.values():
        book.sort(key=lambda a: (-a.network_risk, a.customer_id))
        allowed.update(a.customer_id for a in book[: max(1, math.floor(share * len(book)))])
    return allowed


def _risk_jump(a: AccountFacts, p: RuleParams) -> _Hit | None:
    if a.previous_network_risk is None:
        return None
    rise = a.network_risk - a.previous_network_risk
    if rise < p.risk_jump - _EPSILON:
        return None
    text = (
        f"probability of leaving within {a.horizon_days} days rose {rise:+.0%} since the last snapshot "
        f"({a.previous_network_risk:.0%} → {a.network_risk:.0%})"
    )
    details = {
        "network_risk": a.network_risk,
        "previous_network_risk": a.previous_network_risk,
        "rise": rise,
        "horizon_days": a.horizon_days,
        "threshold": p.risk_jump,
    }
    return _Hit(rise, rise >= p.risk_jump_escalate - _EPSILON, text, details)


def _exposure_high(a: AccountFacts, p: RuleParams) -> _Hit | None:
    if a.portfolio_revenue <= 0:
        return None
    share = a.exposure / a.portfolio_revenue
    if share < p.exposure_high or a.network_risk < p.exposure_min_risk:
        return None
    text = (
        f"losing it would cascade to {a.exposure:,.0f}/month, {share:.1%} of the portfolio's monthly revenue "
        f"(alert at {p.exposure_high:.1%}) and its probability of leaving within {a.horizon_days} days is "
        f"{a.network_risk:.0%}"
    )
    details = {
        "exposure": a.exposure,
        "portfolio_revenue": a.portfolio_revenue,
        "share": share,
        "threshold": p.exposure_high,
        "network_risk": a.network_risk,
        "horizon_days": a.horizon_days,
    }
    return _Hit(share, share >= p.exposure_high_escalate, text, details)


def _department_dissatisfied(a: AccountFacts, p: RuleParams) -> _Hit | None:
    unhappy = sorted(
        (d for d in a.deciding_departments if d.score is not None and d.score < p.dissatisfied),
        key=lambda d: d.score,
    )
    if not unhappy:
        return None
    worst = unhappy[0].score
    threshold = gap_points(p.dissatisfied)
    listed = ", ".join(f"{d.name} {d.gap:+.1f} points, {d.band}" for d in unhappy)
    text = (
        f"deciding department dissatisfied: {listed} (gap to expectations on a 1–7 scale, 0 = met; "
        f"alert below {threshold:+.1f})"
    )
    # the gap and band as satisfaction reads everywhere, and the 0–100 index beside them (50 = met);
    # the rule's parameter stays on the core's 0–1
    details = {
        "departments": [
            {"name": d.name, "gap": round(d.gap, 2), "band": d.band, "score": round(100 * d.score, 1)}
            for d in unhappy
        ],
        "threshold_gap": round(threshold, 2),
        "threshold": round(100 * p.dissatisfied, 1),
    }
    return _Hit(1.0 - worst, worst < p.dissatisfied_escalate, text, details)


def gap_points(score: float) -> float:
    """A 0–1 satisfaction score as the gap to expectation in 1–7 scale points (0.5 → 0), as
    logicrm.network.satisfaction.gap_points gives it."""
    return 2.0 * GAP_SCALE_POINTS * (score - 0.5)


def _department_silent(a: AccountFacts, p: RuleParams) -> _Hit | None:
    silent = [d.name for d in a.deciding_departments if d.silent]
    if not silent:
        return None
    text = f"deciding department silent (no recent survey response): {', '.join(silent)}"
    return _Hit(1.0, False, text, {"departments": silent})


def _contact_overdue(a: AccountFacts, p: RuleParams) -> _Hit | None:
    if a.contacts:
        return _departments_overdue(a, p)
    due = a.cadence_days * p.contact_overdue_factor
    if a.days_since_contact is not None and a.days_since_contact <= due:
        return None
    escalate_after = a.cadence_days * p.contact_overdue_escalate
    never = a.days_since_contact is None
    # never contacted: as overdue as the escalation point, and escalated
    days = escalate_after if never else a.days_since_contact
    seen = "never contacted" if never else f"last contact {days:.0f} days ago"
    text = f"{seen}; the {a.tier} cadence is {a.cadence_days:.0f} days"
    details = {
        "days_since_contact": a.days_since_contact,
        "cadence_days": a.cadence_days,
        "overdue_days": days - due,
    }
    return _Hit((days - due) / a.cadence_days, never or days > escalate_after, text, details)


def _departments_overdue(a: AccountFacts, p: RuleParams) -> _Hit | None:
    late = []
    for fact in a.contacts:
        due = fact.cadence_days * p.contact_overdue_factor
        if fact.days_since_contact is not None and fact.days_since_contact <= due:
            continue
        escalate_after = fact.cadence_days * p.contact_overdue_escalate
        never = fact.days_since_contact is None
        days = escalate_after if never else fact.days_since_contact
        late.append((fact, never, days, due, never or days > escalate_after))
    if not late:
        return None
    late.sort(key=lambda item: -(item[2] - item[3]) / item[0].cadence_days)
    listed = ", ".join(
        f"{fact.department} ({'never' if never else f'{days:.0f} days ago'}; every {fact.cadence_days:.0f} days)"
        for fact, never, days, _due, _escalated in late
    )
    fact, _never, days, due, _escalated = late[0]
    details = {
        "departments": [
            {
                "name": fact.department,
                "days_since_contact": fact.days_since_contact,
                "cadence_days": fact.cadence_days,
                "overdue_days": days - due,
            }
            for fact, _never, days, due, _escalated in late
        ]
    }
    text = f"deciding department overdue for contact: {listed}"
    return _Hit((days - due) / fact.cadence_days, any(item[4] for item in late), text, details)


def _contract_expiring(a: AccountFacts, p: RuleParams) -> _Hit | None:
    left = a.contract_days_left
    if left is None or a.renewal_open or left > p.contract_expiring_days:
        return None
    when = f"ended {-left:.0f} days ago" if left < 0 else f"ends in {left:.0f} days"
    text = f"contract {when} and no renewal opportunity is open"
    details = {"contract_days_left": left, "threshold_days": p.contract_expiring_days}
    return _Hit(
        1.0 - left / p.contract_expiring_days, left <= p.contract_expiring_escalate_days, text, details
    )


def _sla_factor(ticket: TicketFact) -> float:
    return ticket.days_open / ticket.sla_days


def _ticket_overdue(a: AccountFacts, p: RuleParams) -> _Hit | None:
    # the facts should carry only overdue tickets; checking again keeps the rule honest on its own
    late = sorted((t for t in a.overdue_tickets if t.days_open > t.sla_days), key=_sla_factor, reverse=True)
    if not late:
        return None
    worst = late[0]
    factor = _sla_factor(worst)
    text = (
        f"{len(late)} ticket(s) past SLA; worst #{worst.id} {worst.subject!r} ({worst.kind}) open "
        f"{worst.days_open:.1f} days against a {worst.sla_days:g}-day SLA ({factor:.1f}×)"
    )
    details = {
        "tickets": [
            {
                "id": t.id,
                "subject": t.subject,
                "kind": t.kind,
                "days_open": t.days_open,
                "sla_days": t.sla_days,
                "factor": _sla_factor(t),
            }
            for t in late
        ]
    }
    return _Hit(factor, factor > p.ticket_overdue_escalate, text, details)


def _tier_mismatch(a: AccountFacts, p: RuleParams) -> _Hit | None:
    if a.tier_mismatch is None:
        return None
    if a.tier_mismatch not in (UNDER_SERVED, OVER_SERVED):
        raise ValueError(f"unknown tier mismatch {a.tier_mismatch!r}")
    direction = "higher" if a.tier_mismatch == UNDER_SERVED else "lower"
    text = f"tier {a.tier} but its value says a {direction} tier ({a.tier_mismatch.replace('_', '-')})"
    # an under-served account is a valuable one treated as ordinary: the churn worry
    return _Hit(1.0, a.tier_mismatch == UNDER_SERVED, text, {"mismatch": a.tier_mismatch})


def _vip_without_sponsor(a: AccountFacts, p: RuleParams) -> _Hit | None:
    if a.tier != "vip" or a.has_executive_sponsor is not False:
        return None
    return _Hit(1.0, False, "VIP account with no executive sponsor on its team", {})


@dataclass(frozen=True, slots=True)
class _Rule:
    description: str
    check: Callable[[AccountFacts, RuleParams], _Hit | None]
    # tier_mismatch: the tier is what is wrong, so it must not also scale the severity
    by_tier: bool = True
    # the value grows with the clock alone, so only a severity rise (an escalation) is a worsening;
    # otherwise an acknowledged alert would re-notify every few days for the same, ageing problem
    ages: bool = False
    # the rule is about the risk itself, so its alert carries the risk's drivers
    explains_risk: bool = False


_RULES: dict[str, _Rule] = {
    "risk_high": _Rule(
        "Likely to leave within the horizon (own and network evidence).", _risk_high, explains_risk=True
    ),
    "risk_jump": _Rule(
        "Network risk rose sharply since the previous snapshot.", _risk_jump, explains_risk=True
    ),
    "exposure_high": _Rule("Losing the account would cascade to a large share of revenue.", _exposure_high),
    "department_dissatisfied": _Rule("A deciding department is dissatisfied.", _department_dissatisfied),
    "department_silent": _Rule("A deciding department stopped answering surveys.", _department_silent),
    "contact_overdue": _Rule(
        "A deciding department (or the account) has had no contact that counts for longer than its cadence.",
        _contact_overdue,
        ages=True,
    ),
    "contract_expiring": _Rule(
        "The contract ends soon and no renewal opportunity is open.", _contract_expiring, ages=True
    ),
    "ticket_overdue": _Rule("A ticket is open past its tier's SLA.", _ticket_overdue, ages=True),
    "tier_mismatch": _Rule("The account's tier does not match its value.", _tier_mismatch, by_tier=False),
    "vip_without_sponsor": _Rule(
        "A VIP account has no executive sponsor on its team.", _vip_without_sponsor, by_tier=False
    ),
}
RULES: dict[str, str] = {name: rule.description for name, rule in _RULES.items()}


def _known(rules: Iterable[str]) -> set[str]:
    names = set(rules)
    unknown = sorted(names - _RULES.keys())
    if unknown:
        raise ValueError(f"unknown rule(s): {', '.join(unknown)}")
    return names


def _severity(rule: str, tier: str, *, escalated: bool, params: RuleParams) -> str:
    # base + tier step + escalation, clamped to low..high
    level = SEVERITIES.index(params.base_severity(rule)) + int(escalated)
    if _RULES[rule].by_tier:
        level += params.tier_step(tier)
    return SEVERITIES[min(max(level, 0), len(SEVERITIES) - 1)]


def evaluate(
    facts: Iterable[AccountFacts], params: RuleParams, *, rules: Collection[str] | None = None
) -> list[Finding]:
    """Run the rules (all, or only those named) over every account and return what fired."""
    wanted = _RULES.keys() if rules is None else _known(rules)
    selected = [(name, rule) for name, rule in _RULES.items() if name in wanted]
    facts = list(facts)
    capacity = within_capacity(facts, params.risk_high_capacity)
    findings = []
    for account in facts:
        for name, rule in selected:
            if name == "risk_high" and account.customer_id not in capacity:
                continue
            hit = rule.check(account, params)
            if hit is None:
                continue
            details = {"customer": account.name, "tier": account.tier, **hit.details}
            if rule.explains_risk:
                details["drivers"] = [dict(driver) for driver in account.drivers]
            findings.append(
                Finding(
                    customer_id=account.customer_id,
                    rule=name,
                    severity=_severity(name, account.tier, escalated=hit.escalated, params=params),
                    value=float(hit.value),
                    message=f"{account.name} ({account.tier}): {hit.text}",
                    details=details,
                )
            )
    return findings


@dataclass(frozen=True, slots=True)
class OpenAlert:
    """An unresolved alert as stored: state 'open' or 'acknowledged', and what was last notified."""

    id: int
    customer_id: int
    rule: str
    state: str
    severity: str
    value: float
    notified_value: float | None
    notified_severity: str | None


@dataclass(frozen=True, slots=True)
class Transition:
    """What to do with one alert: open it, refresh it from a finding, or resolve it; and whether to tell."""

    kind: str  # open | refresh | resolve
    alert_id: int | None  # None when opening
    finding: Finding | None  # None when resolving
    notify: bool
    reopen: bool  # an acknowledged alert that worsened goes back to open


def _rank(finding: Finding) -> tuple[int, float]:
    return SEVERITIES.index(finding.severity), finding.value


def worsened(alert: OpenAlert, finding: Finding, params: RuleParams) -> bool:
    """Tell whether a finding is worse than what the alert last notified (its stored state if never)."""
    before_severity = alert.notified_severity or alert.severity
    if SEVERITIES.index(finding.severity) > SEVERITIES.index(before_severity):
        return True
    if _RULES[finding.rule].ages:
        return False
    before = alert.value if alert.notified_value is None else alert.notified_value
    return finding.value - before >= max(params.worsen_margin * abs(before), params.worsen_floor) - _EPSILON


def reconcile(
    open_alerts: Iterable[OpenAlert],
    findings: Iterable[Finding],
    *,
    evaluated_rules: Collection[str],
    params: RuleParams,
) -> list[Transition]:
    """Turn a run's findings into alert transitions: open the new, refresh the firing, resolve the cleared.

    Alerts of rules not in `evaluated_rules` are left alone, so a partial run (the SLA check) never
    resolves what it did not look at.
    """
    evaluated = _known(evaluated_rules)
    alerts: dict[tuple[int, str], OpenAlert] = {}
    for alert in open_alerts:
        key = (alert.customer_id, alert.rule)
        if alert.state not in ("open", "acknowledged"):
            raise ValueError(f"alert {alert.id} is {alert.state}, not open or acknowledged")
        if key in alerts:
            raise ValueError(f"alerts {alerts[key].id} and {alert.id} are both unresolved for {key}")
        alerts[key] = alert
    worst: dict[tuple[int, str], Finding] = {}
    for finding in findings:
        if finding.rule not in evaluated:
            raise ValueError(f"finding for rule {finding.rule!r}, which was not evaluated")
        key = (finding.customer_id, finding.rule)
        if key not in worst or _rank(finding) > _rank(worst[key]):
            worst[key] = finding
    transitions = []
    for key, finding in worst.items():
        alert = alerts.get(key)
        if alert is None:
            transitions.append(Transition("open", None, finding, notify=True, reopen=False))
            continue
        worse = worsened(alert, finding, params)
        reopen = worse and alert.state == "acknowledged"
        transitions.append(Transition("refresh", alert.id, finding, notify=worse, reopen=reopen))
    transitions.extend(
        Transition("resolve", alert.id, None, notify=True, reopen=False)
        for key, alert in alerts.items()
        if alert.rule in evaluated and key not in worst
    )
    return transitions
