"""Build the demo plan: the steps in the order they draw from the plan's generator.

Each step is a function of the plan that adds records or marks the story on it, reading what earlier
steps left. The order is part of the output: a step drawing earlier or later changes every draw after
it, so a new step goes where its inputs are ready, and the same seed and day still give the same plan.
"""

from __future__ import annotations

import datetime as dt

from logicrm.demo import (
    accounts,
    decline,
    history,
    network,
    people,
    sales,
    shipments,
    surveys,
    tickets,
    troubles,
    world,
)
from logicrm.demo.plan import DemoPlan

STEPS = (
    world.companies,  # who they are
    network.links,  # who ships to whom, on which lanes
    network.volumes,
    troubles.pick_big_troubles,  # a leaving shipper, a shipper with unhappy consignees
    accounts.tiers,
    troubles.mistier,
    troubles.pick_furious_finance,
    accounts.teams,
    troubles.pick_healthy,
    troubles.pick_other_troubles,
    troubles.newcomers,
    history.arrivals,  # the two years: some accounts won along the way,
    history.departures,  # others gone: on their own, after a partner, or quiet
    shipments.lane_quality,
    decline.lanes,  # the leavers' lanes thin and run late before they go
    accounts.profiles,
    history.contracts,
    people.departments,  # with their contacts
    surveys.surveys,
    people.interactions,
    shipments.shipments,
    tickets.tickets,
    decline.grievances,
    sales.opportunities,
    world.referrals,
    troubles.describe,  # the notes, from the data made
)


def build_plan(*, seed: int = 7, today: dt.date | None = None) -> DemoPlan:
    """Generate the whole demo in memory; the same seed and day always give the same plan."""
    plan = DemoPlan(seed=seed, today=today or dt.date.today())
    for step in STEPS:
        step(plan)
    return plan
