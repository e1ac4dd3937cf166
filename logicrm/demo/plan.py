"""The demo plan: every record the demo writes, in memory, and the story that shaped them.

The steps of `build_plan` fill one `DemoPlan` in turn, all drawing from its one seeded generator. Rows
refer to companies, lanes, departments and contacts by their index in the plan's lists.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass, field

from logicrm.customers.models import AcquisitionChannel, CustomerStatus, Tier
from logicrm.lanes.models import LinkStatus, ServiceType

WINDOW_DAYS = 730  # the history the demo makes: shipments, surveys, interactions and tickets
SILENT_AFTER_DAYS = 180
SOURED_DAYS = 175  # the unhappy consignees' lanes went bad this long ago, and so did their verdicts

# The troubled-account categories, in the order the summary lists them.
TROUBLES = {
    "falling_volume": "volume falls sharply over the last two months",
    "unhappy_deciding_department": "a deciding department is furious while the others are content",
    "unhappy_consignees": "its key consignees are unhappy, so its two-sided satisfaction drops",
    "overdue_claim": "an open claim is far past any service level",
    "contract_expiring_no_renewal": "the contract ends within 90 days and no renewal is open",
    "contact_overdue": "nobody has contacted the account for more than twice its tier cadence",
    "silent_deciding_department": "a deciding department has not answered a survey for over 180 days",
    "tier_mismatch": "its tier contradicts its value",
}


@dataclass(frozen=True)
class Region:
    name: str
    cities: tuple[str, ...]
    continent: str
    style: str  # naming, phone and registration conventions
    phone: str
    consignee_weight: float
    shipper_weight: float
    owner: int  # which of the three account managers covers the region


@dataclass(eq=False)
class Company:
    index: int
    role: str  # "shipper", "consignee" or "distributor" (both roles)
    name: str
    region: Region
    city: str
    industry: str
    size: float
    acquired_on: dt.date
    channel: AcquisitionChannel
    registration_number: str | None
    domain: str
    tier: Tier = Tier.STANDARD
    status: CustomerStatus = CustomerStatus.ACTIVE
    churned_on: dt.date | None = None
    owner: int = 0
    team: tuple[str, ...] = ()
    referred_by: int | None = None
    mood: float = 0.25  # mean perception − expectation of its departments
    capacity: int = 0  # consignees a shipper should reach
    value: float = 0.0  # expected revenue over the year, for tiers
    profile: dict = field(default_factory=dict)

    def active_on(self, day: dt.date) -> bool:
        """Whether it was our customer that day: won, and not yet gone."""
        return self.acquired_on <= day and (self.churned_on is None or day < self.churned_on)

    @property
    def is_shipper(self) -> bool:
        return self.role != "consignee"

    @property
    def is_consignee(self) -> bool:
        return self.role != "shipper"


@dataclass(eq=False)
class Lane:
    index: int
    shipper: int
    consignee: int
    origin: str
    destination: str
    service: ServiceType
    asia_origin: bool
    transit_h: float
    late_h: tuple[float, float]
    price: float
    weight: float
    started_on: dt.date
    monthly: float = 0.0  # expected shipments per month
    margin: float = 0.15
    on_time: float = 0.95
    in_full: float = 0.99
    damage: float = 0.005
    trend: float = 0.0  # yearly growth
    falling: bool = False
    steady: bool = False  # a scheduled flow, no random ups and downs
    bad_from: int | None = None  # day of the window from which the lane runs badly
    bad_on_time: float = 0.0
    ended_on: dt.date | None = None
    status: LinkStatus = LinkStatus.ACTIVE
    declared: float | None = None
    seed: int = 0
    # an account leaving over the lane: its volume thins from the first day to the second (window days),
    # then stops; and from `bad_from` it may also damage more (None: as `damage`)
    fading: tuple[int, int] | None = None
    bad_damage: float | None = None


@dataclass(frozen=True)
class Leaving:
    """An account that leaves: when, how its signals worsened before, and whether a partner set it off.

    `on` may lie after `today`: such an account is still active, already in decline, and leaves later.
    """

    on: dt.date  # churned_on, or the day a quiet shipper stopped shipping (its status does not change)
    since: dt.date  # its signals worsen from this day
    quiet: bool
    after: int | None  # the partner whose leaving set it off; None: it left on its own
    signals: tuple[str, ...]  # which of decline.SIGNALS it shows
    severity: float  # scale points its deciding departments' verdicts fall by, until it leaves


@dataclass(eq=False)
class DemoPlan:
    """Everything the demo writes, in memory, and the story behind it; `build_plan` fills it step by step."""

    seed: int
    today: dt.date
    rng: random.Random = field(init=False, repr=False)  # the one generator every step draws from, in order
    horizon: dt.datetime = field(init=False)  # midnight UTC starting `today`; all generated happened before
    start: dt.date = field(init=False)  # first day of the window

    # the records, in the order they are written
    companies: list[Company] = field(default_factory=list)
    lanes: list[Lane] = field(default_factory=list)
    # (lane, shipped, promised, delivered, in_full, damaged, claim, revenue, cost)
    shipments: list[tuple] = field(default_factory=list)
    departments: list[dict] = field(default_factory=list)
    contacts: list[dict] = field(default_factory=list)
    surveys: list[dict] = field(default_factory=list)
    interactions: list[dict] = field(default_factory=list)
    tickets: list[dict] = field(default_factory=list)
    opportunities: list[dict] = field(default_factory=list)

    # the story: which accounts are troubled and how, which are left alone (company indexes)
    troubled: dict[str, list[int]] = field(default_factory=lambda: {category: [] for category in TROUBLES})
    healthy: list[int] = field(default_factory=list)
    notes: dict[int, str] = field(default_factory=dict)  # why a troubled account is troubled
    partners: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))  # the other link ends
    calm: set[int] = field(default_factory=set)  # healthy accounts and their partners: no noise there
    unhappy_consignees: list[int] = field(default_factory=list)  # behind the "unhappy_consignees" shipper
    furious: dict[int, str] = field(default_factory=dict)  # company → its furious deciding department
    silent_dm: set[int] = field(default_factory=set)  # companies with a deliberately silent deciding dept
    no_renewal: set[int] = field(default_factory=set)  # contracts ending soon, no renewal opportunity
    renewing: set[int] = field(default_factory=set)  # contracts ending soon, renewal under way
    newcomers: list[int] = field(default_factory=list)  # new consignees with only a declared volume
    overdue_claims: list[tuple] = field(default_factory=list)  # (company, lane, delivered, days, amount)
    claimed: set[int] = field(default_factory=set)  # positions of the shipments behind the overdue claims
    # the history (history.py): accounts that left during the window, or will soon; company → how
    leaving: dict[int, Leaving] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.horizon = dt.datetime.combine(self.today, dt.time(), tzinfo=dt.UTC)
        self.start = self.today - dt.timedelta(days=WINDOW_DAYS)

    def lanes_of(self, index: int) -> list[Lane]:
        """The lanes with this company at either end."""
        return [lane for lane in self.lanes if index in (lane.shipper, lane.consignee)]

    def volume(self, index: int) -> float:
        """Expected shipments a month over the company's lanes."""
        return sum(lane.monthly for lane in self.lanes_of(index))

    def flag(self, category: str, company: Company) -> None:
        self.troubled[category].append(company.index)

    def in_story(self) -> set[int]:
        """Companies already given a part: troubled, behind a trouble (the unhappy consignees), or healthy."""
        troubled = {i for ids in self.troubled.values() for i in ids}
        return troubled | set(self.unhappy_consignees) | set(self.healthy)
