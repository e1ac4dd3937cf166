"""Building the plan: in memory and deterministic."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from logicrm.demo import DemoPlan, build_plan
from tests.demo.conftest import SEED, TODAY


def digest(plan: DemoPlan) -> str:
    """A fingerprint of everything the load writes from the plan."""
    parts = (
        [(c.name, c.role, c.tier, c.status, c.acquired_on, c.churned_on, c.profile) for c in plan.companies],
        [(lane.shipper, lane.consignee, lane.monthly, lane.started_on, lane.ended_on) for lane in plan.lanes],
        sorted(plan.leaving.items()),
        plan.shipments,
        plan.departments,
        plan.contacts,
        plan.surveys,
        plan.interactions,
        plan.tickets,
        plan.opportunities,
        plan.troubled,
        plan.notes,
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def test_plan_is_deterministic():
    """The same seed and day give the same plan, to the shipment, in this process and in another (nothing
    depends on the process's string hashing, such as the order of a set of names); another seed gives
    another."""
    script = (
        "import datetime as dt; from logicrm.demo import build_plan; "
        "from tests.demo.test_build import digest; "
        f"print(digest(build_plan(seed={SEED}, today=dt.date.fromisoformat('{TODAY.isoformat()}'))))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}  # its own string hashing, unlike this process's
    root = Path(__file__).resolve().parents[2]
    with subprocess.Popen(
        [sys.executable, "-c", script], env=env, cwd=root, stdout=subprocess.PIPE, text=True
    ) as other:  # builds while this process does
        first = build_plan(seed=SEED, today=TODAY)
        assert other.communicate(timeout=120)[0].strip() == digest(first)
    assert other.returncode == 0
    assert [c.name for c in build_plan(seed=SEED + 1, today=TODAY).companies] != [
        c.name for c in first.companies
    ]
