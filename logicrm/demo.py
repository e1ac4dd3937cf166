"""Demo data: a seeded logistics network with deliberately troubled and deliberately healthy accounts.

`build_plan` makes everything in memory from one `random.Random(seed)` and touches no database, so two
plans for the same seed and day are identical; `load_demo` writes a plan into an empty, migrated database
with bulk inserts. The troubled accounts are there for the health checks to find, the healthy VIPs for
them to leave alone; `DemoSummary` names both.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import time
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import bindparam, insert
from sqlalchemy.orm import Session

from logicrm.consignees.models import ConsigneeProfile
from logicrm.customers.models import AcquisitionChannel, Customer, CustomerStatus, Tier, customer_team
from logicrm.customers.names import normalize_name
from logicrm.db import bulk_insert
from logicrm.lanes.models import Link, LinkStatus, ServiceType, Shipment
from logicrm.lanes.shipments import SHIPMENT_FIELDS
from logicrm.relations.models import (
    Contact,
    Department,
    Dimension,
    Interaction,
    InteractionKind,
    SurveyResponse,
    SurveyScore,
)
from logicrm.sales.models import Opportunity, OpportunityKind, OpportunityStage
from logicrm.shippers.models import ShipperProfile
from logicrm.tickets.models import Severity, Ticket, TicketKind, TicketStatus
from logicrm.users import service as users
from logicrm.users.models import UserRole

ADMIN_EMAIL = "admin@demo.logicrm.example"

# Shape of the network (DESIGN §8: tens of shippers, hundreds of consignees, a few distributors).
N_SHIPPERS = 30  # shipper role only
N_DISTRIBUTORS = 10  # both roles
N_CONSIGNEES = 390  # consignee role only
WINDOW_DAYS = 365
TARGET_SHIPMENTS = 115_000  # expected shipments over the window before seasonality and troubles
MULTI_SHIPPER_LINKS = 70  # at least this many links beyond one shipper per consignee
LINK_CURVE = (80.0, 0.9)  # consignees of the r-th largest shipper ≈ 80 · r^-0.9 (power law)

CADENCE_DAYS = {Tier.VIP: 30, Tier.KEY: 60, Tier.STANDARD: 120}
SILENT_AFTER_DAYS = 180

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


# --------------------------------------------------------------------------------------------- geography


@dataclass(frozen=True)
class _Region:
    name: str
    cities: tuple[str, ...]
    continent: str
    style: str  # naming, phone and registration conventions
    phone: str
    consignee_weight: float
    shipper_weight: float
    owner: int  # which of the three account managers covers the region


REGIONS = (
    _Region("China East", ("Shanghai", "Hangzhou", "Ningbo", "Suzhou", "Nanjing"), "asia", "cn", "+86 21", 0.13, 0.22, 0),
    _Region("China South", ("Shenzhen", "Guangzhou", "Dongguan", "Xiamen", "Foshan"), "asia", "cn", "+86 755", 0.11, 0.20, 0),
    _Region("China North", ("Beijing", "Tianjin", "Qingdao"), "asia", "cn", "+86 10", 0.06, 0.05, 0),
    _Region("Germany", ("Hamburg", "Duisburg", "Munich", "Frankfurt", "Stuttgart", "Cologne"), "europe", "de", "+49 40", 0.15, 0.18, 1),
    _Region("Benelux", ("Rotterdam", "Antwerp", "Venlo", "Brussels", "Amsterdam"), "europe", "nl", "+31 10", 0.10, 0.06, 1),
    _Region("Poland", ("Warsaw", "Poznań", "Łódź", "Wrocław", "Gdańsk"), "europe", "pl", "+48 22", 0.09, 0.06, 1),
    _Region("France", ("Lyon", "Paris", "Lille", "Marseille"), "europe", "fr", "+33 4", 0.07, 0.06, 2),
    _Region("United Kingdom", ("Felixstowe", "Birmingham", "Manchester", "London"), "europe", "uk", "+44 20", 0.08, 0.04, 2),
    _Region("USA West", ("Los Angeles", "Long Beach", "Oakland", "Seattle", "Reno"), "america", "us", "+1 213", 0.11, 0.07, 2),
    _Region("USA East", ("Newark", "Savannah", "Atlanta", "Chicago"), "america", "us", "+1 973", 0.10, 0.06, 2),
)  # fmt: skip

SHIPPER_INDUSTRIES = {
    "FMCG": 5,
    "electronics": 5,
    "automotive": 4,
    "pharma": 3,
    "chemicals": 3,
    "fashion": 2,
    "machinery": 2,
}
CONSIGNEE_INDUSTRIES = {
    "retail": 9,
    "FMCG": 3,
    "electronics": 3,
    "automotive": 3,
    "pharma": 2,
    "chemicals": 2,
    "machinery": 2,
}
DISTRIBUTOR_INDUSTRIES = ("FMCG", "electronics", "pharma")
# Which consignee industries a shipper of an industry serves.
SERVES = {
    "FMCG": {"retail", "FMCG"},
    "electronics": {"retail", "electronics"},
    "automotive": {"automotive", "machinery"},
    "pharma": {"pharma", "retail"},
    "chemicals": {"chemicals", "automotive", "FMCG"},
    "fashion": {"retail"},
    "machinery": {"machinery", "automotive"},
}  # fmt: skip

# ------------------------------------------------------------------------------------------------ names

LANG = {"de": "de", "nl": "nl", "pl": "pl", "fr": "fr", "uk": "en", "us": "en"}
PREFIXES = {
    "de": ("Hanse", "Rhein", "Elbe", "Nordsee", "Alpen", "Weser", "Spree", "Harz", "Ruhr", "Isar", "Neckar", "Mosel", "Taunus", "Eifel", "Bodensee"),
    "nl": ("Oranje", "Delta", "Zeeland", "Brabant", "Flandria", "Schelde", "Maas", "Hollandia", "Limburg", "Amstel", "Kempen", "Veluwe", "Van der Berg", "De Vries"),
    "pl": ("Wisła", "Mazowsze", "Bałtyk", "Karpaty", "Odra", "Warta", "Pomorze", "Tatra", "Polmark", "Sudety", "Vistula"),
    "fr": ("Rhône", "Loire", "Provence", "Bretagne", "Alsace", "Normandie", "Garonne", "Seine", "Vosges", "Jura"),
    "uk": ("Thames", "Pennine", "Albion", "Cotswold", "Mersey", "Severn", "Highland", "Windsor", "Humber", "Solent"),
    "us": ("Pacific", "Sierra", "Cascade", "Redwood", "Sunset", "Summit", "Atlantic", "Liberty", "Hudson", "Empire", "Keystone", "Great Lakes", "Prairie", "Blue Ridge"),
}  # fmt: skip
SUFFIXES = {
    "de": ("GmbH", "GmbH", "AG", "GmbH & Co. KG", "SE"),
    "nl": ("B.V.", "B.V.", "N.V."),
    "pl": ("Sp. z o.o.", "Sp. z o.o.", "S.A."),
    "fr": ("SAS", "S.A.", "SARL"),
    "uk": ("Ltd", "Ltd", "plc", "Limited"),
    "us": ("Inc.", "LLC", "Corp."),
}
WORDS = {
    "FMCG": {"en": ("Foods", "Brands", "Beverages"), "de": ("Lebensmittel", "Feinkost", "Getränke"), "nl": ("Foods", "Zuivel", "Voeding"), "pl": ("Spożywcze", "Foods", "Napoje"), "fr": ("Alimentaire", "Boissons", "Saveurs")},
    "retail": {"en": ("Retail", "Stores", "Markets"), "de": ("Handel", "Markt", "Warenhaus"), "nl": ("Retail", "Winkels", "Supermarkten"), "pl": ("Handel", "Markety", "Sklepy"), "fr": ("Distribution", "Magasins", "Commerce")},
    "automotive": {"en": ("Auto Parts", "Automotive", "Motors"), "de": ("Autoteile", "Fahrzeugtechnik", "Automotive"), "nl": ("Automotive", "Auto Onderdelen"), "pl": ("Automotive", "Części"), "fr": ("Automobile", "Équipements Auto")},
    "electronics": {"en": ("Electronics", "Devices", "Semiconductors"), "de": ("Elektronik", "Elektrotechnik"), "nl": ("Electronics", "Elektro"), "pl": ("Elektronika", "Elektro"), "fr": ("Électronique", "Composants")},
    "pharma": {"en": ("Pharma", "Healthcare", "Life Sciences"), "de": ("Pharma", "Arzneimittel"), "nl": ("Pharma", "Zorg"), "pl": ("Farm", "Pharma"), "fr": ("Pharma", "Santé")},
    "chemicals": {"en": ("Chemicals", "Polymers", "Coatings"), "de": ("Chemie", "Kunststoffe"), "nl": ("Chemicals", "Chemie"), "pl": ("Chemia", "Tworzywa"), "fr": ("Chimie", "Polymères")},
    "fashion": {"en": ("Apparel", "Fashion", "Textiles"), "de": ("Textil", "Mode"), "nl": ("Mode", "Textiel"), "pl": ("Moda", "Tekstylia"), "fr": ("Mode", "Textiles")},
    "machinery": {"en": ("Machinery", "Industrial", "Engineering"), "de": ("Maschinenbau", "Antriebstechnik"), "nl": ("Machinebouw", "Industrie"), "pl": ("Maszyny", "Przemysł"), "fr": ("Machines", "Industrie")},
}  # fmt: skip
DISTRIBUTOR_WORD = {
    "en": "Distribution",
    "de": "Großhandel",
    "nl": "Groothandel",
    "pl": "Dystrybucja",
    "fr": "Distribution",
}

CN_CITIES = {
    "Shanghai": "上海", "Hangzhou": "杭州", "Ningbo": "宁波", "Suzhou": "苏州", "Nanjing": "南京", "Shenzhen": "深圳",
    "Guangzhou": "广州", "Dongguan": "东莞", "Xiamen": "厦门", "Foshan": "佛山", "Beijing": "北京", "Tianjin": "天津",
    "Qingdao": "青岛",
}  # fmt: skip
CN_CORES = (
    ("鹏达", "Pengda"), ("恒达", "Hengda"), ("宏图", "Hongtu"), ("瑞丰", "Ruifeng"), ("金桥", "Jinqiao"),
    ("汇通", "Huitong"), ("佳美", "Jiamei"), ("晨光", "Chenguang"), ("盛源", "Shengyuan"), ("嘉禾", "Jiahe"),
    ("华信", "Huaxin"), ("天成", "Tiancheng"), ("远航", "Yuanhang"), ("新源", "Xinyuan"), ("博远", "Boyuan"),
    ("启明", "Qiming"), ("锦程", "Jincheng"), ("万川", "Wanchuan"), ("德润", "Derun"), ("永泰", "Yongtai"),
    ("东方", "Dongfang"), ("长兴", "Changxing"), ("海天", "Haitian"), ("联华", "Lianhua"), ("百盛", "Baisheng"),
    ("鑫达", "Xinda"), ("中科", "Zhongke"), ("富康", "Fukang"), ("立诚", "Licheng"), ("凯越", "Kaiyue"),
)  # fmt: skip
CN_INDUSTRY = {
    "FMCG": (("食品", "Foods"), ("饮料", "Beverages")),
    "retail": (("超市", "Supermarket"), ("商贸", "Trading"), ("百货", "Department Store")),
    "automotive": (("汽车零部件", "Auto Parts"), ("汽车配件", "Auto Components")),
    "electronics": (("电子科技", "Electronics Technology"), ("电子", "Electronics")),
    "pharma": (("医药", "Pharmaceutical"), ("生物制药", "Biopharma")),
    "chemicals": (("化工", "Chemical"), ("塑料制品", "Plastic Products")),
    "fashion": (("服装", "Garment"), ("纺织", "Textile")),
    "machinery": (("机械", "Machinery"), ("精密机械", "Precision Machinery")),
}
CN_DISTRIBUTOR = (("供应链管理", "Supply Chain Management"), ("贸易", "Trading"))
CN_SUFFIXES = ("有限公司", "有限公司", "股份有限公司", "有限责任公司")
CN_REG_AREAS = {"China East": ("310000", "330100", "330200"), "China South": ("440300", "440100", "441900"), "China North": ("110000", "120000", "370200")}  # fmt: skip

PEOPLE = {
    "de": (("Anna", "Lukas", "Julia", "Felix", "Katrin", "Tobias", "Sabine", "Jan", "Laura", "Stefan", "Miriam", "Florian"),
           ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Wagner", "Becker", "Hoffmann", "Schulz", "Koch", "Richter", "Wolf")),
    "nl": (("Sanne", "Daan", "Lotte", "Bram", "Eva", "Joost", "Femke", "Ruben", "Iris", "Thijs"),
           ("de Jong", "Jansen", "de Vries", "van den Berg", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder")),
    "pl": (("Agnieszka", "Piotr", "Katarzyna", "Tomasz", "Magdalena", "Paweł", "Joanna", "Michał", "Anna", "Krzysztof"),
           ("Nowak", "Wójcik", "Kowalczyk", "Mazur", "Krawczyk", "Zając", "Król", "Wieczorek", "Pawlak", "Michalak")),
    "fr": (("Camille", "Julien", "Claire", "Antoine", "Élodie", "Nicolas", "Sophie", "Mathieu", "Manon", "Pierre"),
           ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau")),
    "en": (("Emily", "James", "Olivia", "Michael", "Sarah", "Daniel", "Jessica", "David", "Hannah", "Ryan", "Megan", "Chris"),
           ("Smith", "Johnson", "Brown", "Taylor", "Wilson", "Davies", "Miller", "Clarke", "Walker", "Wright", "Garcia", "Lee")),
}  # fmt: skip
CN_FAMILY = (("王", "Wang"), ("李", "Li"), ("张", "Zhang"), ("刘", "Liu"), ("陈", "Chen"), ("杨", "Yang"), ("黄", "Huang"), ("赵", "Zhao"), ("吴", "Wu"), ("周", "Zhou"), ("徐", "Xu"), ("孙", "Sun"), ("马", "Ma"), ("朱", "Zhu"), ("胡", "Hu"), ("郭", "Guo"), ("林", "Lin"), ("高", "Gao"))  # fmt: skip
CN_GIVEN = (("伟", "Wei"), ("芳", "Fang"), ("娜", "Na"), ("敏", "Min"), ("静", "Jing"), ("强", "Qiang"), ("磊", "Lei"), ("军", "Jun"), ("洋", "Yang"), ("艳", "Yan"), ("杰", "Jie"), ("涛", "Tao"), ("明", "Ming"), ("超", "Chao"), ("秀英", "Xiuying"), ("建华", "Jianhua"), ("晓东", "Xiaodong"), ("海燕", "Haiyan"))  # fmt: skip

# ------------------------------------------------------------------------------------------ departments

# name: (decision weight, who decides: "always", "big" for VIP and key accounts, "never")
SHIPPER_DEPARTMENTS = (
    ("logistics", 3.0, "always"),
    ("procurement", 3.0, "always"),
    ("finance", 2.0, "big"),
    ("quality", 1.5, "never"),
    ("sales", 1.0, "never"),
    ("customer service", 1.0, "never"),
)
CONSIGNEE_DEPARTMENTS = (
    ("warehouse", 3.0, "always"),
    ("logistics", 2.5, "always"),
    ("procurement", 2.5, "big"),
    ("finance", 1.5, "never"),
    ("quality", 1.5, "never"),
    ("store operations", 1.0, "never"),
)
DISTRIBUTOR_DEPARTMENTS = (
    ("logistics", 3.0, "always"),
    ("procurement", 3.0, "always"),
    ("warehouse", 3.0, "always"),
    ("finance", 2.0, "big"),
    ("sales", 1.5, "never"),
    ("quality", 1.0, "never"),
)
DEPARTMENTS_PER_TIER = {Tier.VIP: (6, 6), Tier.KEY: (4, 5), Tier.STANDARD: (2, 3)}
ROLES = {
    "logistics": ("Head of Logistics", "Transport Planner", "Logistics Coordinator"),
    "procurement": ("Procurement Director", "Category Buyer", "Logistics Buyer"),
    "finance": ("Finance Director", "Accounts Payable Lead", "Controller"),
    "warehouse": ("Warehouse Manager", "Inbound Supervisor", "Dock Coordinator"),
    "quality": ("Quality Manager", "QA Specialist"),
    "sales": ("Sales Director", "Key Account Manager"),
    "customer service": ("Customer Service Lead", "Order Desk Agent"),
    "store operations": ("Store Operations Manager", "Replenishment Planner"),
}
# What each department judges us on, and how much it cares (survey importance).
DIMENSIONS = {
    "logistics": {Dimension.TIMELINESS: 3, Dimension.RELIABILITY: 3, Dimension.CAPACITY: 2, Dimension.RESPONSIVENESS: 2, Dimension.COMPETENCE: 1.5},
    "procurement": {Dimension.RELIABILITY: 2, Dimension.IMPROVEMENT: 2.5, Dimension.RESPONSIVENESS: 2, Dimension.COMPETENCE: 2, Dimension.CAPACITY: 1.5},
    "finance": {Dimension.RESPONSIVENESS: 2, Dimension.COMPETENCE: 2.5, Dimension.IMPROVEMENT: 1.5, Dimension.ATTITUDE: 1},
    "warehouse": {Dimension.HANDOVER: 3, Dimension.TIMELINESS: 3, Dimension.ATTITUDE: 2, Dimension.RELIABILITY: 2.5, Dimension.RESPONSIVENESS: 1.5},
    "quality": {Dimension.RELIABILITY: 3, Dimension.COMPETENCE: 2, Dimension.IMPROVEMENT: 2, Dimension.HANDOVER: 1.5},
    "sales": {Dimension.TIMELINESS: 2, Dimension.RELIABILITY: 2, Dimension.RESPONSIVENESS: 2, Dimension.ATTITUDE: 1.5},
    "customer service": {Dimension.RESPONSIVENESS: 3, Dimension.ATTITUDE: 2.5, Dimension.COMPETENCE: 2},
    "store operations": {Dimension.HANDOVER: 3, Dimension.TIMELINESS: 2.5, Dimension.ATTITUDE: 2},
}  # fmt: skip
EXPECTATION = {Tier.VIP: 6.0, Tier.KEY: 5.6, Tier.STANDARD: 5.2}
SURVEY_CHANNELS = ("email survey", "quarterly review", "phone interview", "web form", "site visit")
COMMENTS = {
    "good": ("Drivers are punctual and the hand-over paperwork is always complete.",
             "Proactive updates on delays: exactly what we need.",
             "Quarterly reviews are useful; keep the improvement ideas coming."),
    "fair": ("Service is fine, but tracking updates could be faster.",
             "Occasional booking hiccups in peak season.",
             "Good drivers, slow answers from the office."),
    "bad": ("Too many late deliveries this quarter.",
            "Claims take far too long to settle.",
            "Nobody calls back when a truck is late."),
    "finance": ("Invoices keep arriving with surcharges we never agreed; three months of credit notes are still outstanding.",
                "Fourth invoice dispute this quarter. We are escalating to the CFO."),
    "procurement": ("Rates went up twice without notice; we are preparing a tender.",
                    "Benchmark shows we pay 12% above market for worse service."),
    "consignee": ("Trucks arrive outside our receiving window and pallets come in damaged.",
                  "We are telling our supplier to find another carrier."),
}  # fmt: skip

# ----------------------------------------------------------------------------------------- lanes, money

SERVICE_MIX = {  # (same region, same continent, intercontinental from asia, other intercontinental)
    "same": ((ServiceType.FTL, 0.45), (ServiceType.LTL, 0.35), (ServiceType.PARCEL, 0.2)),
    "continent": ((ServiceType.FTL, 0.55), (ServiceType.LTL, 0.35), (ServiceType.PARCEL, 0.1)),
    "asia-europe": ((ServiceType.OCEAN, 0.6), (ServiceType.RAIL, 0.25), (ServiceType.AIR, 0.15)),
    "intercontinental": ((ServiceType.OCEAN, 0.7), (ServiceType.AIR, 0.3)),
}
# Shipments per unit of lane weight (consolidated modes carry fewer, bigger shipments), base price,
# transit hours (same region, further), lateness range in hours when late.
SERVICE = {
    ServiceType.PARCEL: (3.0, 38.0, (24, 48), (4, 24)),
    ServiceType.LTL: (1.2, 320.0, (48, 96), (4, 30)),
    ServiceType.FTL: (1.0, 1100.0, (24, 72), (3, 36)),
    ServiceType.RAIL: (0.3, 4200.0, (432, 480), (24, 96)),
    ServiceType.OCEAN: (0.25, 3100.0, (456, 816), (24, 168)),
    ServiceType.AIR: (0.5, 2600.0, (72, 120), (12, 48)),
}
# Mild seasonality (peak season Sep–Nov, Chinese New Year): a healthy account must not look like it is leaving.
MONTH_FACTOR = (0.97, 0.95, 1.0, 1.0, 1.0, 0.99, 0.97, 0.95, 1.02, 1.06, 1.08, 1.0)
CHINESE_NEW_YEAR_FACTOR = 0.9  # February, lanes leaving China
WEEKDAY_FACTOR = (1.1, 1.1, 1.1, 1.1, 1.0, 0.45, 0.15)
SOURED_DAYS = 175  # the unhappy consignees' lanes went bad this long ago, and so did their verdicts
FALL_FACTOR = 0.2  # a falling account keeps this share of its volume in the last 30 days
_MINUTES = [dt.timedelta(minutes=m) for m in range(7 * 24 * 60 + 1)]  # offsets up to a week, reused

SITE_KINDS = {"retail": "Distribution centre", "FMCG": "Wholesale depot", "automotive": "Assembly plant",
              "electronics": "Factory", "pharma": "GDP warehouse", "chemicals": "Plant", "machinery": "Plant"}  # fmt: skip
RECEIVING_WINDOWS = (
    "Mon–Fri 06:00–14:00",
    "Mon–Sat 05:00–12:00",
    "24/7, slot booking 24 h ahead",
    "Mon–Fri 08:00–16:00",
    "Mon–Fri 07:00–15:00, no deliveries on the last day of the month",
)
REQUIREMENTS = {
    "retail": "Pallets ≤ 1.8 m, SSCC labels, ASN 12 h ahead",
    "FMCG": "Mixed pallets split by SKU, best-before dates on the delivery note",
    "automotive": "JIT call-offs, 30 min slot tolerance, returnable racks back on the same truck",
    "electronics": "ESD-safe packaging, no transshipment, seal numbers checked at the gate",
    "pharma": "GDP compliance, 15–25 °C with temperature log handed over",
    "chemicals": "ADR-certified drivers, safety data sheet with every load",
    "machinery": "Crane unloading booked 48 h ahead, lashing certificates",
}
EXTRA_SERVICES = (
    "warehousing",
    "customs brokerage",
    "value-added services",
    "returns handling",
    "track & trace portal",
)

CHANNELS = {
    AcquisitionChannel.RELATIONSHIP: 30,
    AcquisitionChannel.EXHIBITION: 20,
    AcquisitionChannel.REFERRAL: 15,
    AcquisitionChannel.WEB: 15,
    AcquisitionChannel.DIRECTORY: 10,
    AcquisitionChannel.ADVERTISING: 5,
    AcquisitionChannel.OTHER: 5,
}
INTERACTION_MIX = {  # VIP accounts (True) get more visits
    vip: {InteractionKind.VISIT: 2 if vip else 1, InteractionKind.MEETING: 2, InteractionKind.CALL: 4,
          InteractionKind.EMAIL: 2, InteractionKind.REVIEW: 1}
    for vip in (False, True)
}  # fmt: skip
INTERACTION_SUMMARIES = {
    InteractionKind.VISIT: "Site visit in {city}: walked the dock and reviewed the hand-over process",
    InteractionKind.MEETING: "Business review with {dept}: volumes, OTIF and the improvement plan",
    InteractionKind.CALL: "Check-in call with {dept} on capacity for the coming weeks",
    InteractionKind.EMAIL: "Sent {dept} the updated rate card and transit times",
    InteractionKind.REVIEW: "Annual service review with {dept}",
}
RESPONSE_HOURS = {Tier.VIP: (0.5, 6), Tier.KEY: (1, 18), Tier.STANDARD: (2, 36)}  # first answer to a ticket
RESOLVE_DAYS = {TicketKind.CLAIM: (3, 14), TicketKind.COMPLAINT: (1, 8), TicketKind.REQUEST: (0.2, 4)}
REQUESTS_PER_YEAR = {Tier.VIP: 6, Tier.KEY: 3, Tier.STANDARD: 1}
REQUEST_SUBJECTS = ("Extra pick-up for a promotion", "Change of delivery address", "CO₂ report for last quarter",
                    "Add a new receiving site", "Copy of proof of delivery", "Update of the rate card")  # fmt: skip
STAGE_PROBABILITY = {
    OpportunityStage.LEAD: 0.1,
    OpportunityStage.PROPOSAL: 0.3,
    OpportunityStage.NEGOTIATION: 0.6,
    OpportunityStage.TENDER: 0.4,
    OpportunityStage.WON: 1.0,
    OpportunityStage.LOST: 0.0,
}
CROSS_SELL_TITLES = (
    "Warehousing in {city}",
    "Customs brokerage",
    "Value-added services: kitting and labelling",
)
UP_SELL_TITLES = ("Additional lane to {city}", "Air freight for urgent orders", "Peak-season capacity")

USERS = (
    ("admin", "Ada Admin", ADMIN_EMAIL, UserRole.ADMIN),
    ("manager", "Marco Bianchi", "marco.bianchi@demo.logicrm.example", UserRole.MANAGER),
    ("am0", "Chen Jing", "chen.jing@demo.logicrm.example", UserRole.ACCOUNT_MANAGER),
    ("am1", "Jonas Weber", "jonas.weber@demo.logicrm.example", UserRole.ACCOUNT_MANAGER),
    ("am2", "Emma Janssen", "emma.janssen@demo.logicrm.example", UserRole.ACCOUNT_MANAGER),
    ("planner", "Priya Nair", "priya.nair@demo.logicrm.example", UserRole.PLANNER),
    ("viewer", "Victor Olsen", "victor.olsen@demo.logicrm.example", UserRole.VIEWER),
)


# ------------------------------------------------------------------------------------------ plan records


@dataclass(eq=False)
class _Company:
    index: int
    role: str  # "shipper", "consignee" or "distributor" (both roles)
    name: str
    region: _Region
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

    @property
    def is_shipper(self) -> bool:
        return self.role != "consignee"

    @property
    def is_consignee(self) -> bool:
        return self.role != "shipper"


@dataclass(eq=False)
class _Lane:
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


@dataclass
class DemoPlan:
    """Everything the demo writes, in memory; rows refer to companies, lanes, departments by list index."""

    seed: int
    today: dt.date
    horizon: dt.datetime  # midnight UTC starting `today`; everything generated happened before it
    companies: list[_Company]
    lanes: list[_Lane]
    shipments: list[tuple]  # (lane, shipped, promised, delivered, in_full, damaged, claim, revenue, cost)
    departments: list[dict]
    contacts: list[dict]
    surveys: list[dict]
    interactions: list[dict]
    tickets: list[dict]
    opportunities: list[dict]
    troubled: dict[str, list[int]]
    healthy: list[int]
    notes: dict[int, str]


@dataclass
class DemoSummary:
    """What `load_demo` wrote: counts per entity, the accounts to watch, and the admin's API key."""

    seed: int
    today: dt.date
    counts: dict[str, int]
    troubled: dict[str, list[int]]  # category → customer ids
    healthy_vips: list[int]
    admin_key: str
    api_keys: dict[str, str]  # email → plaintext key of every demo user
    names: dict[int, str]
    notes: dict[int, str]  # customer id → why it is troubled
    seconds: float = 0.0

    def lines(self) -> list[str]:
        """Describe the demo for a human: what was loaded and which accounts to look at."""
        c = self.counts
        out = [
            f"Demo network loaded in {self.seconds:.1f} s (seed {self.seed}, 12 months up to {self.today}):",
            f"  {c['customers']} customers: {c['shippers']} shippers, {c['consignees']} consignees, "
            f"{c['dual_role']} distributors in both roles, {c['churned']} churned",
            f"  {c['links']} links ({c['declared_only_links']} with a declared volume only), "
            f"{c['shipments']:,} shipments",
            f"  {c['departments']} departments ({c['silent_departments']} silent > {SILENT_AFTER_DAYS} days), "
            f"{c['contacts']} contacts, {c['survey_responses']} survey responses",
            f"  {c['interactions']} interactions, {c['tickets']} tickets ({c['open_tickets']} open), "
            f"{c['opportunities']} opportunities",
            f"  users: {', '.join(self.api_keys)} (each has an API key; the admin key is printed)",
            "Troubled accounts (health checks should flag these):",
        ]
        for category, ids in self.troubled.items():
            out.append(f"  {category}: {TROUBLES.get(category, '')}")
            out.extend(f"    #{i} {self.names[i]}: {self.notes.get(i, '')}" for i in ids)
        out.append(
            "Healthy VIP accounts (steady, happy, recently contacted; checks should leave them alone):"
        )
        out.extend(f"    #{i} {self.names[i]}" for i in self.healthy_vips)
        return out


# --------------------------------------------------------------------------------------------- helpers


def _ascii(text: str, sep: str = "-") -> str:
    """Fold to lowercase ASCII words joined by `sep` (for e-mail addresses and domains)."""
    text = text.replace("ł", "l").replace("Ł", "L").replace("ß", "ss")
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return sep.join("".join(ch if ch.isalnum() else " " for ch in folded).split())


def _poisson(rng: random.Random, lam: float) -> int:
    """Draw a Poisson count (Knuth for small means, normal approximation for large ones)."""
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _weighted(rng: random.Random, pairs) -> object:
    items, weights = zip(*pairs, strict=True)
    return rng.choices(items, weights)[0]


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


# ------------------------------------------------------------------------------------------------ plan


class _Planner:
    """Builds a DemoPlan step by step from one seeded random generator."""

    def __init__(self, seed: int, today: dt.date):
        self.rng = random.Random(seed)
        self.seed = seed
        self.today = today
        self.horizon = dt.datetime.combine(today, dt.time(), tzinfo=dt.UTC)
        self.start = today - dt.timedelta(days=WINDOW_DAYS)
        self.companies: list[_Company] = []
        self.lanes: list[_Lane] = []
        self.shipments: list[tuple] = []
        self.departments: list[dict] = []
        self.contacts: list[dict] = []
        self.surveys: list[dict] = []
        self.interactions: list[dict] = []
        self.tickets: list[dict] = []
        self.opportunities: list[dict] = []
        self.troubled: dict[str, list[int]] = {category: [] for category in TROUBLES}
        self.healthy: list[int] = []
        self.notes: dict[int, str] = {}
        self._names: set[str] = set()
        self._cn_pairs: set[tuple[str, str]] = set()
        self._registrations: set[str] = set()
        self.partners: dict[int, set[int]] = defaultdict(set)
        self.calm: set[int] = set()  # healthy accounts and their partners: no noise there
        self.silent_dm: set[int] = set()  # companies with a deliberately silent deciding department
        self.no_renewal: set[int] = set()  # contracts ending soon, no renewal opportunity
        self.renewing: set[int] = set()  # contracts ending soon, renewal under way
        self.furious: dict[int, str] = {}  # company → its furious deciding department
        self.unhappy_consignees: list[int] = []
        self.newcomers: list[int] = []
        self.overdue_claims: list[tuple] = []
        self._claimed: set[int] = set()  # shipments behind the overdue claims

    def build(self) -> DemoPlan:
        self._companies()
        self._links()
        self._volumes()
        self._pick_big_troubles()
        self._tiers()
        self._pick_healthy()
        self._pick_other_troubles()
        self._lane_quality()
        self._profiles()
        self._people()
        self._surveys()
        self._interactions()
        self._shipments()
        self._tickets()
        self._opportunities()
        self._referrals()
        self._describe_troubles()
        return DemoPlan(
            seed=self.seed,
            today=self.today,
            horizon=self.horizon,
            companies=self.companies,
            lanes=self.lanes,
            shipments=self.shipments,
            departments=self.departments,
            contacts=self.contacts,
            surveys=self.surveys,
            interactions=self.interactions,
            tickets=self.tickets,
            opportunities=self.opportunities,
            troubled=self.troubled,
            healthy=self.healthy,
            notes=self.notes,
        )

    # ---------------------------------------------------------------------------------- companies

    def _companies(self) -> None:
        rng = self.rng
        for role, count in (
            ("shipper", N_SHIPPERS),
            ("distributor", N_DISTRIBUTORS),
            ("consignee", N_CONSIGNEES),
        ):
            for _ in range(count):
                if role == "shipper":
                    region = _weighted(rng, ((r, r.shipper_weight) for r in REGIONS))
                    industry = _weighted(rng, SHIPPER_INDUSTRIES.items())
                elif role == "distributor":
                    region = _weighted(
                        rng, ((r, r.consignee_weight) for r in REGIONS if r.continent != "america")
                    )
                    industry = rng.choice(DISTRIBUTOR_INDUSTRIES)
                else:
                    region = _weighted(rng, ((r, r.consignee_weight) for r in REGIONS))
                    industry = _weighted(rng, CONSIGNEE_INDUSTRIES.items())
                city = rng.choice(region.cities)
                name, domain = self._name(region, city, industry, role)
                sites = [city]
                if role != "shipper" and rng.random() < 0.3:
                    sites.append(rng.choice([c for c in region.cities if c != city]))
                self.companies.append(
                    _Company(
                        index=len(self.companies),
                        role=role,
                        name=name,
                        region=region,
                        city=city,
                        industry=industry,
                        size=rng.lognormvariate(0, 0.9),
                        acquired_on=self.today - dt.timedelta(days=rng.randint(400, 3650)),
                        channel=_weighted(rng, CHANNELS.items()),
                        registration_number=self._registration(region, city) if rng.random() < 0.88 else None,
                        domain=domain,
                        owner=region.owner,
                        profile={"site_cities": sites},
                    )
                )

    def _name(self, region: _Region, city: str, industry: str, role: str) -> tuple[str, str]:
        """Return a company name unique after normalisation, and an e-mail domain for it."""
        rng = self.rng
        for attempt in range(500):
            if region.style == "cn":
                core_cn, core_en = rng.choice(CN_CORES)
                if (city, core_cn) in self._cn_pairs:
                    continue
                ind_cn, ind_en = rng.choice(
                    CN_DISTRIBUTOR if role == "distributor" else CN_INDUSTRY[industry]
                )
                if rng.random() < 0.3:
                    name = f"{city} {core_en} {ind_en} Co., Ltd."
                else:
                    name = f"{CN_CITIES[city]}{core_cn}{ind_cn}{rng.choice(CN_SUFFIXES)}"
                domain = f"{_ascii(core_en)}-{_ascii(ind_en.split()[0])}.example.cn"
            else:
                lang = LANG[region.style]
                prefix = rng.choice(PREFIXES[region.style])
                word = rng.choice(WORDS[industry][lang])
                if role == "distributor":
                    word = f"{word} {DISTRIBUTOR_WORD[lang]}"
                if attempt > 100:  # crowded: name the branch after its city
                    word = f"{word} {city}"
                name = f"{prefix} {word} {rng.choice(SUFFIXES[region.style])}"
                domain = f"{_ascii(f'{prefix} {word}')}.example"
            key = normalize_name(name)
            if key not in self._names:
                self._names.add(key)
                if region.style == "cn":
                    self._cn_pairs.add((city, core_cn))
                return name, domain
        raise RuntimeError(f"no free company name in {region.name} / {industry}")

    def _registration(self, region: _Region, city: str) -> str:
        rng = self.rng
        while True:
            style = region.style
            if style == "cn":
                chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
                number = f"91{rng.choice(CN_REG_AREAS[region.name])}MA{''.join(rng.choices(chars, k=8))}"
            elif style == "de":
                number = f"HRB {rng.randint(1000, 250_000)} {city}"
            elif style == "nl":
                number = f"KvK {rng.randint(10_000_000, 99_999_999)}"
            elif style == "pl":
                number = f"KRS {rng.randint(1, 999_999):010d}"
            elif style == "fr":
                number = f"SIREN {rng.randint(100, 999)} {rng.randint(100, 999)} {rng.randint(100, 999)}"
            elif style == "uk":
                number = f"CRN {rng.randint(1_000_000, 15_999_999):08d}"
            else:
                number = f"EIN {rng.randint(10, 99)}-{rng.randint(1_000_000, 9_999_999)}"
            if number not in self._registrations:
                self._registrations.add(number)
                return number

    # -------------------------------------------------------------------------------------- links

    def _affinity(self, shipper: _Company, consignee: _Company) -> float:
        serves = 5.0 if consignee.industry in SERVES[shipper.industry] else 0.15
        a, b = shipper.region, consignee.region
        if a is b:
            place = 4.0
        elif a.continent == b.continent:
            place = 2.5
        elif a.continent == "asia":
            place = 1.6
        else:
            place = 0.4
        return serves * place

    def _links(self) -> None:
        """Give shippers power-law consignee counts; every consignee gets at least one shipper."""
        rng = self.rng
        shippers = [c for c in self.companies if c.is_shipper]
        consignees = [c for c in self.companies if c.is_consignee]
        pure = [c for c in shippers if not c.is_consignee]
        order = pure[:]
        rng.shuffle(order)
        scale, exponent = LINK_CURVE
        for rank, company in enumerate(order, 1):
            company.capacity = max(2, round(scale * rank**-exponent * rng.uniform(0.85, 1.15)))
        for company in shippers:
            if company.is_consignee:
                company.capacity = rng.randint(3, 10)
        # enough reach that, once every consignee has a shipper, some dozens get a second one
        while sum(c.capacity for c in shippers) < len(consignees) + 2 * N_DISTRIBUTORS + MULTI_SHIPPER_LINKS:
            _weighted(rng, ((c, c.capacity) for c in pure)).capacity += 1
        affinity = {s.index: {c.index: self._affinity(s, c) for c in consignees} for s in shippers}
        left = {s.index: s.capacity for s in shippers}
        pairs: set[tuple[int, int]] = set()

        def add(s: int, c: int) -> None:
            pairs.add((s, c))
            left[s] -= 1
            self.partners[s].add(c)
            self.partners[c].add(s)

        def free(s: int, c: int) -> bool:
            return s != c and (s, c) not in pairs and (c, s) not in pairs

        # distributors buy from one to three manufacturers
        for d in (c for c in consignees if c.is_shipper):
            for _ in range(rng.choice((1, 2, 2, 3))):
                options = [
                    (s.index, max(left[s.index], 1) * affinity[s.index][d.index])
                    for s in pure
                    if free(s.index, d.index)
                ]
                add(_weighted(rng, options), d.index)
        # every other consignee gets one shipper, drawn by remaining capacity and fit
        single = [c for c in consignees if not c.is_shipper]
        rng.shuffle(single)
        for c in single:
            options = [
                (s.index, max(left[s.index], 0) * affinity[s.index][c.index])
                for s in shippers
                if free(s.index, c.index)
            ]
            if not any(w for _, w in options):
                options = [
                    (s.index, s.capacity * affinity[s.index][c.index])
                    for s in shippers
                    if free(s.index, c.index)
                ]
            add(_weighted(rng, options), c.index)
        # the rest of each shipper's capacity goes to big, well-connected consignees
        degree = defaultdict(int)
        for _, c in pairs:
            degree[c] += 1
        for s in sorted(shippers, key=lambda s: -s.capacity):
            while left[s.index] > 0:
                options = [
                    (c.index, affinity[s.index][c.index] * c.size * (1 + degree[c.index]))
                    for c in consignees
                    if free(s.index, c.index)
                ]
                chosen = _weighted(rng, options)
                add(s.index, chosen)
                degree[chosen] += 1
        for s, c in sorted(pairs):
            self._lane(self.companies[s], self.companies[c])
            if rng.random() < 0.04:  # a second, faster lane for urgent orders
                extra = self._lane(
                    self.companies[s],
                    self.companies[c],
                    service=ServiceType.AIR
                    if self.lanes[-1].service in (ServiceType.OCEAN, ServiceType.RAIL)
                    else ServiceType.PARCEL,
                )
                extra.weight *= 0.15

    def _lane(self, shipper: _Company, consignee: _Company, service: ServiceType | None = None) -> _Lane:
        rng = self.rng
        a, b = shipper.region, consignee.region
        if a is b:
            mix, far = "same", False
        elif a.continent == b.continent:
            mix, far = "continent", True
        elif a.continent == "asia" and b.continent == "europe":
            mix, far = "asia-europe", True
        else:
            mix, far = "intercontinental", True
        if service is None:
            options = SERVICE_MIX[mix]
            if shipper.industry == "pharma" and mix in ("asia-europe", "intercontinental"):
                options = (*options, (ServiceType.AIR, 0.4))
            service = _weighted(rng, options)
        _per_weight, price, (near_h, far_h), late = SERVICE[service]
        if service == ServiceType.OCEAN:
            transit = 456 if {a.name, b.name} & {"USA West"} and a.continent == "asia" else 792
        else:
            transit = far_h if far else near_h
        origin = shipper.city if rng.random() < 0.7 else rng.choice(a.cities)
        sites = consignee.profile["site_cities"]
        lane = _Lane(
            index=len(self.lanes),
            shipper=shipper.index,
            consignee=consignee.index,
            origin=origin,
            destination=rng.choice(sites),
            service=service,
            asia_origin=a.continent == "asia",
            transit_h=transit * rng.uniform(0.9, 1.1),
            late_h=late,
            price=price
            * (2.0 if far and service in (ServiceType.FTL, ServiceType.LTL) else 1.0)
            * rng.lognormvariate(0, 0.15),
            weight=rng.lognormvariate(0, 0.6) * math.sqrt(consignee.size),
            started_on=max(shipper.acquired_on, consignee.acquired_on)
            + dt.timedelta(days=rng.randint(0, 90)),
            seed=rng.getrandbits(64),
        )
        self.lanes.append(lane)
        return lane

    def _volumes(self) -> None:
        """Share each shipper's volume over its lanes; scale the network to the target shipment count."""
        rng = self.rng
        by_shipper: dict[int, list[_Lane]] = defaultdict(list)
        for lane in self.lanes:
            by_shipper[lane.shipper].append(lane)
        for s, lanes in by_shipper.items():
            volume = self.companies[s].capacity ** 1.15 * rng.lognormvariate(0, 0.3)
            total = sum(lane.weight for lane in lanes)
            for lane in lanes:
                lane.monthly = volume * lane.weight / total * SERVICE[lane.service][0]
        scale = TARGET_SHIPMENTS / 12 / sum(lane.monthly for lane in self.lanes)
        for lane in self.lanes:
            lane.monthly *= scale

    def _lanes_of(self, index: int) -> list[_Lane]:
        return [lane for lane in self.lanes if index in (lane.shipper, lane.consignee)]

    def _volume(self, index: int) -> float:
        return sum(lane.monthly for lane in self._lanes_of(index))

    def _flag(self, category: str, company: _Company) -> None:
        self.troubled[category].append(company.index)

    def _used(self) -> set[int]:
        return {i for ids in self.troubled.values() for i in ids} | set(self.healthy)

    # -------------------------------------------------------------------------------- the big picks

    def _pick_big_troubles(self) -> None:
        """A big shipper that is leaving, and a shipper whose main consignees are unhappy."""
        pure = sorted(
            (c for c in self.companies if c.role == "shipper"), key=lambda c: -self._volume(c.index)
        )
        falling = self.rng.choice(pure[1:4])
        self._flag("falling_volume", falling)
        for lane in self._lanes_of(falling.index):
            lane.falling = True
        for shipper in pure[4:14]:
            own = [lane for lane in self._lanes_of(shipper.index) if lane.shipper == shipper.index]
            singles = sorted(
                (
                    lane
                    for lane in own
                    if self.companies[lane.consignee].role == "consignee"
                    and len(self.partners[lane.consignee]) == 1
                ),
                key=lambda lane: -lane.monthly,
            )
            if len(own) >= 5 and len(singles) >= 3:
                break
        else:
            raise RuntimeError("no shipper fits the unhappy-consignees story")
        self._flag("unhappy_consignees", shipper)
        key_lanes = singles[:3]
        rest = sum(lane.monthly for lane in own if lane not in key_lanes)
        boost = max(1.0, 1.6 * rest / sum(lane.monthly for lane in key_lanes))
        for lane in key_lanes:
            lane.monthly *= boost  # they carry well over half its volume
            lane.bad_from = WINDOW_DAYS - SOURED_DAYS
            lane.bad_on_time = 0.7
        self.unhappy_consignees = [lane.consignee for lane in key_lanes]
        shipper.mood = 0.8
        for i in self.unhappy_consignees:
            self.companies[i].mood = -0.6

    def _tiers(self) -> None:
        """Tier by expected yearly revenue (VIP, key, standard), then deliberately get two wrong."""
        for lane in self.lanes:
            revenue = lane.monthly * 12 * lane.price
            self.companies[lane.shipper].value += revenue
            self.companies[lane.consignee].value += revenue
        for group, vip, key in (
            ([c for c in self.companies if c.is_shipper], 0.15, 0.30),
            ([c for c in self.companies if c.role == "consignee"], 0.05, 0.15),
        ):
            ranked = sorted(group, key=lambda c: -c.value)
            for rank, company in enumerate(ranked):
                share = rank / len(ranked)
                company.tier = Tier.VIP if share < vip else Tier.KEY if share < vip + key else Tier.STANDARD
        used = self._used() | set(self.unhappy_consignees)
        shippers = sorted(
            (c for c in self.companies if c.role == "shipper" and c.index not in used), key=lambda c: -c.value
        )
        underrated = shippers[self.rng.randint(1, 3)]
        underrated.tier = Tier.STANDARD
        consignees = sorted(
            (c for c in self.companies if c.role == "consignee" and c.index not in used),
            key=lambda c: c.value,
        )
        overrated = consignees[self.rng.randint(10, 60)]
        overrated.tier = Tier.VIP
        self._flag("tier_mismatch", underrated)
        self._flag("tier_mismatch", overrated)
        # the furious-finance VIP is chosen now so that healthy VIPs can keep clear of it
        candidates = [c for c in self.companies if c.is_shipper and c.index not in self._used()]
        furious = self.rng.choice([c for c in candidates if c.tier == Tier.VIP] or candidates)
        self._flag("unhappy_deciding_department", furious)
        self.furious[furious.index] = "finance"
        furious.mood = 0.7
        for company in self.companies:
            company.team = self._team(company)

    def _team(self, company: _Company) -> tuple[str, ...]:
        other = f"am{(company.owner + 1) % 3}"
        if company.tier == Tier.VIP:
            return ("manager", other)
        if company.tier == Tier.KEY and self.rng.random() < 0.5:
            return (other,)
        return ()

    def _pick_healthy(self) -> None:
        """Steady, happy VIPs away from every trouble: no troubled partner either."""
        trouble = self._used() | set(self.unhappy_consignees)
        near_trouble = trouble | {p for i in trouble for p in self.partners[i]}
        candidates = [c for c in self.companies if c.tier == Tier.VIP and c.index not in near_trouble]
        self.rng.shuffle(candidates)
        wanted = {"shipper": 2, "consignee": 2, "distributor": 1}
        for company in candidates:
            if wanted.get(company.role, 0) > 0 and len(self.partners[company.index]) > 0:
                wanted[company.role] -= 1
                self.healthy.append(company.index)
        self.healthy.sort()
        if len(self.healthy) < 3:
            raise RuntimeError("too few healthy VIP candidates")
        for i in self.healthy:
            self.companies[i].mood = 1.1
            self.calm |= {i, *self.partners[i]}
        for i in self.calm - set(self.healthy):
            self.companies[i].mood = max(self.companies[i].mood, 0.4)

    def _pick_other_troubles(self) -> None:
        rng = self.rng
        avoid = self._used() | set(self.unhappy_consignees) | self.calm

        def pick(*predicates, biggest: int | None = None) -> _Company:
            """Pick an account meeting the first satisfiable predicate, optionally among the biggest few."""
            for predicate in predicates:
                options = [
                    c
                    for c in self.companies
                    if c.index not in avoid and c.status == CustomerStatus.ACTIVE and predicate(c)
                ]
                if options:
                    break
            else:
                raise RuntimeError("no account fits a troubled-account story")
            if biggest:
                options = sorted(options, key=lambda c: -self._volume(c.index))[:biggest]
            chosen = rng.choice(options)
            avoid.add(chosen.index)
            return chosen

        consignee = pick(lambda c: c.role == "consignee" and c.tier in (Tier.VIP, Tier.KEY))
        self._flag("unhappy_deciding_department", consignee)
        self.furious[consignee.index] = "procurement"
        consignee.mood = 0.7  # everyone else there is content
        # a sizeable consignee moving its volume elsewhere (small ones drown in noise)
        falling = pick(
            lambda c: c.role == "consignee" and c.tier == Tier.KEY and len(self.partners[c.index]) >= 2,
            lambda c: c.role == "consignee" and c.tier != Tier.STANDARD,
            biggest=8,
        )
        self._flag("falling_volume", falling)
        for lane in self._lanes_of(falling.index):
            lane.falling = True
        for tier in (Tier.KEY, Tier.STANDARD):
            self._flag(
                "overdue_claim",
                pick(
                    lambda c, t=tier: c.role == "consignee" and c.tier == t, lambda c: c.role == "consignee"
                ),
            )
        for tier in (Tier.KEY, Tier.STANDARD):
            company = pick(lambda c, t=tier: c.is_shipper and c.tier == t, lambda c: c.is_shipper)
            self._flag("contract_expiring_no_renewal", company)
            self.no_renewal.add(company.index)
        for _ in range(3):  # ending soon too, but the renewal is being negotiated: nothing to flag
            self.renewing.add(pick(lambda c: c.is_shipper).index)
        self._flag("contact_overdue", pick(lambda c: c.tier == Tier.VIP, lambda c: c.tier == Tier.KEY))
        self._flag("contact_overdue", pick(lambda c: c.tier == Tier.KEY))
        silent = pick(lambda c: c.tier == Tier.KEY, lambda c: c.tier == Tier.STANDARD)
        self._flag("silent_deciding_department", silent)
        self.silent_dm.add(silent.index)
        # three consignees left during the year; five new ones have only a declared volume so far
        for _ in range(3):
            company = pick(
                lambda c: (
                    c.role == "consignee" and c.tier == Tier.STANDARD and len(self.partners[c.index]) == 1
                )
            )
            company.status = CustomerStatus.CHURNED
            company.churned_on = self.today - dt.timedelta(days=rng.randint(100, 200))
            for lane in self._lanes_of(company.index):
                lane.ended_on, lane.status = company.churned_on, LinkStatus.ENDED
        self.newcomers = []
        for _ in range(5):
            company = pick(
                lambda c: (
                    c.role == "consignee" and c.tier == Tier.STANDARD and len(self.partners[c.index]) == 1
                )
            )
            company.acquired_on = self.today - dt.timedelta(days=rng.randint(5, 25))
            company.channel = AcquisitionChannel.REFERRAL
            self.newcomers.append(company.index)
            for lane in self._lanes_of(company.index):
                lane.declared = round(lane.monthly * rng.uniform(0.8, 1.5), 1)
                lane.started_on = self.today + dt.timedelta(days=rng.randint(3, 20))
        for lane in rng.sample(
            [lane for lane in self.lanes if lane.declared is None and lane.shipper not in self.calm], 2
        ):
            # an existing pair adds a lane that has not shipped yet
            extra = self._lane(
                self.companies[lane.shipper], self.companies[lane.consignee], service=ServiceType.AIR
            )
            extra.declared = round(rng.uniform(4, 20), 1)
            extra.started_on = self.today + dt.timedelta(days=rng.randint(3, 30))

    # ------------------------------------------------------------------------------------ lanes run

    def _lane_quality(self) -> None:
        rng = self.rng
        for company in self.companies:
            if company.is_shipper:
                target = (
                    0.95
                    if company.index in self.healthy
                    else _weighted(
                        rng, ((0.9, 2), (0.92, 3), (0.95, 4), (0.97, 1 if company.tier == Tier.VIP else 0))
                    )
                )
                company.profile["on_time_target"] = target
        for lane in self.lanes:
            shipper = self.companies[lane.shipper]
            target = shipper.profile["on_time_target"]
            quiet = lane.shipper in self.calm and lane.consignee in self.calm
            lane.on_time = min(0.995, target + (0.03 if quiet else rng.gauss(0.025, 0.015)))
            lane.in_full = rng.uniform(0.99, 0.998) if quiet else rng.uniform(0.982, 0.998)
            lane.damage = rng.uniform(0.001, 0.004) if quiet else rng.uniform(0.002, 0.009)
            lane.margin = _clamp(rng.gauss(0.15, 0.06), -0.05, 0.32)
            lane.trend = rng.uniform(0.0, 0.06) if quiet else _clamp(rng.gauss(0.03, 0.08), -0.2, 0.25)
            # healthy accounts ship on a schedule, and a leaving one cuts back on schedule too (no noise)
            lane.steady = lane.falling or lane.shipper in self.healthy or lane.consignee in self.healthy
            if not quiet and lane.bad_from is None and rng.random() < 0.05:
                lane.on_time = target - rng.uniform(0.06, 0.14)  # a lane that simply runs badly
                lane.damage *= 2.5
            if lane.bad_from is not None:
                lane.damage = 0.03

    def _profiles(self) -> None:
        rng = self.rng
        for company in self.companies:
            if company.is_shipper:
                self._contract(company)
            if company.is_consignee:
                cities = company.profile.pop("site_cities")
                kind = SITE_KINDS.get(company.industry, "Warehouse")
                sites = [f"{kind} {city}" for city in cities]  # the API takes sites as text
                if rng.random() < 0.4:
                    sites.append(f"Cross-dock {rng.choice(company.region.cities)}")
                company.profile["sites"] = list(dict.fromkeys(sites))
                company.profile["receiving_windows"] = rng.choice(RECEIVING_WINDOWS)
                company.profile["delivery_requirements"] = REQUIREMENTS.get(company.industry)

    def _contract(self, company: _Company) -> None:
        rng = self.rng
        term = rng.choice((1, 2, 2, 3))
        start = company.acquired_on + dt.timedelta(days=rng.randint(0, 60))
        end = (
            start.replace(year=start.year + term)
            if not (start.month == 2 and start.day == 29)
            else start + dt.timedelta(days=365 * term)
        )
        while end <= self.today:
            start, end = end, end + dt.timedelta(days=365 * term)
        if company.index in self.no_renewal or company.index in self.renewing:
            end = self.today + dt.timedelta(days=rng.randint(20, 85))
        elif company.index in self.healthy or company.index in self.troubled["falling_volume"]:
            while end < self.today + dt.timedelta(days=200):
                end += dt.timedelta(days=365)
        start = min(start, end - dt.timedelta(days=180))
        own = [lane for lane in self.lanes if lane.shipper == company.index]
        services = sorted({lane.service.value for lane in own})
        services += rng.sample(EXTRA_SERVICES, rng.randint(0, 2))
        company.profile.update(
            contract_start=start,
            contract_end=end - dt.timedelta(days=1),
            services=services,
            contracted_annual_value=round(
                sum(lane.monthly * 12 * lane.price for lane in own) * rng.uniform(0.85, 1.15), -3
            ),
        )

    # ----------------------------------------------------------------------------------------- people

    def _people(self) -> None:
        rng = self.rng
        for company in self.companies:
            template = {
                "shipper": SHIPPER_DEPARTMENTS,
                "consignee": CONSIGNEE_DEPARTMENTS,
                "distributor": DISTRIBUTOR_DEPARTMENTS,
            }[company.role]
            low, high = DEPARTMENTS_PER_TIER[company.tier]
            chosen = list(template[: rng.randint(low, high)])
            if company.index in self.furious and all(
                name != self.furious[company.index] for name, *_ in chosen
            ):
                chosen.append(next(d for d in template if d[0] == self.furious[company.index]))
            big = company.tier in (Tier.VIP, Tier.KEY)
            for name, weight, decides in chosen:
                if name == "store operations" and company.industry != "retail":
                    name = "production planning" if company.industry != "FMCG" else "sales"
                    decides = "never"
                dept = {
                    "company": company.index,
                    "name": name,
                    "decision_weight": round(weight * rng.uniform(0.8, 1.2) * 2) / 2,
                    "is_decision_maker": decides == "always" or (decides == "big" and big),
                    "contacts": [],
                }
                self.departments.append(dept)
                for n in range(rng.randint(1, 3 if company.tier == Tier.VIP else 2)):
                    self._contact(company, len(self.departments) - 1, n)

    def _contact(self, company: _Company, department: int, n: int) -> None:
        rng = self.rng
        dept = self.departments[department]
        if company.region.style == "cn":
            (family, family_en), (given, given_en) = rng.choice(CN_FAMILY), rng.choice(CN_GIVEN)
            name, local = f"{family}{given}", f"{_ascii(given_en)}.{_ascii(family_en)}"
        else:
            firsts, lasts = PEOPLE[LANG[company.region.style]]
            first, last = rng.choice(firsts), rng.choice(lasts)
            name, local = f"{first} {last}", f"{_ascii(first)}.{_ascii(last, '')}"
        roles = ROLES.get(
            dept["name"], (f"{dept['name'].title()} Manager", f"{dept['name'].title()} Specialist")
        )
        region = company.region
        if region.style == "us":
            phone = f"{region.phone} 555 01{rng.randint(0, 99):02d}"
        elif region.style == "cn":
            phone = f"{region.phone} {rng.randint(5000, 8999)} {rng.randint(1000, 9999)}"
        else:
            phone = f"{region.phone} {rng.randint(100, 999)} {rng.randint(1000, 9999)}"
        dept["contacts"].append(len(self.contacts))
        self.contacts.append(
            {
                "company": company.index,
                "department": department,
                "name": name,
                "role": roles[min(n, len(roles) - 1)],
                "email": f"{local}@{company.domain}",
                "phone": phone,
            }
        )

    # ---------------------------------------------------------------------------------------- surveys

    def _surveys(self) -> None:
        rng = self.rng
        for number, dept in enumerate(self.departments):
            company = self.companies[dept["company"]]
            i = company.index
            quiet = i in self.calm
            special = None
            if self.furious.get(i) == dept["name"]:
                special = "furious"
            elif i in self.unhappy_consignees and dept["is_decision_maker"]:
                special = "soured"
            # when the department last answered, and how often it does
            per_year = {Tier.VIP: 4, Tier.KEY: 3, Tier.STANDARD: 2}[company.tier] + rng.choice((-1, 0, 0, 1))
            per_year = max(per_year, 2)
            if (
                i in self.silent_dm
                and dept["is_decision_maker"]
                and dept["name"] in ("procurement", "logistics", "warehouse")
                and not any(d.get("silenced") for d in self.departments if d["company"] == i)
            ):
                dept["silenced"] = True
                last = rng.randint(215, 300)
            elif not quiet and not dept["is_decision_maker"] and rng.random() < 0.1:
                if rng.random() < 0.5:
                    continue  # never answered
                last = rng.randint(200, 330)
            elif i in self.healthy:
                last = rng.randint(5, 45)
            elif i in self.newcomers:
                if not dept["is_decision_maker"]:
                    continue
                last = rng.randint(1, (self.today - company.acquired_on).days)
            else:
                last = rng.randint(3, 150)
            if company.churned_on:
                last += (self.today - company.churned_on).days
            days = [last]
            while i not in self.newcomers and days[-1] + 365 / per_year < WINDOW_DAYS:
                days.append(days[-1] + round(365 / per_year * rng.uniform(0.8, 1.2)))
            expectation = EXPECTATION[company.tier] - (0.5 if i in self.healthy else 0)
            offset = rng.gauss(0, 0.35) if not quiet else abs(rng.gauss(0, 0.2))
            for ago in days:
                if ago >= WINDOW_DAYS:
                    break
                if special == "furious":
                    gap, comment_key = -4.0, self.furious[i]
                elif special == "soured" and ago < SOURED_DAYS:
                    gap, comment_key = -2.8, "consignee"
                else:
                    gap, comment_key = company.mood + offset, None
                self._response(company, number, dept, ago, gap, expectation, special, comment_key)

    def _response(self, company, number, dept, ago, gap, expectation, special, comment_key) -> None:
        rng = self.rng
        scores = []
        for dimension, importance in DIMENSIONS.get(dept["name"], DIMENSIONS["logistics"]).items():
            if special == "furious":
                exp_value = rng.choice((6, 7, 7))
                perception = exp_value - rng.choice((3, 4, 4, 5))
            else:
                exp_value = round(_clamp(rng.gauss(expectation, 0.6), 3, 7))
                perception = round(_clamp(exp_value + gap + rng.gauss(0, 0.6), 1, 7))
            scores.append((dimension, float(importance), float(exp_value), float(perception)))
        mean_gap = sum(p - e for _, _, e, p in scores) / len(scores)
        if company.index in self.healthy:
            ltr = rng.choice((9, 10, 10))
        elif special == "furious":
            ltr = rng.randint(0, 3)
        else:
            ltr = round(_clamp(7.2 + 1.6 * mean_gap + rng.gauss(0, 1.0), 0, 10))
        comment = None
        if comment_key:
            comment = rng.choice(COMMENTS[comment_key])
        elif rng.random() < 0.25:
            comment = rng.choice(COMMENTS["good" if mean_gap > 0.3 else "fair" if mean_gap > -0.7 else "bad"])
        at = self.horizon - dt.timedelta(days=ago, hours=rng.randint(6, 15), minutes=rng.randint(0, 59))
        self.surveys.append(
            {
                "company": company.index,
                "department": number,
                "contact": rng.choice(dept["contacts"]) if dept["contacts"] else None,
                "collected_at": at,
                "channel": rng.choice(SURVEY_CHANNELS),
                "scale_min": 1,
                "scale_max": 7,
                "likelihood_to_recommend": ltr,
                "comment": comment,
                "scores": scores,
            }
        )

    # ----------------------------------------------------------------------------------- interactions

    def _interactions(self) -> None:
        rng = self.rng
        overdue = set(self.troubled["contact_overdue"])
        departments: dict[int, list[int]] = defaultdict(list)
        for number, dept in enumerate(self.departments):
            departments[dept["company"]].append(number)
        for company in self.companies:
            i = company.index
            cadence = CADENCE_DAYS[company.tier]
            if i in overdue:
                last = cadence * rng.uniform(3.0, 3.5)
            elif i in self.healthy:
                last = rng.uniform(2, 12)
            elif i in self.newcomers:
                last = rng.uniform(1, (self.today - company.acquired_on).days)
            elif i not in self.calm and company.tier == Tier.STANDARD and rng.random() < 0.02:
                last = cadence * rng.uniform(1.1, 1.6)
            else:
                last = rng.uniform(1, cadence * 0.8)
            if company.churned_on:
                last += (self.today - company.churned_on).days
            ago = last
            first = True
            while ago < WINDOW_DAYS and (first or i not in self.newcomers):
                kind = _weighted(rng, INTERACTION_MIX[company.tier == Tier.VIP].items())
                dept = rng.choice(departments[i])
                user = (
                    f"am{company.owner}"
                    if not company.team or rng.random() < 0.75
                    else rng.choice(company.team)
                )
                at = self.horizon - dt.timedelta(days=ago)
                at = at.replace(
                    hour=rng.randint(8, 16), minute=rng.choice((0, 15, 30, 45)), second=0, microsecond=0
                )
                if at >= self.horizon:
                    at -= dt.timedelta(days=1)
                follow = at.date() + dt.timedelta(days=round(cadence * (0.5 if i in overdue else 0.8)))
                self.interactions.append(
                    {
                        "company": i,
                        "department": dept,
                        "user": user,
                        "kind": kind,
                        "at": at,
                        "summary": INTERACTION_SUMMARIES[kind].format(
                            city=company.city, dept=self.departments[dept]["name"]
                        ),
                        "next_follow_up": follow if first or rng.random() < 0.3 else None,
                    }
                )
                first = False
                ago += cadence * rng.uniform(0.55, 1.0)

    # -------------------------------------------------------------------------------------- shipments

    def _shipments(self) -> None:
        factors = {}
        for asia in (False, True):
            days = []
            for d in range(WINDOW_DAYS):
                day = self.start + dt.timedelta(days=d)
                factor = MONTH_FACTOR[day.month - 1] * WEEKDAY_FACTOR[day.weekday()] * 7 / sum(WEEKDAY_FACTOR)
                if asia and day.month == 2:
                    factor *= CHINESE_NEW_YEAR_FACTOR
                days.append(factor)
            factors[asia] = days
        day_starts = [
            dt.datetime.combine(self.start + dt.timedelta(days=d), dt.time(), tzinfo=dt.UTC)
            for d in range(WINDOW_DAYS)
        ]
        for lane in self.lanes:
            if lane.declared is None:
                self._lane_shipments(lane, factors[lane.asia_origin], day_starts)
        self._overdue_claim_shipments()

    def _lane_shipments(self, lane: _Lane, factors: list[float], day_starts: list[dt.datetime]) -> None:
        rng = random.Random(lane.seed)
        random_ = rng.random  # the hot loop: ~130k shipments
        horizon, out, minutes = self.horizon, self.shipments, _MINUTES
        first = max(0, (lane.started_on - self.start).days)
        last = WINDOW_DAYS if lane.ended_on is None else min(WINDOW_DAYS, (lane.ended_on - self.start).days)
        daily = lane.monthly * 12 / 365
        transit = dt.timedelta(hours=lane.transit_h)
        early = min(12.0, lane.transit_h * 0.2) * 60
        late_low, late_span = lane.late_h[0] * 60, (lane.late_h[1] - lane.late_h[0]) * 60
        price, cost_share = lane.price, 1 - lane.margin
        carry = random_()  # scheduled lanes ship on a rhythm rather than at random
        for day in range(first, last):
            lam = daily * factors[day] * (1 + lane.trend * (day - WINDOW_DAYS) / WINDOW_DAYS)
            if lane.falling:
                to_go = WINDOW_DAYS - day
                if to_go <= 30:
                    lam *= FALL_FACTOR
                elif to_go <= 60:
                    lam *= FALL_FACTOR + (1 - FALL_FACTOR) * (to_go - 30) / 30
            if lane.steady:
                carry += lam
                n = int(carry)
                carry -= n
            else:
                n = _poisson(rng, lam)
            if not n:
                continue
            on_time = lane.bad_on_time if lane.bad_from is not None and day >= lane.bad_from else lane.on_time
            base = day_starts[day]
            for _ in range(n):
                shipped = base + minutes[300 + int(random_() * 900)]  # 05:00–20:00
                promised = shipped + transit
                if random_() < on_time:
                    delivered = promised - minutes[int(random_() * early)]
                else:
                    delivered = promised + minutes[int(late_low + random_() * late_span)]
                revenue = round(price * (0.92 + 0.16 * random_()), 2)
                cost = revenue * cost_share * (0.96 + 0.08 * random_())
                in_full, damaged, claim = True, False, 0.0
                if delivered >= horizon:
                    delivered = None  # still on its way
                else:
                    in_full = random_() < lane.in_full
                    damaged = random_() < lane.damage
                    if damaged and random_() < 0.65:
                        claim = round(revenue * (0.3 + 2.2 * random_()), 2)
                    if delivered > promised:
                        cost *= 1.04
                out.append(
                    (
                        lane.index,
                        shipped,
                        promised,
                        delivered,
                        in_full,
                        damaged,
                        claim,
                        revenue,
                        round(cost, 2),
                    )
                )

    def _overdue_claim_shipments(self) -> None:
        """The shipments behind the overdue claims: damaged on arrival, a big claim."""
        by_lane: dict[int, list[int]] = defaultdict(list)
        for position, row in enumerate(self.shipments):
            by_lane[row[0]].append(position)
        self.overdue_claims = []
        for company, days, amount in zip(
            self.troubled["overdue_claim"], (48, 33), (23_750.0, 8_420.0), strict=True
        ):
            lanes = [lane for lane in self._lanes_of(company) if by_lane[lane.index]]
            lane = max(lanes, key=lambda lane: lane.monthly)
            target = self.horizon - dt.timedelta(days=days + 1)
            position = min(
                (p for p in by_lane[lane.index] if self.shipments[p][3] is not None),
                key=lambda p: abs(self.shipments[p][3] - target),
            )
            row = list(self.shipments[position])
            row[4], row[5], row[6] = False, True, amount
            self.shipments[position] = tuple(row)
            self.overdue_claims.append((company, lane.index, row[3], days, amount))
            self._claimed.add(position)

    # ---------------------------------------------------------------------------------------- tickets

    def _tickets(self) -> None:
        rng = self.rng
        for position, row in enumerate(self.shipments):
            lane_index, _shipped, promised, delivered, _in_full, damaged, claim, _revenue, _cost = row
            if delivered is None or position in self._claimed:
                continue
            lane = self.lanes[lane_index]
            if damaged and claim > 0 and rng.random() < 0.5:
                self._ticket(
                    lane.consignee if rng.random() < 0.6 else lane.shipper,
                    TicketKind.CLAIM,
                    lane=lane,
                    opened=delivered + dt.timedelta(hours=rng.uniform(6, 72)),
                    subject=f"Damaged on arrival: {rng.randint(1, 12)} cartons written off",
                    claim=claim,
                    severity=Severity.HIGH if claim > 5000 else Severity.MEDIUM,
                )
            elif delivered > promised and rng.random() < 0.03:
                self._ticket(
                    lane.consignee if rng.random() < 0.5 else lane.shipper,
                    TicketKind.COMPLAINT,
                    lane=lane,
                    opened=delivered + dt.timedelta(hours=rng.uniform(1, 30)),
                    subject=f"Late delivery {lane.origin} → {lane.destination}",
                    severity=Severity.HIGH if rng.random() < 0.15 else Severity.MEDIUM,
                )
        for company in self.companies:
            if company.index in self.newcomers:
                continue
            for _ in range(_poisson(rng, REQUESTS_PER_YEAR[company.tier])):
                opened = self.horizon - dt.timedelta(days=rng.uniform(0.1, WINDOW_DAYS - 5))
                if company.churned_on and opened.date() >= company.churned_on:
                    continue
                self._ticket(
                    company.index,
                    TicketKind.REQUEST,
                    opened=opened,
                    subject=rng.choice(REQUEST_SUBJECTS),
                    severity=Severity.LOW,
                )
        for company, lane, delivered, days, amount in self.overdue_claims:
            opened = self.horizon - dt.timedelta(days=days, hours=rng.randint(1, 8))
            slow = days < 40  # the younger one has not even been answered
            self.tickets.append(
                {
                    "company": company,
                    "lane": lane,
                    "kind": TicketKind.CLAIM,
                    "severity": Severity.HIGH,
                    "subject": f"Claim: pallets crushed on arrival ({delivered:%d %b}), goods written off",
                    "opened_at": opened,
                    "first_response_at": None if slow else opened + dt.timedelta(days=5),
                    "resolved_at": None,
                    "status": TicketStatus.OPEN if slow else TicketStatus.IN_PROGRESS,
                    "claim_amount": amount,
                }
            )

    def _ticket(
        self,
        company: int,
        kind: TicketKind,
        *,
        opened: dt.datetime,
        subject: str,
        severity: Severity,
        lane: _Lane | None = None,
        claim: float | None = None,
    ) -> None:
        """Record a ticket answered and worked on at the usual pace; only recent ones are still open."""
        rng = self.rng
        horizon = self.horizon
        if opened >= horizon:
            return
        healthy = company in self.healthy
        if healthy and opened > horizon - dt.timedelta(days=7):
            return  # nothing still open on a healthy account
        first = opened + dt.timedelta(hours=rng.uniform(*RESPONSE_HOURS[self.companies[company].tier]))
        resolved = first + dt.timedelta(days=rng.uniform(*RESOLVE_DAYS[kind]))
        if healthy:
            resolved = min(resolved, horizon - dt.timedelta(hours=1))
        if resolved < horizon:
            status = (
                TicketStatus.CLOSED if resolved < horizon - dt.timedelta(days=14) else TicketStatus.RESOLVED
            )
        elif first < horizon:
            status, resolved = TicketStatus.IN_PROGRESS, None
        else:
            status, first, resolved = TicketStatus.OPEN, None, None
        self.tickets.append(
            {
                "company": company,
                "lane": lane.index if lane else None,
                "kind": kind,
                "severity": severity,
                "subject": subject,
                "opened_at": opened,
                "first_response_at": first,
                "resolved_at": resolved,
                "status": status,
                "claim_amount": claim,
            }
        )

    # ---------------------------------------------------------------------------------- opportunities

    def _opportunities(self) -> None:
        rng = self.rng

        def add(company, kind, stage, title, value, close):
            self.opportunities.append(
                {
                    "company": company.index,
                    "kind": kind,
                    "stage": stage,
                    "title": title,
                    "value": round(value, -2),
                    "probability": STAGE_PROBABILITY[stage],
                    "expected_close": close,
                }
            )

        for company in self.companies:
            profile = company.profile
            if company.is_shipper:
                value = profile["contracted_annual_value"]
                end = profile["contract_end"]
                if profile["contract_start"] > company.acquired_on + dt.timedelta(days=90):
                    add(
                        company,
                        OpportunityKind.RENEWAL,
                        OpportunityStage.WON,
                        f"Contract renewal {profile['contract_start'].year}",
                        value * 0.95,
                        profile["contract_start"] - dt.timedelta(days=14),
                    )
                if company.index not in self.no_renewal and end <= self.today + dt.timedelta(days=150):
                    stage = (
                        OpportunityStage.NEGOTIATION
                        if end <= self.today + dt.timedelta(days=60)
                        else OpportunityStage.PROPOSAL
                    )
                    add(
                        company,
                        OpportunityKind.RENEWAL,
                        stage,
                        f"Contract renewal {end.year}",
                        value,
                        max(self.today + dt.timedelta(days=3), end - dt.timedelta(days=10)),
                    )
            chance = 0.35 if company.is_shipper else 0.12 if company.tier != Tier.STANDARD else 0.03
            if company.index in self.healthy and company.is_shipper:
                chance = 1.0
            if company.status == CustomerStatus.ACTIVE and rng.random() < chance:
                kind = rng.choice((OpportunityKind.CROSS_SELL, OpportunityKind.UP_SELL))
                city = rng.choice(company.region.cities)
                titles = CROSS_SELL_TITLES if kind == OpportunityKind.CROSS_SELL else UP_SELL_TITLES
                title = rng.choice(titles).format(city=city)
                stage = rng.choice(tuple(OpportunityStage))
                if company.index in self.healthy:
                    stage = OpportunityStage.PROPOSAL
                close = (
                    self.today + dt.timedelta(days=rng.randint(20, 200))
                    if stage not in (OpportunityStage.WON, OpportunityStage.LOST)
                    else self.today - dt.timedelta(days=rng.randint(10, 300))
                )
                add(company, kind, stage, title, max(company.value, 20_000) * rng.uniform(0.05, 0.3), close)
        for i in self.newcomers:
            company = self.companies[i]
            add(
                company,
                OpportunityKind.NEW,
                OpportunityStage.WON,
                f"New consignee {company.city}",
                sum((lane.declared or 0) * 12 * lane.price for lane in self._lanes_of(i)),
                company.acquired_on,
            )

    def _referrals(self) -> None:
        """Referred companies name an earlier customer: a consignee its shipper, others anyone earlier."""
        rng = self.rng
        for company in self.companies:
            if company.channel != AcquisitionChannel.REFERRAL:
                continue
            earlier = [
                p for p in self.partners[company.index] if self.companies[p].acquired_on < company.acquired_on
            ]
            if not earlier:
                earlier = [
                    c.index for c in self.companies if c.acquired_on < company.acquired_on and c.is_shipper
                ]
            company.referred_by = rng.choice(sorted(earlier)) if earlier else None

    # -------------------------------------------------------------------------------------- the story

    def _describe_troubles(self) -> None:
        """Write one line per troubled account, from the generated data itself."""
        recent, trailing = defaultdict(int), defaultdict(int)
        horizon = self.horizon
        for row in self.shipments:
            age = (horizon - row[1]).days
            if age < 90:
                lane = self.lanes[row[0]]
                for i in (lane.shipper, lane.consignee):
                    trailing[i] += 1
                    if age < 30:
                        recent[i] += 1
        for i in self.troubled["falling_volume"]:
            mean = trailing[i] / 3
            self.notes[i] = (
                f"{recent[i]} shipments in the last 30 days against a monthly mean of {mean:.0f} over 90 days"
            )
        for i, dept in self.furious.items():
            self.notes[i] = f"the {dept} department (deciding) rates us far below its expectations"
        for i in self.troubled["unhappy_consignees"]:
            names = ", ".join(self.companies[c].name for c in self.unhappy_consignees)
            self.notes[i] = f"own departments content, but its main consignees are unhappy: {names}"
        for company, _lane, _delivered, days, amount in self.overdue_claims:
            self.notes[company] = f"claim of {amount:,.2f} open for {days} days"
        for i in self.no_renewal:
            self.notes[i] = (
                f"contract ends {self.companies[i].profile['contract_end']}, no renewal opportunity"
            )
        for i in self.troubled["contact_overdue"]:
            last = max(x["at"] for x in self.interactions if x["company"] == i)
            self.notes[i] = f"{self.companies[i].tier.value}, last contact {(horizon - last).days} days ago"
        for i in self.silent_dm:
            dept = next(d["name"] for d in self.departments if d["company"] == i and d.get("silenced"))
            self.notes[i] = (
                f"the {dept} department (deciding) has not answered for over {SILENT_AFTER_DAYS} days"
            )
        for i in self.troubled["tier_mismatch"]:
            company = self.companies[i]
            self.notes[i] = f"tier {company.tier.value} but expected revenue {company.value:,.0f} a year"


def build_plan(*, seed: int = 7, today: dt.date | None = None) -> DemoPlan:
    """Generate the whole demo in memory; the same seed and day always give the same plan."""
    return _Planner(seed, today or dt.date.today()).build()


# ----------------------------------------------------------------------------------------------- write


# Without render_nulls the ORM splits a batch wherever a column turns None, into thousands of statements.
BULK = {"render_nulls": True}


def _insert_ids(session: Session, model, rows: list[dict]) -> list[int]:
    """Insert rows in bulk and return their ids in row order."""
    if not rows:
        return []
    statement = insert(model).returning(model.id, sort_by_parameter_order=True)
    return list(session.scalars(statement, rows, execution_options=BULK))


def _insert(session: Session, target, rows: list[dict]) -> None:
    """Insert rows in bulk."""
    if rows:
        session.execute(insert(target), rows, execution_options=BULK)


SCORE_COLUMNS = ("response_id", "dimension", "importance", "expectation", "perception")
# Columns copied as they are from the plan's records (references are mapped to ids separately).
DEPARTMENT_COLUMNS = ("name", "decision_weight", "is_decision_maker")
CONTACT_COLUMNS = ("name", "role", "email", "phone")
SURVEY_COLUMNS = ("collected_at", "channel", "scale_min", "scale_max", "likelihood_to_recommend", "comment")
INTERACTION_COLUMNS = ("kind", "at", "summary", "next_follow_up")
TICKET_COLUMNS = ("kind", "severity", "subject", "opened_at", "first_response_at", "resolved_at", "status", "claim_amount")  # fmt: skip
OPPORTUNITY_COLUMNS = ("kind", "stage", "title", "value", "probability", "expected_close")


def _rows(
    items: list[dict], columns: tuple[str, ...], **references: tuple[str, Sequence | dict]
) -> list[dict]:
    """Turn plan records into insert rows: copy `columns`; map each reference (column=(key, ids)) to an id."""
    return [
        {
            **{column: item[column] for column in columns},
            **{
                column: None if item[key] is None else ids[item[key]]
                for column, (key, ids) in references.items()
            },
        }
        for item in items
    ]


def load_demo(session: Session, *, seed: int = 7, today: dt.date | None = None) -> DemoSummary:
    """Fill an empty database with the demo network; the caller commits."""
    started = time.perf_counter()
    plan = build_plan(seed=seed, today=today)
    user_ids, api_keys = {}, {}
    for key, name, email, role in USERS:
        user = users.create_user(session, name=name, email=email, role=role)
        _key, secret = users.create_key(session, user=user, label="demo")
        user_ids[key], api_keys[email] = user.id, secret

    companies = plan.companies
    customer_ids = _insert_ids(
        session,
        Customer,
        [
            {
                "external_ref": f"CUS-{c.index + 1:04d}",
                "name": c.name,
                "normalized_name": normalize_name(c.name),
                "registration_number": c.registration_number,
                "industry": c.industry,
                "region": c.region.name,
                "tier": c.tier,
                "status": c.status,
                "owner_id": user_ids[f"am{c.owner}"],
                "acquisition_channel": c.channel,
                "acquired_on": c.acquired_on,
                "churned_on": c.churned_on,
            }
            for c in companies
        ],
    )
    referred = [
        {"b_id": customer_ids[c.index], "b_ref": customer_ids[c.referred_by]}
        for c in companies
        if c.referred_by is not None
    ]
    if referred:
        table = Customer.__table__
        session.execute(
            table.update().where(table.c.id == bindparam("b_id")).values(referred_by_id=bindparam("b_ref")),
            referred,
        )
    _insert(
        session,
        customer_team,
        [
            {"customer_id": customer_ids[c.index], "user_id": user_ids[member]}
            for c in companies
            for member in c.team
        ],
    )
    _insert(
        session,
        ShipperProfile,
        [
            {
                "customer_id": customer_ids[c.index],
                "contract_start": c.profile["contract_start"],
                "contract_end": c.profile["contract_end"],
                "services": c.profile["services"],
                "contracted_annual_value": c.profile["contracted_annual_value"],
                "on_time_target": c.profile["on_time_target"],
            }
            for c in companies
            if c.is_shipper
        ],
    )
    _insert(
        session,
        ConsigneeProfile,
        [
            {
                "customer_id": customer_ids[c.index],
                "sites": c.profile["sites"],
                "receiving_windows": c.profile["receiving_windows"],
                "delivery_requirements": c.profile["delivery_requirements"],
            }
            for c in companies
            if c.is_consignee
        ],
    )

    link_ids = _insert_ids(
        session,
        Link,
        [
            {
                "external_ref": f"LNK-{number:04d}",
                "shipper_id": customer_ids[lane.shipper],
                "consignee_id": customer_ids[lane.consignee],
                "origin": lane.origin,
                "destination": lane.destination,
                "service_type": lane.service,
                "declared_monthly_volume": lane.declared,
                "started_on": lane.started_on,
                "ended_on": lane.ended_on,
                "status": lane.status,
            }
            for number, lane in enumerate(plan.lanes, 1)
        ],
    )
    bulk_insert(
        session.connection(),
        Shipment.__table__,
        SHIPMENT_FIELDS,
        ((f"SHP-{number:07d}", link_ids[row[0]], *row[1:]) for number, row in enumerate(plan.shipments, 1)),
    )

    department_ids = _insert_ids(
        session,
        Department,
        _rows(plan.departments, DEPARTMENT_COLUMNS, customer_id=("company", customer_ids)),
    )
    contact_ids = _insert_ids(
        session,
        Contact,
        _rows(plan.contacts, CONTACT_COLUMNS, customer_id=("company", customer_ids),
              department_id=("department", department_ids)),
    )  # fmt: skip
    response_ids = _insert_ids(
        session,
        SurveyResponse,
        _rows(plan.surveys, SURVEY_COLUMNS, customer_id=("company", customer_ids),
              department_id=("department", department_ids), contact_id=("contact", contact_ids)),
    )  # fmt: skip
    bulk_insert(
        session.connection(),
        SurveyScore.__table__,
        SCORE_COLUMNS,
        (
            (response_id, dimension.value, importance, expectation, perception)
            for response_id, s in zip(response_ids, plan.surveys, strict=True)
            for dimension, importance, expectation, perception in s["scores"]
        ),
    )
    _insert(
        session,
        Interaction,
        _rows(plan.interactions, INTERACTION_COLUMNS, customer_id=("company", customer_ids),
              department_id=("department", department_ids), user_id=("user", user_ids)),
    )  # fmt: skip
    _insert(
        session,
        Ticket,
        _rows(
            plan.tickets, TICKET_COLUMNS, customer_id=("company", customer_ids), link_id=("lane", link_ids)
        ),
    )
    _insert(
        session,
        Opportunity,
        _rows(plan.opportunities, OPPORTUNITY_COLUMNS, customer_id=("company", customer_ids)),
    )
    session.flush()
    return _summary(plan, customer_ids, api_keys, time.perf_counter() - started)


def _summary(
    plan: DemoPlan, customer_ids: list[int], api_keys: dict[str, str], seconds: float
) -> DemoSummary:
    silent_before = plan.horizon - dt.timedelta(days=SILENT_AFTER_DAYS)
    answered = {s["department"] for s in plan.surveys if s["collected_at"] >= silent_before}
    counts = {
        "users": len(api_keys),
        "customers": len(plan.companies),
        "shippers": sum(c.is_shipper for c in plan.companies),
        "consignees": sum(c.is_consignee for c in plan.companies),
        "dual_role": sum(c.is_shipper and c.is_consignee for c in plan.companies),
        "churned": sum(c.status == CustomerStatus.CHURNED for c in plan.companies),
        "links": len(plan.lanes),
        "declared_only_links": sum(lane.declared is not None for lane in plan.lanes),
        "shipments": len(plan.shipments),
        "departments": len(plan.departments),
        "silent_departments": len(plan.departments) - len(answered),
        "contacts": len(plan.contacts),
        "survey_responses": len(plan.surveys),
        "survey_scores": sum(len(s["scores"]) for s in plan.surveys),
        "interactions": len(plan.interactions),
        "tickets": len(plan.tickets),
        "open_tickets": sum(
            t["status"] in (TicketStatus.OPEN, TicketStatus.IN_PROGRESS) for t in plan.tickets
        ),
        "opportunities": len(plan.opportunities),
    }
    return DemoSummary(
        seed=plan.seed,
        today=plan.today,
        counts=counts,
        troubled={category: [customer_ids[i] for i in ids] for category, ids in plan.troubled.items()},
        healthy_vips=[customer_ids[i] for i in plan.healthy],
        admin_key=api_keys[ADMIN_EMAIL],
        api_keys=api_keys,
        names={customer_ids[c.index]: c.name for c in plan.companies},
        notes={customer_ids[i]: note for i, note in plan.notes.items()},
        seconds=seconds,
    )
