import dataclasses

import pytest

from logicrm.network.params import ScoringParams, describe_params


def test_defaults_are_the_design_values():
    p = ScoringParams()
    assert (p.half_life_days, p.silent_after_days, p.weakest_cap, p.beta_two_sided) == (90, 180, 0.25, 0.4)
    assert (p.alpha_down, p.alpha_up, p.volume_window_days) == (0.6, 0.5, 90)
    assert [p.cadence_days(t) for t in ("vip", "key", "standard")] == [30, 60, 120]
    assert (p.contract_ending_days, p.cascade_threshold, p.abc_a_cutoff, p.abc_b_cutoff) == (
        90,
        0.5,
        0.8,
        0.95,
    )
    assert p.propagation_tol == 1e-12
    # churn within 180 days; a shipper silent for 90 days has churned
    assert (p.horizon_days, p.churn_inactive_days, p.min_churn_events) == (180, 90, 30)
    with pytest.raises(ValueError, match="unknown tier"):
        p.cadence_days("gold")


def test_params_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        ScoringParams().alpha_up = 0.9


def test_config_hash_is_stable_and_sensitive():
    default = ScoringParams().config_hash()
    assert len(default) == 16 and int(default, 16) >= 0
    assert ScoringParams().config_hash() == default
    assert ScoringParams(half_life_days=90).config_hash() == default  # an int for a float changes nothing
    assert ScoringParams(alpha_up=0.45).config_hash() != default


def test_from_mapping_reads_typed_overrides():
    env = {
        "LOGICRM_SCORING_HALF_LIFE_DAYS": "30",
        "LOGICRM_SCORING_CADENCE_VIP_DAYS": " 14 ",
        "LOGICRM_SCORING_PRIOR_BASE_RATE": "0.12",
        "LOGICRM_DATABASE_URL": "sqlite://",
        "PATH": "/bin",
    }
    p = ScoringParams.from_mapping(env)
    assert (p.half_life_days, p.cadence_vip_days, p.prior_base_rate) == (30.0, 14, 0.12)
    assert p.alpha_down == 0.6
    assert ScoringParams.from_mapping({}) == ScoringParams()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"LOGICRM_SCORING_HALF_LIFE": "30"}, "LOGICRM_SCORING_HALF_LIFE"),
        ({"LOGICRM_SCORING_CADENCE_KEY_DAYS": "6.5"}, "LOGICRM_SCORING_CADENCE_KEY_DAYS"),
        ({"LOGICRM_SCORING_ALPHA_UP": "lots"}, "LOGICRM_SCORING_ALPHA_UP"),
        ({"LOGICRM_SCORING_BETA_TWO_SIDED": "1.5"}, "beta_two_sided"),
        ({"LOGICRM_SCORING_ABC_A_CUTOFF": "0.99"}, "abc_a_cutoff"),
        ({"LOGICRM_SCORING_PRIOR_BASE_RATE": "1"}, "prior_base_rate"),
        ({"LOGICRM_SCORING_HORIZON_DAYS": "0"}, "horizon_days"),
        # not finite: every risk would be NaN or certain
        (
            {"LOGICRM_SCORING_RATE_PRIOR_STRENGTH": "inf"},
            "LOGICRM_SCORING_RATE_PRIOR_STRENGTH='inf' is not a finite",
        ),
        (
            {"LOGICRM_SCORING_PRIOR_BASE_RATE": "nan"},
            "LOGICRM_SCORING_PRIOR_BASE_RATE='nan' is not a finite number",
        ),
        ({"LOGICRM_SCORING_PROPAGATION_TOL": "inf"}, "LOGICRM_SCORING_PROPAGATION_TOL='inf' is not a finite"),
    ],
)
def test_from_mapping_rejects_bad_keys_and_values(env, message):
    with pytest.raises(ValueError, match=message):
        ScoringParams.from_mapping(env)


def test_wrong_types_rejected():
    with pytest.raises(ValueError, match="cadence_vip_days must be int"):
        ScoringParams(cadence_vip_days=30.0)
    with pytest.raises(ValueError, match="LOGICRM_SCORING_PRIOR_BASE_RATE=nan is not a finite number"):
        ScoringParams(prior_base_rate=float("nan"))


def test_every_field_is_described():
    rows = describe_params()
    assert [name for name, *_ in rows] == [f.name for f in dataclasses.fields(ScoringParams)]
    for name, key, default, doc in rows:
        assert key == "LOGICRM_SCORING_" + name.upper()
        assert default == getattr(ScoringParams(), name)
        assert doc.endswith(".")
