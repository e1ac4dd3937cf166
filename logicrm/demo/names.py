"""Names in each region's style: companies (unique after normalisation), registration numbers, people.

Latin names join a regional prefix, an industry word and a legal suffix; Chinese names are written in
Chinese or, for some, in the English form Chinese companies use abroad.
"""

from __future__ import annotations

import random
import unicodedata

from logicrm.customers.names import normalize_name
from logicrm.demo.plan import Region

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


def ascii_words(text: str, sep: str = "-") -> str:
    """Fold to lowercase ASCII words joined by `sep` (for e-mail addresses and domains)."""
    text = text.replace("ł", "l").replace("Ł", "L").replace("ß", "ss")
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return sep.join("".join(ch if ch.isalnum() else " " for ch in folded).split())


def person_name(rng: random.Random, region: Region) -> tuple[str, str]:
    """Draw a person's name in the region's style, and the local part of their e-mail address."""
    if region.style == "cn":
        (family, family_en), (given, given_en) = rng.choice(CN_FAMILY), rng.choice(CN_GIVEN)
        return f"{family}{given}", f"{ascii_words(given_en)}.{ascii_words(family_en)}"
    firsts, lasts = PEOPLE[LANG[region.style]]
    first, last = rng.choice(firsts), rng.choice(lasts)
    return f"{first} {last}", f"{ascii_words(first)}.{ascii_words(last, '')}"


class CompanyNamer:
    """Draws company names and registration numbers, none of them given twice."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self._names: set[str] = set()  # normalised, as the duplicate check compares them
        self._cn_pairs: set[tuple[str, str]] = set()  # (city, core): one Pengda per city
        self._registrations: set[str] = set()

    def company(self, region: Region, city: str, industry: str, role: str) -> tuple[str, str]:
        """Draw a company name unique after normalisation, and an e-mail domain for it."""
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
                domain = f"{ascii_words(core_en)}-{ascii_words(ind_en.split()[0])}.example.cn"
            else:
                lang = LANG[region.style]
                prefix = rng.choice(PREFIXES[region.style])
                word = rng.choice(WORDS[industry][lang])
                if role == "distributor":
                    word = f"{word} {DISTRIBUTOR_WORD[lang]}"
                if attempt > 100:  # crowded: name the branch after its city
                    word = f"{word} {city}"
                name = f"{prefix} {word} {rng.choice(SUFFIXES[region.style])}"
                domain = f"{ascii_words(f'{prefix} {word}')}.example"
            key = normalize_name(name)
            if key not in self._names:
                self._names.add(key)
                if region.style == "cn":
                    self._cn_pairs.add((city, core_cn))
                return name, domain
        raise RuntimeError(f"no free company name in {region.name} / {industry}")

    def registration(self, region: Region, city: str) -> str:
        """Draw a registration number in the region's format (Chinese USCC, HRB, KvK, KRS, SIREN, CRN, EIN)."""
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
