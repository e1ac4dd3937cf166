"""The rulebook document: what a team tunes, typed for the code that follows it.

One JSON document holds the alert thresholds and severities, the rules switched off, the ticket SLAs
per tier, the handling plans per ticket kind and severity, the callback after a closed case, the contact
cadence per tier and deciding department, and the playbooks that turn an alert into tasks. Versions of
it are stored (rulebook.service); this module only types a document that was validated when it was
saved (health.rulebook validates edits: it knows the rules, their thresholds and the kinds of records).

Pure: standard library only.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

TIERS = ("vip", "key", "standard")
SEVERITIES = ("low", "medium", "high")
# who a playbook task or an escalation goes to: the account's owner or the member of its team holding
# that role (team roles: customers.models.TeamRole); "managers" reaches every active manager
PEOPLE = ("owner", "executive_sponsor", "account_manager", "service_agent")
ESCALATION_TARGETS = (*PEOPLE, "managers")
COMPENSATIONS = ("none", "credit_note", "freight_refund", "claim_amount")
# what a playbook task title may name
PLACEHOLDERS = ("customer", "tier", "rule", "department")
HOURS_PER_DAY = 24.0


@dataclass(frozen=True, slots=True)
class Sla:
    """How fast a ticket of one tier must be answered and resolved, in elapsed hours."""

    first_response_hours: float
    resolution_hours: float


@dataclass(frozen=True, slots=True)
class EscalationStep:
    """Escalate a ticket to `escalate_to` once this share of its resolution time has passed."""

    at_sla_share: float
    escalate_to: str
    reassign: bool


@dataclass(frozen=True, slots=True)
class Compensation:
    """What the customer may be offered: a kind, a share of the freight or claim, a ceiling."""

    kind: str
    percent: float | None
    max_amount: float | None


@dataclass(frozen=True, slots=True)
class HandlingPlan:
    """How tickets of a kind and severity (None: any) are handled: what the customer is told, the
    compensation that applies and the escalation steps."""

    kind: str | None
    severity: str | None
    customer_message: str
    compensation: Compensation
    steps: tuple[EscalationStep, ...]

    def specificity(self, kind: str, severity: str) -> int | None:
        """How closely the plan fits a ticket (kind counts more than severity); None when it does not."""
        if self.kind not in (None, kind) or self.severity not in (None, severity):
            return None
        return 2 * (self.kind is not None) + (self.severity is not None)


@dataclass(frozen=True, slots=True)
class Callback:
    """The call after a closed case: for which ticket kinds, how many days after, with the one-question
    satisfaction survey or not (its answer on a 1–5 scale, where `expectation` is what "satisfied" means)."""

    kinds: frozenset[str]
    due_days: Mapping[str, int]
    survey: bool
    expectation: float


@dataclass(frozen=True, slots=True)
class Cadence:
    """How often each deciding department must be contacted, through which kinds of interaction."""

    counting_kinds: frozenset[str]
    days: Mapping[str, int]  # per tier
    departments: Mapping[str, Mapping[str, int]]  # department name (lower case) -> tier -> days
    task_lead_days: int  # the task opens this long before the cadence runs out
    task_kind: Mapping[str, str]  # per tier: visit, call...

    def days_for(self, tier: str, department: str | None) -> int:
        """The cadence of a department (by name) of an account of this tier."""
        override = self.departments.get((department or "").strip().lower(), {})
        return override.get(tier, self.days[tier])


@dataclass(frozen=True, slots=True)
class PlaybookStep:
    """One task an opening alert creates: its kind, title (with placeholders), due in days, for whom,
    only on some tiers (None: all), once per department the alert names or once for the account."""

    kind: str
    title: str
    due_days: int
    assignee: str
    tiers: frozenset[str] | None
    for_each_department: bool

    def applies_to(self, tier: str) -> bool:
        return self.tiers is None or tier in self.tiers

    def title_for(self, **values: str) -> str:
        """The title with its placeholders filled (every placeholder is known: checked when saved)."""
        return self.title.format(**{name: values.get(name, "") for name in PLACEHOLDERS})


@dataclass(frozen=True, slots=True)
class Rulebook:
    """One version of the rulebook, typed. Version 0 is the built-in defaults (nothing saved yet); its
    `thresholds` are empty, meaning the rule parameters in force in the process (LOGICRM_RULES_*)."""

    version: int
    document: Mapping[str, Any]
    thresholds: Mapping[str, Any]
    disabled_rules: frozenset[str]
    sla: Mapping[str, Sla]
    handling_plans: tuple[HandlingPlan, ...]
    callback: Callback
    cadence: Cadence
    playbooks: Mapping[str, tuple[PlaybookStep, ...]]

    def plan_for(self, kind: str, severity: str) -> HandlingPlan:
        """The most specific handling plan for a ticket (the first of equally specific ones)."""
        fitting = [(p.specificity(kind, severity), -i, p) for i, p in enumerate(self.handling_plans)]
        return max((f for f in fitting if f[0] is not None), key=lambda f: f[:2])[2]


def template_fields(text: str) -> list[str]:
    """The placeholders a title names; raise ValueError when it is not a plain `{name}` template."""
    names = []
    for _literal, name, spec, conversion in string.Formatter().parse(text):
        if name is None:
            continue
        if spec or conversion or not name.isidentifier():
            raise ValueError(f"write placeholders as plain {{name}}, not {{{name}...}}")
        names.append(name)
    return names


def _steps(*steps: tuple[float, str]) -> list[dict]:
    return [{"at_sla_share": share, "escalate_to": to, "reassign": False} for share, to in steps]


def _plan(kind, severity, message, compensation, steps) -> dict:
    return {
        "kind": kind,
        "severity": severity,
        "customer_message": message,
        "compensation": compensation,
        "steps": steps,
    }


def _task(kind, title, due_days, assignee="owner", tiers=None, each=False) -> dict:
    return {
        "kind": kind,
        "title": title,
        "due_days": due_days,
        "assignee": assignee,
        "tiers": tiers,
        "for_each_department": each,
    }


NONE = {"kind": "none", "percent": None, "max_amount": None}
CLAIM = {"kind": "claim_amount", "percent": 100.0, "max_amount": None}

# The built-in defaults (version 0). Resolution times and cadences are those of the scoring defaults
# before they became data (2, 5 and 10 days; 30, 60 and 120 days); thresholds come from RuleParams.
DEFAULT_DOCUMENT: dict[str, Any] = {
    "thresholds": {},
    "disabled_rules": [],
    "sla": {
        "vip": {"first_response_hours": 4.0, "resolution_hours": 48.0},
        "key": {"first_response_hours": 8.0, "resolution_hours": 120.0},
        "standard": {"first_response_hours": 24.0, "resolution_hours": 240.0},
    },
    "handling_plans": [
        _plan(
            "claim",
            "high",
            "We have registered your claim. A claims handler calls you within one working day and "
            "confirms the amount once the damage is assessed.",
            CLAIM,
            _steps((0.25, "owner"), (0.5, "executive_sponsor"), (1.0, "managers")),
        ),
        _plan(
            "claim",
            None,
            "We have registered your claim and will confirm the amount once the damage is assessed.",
            CLAIM,
            _steps((0.5, "owner"), (1.0, "managers")),
        ),
        _plan(
            "loss",
            None,
            "We are tracing the missing goods now and will tell you within 24 hours where they are; "
            "if they are lost, we settle their value.",
            CLAIM,
            _steps((0.25, "owner"), (0.5, "executive_sponsor"), (1.0, "managers")),
        ),
        _plan(
            "damage",
            None,
            "We are sorry the goods arrived damaged. Please keep the packaging; we arrange an inspection "
            "and settle the damage.",
            CLAIM,
            _steps((0.5, "owner"), (1.0, "managers")),
        ),
        _plan(
            "delay",
            None,
            "We are sorry for the delay. We will tell you the new delivery time and what we change so "
            "it does not happen again.",
            {"kind": "freight_refund", "percent": 10.0, "max_amount": 2000.0},
            _steps((0.5, "owner"), (1.0, "managers")),
        ),
        _plan(
            "complaint",
            "high",
            "We are sorry. Your account manager calls you today and an executive follows the case "
            "until it is settled.",
            {"kind": "credit_note", "percent": 5.0, "max_amount": 5000.0},
            _steps((0.25, "owner"), (0.5, "executive_sponsor"), (1.0, "managers")),
        ),
        _plan(
            "complaint",
            None,
            "We are sorry. We are looking into it and tell you what we change.",
            NONE,
            _steps((0.5, "owner"), (1.0, "managers")),
        ),
        _plan(
            "billing",
            None,
            "We are checking the invoice and send a corrected one if it is wrong.",
            {"kind": "credit_note", "percent": None, "max_amount": None},
            _steps((0.75, "owner"), (1.5, "managers")),
        ),
        _plan(
            "documentation",
            None,
            "We are correcting the documents and send them to you and the authorities concerned.",
            NONE,
            _steps((0.5, "service_agent"), (1.0, "owner")),
        ),
        _plan(
            None,
            None,
            "We have received your request and answer within the agreed service level.",
            NONE,
            _steps((1.0, "owner"), (1.5, "managers")),
        ),
    ],
    "callback": {
        "kinds": ["complaint", "claim", "delay", "damage", "loss"],
        "due_days": {"vip": 1, "key": 2, "standard": 3},
        "survey": True,
        "expectation": 4.0,
    },
    "cadence": {
        "counting_kinds": ["visit", "call", "meeting", "review"],
        "days": {"vip": 30, "key": 60, "standard": 120},
        "departments": {},
        "task_lead_days": 7,
        "task_kind": {"vip": "visit", "key": "visit", "standard": "call"},
    },
    "playbooks": {
        "risk_high": [
            _task("call", "Executive sponsor call with {customer}: its churn risk is high", 3,
                  "executive_sponsor", ["vip"]),
            _task("call", "Call {customer} about what drives its churn risk", 7, "owner", ["key", "standard"]),
        ],
        "risk_jump": [_task("call", "Find out what changed at {customer}: its risk jumped", 5)],
        "exposure_high": [_task("qbr", "Business review with {customer}: much of the network rides on it", 30)],
        "department_dissatisfied": [
            _task("visit", "Meet the head of {department} at {customer} about their low rating", 7, each=True)
        ],
        "department_silent": [
            _task("visit", "Visit the head of {department} at {customer}: no survey answer for months", 14,
                  each=True),
            _task("survey", "Ask {department} at {customer} for a survey answer", 21, "service_agent", each=True),
        ],
        "contract_expiring": [_task("renewal", "Open the renewal talk with {customer}", 7)],
        "ticket_overdue": [_task("call", "Call {customer} about their overdue ticket", 1)],
        "tier_mismatch": [_task("review", "Review the tier of {customer}: its value says otherwise", 30)],
        "vip_without_sponsor": [
            _task("review", "Ask a manager to name an executive sponsor for {customer}", 14)
        ],
    },
}  # fmt: skip


def _frozen(mapping: Mapping) -> Mapping:
    return MappingProxyType(dict(mapping))


def parse(version: int, document: Mapping[str, Any]) -> Rulebook:
    """Type a stored (validated) document; sections it lacks take the defaults."""
    doc = {**DEFAULT_DOCUMENT, **document}
    cadence, callback = doc["cadence"], doc["callback"]
    return Rulebook(
        version=version,
        document=_frozen(doc),
        thresholds=_frozen(doc["thresholds"]),
        disabled_rules=frozenset(doc["disabled_rules"]),
        sla=_frozen({tier: Sla(**sla) for tier, sla in doc["sla"].items()}),
        handling_plans=tuple(
            HandlingPlan(
                kind=plan["kind"],
                severity=plan["severity"],
                customer_message=plan["customer_message"],
                compensation=Compensation(**plan["compensation"]),
                steps=tuple(EscalationStep(**step) for step in plan["steps"]),
            )
            for plan in doc["handling_plans"]
        ),
        callback=Callback(
            kinds=frozenset(callback["kinds"]),
            due_days=_frozen(callback["due_days"]),
            survey=callback["survey"],
            expectation=callback["expectation"],
        ),
        cadence=Cadence(
            counting_kinds=frozenset(cadence["counting_kinds"]),
            days=_frozen(cadence["days"]),
            departments=_frozen(
                {name.strip().lower(): _frozen(days) for name, days in cadence["departments"].items()}
            ),
            task_lead_days=cadence["task_lead_days"],
            task_kind=_frozen(cadence["task_kind"]),
        ),
        playbooks=_frozen(
            {
                rule: tuple(
                    PlaybookStep(
                        kind=step["kind"],
                        title=step["title"],
                        due_days=step["due_days"],
                        assignee=step["assignee"],
                        tiers=None if step["tiers"] is None else frozenset(step["tiers"]),
                        for_each_department=step["for_each_department"],
                    )
                    for step in steps
                )
                for rule, steps in doc["playbooks"].items()
            }
        ),
    )


DEFAULTS = parse(0, DEFAULT_DOCUMENT)
