"""Company names compared: normalisation for search and exact duplicates (Latin and CJK names), match
names and blocking keys for fuzzy duplicates (transliteration-aware), registration numbers as compared."""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata

from rapidfuzz import fuzz

# Longest first so "股份有限公司" is removed before "有限公司".
CJK_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "株式会社", "公司")
LATIN_SUFFIXES = frozenset(
    {
        "co",
        "company",
        "corp",
        "corporation",
        "inc",
        "incorporated",
        "ltd",
        "limited",
        "llc",
        "llp",
        "lp",
        "plc",
        "gmbh",
        "ag",
        "kg",
        "ohg",
        "mbh",
        "sa",
        "sas",
        "sarl",
        "srl",
        "spa",
        "bv",
        "nv",
        "ab",
        "as",
        "oy",
        "kk",
        "pte",
        "pty",
        "sdn",
        "bhd",
        "sp",
        "zoo",
    }
)
_PUNCTUATION = re.compile(r"[\W_]+", re.UNICODE)
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
# A gap next to a CJK character: "上海·华联" and "上海华联" are the same name.
_CJK_GAP = re.compile(f" (?=[{_CJK}])|(?<=[{_CJK}]) ")


# A name is normalised and tokenised several times as it is checked and written (the duplicate check, the
# derived columns, the blocking keys): the last names' results are kept.
NAMES_CACHED = 16_384


@functools.lru_cache(maxsize=NAMES_CACHED)
def normalize_name(name: str) -> str:
    """Fold width and case, drop punctuation and legal suffixes: '上海ＡＢＣ物流有限公司' → '上海abc物流'."""
    text = unicodedata.normalize("NFKC", name).casefold()
    text = text.replace("&", " and ")
    for suffix in CJK_SUFFIXES:
        text = text.replace(suffix, " ")
    words = [word for word in _PUNCTUATION.split(text) if word]
    stripped = False
    # "& Co. KG" goes whole: an "and" is dropped only when a legal suffix followed it.
    while len(words) > 1 and (words[-1] in LATIN_SUFFIXES or (stripped and words[-1] == "and")):
        words.pop()
        stripped = True
    # CJK names carry no spaces; Latin words keep one so 'ab c' and 'abc' stay distinct.
    return _CJK_GAP.sub("", " ".join(words))


def search_pattern(query: str) -> str:
    """Return a LIKE pattern matching the normalised form of `query` anywhere in a normalised name."""
    return like_pattern(normalize_name(query) or unicodedata.normalize("NFKC", query).casefold().strip())


def like_pattern(text: str) -> str:
    """Return a LIKE pattern (escape character backslash) matching `text` anywhere."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# Chinese business words and their usual English in company names, longest first where one contains
# another, so '杭州鲜达超市' and 'Hangzhou Xianda Supermarket' transliterate to the same words. Place names
# and brand names are transliterated (pinyin) instead.
GLOSSARY = {
    "供应链管理": "supply chain management", "汽车零部件": "auto parts", "生物制药": "biopharma",
    "电子科技": "electronics technology", "精密机械": "precision machinery", "塑料制品": "plastic products",
    "进出口": "import export", "供应链": "supply chain", "汽车配件": "auto components",
    "食品": "foods", "饮料": "beverages", "超市": "supermarket", "商贸": "trading", "百货": "department store",
    "电子": "electronics", "医药": "pharmaceutical", "化工": "chemical", "服装": "garment", "服饰": "apparel",
    "纺织": "textile", "机械": "machinery", "贸易": "trading", "物流": "logistics", "科技": "technology",
    "国际": "international", "集团": "group", "实业": "industrial", "工业": "industrial", "运输": "transport",
    "货运": "freight", "仓储": "warehousing", "制造": "manufacturing", "控股": "holdings", "投资": "investment",
    "包装": "packaging", "家具": "furniture", "电器": "appliances", "钢铁": "steel", "能源": "energy",
    "零售": "retail", "连锁": "chain", "技术": "technology", "汽车": "automotive",
}  # fmt: skip
_GLOSSARY_WORDS = sorted(GLOSSARY, key=len, reverse=True)
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_RUN = re.compile(f"([{_HAN}]+)")
_WORD = re.compile(r"[a-z0-9]+")
_NUMBERS = re.compile(r"\d+")
# A name scoring at least this against an existing customer's (names.similarity) is a probable duplicate.
SIMILAR_AT = 0.9
# Words of fewer letters say little about which company is meant ("co", "de", "of"): not blocking keys.
KEY_MIN_LENGTH = 3
KEY_LENGTH = 6


@functools.lru_cache(maxsize=NAMES_CACHED)
def _tokens(name: str) -> tuple[tuple[str, bool], ...]:
    """The name as lowercase ASCII words, each flagged when it is one pinyin syllable of a Chinese run."""
    text = normalize_name(name)
    for word in _GLOSSARY_WORDS:
        if word in text:
            text = text.replace(word, f" {GLOSSARY[word]} ")
    tokens: list[tuple[str, bool]] = []
    for part in _HAN_RUN.split(text):
        if not part:
            continue
        if _HAN_RUN.fullmatch(part):
            tokens.extend((syllable, True) for syllable in _pinyin(part))
        else:
            tokens.extend((_stem(word), False) for word in _WORD.findall(_ascii(part).lower()))
    return tuple(tokens)


@functools.lru_cache(maxsize=65_536)
def _pinyin(run: str) -> tuple[str, ...]:
    """Mandarin readings of a run of Chinese characters, as a phrase (重庆 → chong qing, not zhong qing)."""
    from pypinyin import lazy_pinyin  # its dictionaries take 0.3 s to load: only when a name needs them

    return tuple(
        syllable.lower() for syllable in lazy_pinyin(run) if syllable.isascii() and syllable.isalnum()
    )


def _ascii(text: str) -> str:
    """Latin letters for any other script (Müller → Muller, Сибирь → Sibir', 日立 in kana → romaji)."""
    if text.isascii():
        return text
    from anyascii import anyascii

    return anyascii(text)


def _stem(word: str) -> str:
    """Drop a plural s ('Foods', '食品' → foods): the English of a Chinese name is singular or plural at will."""
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def match_name(name: str) -> str:
    """The name for fuzzy matching: normalised, Chinese business words in English, other characters in
    Latin letters (pinyin for Chinese), plurals singular: '杭州鲜达超市有限公司' and 'Hangzhou Xianda
    Supermarket Co., Ltd.' both give 'hang zhou xian da supermarket' / 'hangzhou xianda supermarket'."""
    return " ".join(token for token, _syllable in _tokens(name))


@functools.lru_cache(maxsize=NAMES_CACHED)  # checked, locked and indexed: three times a name written
def name_keys(name: str) -> frozenset[str]:
    """Blocking keys of a name: the first letters of each word, and of each pair of neighbouring pinyin
    syllables (a Chinese name has no spaces: 杭州鲜达 gives hangzh, zhouxi, xianda, which its English
    form 'Hangzhou Xianda' shares). Names sharing no key are never compared."""
    tokens = _tokens(name)
    keys = {word[:KEY_LENGTH] for word, syllable in tokens if not syllable and len(word) >= KEY_MIN_LENGTH}
    keys.discard("")
    for (first, first_syllable), (second, second_syllable) in itertools.pairwise(tokens):
        if first_syllable and second_syllable:
            keys.add((first + second)[:KEY_LENGTH])
    single = [word for word, syllable in tokens if syllable]
    if len(single) == 1 and len(single[0]) >= KEY_MIN_LENGTH:
        keys.add(single[0][:KEY_LENGTH])
    return frozenset(key for key in keys if not key.isdigit())


def similarity(a: str, b: str) -> float:
    """Score two match names from 0 to 1 by edit distance: the better of the names with spaces removed
    (Indel similarity, so a typo or a pinyin spacing costs little) and their words in sorted order
    (word order ignored). Names carrying different numbers ('Depot 1', 'Depot 2') score 0."""
    if sorted(_NUMBERS.findall(a)) != sorted(_NUMBERS.findall(b)):
        return 0.0
    compact = fuzz.ratio(a.replace(" ", ""), b.replace(" ", ""))
    return max(compact, fuzz.token_sort_ratio(a, b)) / 100.0


_REGISTRATION_NOISE = re.compile(r"[\s\-\u2010-\u2015_./]+")


def registration_key(number: str | None) -> str | None:
    """A registration number as compared: width folded, upper case, no spaces, dashes, dots or slashes
    ('CRN 04883888' ≡ 'crn-04883888' ≡ 'CRN04883888')."""
    if number is None:
        return None
    key = _REGISTRATION_NOISE.sub("", unicodedata.normalize("NFKC", number)).upper()
    return key or None
