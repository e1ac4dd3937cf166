"""The alert rules' parameters (logicrm/health/rule_params.py): defaults, overrides from LOGICRM_RULES_*,
and every bad value named."""

import dataclasses

import pytest

from logicrm.health.rule_params import RuleParams, describe_params
from logicrm.health.rules import RULES
from logicrm.parameters import ConfigError


def test_defaults():
    p = RuleParams()
    assert (p.risk_high, p.risk_high_capacity, p.risk_jump, p.exposure_high, p.dissatisfied) == (
        0.3,
        0.1,
        0.15,
        0.05,
        0.35,
    )
    assert (p.contact_overdue_factor, p.contract_expiring_days, p.worsen_margin) == (1.0, 90, 0.1)
    assert [p.tier_step(t) for t in ("vip", "key", "standard")] == [1, 0, -1]
    severities = {f.name for f in dataclasses.fields(p) if f.name.startswith("severity_")}
    assert severities == {f"severity_{rule}" for rule in RULES}  # one base severity per rule, no strays
    with pytest.raises(ValueError, match="unknown tier"):
        p.tier_step("gold")


def test_params_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        RuleParams().risk_high = 0.9


def test_config_hash_is_stable_and_sensitive():
    default = RuleParams().config_hash()
    assert len(default) == 16 and int(default, 16) >= 0
    assert RuleParams().config_hash() == default
    assert RuleParams(contact_overdue_factor=1).config_hash() == default
    assert RuleParams(severity_tier_mismatch="medium").config_hash() != default


def test_from_mapping_reads_typed_overrides():
    env = {
        "LOGICRM_RULES_RISK_HIGH": "0.4",
        "LOGICRM_RULES_CONTRACT_EXPIRING_DAYS": " 60 ",
        "LOGICRM_RULES_SEVERITY_TIER_MISMATCH": "medium",
        "LOGICRM_RULES_TIER_STEP_STANDARD": "0",
        "LOGICRM_SCORING_ALPHA_UP": "0.4",
        "PATH": "/bin",
    }
    p = RuleParams.from_mapping(env)
    assert (p.risk_high, p.contract_expiring_days, p.severity_tier_mismatch, p.tier_step_standard) == (
        0.4,
        60,
        "medium",
        0,
    )
    assert RuleParams.from_mapping({}) == RuleParams()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"LOGICRM_RULES_RISK": "0.7"}, "LOGICRM_RULES_RISK"),
        ({"LOGICRM_RULES_CONTRACT_EXPIRING_DAYS": "6.5"}, "LOGICRM_RULES_CONTRACT_EXPIRING_DAYS"),
        ({"LOGICRM_RULES_RISK_HIGH": "high"}, "LOGICRM_RULES_RISK_HIGH"),
        ({"LOGICRM_RULES_RISK_HIGH": "1.5"}, "risk_high"),
        ({"LOGICRM_RULES_RISK_HIGH": "0.55"}, "risk_high_escalate"),
        ({"LOGICRM_RULES_RISK_HIGH_CAPACITY": "0"}, "risk_high_capacity"),
        ({"LOGICRM_RULES_DISSATISFIED_ESCALATE": "0.4"}, "dissatisfied_escalate"),
        ({"LOGICRM_RULES_CONTRACT_EXPIRING_ESCALATE_DAYS": "120"}, "contract_expiring_escalate_days"),
        (
            {"LOGICRM_RULES_SEVERITY_RISK_HIGH": "urgent"},
            "LOGICRM_RULES_SEVERITY_RISK_HIGH='urgent' is not one of: low, medium, high",
        ),
        ({"LOGICRM_RULES_RISK_JUMP": "nan"}, "LOGICRM_RULES_RISK_JUMP='nan' is not a finite number"),
        ({"LOGICRM_RULES_TIER_STEP_VIP": "3"}, "tier_step_vip"),
        ({"LOGICRM_RULES_WORSEN_MARGIN": "-0.1"}, "worsen_margin"),
    ],
)
def test_from_mapping_rejects_bad_keys_and_values(env, message):
    with pytest.raises(ValueError, match=message):
        RuleParams.from_mapping(env)


def test_wrong_types_rejected():
    with pytest.raises(ValueError, match="contract_expiring_days must be int"):
        RuleParams(contract_expiring_days=90.0)


def test_severities_are_read_in_any_case_but_set_in_code_exactly():
    env = {"LOGICRM_RULES_SEVERITY_RISK_HIGH": " High ", "LOGICRM_RULES_SEVERITY_TIER_MISMATCH": "MEDIUM"}
    p = RuleParams.from_mapping(env)
    assert (p.severity_risk_high, p.severity_tier_mismatch) == ("high", "medium")
    assert (
        p.config_hash()
        == RuleParams(severity_risk_high="high", severity_tier_mismatch="medium").config_hash()
    )
    with pytest.raises(ConfigError, match="LOGICRM_RULES_SEVERITY_RISK_HIGH='High' is not one of"):
        RuleParams(severity_risk_high="High")


def test_every_bad_variable_is_named_at_once():
    env = {
        "LOGICRM_RULES_SEVERITY_RISK_JUMP": "critical",
        "LOGICRM_RULES_RISK_HIGH": "lots",
        "LOGICRM_RULES_RISKHIGH": "0.7",
    }
    with pytest.raises(ConfigError) as refused:
        RuleParams.from_mapping(env)
    assert refused.value.problems == [
        "LOGICRM_RULES_SEVERITY_RISK_JUMP='critical' is not one of: low, medium, high",
        "LOGICRM_RULES_RISK_HIGH='lots' is not a number",
        "unknown parameter LOGICRM_RULES_RISKHIGH",
    ]


def test_every_field_is_described():
    rows = describe_params()
    assert [name for name, *_ in rows] == [f.name for f in dataclasses.fields(RuleParams)]
    for name, key, default, doc in rows:
        assert key == "LOGICRM_RULES_" + name.upper()
        assert default == getattr(RuleParams(), name)
        assert doc.endswith(".")
