import ast
import dataclasses
import json
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logicrm.health import measures, rule_params, rules
from logicrm.health.rule_params import SEVERITIES, RuleParams
from logicrm.health.rules import (
    RULES,
    AccountFacts,
    ContactFact,
    DepartmentFact,
    Finding,
    OpenAlert,
    TicketFact,
    Transition,
    evaluate,
    reconcile,
    worsened,
)
from logicrm.network import satisfaction
from logicrm.network.params import ScoringParams

PARAMS = RuleParams()
DRIVERS = (
    {"kind": "neighbour", "key": 42, "share": 0.22, "roles": ["consignee"]},
    {"kind": "own", "key": "overdue_tickets", "share": 0.15},
)


def account(**overrides) -> AccountFacts:
    """A key account that no default rule should flag, changed by `overrides`."""
    healthy = {
        "customer_id": 7,
        "name": "Acme Freight",
        "tier": "key",
        "owner_id": 3,
        "horizon_days": 180,
        "network_risk": 0.1,
        "previous_network_risk": 0.1,
        "exposure": 1_000.0,
        "portfolio_revenue": 100_000.0,
        "deciding_departments": (department("Finance", 0.6),),
        "days_since_contact": 10.0,
        "cadence_days": 60.0,
        "contract_days_left": 365.0,
        "renewal_open": False,
        "overdue_tickets": (),
        "tier_mismatch": None,
        "drivers": DRIVERS,
    }
    return AccountFacts(**(healthy | overrides))


def department(name: str, score: float | None, *, silent: bool = False) -> DepartmentFact:
    """A deciding department with the gap and band scoring gives its score (None: no verdict)."""
    if score is None:
        return DepartmentFact(name, None, silent)
    gap = satisfaction.gap_points(score)
    return DepartmentFact(name, score, silent, gap=gap, band=satisfaction.band(gap, ScoringParams()))


def ticket(days_open: float, sla_days: float = 5.0, id: int = 17) -> TicketFact:
    return TicketFact(id=id, subject="Damaged pallet", kind="claim", days_open=days_open, sla_days=sla_days)


def fired(facts: AccountFacts, params: RuleParams = PARAMS) -> dict[str, Finding]:
    findings = evaluate([facts], params)
    assert len({f.rule for f in findings}) == len(findings)
    return {f.rule: f for f in findings}


def finding(rule="risk_high", *, customer_id=7, severity="medium", value=0.7) -> Finding:
    return Finding(customer_id, rule, severity, value, message="m", details={})


def alert(rule="risk_high", *, id=1, customer_id=7, state="open", severity="medium", value=0.7, **notified):
    notified = {"notified_value": value, "notified_severity": severity} | notified
    return OpenAlert(id, customer_id, rule, state, severity, value, **notified)


# --- rules fire at their thresholds and not a hair before ---


def test_healthy_account_raises_nothing():
    assert evaluate([account()], PARAMS) == []


@pytest.mark.parametrize(
    ("rule", "fires", "quiet"),
    [
        (
            "risk_high",
            {"network_risk": 0.3, "previous_network_risk": 0.3},
            {"network_risk": 0.2999, "previous_network_risk": 0.2999},
        ),
        (
            "risk_jump",
            {"previous_network_risk": 0.1, "network_risk": 0.25},
            {"previous_network_risk": 0.1, "network_risk": 0.2499},
        ),
        (
            "risk_jump",
            {"previous_network_risk": 0.05, "network_risk": 0.2},
            {"previous_network_risk": None, "network_risk": 0.2},
        ),
        (
            "exposure_high",
            {"exposure": 5_000.0, "network_risk": 0.2},
            {"exposure": 4_999.0, "network_risk": 0.2},
        ),
        (
            "exposure_high",
            {"exposure": 5_000.0, "network_risk": 0.2},
            {"exposure": 5_000.0, "portfolio_revenue": 0.0},
        ),
        # a steady hub is concentration to plan for, not a churn alert
        (
            "exposure_high",
            {"exposure": 5_000.0, "network_risk": 0.15},
            {"exposure": 5_000.0, "network_risk": 0.1499},
        ),
        (
            "department_dissatisfied",
            {"deciding_departments": (department("Finance", 0.3499),)},
            {"deciding_departments": (department("Finance", 0.35),)},
        ),
        (
            "department_dissatisfied",
            {"deciding_departments": (department("Finance", 0.1),)},
            {"deciding_departments": (department("Finance", None),)},
        ),
        (
            "department_silent",
            {"deciding_departments": (department("Ops", None, silent=True),)},
            {"deciding_departments": (department("Ops", None),)},
        ),
        ("contact_overdue", {"days_since_contact": 60.01}, {"days_since_contact": 60.0}),
        ("contact_overdue", {"days_since_contact": None}, {"days_since_contact": 0.0}),
        ("contract_expiring", {"contract_days_left": 90.0}, {"contract_days_left": 90.01}),
        (
            "contract_expiring",
            {"contract_days_left": -3.0},
            {"contract_days_left": -3.0, "renewal_open": True},
        ),
        ("contract_expiring", {"contract_days_left": 10.0}, {"contract_days_left": None}),
        ("ticket_overdue", {"overdue_tickets": (ticket(5.01),)}, {"overdue_tickets": (ticket(5.0),)}),
        ("tier_mismatch", {"tier_mismatch": "under_served"}, {"tier_mismatch": None}),
        ("tier_mismatch", {"tier_mismatch": "over_served"}, {}),
        # per deciding department, when the run gives them: the account's own last contact no longer counts
        (
            "contact_overdue",
            {"contacts": (ContactFact("finance", 30.01, 30.0), ContactFact("logistics", 1.0, 30.0))},
            {"contacts": (ContactFact("finance", 30.0, 30.0),), "days_since_contact": None},
        ),
        ("contact_overdue", {"contacts": (ContactFact("finance", None, 30.0),)}, {}),
        (
            "vip_without_sponsor",
            {"tier": "vip", "has_executive_sponsor": False},
            {"tier": "vip", "has_executive_sponsor": True},
        ),
        (
            "vip_without_sponsor",
            {"tier": "vip", "has_executive_sponsor": False},
            {"tier": "key", "has_executive_sponsor": False},
        ),
    ],
)
def test_each_rule_fires_at_its_threshold_and_only_then(rule, fires, quiet):
    assert set(fired(account(**fires))) == {rule}
    assert fired(account(**quiet)) == {}


def test_every_rule_is_covered_and_described():
    assert set(RULES) == {
        "risk_high", "risk_jump", "exposure_high", "department_dissatisfied", "department_silent",
        "contact_overdue", "contract_expiring", "ticket_overdue", "tier_mismatch", "vip_without_sponsor",
    }  # fmt: skip
    assert all(description.endswith(".") for description in RULES.values())


def test_thresholds_are_configurable():
    params = RuleParams(risk_high=0.2, contact_overdue_factor=1.5, dissatisfied=0.5)
    facts = account(
        network_risk=0.25,
        previous_network_risk=0.25,
        days_since_contact=80.0,  # past 60 days, not past 90
        deciding_departments=(department("Finance", 0.45),),
    )
    assert set(fired(facts, params)) == {"risk_high", "department_dissatisfied"}


def book(owner_id: int, risks: list[float], first_id: int = 100) -> list[AccountFacts]:
    return [
        account(customer_id=first_id + i, owner_id=owner_id, network_risk=r, previous_network_risk=r)
        for i, r in enumerate(risks)
    ]


def risk_high_ids(facts: list[AccountFacts], params: RuleParams = PARAMS) -> list[int]:
    return sorted(f.customer_id for f in evaluate(facts, params) if f.rule == "risk_high")


def test_risk_high_fires_for_at_most_a_tenth_of_a_managers_accounts_the_likeliest_first():
    twenty = book(1, [0.9, 0.4] + [0.35] * 18)
    assert risk_high_ids(twenty) == [100, 101]  # 2 of 20 although all 20 are past the threshold


def test_risk_high_capacity_is_at_least_one_per_manager_and_counts_each_book_apart():
    small = book(1, [0.31, 0.5, 0.1])
    other = book(2, [0.6] * 10, first_id=200)
    assert risk_high_ids(small + other) == [101, 200]  # ties go to the lower id: reproducible


def test_risk_high_capacity_yields_to_the_threshold_when_fewer_are_likely():
    assert risk_high_ids(book(1, [0.29] * 30)) == []


def test_unowned_accounts_share_one_capacity():
    assert risk_high_ids(book(None, [0.5] * 10) + book(None, [0.6] * 10, first_id=200)) == [200, 201]


def test_risk_high_capacity_is_configurable():
    assert risk_high_ids(book(1, [0.5] * 10), RuleParams(risk_high_capacity=0.5)) == list(range(100, 105))


def test_tickets_within_sla_are_ignored_even_if_handed_over():
    facts = account(overdue_tickets=(ticket(4.0, id=1), ticket(12.0, id=2), ticket(7.0, id=3)))
    found = fired(facts)["ticket_overdue"]
    assert [t["id"] for t in found.details["tickets"]] == [2, 3]  # worst first
    assert found.value == pytest.approx(12.0 / 5.0)


# --- severity: base per rule, tier step, escalation ---


@pytest.mark.parametrize(
    ("rule", "facts", "by_tier"),
    [
        ("risk_high", {"network_risk": 0.4999, "previous_network_risk": 0.4999}, ("high", "medium", "low")),
        ("risk_high", {"network_risk": 0.5, "previous_network_risk": 0.5}, ("high", "high", "medium")),
        ("risk_jump", {"previous_network_risk": 0.0, "network_risk": 0.2999}, ("high", "medium", "low")),
        ("risk_jump", {"previous_network_risk": 0.0, "network_risk": 0.3}, ("high", "high", "medium")),
        ("exposure_high", {"exposure": 14_999.0, "network_risk": 0.2}, ("medium", "low", "low")),
        ("exposure_high", {"exposure": 15_000.0, "network_risk": 0.2}, ("high", "medium", "low")),
        (
            "department_dissatisfied",
            {"deciding_departments": (department("Finance", 0.2),)},
            ("high", "medium", "low"),
        ),
        (
            "department_dissatisfied",
            {"deciding_departments": (department("Finance", 0.19),)},
            ("high", "high", "medium"),
        ),
        (
            "department_silent",
            {"deciding_departments": (department("Ops", None, silent=True),)},
            ("medium", "low", "low"),
        ),
        ("contact_overdue", {"days_since_contact": 120.0}, ("medium", "low", "low")),
        ("contact_overdue", {"days_since_contact": 120.5}, ("high", "medium", "low")),
        ("contact_overdue", {"days_since_contact": None}, ("high", "medium", "low")),
        ("contract_expiring", {"contract_days_left": 31.0}, ("high", "medium", "low")),
        ("contract_expiring", {"contract_days_left": 30.0}, ("high", "high", "medium")),
        ("ticket_overdue", {"overdue_tickets": (ticket(15.0),)}, ("high", "medium", "low")),
        ("ticket_overdue", {"overdue_tickets": (ticket(15.5),)}, ("high", "high", "medium")),
        # the tier is what tier_mismatch is about, so it does not scale its severity
        ("tier_mismatch", {"tier_mismatch": "over_served"}, ("low", "low", "low")),
        ("tier_mismatch", {"tier_mismatch": "under_served"}, ("medium", "medium", "medium")),
    ],
)
def test_severity_by_tier_and_escalation(rule, facts, by_tier):
    got = tuple(fired(account(tier=tier, **facts))[rule].severity for tier in ("vip", "key", "standard"))
    assert got == by_tier


def test_severities_and_tier_steps_are_configurable():
    params = RuleParams(severity_contact_overdue="high", tier_step_standard=0, tier_step_vip=2)
    overdue = {"days_since_contact": 70.0}
    assert fired(account(tier="standard", **overdue), params)["contact_overdue"].severity == "high"
    silent = {"deciding_departments": (department("Ops", None, silent=True),)}
    assert fired(account(tier="vip", **silent), params)["department_silent"].severity == "high"


# --- findings: values, messages, details ---


def test_values_measure_how_bad():
    facts = account(
        tier="vip",
        cadence_days=30.0,
        network_risk=0.72,
        previous_network_risk=0.5,
        exposure=6_000.0,
        deciding_departments=(
            department("Finance", 0.3),
            department("Logistics", 0.1),
            department("Procurement", None, silent=True),
        ),
        days_since_contact=75.0,
        contract_days_left=40.0,
        overdue_tickets=(ticket(9.0, sla_days=2.0),),
        tier_mismatch="over_served",
    )
    values = {rule: f.value for rule, f in fired(facts).items()}
    assert values == pytest.approx(
        {
            "risk_high": 0.72,
            "risk_jump": 0.22,
            "exposure_high": 0.06,
            "department_dissatisfied": 0.9,
            "department_silent": 1.0,
            "contact_overdue": 45 / 30,
            "contract_expiring": 1 - 40 / 90,
            "ticket_overdue": 4.5,
            "tier_mismatch": 1.0,
        }
    )


@pytest.mark.parametrize(
    ("rule", "facts", "phrases"),
    [
        (
            "risk_high",
            {"network_risk": 0.42, "previous_network_risk": 0.42},
            ["probability of leaving within 180 days 42%", "alert at 30%", "10% of a manager's accounts"],
        ),
        (
            "risk_jump",
            {"previous_network_risk": 0.1, "network_risk": 0.3},
            ["180 days rose +20%", "10% → 30%"],
        ),
        (
            "exposure_high",
            {"exposure": 6_000.0, "network_risk": 0.2},
            ["6,000/month", "6.0%", "180 days is 20%"],
        ),
        (
            "department_dissatisfied",
            {
                "deciding_departments": (
                    department("Finance", 0.3),
                    department("IT", 0.2),
                )
            },
            [
                "IT -3.6 points, well below expectations, Finance -2.4 points, well below expectations",
                "1–7 scale, 0 = met",
                "alert below -1.8",
            ],
        ),
        (
            "department_silent",
            {"deciding_departments": (department("Procurement", None, silent=True),)},
            ["Procurement"],
        ),
        (
            "contact_overdue",
            {"days_since_contact": 75.0},
            ["last contact 75 days ago", "key cadence is 60 days"],
        ),
        ("contact_overdue", {"days_since_contact": None}, ["never contacted"]),
        ("contract_expiring", {"contract_days_left": 40.0}, ["contract ends in 40 days", "no renewal"]),
        ("contract_expiring", {"contract_days_left": -5.0}, ["contract ended 5 days ago"]),
        (
            "ticket_overdue",
            {"overdue_tickets": (ticket(9.0, sla_days=2.0), ticket(6.0, id=18))},
            ["2 ticket(s)", "#17 'Damaged pallet' (claim)", "9.0 days", "2-day SLA", "4.5×"],
        ),
        ("tier_mismatch", {"tier_mismatch": "under_served"}, ["tier key", "higher tier", "under-served"]),
    ],
)
def test_messages_name_the_account_and_figures(rule, facts, phrases):
    message = fired(account(**facts))[rule].message
    assert message.startswith("Acme Freight (key): ")
    for phrase in phrases:
        assert phrase in message


def test_details_carry_figures_names_and_only_risk_alerts_carry_drivers_as_ids():
    facts = account(
        network_risk=0.9,
        deciding_departments=(department("Finance", 0.3),),
        overdue_tickets=(ticket(9.0),),
    )
    found = fired(facts)
    dissatisfied = found["department_dissatisfied"].details
    # the gap and its band, as satisfaction reads everywhere, and the 0–100 index beside them
    assert dissatisfied["departments"] == [
        {"name": "Finance", "gap": -2.4, "band": "well below expectations", "score": 30.0}
    ]
    assert (dissatisfied["threshold_gap"], dissatisfied["threshold"]) == (-1.8, 35.0)
    assert dissatisfied["customer"] == "Acme Freight"
    assert "drivers" not in dissatisfied and "drivers" not in found["ticket_overdue"].details
    # stored with partner ids, never names: each reader sees the names it may see
    assert found["risk_high"].details["drivers"] == [dict(driver) for driver in DRIVERS]
    assert "Globex" not in found["risk_high"].message
    assert found["ticket_overdue"].details["tickets"][0]["id"] == 17
    json.dumps([f.details for f in found.values()], allow_nan=False)


def test_rules_filter_runs_only_the_named_rules():
    troubled = account(network_risk=0.9, overdue_tickets=(ticket(8.0),), days_since_contact=None)
    assert {f.rule for f in evaluate([troubled], PARAMS)} == {
        "risk_high",
        "risk_jump",
        "ticket_overdue",
        "contact_overdue",
    }
    assert [f.rule for f in evaluate([troubled, account()], PARAMS, rules=["ticket_overdue"])] == [
        "ticket_overdue"
    ]
    assert evaluate([troubled], PARAMS, rules=()) == []
    with pytest.raises(ValueError, match="unknown rule"):
        evaluate([troubled], PARAMS, rules={"ticket_late"})


def test_unknown_tier_and_mismatch_are_rejected():
    with pytest.raises(ValueError, match="unknown tier"):
        evaluate([account(tier="gold", network_risk=0.9)], PARAMS)
    with pytest.raises(ValueError, match="unknown tier mismatch"):
        evaluate([account(tier_mismatch="sideways")], PARAMS)


fractions = st.floats(0.0, 1.0)
departments = st.builds(
    department, st.sampled_from(["Finance", "Ops", "IT"]), st.none() | fractions, silent=st.booleans()
)
tickets = st.builds(
    TicketFact,
    st.integers(1, 999),
    st.sampled_from(["Damaged pallet", 'Late "express"']),
    st.sampled_from(["claim", "billing"]),
    st.floats(0.0, 60.0),
    st.sampled_from([2.0, 5.0, 10.0]),
)
# random facts across every rule's range, the unknowns included
accounts = st.builds(
    AccountFacts,
    customer_id=st.integers(1, 5),
    name=st.sampled_from(["Acme Freight", "Müller & Söhne", '"Quoted" Ltd']),
    tier=st.sampled_from(rule_params.TIERS),
    network_risk=fractions,
    previous_network_risk=st.none() | fractions,
    exposure=st.floats(0.0, 50_000.0),
    portfolio_revenue=st.sampled_from([0.0, 100_000.0]),
    deciding_departments=st.lists(departments, max_size=3).map(tuple),
    days_since_contact=st.none() | st.floats(0.0, 400.0),
    cadence_days=st.sampled_from([30.0, 60.0, 120.0]),
    contract_days_left=st.none() | st.floats(-30.0, 400.0),
    renewal_open=st.booleans(),
    overdue_tickets=st.lists(tickets, max_size=3).map(tuple),
    tier_mismatch=st.sampled_from([None, "under_served", "over_served"]),
    drivers=st.lists(
        st.fixed_dictionaries(
            {
                "kind": st.sampled_from(["own", "neighbour"]),
                "key": st.sampled_from(["claims", 5]),
                "share": fractions,
            }
        ),
        max_size=2,
    ).map(tuple),
)


@settings(max_examples=100, deadline=None)
@given(accounts)
def test_findings_are_well_formed_and_higher_tiers_never_less_severe(facts):
    levels = {}
    for tier in ("standard", "key", "vip"):
        found = fired(dataclasses.replace(facts, tier=tier))
        for rule, f in found.items():
            assert f.customer_id == facts.customer_id
            assert f.severity in SEVERITIES
            assert f.value > 0
            assert f.message.startswith(f"{facts.name} ({tier}): ")
            json.dumps(f.details, allow_nan=False)
            assert levels.get(rule, 0) <= SEVERITIES.index(f.severity)
            levels[rule] = SEVERITIES.index(f.severity)
        # the tier changes how loud, never whether (cadences and SLAs come in the facts)
        assert set(found) == set(levels)


# --- reconcile: the alert lifecycle ---


def test_new_finding_opens_a_notified_alert():
    f = finding()
    assert reconcile([], [f], evaluated_rules=RULES, params=PARAMS) == [
        Transition("open", None, f, True, False)
    ]


@pytest.mark.parametrize(
    ("state", "new", "notify", "reopen"),
    [
        ("open", finding(value=0.7), False, False),  # refreshed, nothing new to say
        ("open", finding(value=0.65), False, False),  # better: quiet
        ("open", finding(value=0.77), True, False),  # +10%: worse, tell again
        ("open", finding(value=0.769), False, False),
        ("open", finding(severity="high", value=0.7), True, False),
        ("acknowledged", finding(value=0.75), False, False),  # stays acknowledged and silent
        ("acknowledged", finding(value=0.77), True, True),  # worsened: reopened and notified
        ("acknowledged", finding(severity="high", value=0.7), True, True),
        ("acknowledged", finding(severity="low", value=0.9), True, True),  # value alone counts too
    ],
)
def test_firing_again_refreshes_and_notifies_only_when_worse(state, new, notify, reopen):
    old = alert(state=state, severity="medium", value=0.7)
    assert reconcile([old], [new], evaluated_rules=RULES, params=PARAMS) == [
        Transition("refresh", old.id, new, notify, reopen)
    ]


def test_worsening_compares_with_what_was_notified():
    # notified at 0.6, drifted up quietly to 0.65: 0.66 is 10% above what the receivers heard
    drifted = alert(value=0.65, notified_value=0.6)
    assert worsened(drifted, finding(value=0.66), PARAMS)
    # never notified (e.g. acknowledged in the UI first): the stored state is the baseline
    unheard = alert(state="acknowledged", value=0.65, notified_value=None, notified_severity=None)
    assert not worsened(unheard, finding(value=0.7), PARAMS)
    assert worsened(unheard, finding(value=0.72), PARAMS)


def test_worsening_has_an_absolute_floor_for_small_values():
    small = alert("exposure_high", value=0.05)
    assert not worsened(small, finding("exposure_high", value=0.059), PARAMS)  # +18% but under a point
    assert worsened(small, finding("exposure_high", value=0.06), PARAMS)
    assert not worsened(small, finding("exposure_high", value=0.06), RuleParams(worsen_floor=0.02))


@pytest.mark.parametrize("rule", ["contact_overdue", "contract_expiring", "ticket_overdue"])
def test_ageing_rules_worsen_only_by_severity(rule):
    old = alert(rule, value=1.2, severity="medium")
    assert not worsened(old, finding(rule, value=2.5, severity="medium"), PARAMS)
    assert worsened(old, finding(rule, value=1.2, severity="high"), PARAMS)


@pytest.mark.parametrize("state", ["open", "acknowledged"])
def test_cleared_condition_resolves_with_an_all_clear(state):
    old = alert(state=state)
    assert reconcile([old], [], evaluated_rules=RULES, params=PARAMS) == [
        Transition("resolve", old.id, None, True, False)
    ]


def test_alerts_of_rules_not_evaluated_are_untouched():
    risk = alert("risk_high", id=1)
    late = alert("ticket_overdue", id=2, value=2.0)
    other = alert("ticket_overdue", id=3, customer_id=8, value=1.5)
    worse = finding("ticket_overdue", severity="high", value=3.5)
    got = reconcile([risk, late, other], [worse], evaluated_rules={"ticket_overdue"}, params=PARAMS)
    assert got == [Transition("refresh", 2, worse, True, False), Transition("resolve", 3, None, True, False)]


def test_duplicate_findings_keep_the_worst():
    mild, bad, worst = finding(value=0.7), finding(value=0.95), finding(severity="high", value=0.65)
    (opened,) = reconcile([], [mild, worst, bad], evaluated_rules=RULES, params=PARAMS)
    assert opened.finding is worst
    (opened,) = reconcile([], [mild, bad], evaluated_rules=RULES, params=PARAMS)
    assert opened.finding is bad


def test_one_alert_per_customer_and_rule():
    findings = [finding(), finding(customer_id=8), finding("risk_jump", value=0.2)]
    got = reconcile([alert(customer_id=8)], findings, evaluated_rules=RULES, params=PARAMS)
    assert [(t.kind, t.finding.customer_id, t.finding.rule) for t in got] == [
        ("open", 7, "risk_high"),
        ("refresh", 8, "risk_high"),
        ("open", 7, "risk_jump"),
    ]


def test_inconsistent_inputs_are_rejected():
    with pytest.raises(ValueError, match="not evaluated"):
        reconcile([], [finding("risk_high")], evaluated_rules={"ticket_overdue"}, params=PARAMS)
    with pytest.raises(ValueError, match="both unresolved"):
        reconcile([alert(id=1), alert(id=2)], [], evaluated_rules=RULES, params=PARAMS)
    with pytest.raises(ValueError, match="resolved"):
        reconcile([alert(state="resolved")], [], evaluated_rules=RULES, params=PARAMS)
    with pytest.raises(ValueError, match="unknown rule"):
        reconcile([], [], evaluated_rules={"risky"}, params=PARAMS)


def apply(alerts: dict[int, OpenAlert], transitions: list[Transition]) -> dict[int, OpenAlert]:
    """Persist transitions the way the health run does: notified_* follow what was last told."""
    alerts = dict(alerts)
    for t in transitions:
        if t.kind == "resolve":
            del alerts[t.alert_id]
            continue
        f = t.finding
        old = alerts.get(t.alert_id)
        alert_id = old.id if old else max(alerts, default=0) + 1
        state = "open" if old is None or t.reopen else old.state
        told = (f.value, f.severity) if t.notify else (old.notified_value, old.notified_severity)
        alerts[alert_id] = OpenAlert(alert_id, f.customer_id, f.rule, state, f.severity, f.value, *told)
    return alerts


# duplicates per (customer, rule) welcome: reconcile must keep the worst
findings = st.lists(
    st.builds(
        Finding,
        customer_id=st.integers(1, 3),
        rule=st.sampled_from(sorted(RULES)),
        severity=st.sampled_from(SEVERITIES),
        value=st.floats(0.01, 5.0),
        message=st.just("m"),
        details=st.just({}),
    ),
    max_size=12,
)


@settings(max_examples=100, deadline=None)
@given(findings, findings, st.sets(st.sampled_from(sorted(RULES)), min_size=1), st.booleans())
def test_lifecycle_keeps_one_alert_per_key_and_settles(first, second, evaluated, acknowledge):
    alerts = apply({}, reconcile([], first, evaluated_rules=RULES, params=PARAMS))
    if acknowledge:
        alerts = {i: dataclasses.replace(a, state="acknowledged") for i, a in alerts.items()}
    firing = [f for f in second if f.rule in evaluated]
    transitions = reconcile(alerts.values(), firing, evaluated_rules=evaluated, params=PARAMS)
    after = apply(alerts, transitions)
    keys = [(a.customer_id, a.rule) for a in after.values()]
    assert len(keys) == len(set(keys))
    assert set(keys) == {(f.customer_id, f.rule) for f in firing} | {
        (a.customer_id, a.rule) for a in alerts.values() if a.rule not in evaluated
    }
    for t in transitions:
        assert t.notify or t.kind == "refresh"
        assert not t.reopen or alerts[t.alert_id].state == "acknowledged"
    # the same findings again: every alert is refreshed and nobody hears about it twice
    again = reconcile(after.values(), firing, evaluated_rules=evaluated, params=PARAMS)
    assert all(t.kind == "refresh" and not t.notify for t in again)


@pytest.mark.parametrize("module", [rules, rule_params, measures], ids=lambda module: module.__name__)
def test_rules_modules_are_pure(module):
    tree = ast.parse(Path(module.__file__).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    outside = {name for name in imported if name.split(".")[0] not in sys.stdlib_module_names}
    # each standard library only, but for one another
    assert outside <= {"logicrm.parameters", "logicrm.health.rule_params", "logicrm.health.rules"}


# --- alert texts read satisfaction as the gap to expectations, and risk as a probability within the horizon ---


def test_the_rules_gap_is_the_scorings_gap():
    for score in (0.0, 0.1, 0.35, 0.5, 0.77, 1.0):
        assert rules.gap_points(score) == pytest.approx(satisfaction.gap_points(score))


def test_a_department_knows_score_gap_and_band_together_or_not_at_all():
    with pytest.raises(ValueError, match="'Finance'"):
        DepartmentFact("Finance", 0.3, False)
    with pytest.raises(ValueError, match="together"):
        DepartmentFact("Finance", None, False, gap=-2.4, band="well below expectations")


def troubled() -> AccountFacts:
    """An account every rule fires for."""
    return account(
        tier="vip",
        network_risk=0.72,
        previous_network_risk=0.5,
        exposure=6_000.0,
        deciding_departments=(department("Finance", 0.3), department("Procurement", None, silent=True)),
        days_since_contact=75.0,
        cadence_days=30.0,
        contract_days_left=40.0,
        overdue_tickets=(ticket(9.0, sla_days=2.0),),
        tier_mismatch="over_served",
        has_executive_sponsor=False,
    )


def test_every_alert_text_reads_satisfaction_as_a_gap_and_risk_within_the_horizon():
    found = fired(troubled())
    assert set(found) == set(RULES)
    for rule, f in found.items():
        for text in (f.message, measures.measure(rule, f.details)):
            assert "/100" not in text, (rule, text)
            assert "network risk" not in text.lower(), (rule, text)
            if "probability" in text:
                assert "within 180 days" in text, (rule, text)
    assert measures.measure("risk_high", found["risk_high"].details) == (
        "probability of leaving within 180 days 72%, its partners' risk included (alert from 30%)"
    )
    assert measures.measure("risk_jump", found["risk_jump"].details).startswith(
        "probability of leaving within 180 days up 22 percentage points"
    )
    assert measures.measure("exposure_high", found["exposure_high"].details).endswith(
        "probability of leaving within 180 days 72%"
    )
    assert measures.measure("department_dissatisfied", found["department_dissatisfied"].details) == (
        "Finance, the weakest deciding department, -2.4 points from its expectations, well below expectations "
        "(gap on a 1–7 scale, 0 = met; alert below -1.8)"
    )
