"""Demo data: a seeded logistics network with deliberately troubled and deliberately healthy accounts.

`build_plan` makes everything in memory from one `random.Random(seed)` and touches no database, so two
plans for the same seed and day are identical; `load_demo` writes a plan into an empty, migrated database
with bulk inserts, then opens the tasks the service rules make of it (the latest contacts' follow-ups,
the callbacks of cases resolved this week). The troubled accounts are there for the health checks to
find, the healthy VIPs for them to leave alone; `DemoSummary` names both.

The plan covers two years up to `today` with real churn: `history` decides who was won and who left when
(on their own, after a partner, or by going quiet), `decline` makes the signals before each departure.

Modules by what they make: `world` (companies), `names`, `network` (links, lanes, volumes), `accounts`
(tiers, teams, contracts, sites), `troubles` (the story), `history`, `decline`, `people` (departments,
contacts, interactions, users), `surveys`, `shipments`, `tickets`, `sales`; `plan` holds the records,
`build` the order of the steps, `load` the writing.
"""

from logicrm.demo.build import build_plan
from logicrm.demo.load import DemoSummary, load_demo
from logicrm.demo.people import ADMIN_EMAIL
from logicrm.demo.plan import DemoPlan

__all__ = ["ADMIN_EMAIL", "DemoPlan", "DemoSummary", "build_plan", "load_demo"]
