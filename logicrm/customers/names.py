"""Company-name normalisation for duplicate detection and search (Latin and CJK names)."""

from __future__ import annotations

import re
import unicodedata

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
    folded = normalize_name(query) or unicodedata.normalize("NFKC", query).casefold().strip()
    escaped = folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
