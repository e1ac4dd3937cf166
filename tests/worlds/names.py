"""Names and texts for the records of a world: plausible, seeded, and carrying no information."""

from __future__ import annotations

import numpy as np

INDUSTRIES = ("food", "electronics", "automotive", "chemicals", "retail", "pharma", "machinery", "textiles",
              "furniture", "grocery retail")  # fmt: skip
REGIONS = {
    "Germany": ("Hamburg", "Berlin", "Munich", "Cologne", "Leipzig"),
    "Poland": ("Gdańsk", "Poznań", "Warsaw", "Wrocław"),
    "Netherlands": ("Rotterdam", "Venlo", "Utrecht"),
    "France": ("Lyon", "Lille", "Paris"),
    "Czechia": ("Prague", "Brno"),
    "China East": ("上海", "杭州", "宁波"),
    "China South": ("深圳", "广州"),
}
SUFFIX = {
    "Germany": "GmbH",
    "Poland": "Sp. z o.o.",
    "Netherlands": "B.V.",
    "France": "SAS",
    "Czechia": "s.r.o.",
}
STEMS = ("Nord", "Alpen", "Baltic", "Rhein", "Elbe", "Vistula", "Delta", "Aurora", "Kestrel", "Meridian",
         "Orion", "Polar", "Sol", "Terra", "Vega", "Zenit", "Atlas", "Borea", "Castor", "Danube", "Helio",
         "Iris", "Juno", "Lumen", "Nova", "Opal", "Pax", "Quadra", "Riva", "Sigma")  # fmt: skip
TAILS = ("wind", "mark", "land", "tech", "line", "port", "gate", "field", "point", "stone", "bridge", "well")
CHINESE_STEMS = ("华兴", "鲜达", "东方", "金桥", "长江", "新元", "恒通", "瑞丰", "海联", "天成")
CHINESE_TRADES = {"food": "食品", "electronics": "电子", "automotive": "汽车配件", "chemicals": "化工",
                  "retail": "商贸", "pharma": "医药", "machinery": "机械", "textiles": "纺织",
                  "furniture": "家具", "grocery retail": "超市"}  # fmt: skip
FIRST = ("Anna", "Jonas", "Katrin", "Piotr", "Marta", "Luc", "Sophie", "Jan", "Eva", "Tomasz", "Lea",
         "Mathieu", "Pieter", "Sanne", "Karel", "Jana")  # fmt: skip
LAST = ("Vogel", "Albers", "Nowak", "Kowalski", "Dubois", "Martin", "de Vries", "Jansen", "Novák",
        "Svoboda", "Schmidt", "Wiśniewska", "Bakker", "Leroy")  # fmt: skip
CHINESE_PEOPLE = ("王伟", "李娜", "张敏", "刘洋", "陈静", "杨帆", "赵磊", "周婷")
ROLES = {"logistics": "Head of Logistics", "procurement": "Category Buyer Transport", "finance": "Controller",
         "warehouse": "Warehouse Manager", "quality": "Quality Manager", "sales": "Sales Director",
         "customer service": "Customer Service Lead", "store operations": "Store Operations Manager"}  # fmt: skip
SURVEY_CHANNELS = ("visit", "call", "email", "web", "quarterly review")
INTERACTION_KINDS = (("visit", 0.3), ("call", 0.35), ("email", 0.15), ("meeting", 0.1), ("review", 0.1))
SUMMARIES = {
    "visit": ("Site visit: walked the dock with the team", "Visit: discussed peak-season capacity",
              "On-site visit; reviewed loading times"),
    "call": ("Call about next month's volumes", "Call: follow-up on a late delivery", "Check-in call"),
    "email": ("Sent the updated rate card", "Shared the monthly KPI report", "Answered questions on the invoice"),
    "meeting": ("Meeting on the tender timeline", "Meeting: new lane proposal", "Joint planning meeting"),
    "review": ("Quarterly business review", "Annual review of service levels", "KPI review with the team"),
}  # fmt: skip
COMMENTS = {
    -1: ("Deliveries slipped again this quarter", "Too many damaged pallets", "Slow answers from customer service"),
    0: ("As agreed", "Fine overall", ""),
    1: ("Reliable and responsive", "Very happy with the team", "Good flexibility at peak"),
}  # fmt: skip
SUBJECTS = {
    "complaint": ("Late delivery", "Missed delivery window", "Driver arrived without booking",
                  "Incomplete delivery", "Paperwork missing"),
    "claim": ("Damaged goods", "Pallet damaged in transit", "Shortage on delivery"),
    "request": ("Change of delivery address", "Extra pick-up requested", "Copy of proof of delivery",
                "Quote for an additional lane"),
}  # fmt: skip


def company(rng: np.random.Generator, industry: str, region: str) -> str:
    if region.startswith("China"):
        city = "上海" if region == "China East" else "深圳"
        return f"{city}{rng.choice(CHINESE_STEMS)}{CHINESE_TRADES[industry]}有限公司"
    return f"{rng.choice(STEMS)}{rng.choice(TAILS)} {industry.title()} {SUFFIX[region]}"


def people(rng: np.random.Generator, regions: list[str]) -> list[str]:
    """A person's name for each region."""
    first, last = rng.integers(0, len(FIRST), len(regions)), rng.integers(0, len(LAST), len(regions))
    chinese = rng.integers(0, len(CHINESE_PEOPLE), len(regions))
    return [CHINESE_PEOPLE[c] if region.startswith("China") else f"{FIRST[f]} {LAST[g]}"
            for region, f, g, c in zip(regions, first, last, chinese, strict=True)]  # fmt: skip


def role(department: str) -> str:
    return ROLES.get(department, "Manager")


def email(person_name: str, account_ref: str, serial: int) -> str:
    local = "".join(ch for ch in person_name.lower() if ch.isascii() and ch.isalnum()) or "contact"
    return f"{local}.{serial}@{account_ref.lower()}.example"


def survey_comments(rng: np.random.Generator, levels: np.ndarray) -> list[str]:
    """A comment matching the tone of each latent satisfaction level."""
    picks = rng.integers(0, 3, len(levels))
    return [COMMENTS[int(np.sign(round(level)))][pick] for level, pick in zip(levels, picks, strict=True)]


def interaction_summaries(rng: np.random.Generator, kinds: list[str]) -> list[str]:
    picks = rng.integers(0, 3, len(kinds))
    return [SUMMARIES[kind][pick] for kind, pick in zip(kinds, picks, strict=True)]


def ticket_subjects(rng: np.random.Generator, kinds, lane_refs: list[str | None]) -> list[str]:
    picks = rng.random(len(lane_refs))
    subjects = [
        SUBJECTS[str(kind)][int(pick * len(SUBJECTS[str(kind)]))]
        for kind, pick in zip(kinds, picks, strict=True)
    ]
    return [
        f"{subject} on {ref}" if ref else subject for subject, ref in zip(subjects, lane_refs, strict=True)
    ]
