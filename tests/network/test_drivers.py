from logicrm.network import drivers
from logicrm.network.risk import Driver

SHIPPER_DRIVER = Driver("neighbour", 42, 0.22)


def test_a_partner_driver_is_stored_with_its_roles_and_cause_and_never_its_name():
    stored = drivers.record(
        SHIPPER_DRIVER, partners={42: (("shipper",), "volume_drop")}, weakest_department=None
    )
    assert stored == {
        "kind": "neighbour",
        "key": 42,
        "share": 0.22,
        "roles": ["shipper"],
        "cause": "volume_drop",
    }


def test_the_reader_who_sees_the_partner_reads_its_name_and_why_it_is_at_risk():
    stored = drivers.record(
        SHIPPER_DRIVER, partners={42: (("shipper",), "volume_drop")}, weakest_department=None
    )
    [seen] = drivers.describe([stored], names={42: "Bałtyk Chemia"})
    assert seen["label"] == "shipper Bałtyk Chemia (falling volume)" and seen["key"] == 42
    [hidden] = drivers.describe([stored], names={})
    assert hidden["label"] == "another shipper (falling volume)" and hidden["key"] is None


def test_a_partner_that_left_says_so():
    stored = drivers.record(
        Driver("departed", 9, 0.3), partners={9: (("shipper",), None)}, weakest_department=None
    )
    [seen] = drivers.describe([stored], names={9: "Rhein Getränke"})
    assert seen["label"] == "shipper Rhein Getränke, which left"


def test_department_drivers_name_the_weakest_deciding_department():
    stored = drivers.record(
        Driver("own", "weakest_deciding_shortfall", 0.1), partners={}, weakest_department="Finance"
    )
    [seen] = drivers.describe([stored], names={})
    assert seen["label"] == "a deciding department is unhappy (weakest deciding: Finance)"


def test_the_summary_skips_the_baseline_and_keeps_the_largest():
    described = [
        {"kind": "baseline", "key": None, "label": "baseline churn", "share": 0.5},
        {"kind": "own", "key": "claims", "label": "damage and claims", "share": 0.1},
        {"kind": "neighbour", "key": 42, "label": "shipper X (falling volume)", "share": 0.2},
    ]
    assert drivers.summary(described) == "shipper X (falling volume) (0.20), damage and claims (0.10)"
