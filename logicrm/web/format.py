"""How figures read on the pages: localised numbers, percentages, money and dates, and risk bands in words.

Every figure the pages show goes through one of these filters, so rounding is the same everywhere:
probabilities and shares as percentages (one decimal below 10 %, whole above), satisfaction and loyalty
on 0–100 (whole points), money in whole units of the account currency, volumes with one decimal.
"""

from __future__ import annotations

import datetime as dt
import functools

from babel.numbers import NumberPattern, parse_pattern
from flask import Flask, current_app
from flask_babel import format_date, format_datetime, get_locale, lazy_gettext
from markupsafe import Markup, escape

from logicrm.health.rule_params import RuleParams

MISSING = "–"
# Risk bands, named in words wherever a colour shows them: "high" is where the risk_high alert fires,
# "medium" from half of that.
BANDS = ("low", "medium", "high")
BAND_LABELS = {"low": lazy_gettext("low"), "medium": lazy_gettext("medium"), "high": lazy_gettext("high")}
BAND_SYMBOLS = {"low": "▽", "medium": "◆", "high": "▲"}


def risk_band(risk: float | None, rules: RuleParams | None = None) -> str | None:
    """Name the band of a probability of churn: high from the risk_high alert threshold, medium from half."""
    if risk is None:
        return None
    rules = rules or current_app.config["LOGICRM_RULES"]
    if risk >= rules.risk_high:
        return "high"
    return "medium" if risk >= rules.risk_high / 2 else "low"


def band_edges(rules: RuleParams) -> dict[str, tuple[float, float]]:
    """Return each band's [low, high) range of probability."""
    return {
        "low": (0.0, rules.risk_high / 2),
        "medium": (rules.risk_high / 2, rules.risk_high),
        "high": (rules.risk_high, 1.0),
    }


@functools.lru_cache(maxsize=32)
def _pattern(pattern: str) -> NumberPattern:
    return parse_pattern(pattern)


def _format(value: float, pattern: str) -> str:
    """Format a number with a Babel pattern in the reader's locale (the pattern parsed once, not per call:
    a page shows hundreds of figures)."""
    return _pattern(pattern).apply(value, get_locale())


def percent(share: float | None) -> str:
    """A probability or share (0–1) as a percentage: 23 %, 4.5 %."""
    if share is None:
        return MISSING
    return _format(share, "#,##0.#%" if abs(share) < 0.1 else "#,##0%")


def points(change: float | None) -> str:
    """A change of a probability (−1…1) in percentage points, signed: +12.5 pp."""
    if change is None:
        return MISSING
    return f"{'+' if change > 0 else ''}{_format(100 * change, '#,##0.#')} pp"


def score(value: float | None) -> str:
    """A 0–100 score (satisfaction, loyalty) in whole points."""
    return MISSING if value is None else _format(value, "#,##0")


def money(amount: float | None) -> str:
    """An amount of the account currency in whole units."""
    return MISSING if amount is None else _format(amount, "#,##0")


def number(value: float | None, digits: int = 0) -> str:
    """A count or volume, with `digits` decimals at most."""
    if value is None:
        return MISSING
    if isinstance(value, int) and -1000 < value < 1000:
        return str(value)  # the same in every language the pages speak, and a page holds hundreds
    return _format(value, "#,##0" + ("." + "#" * digits if digits else ""))


def sparkline(values: list[float], label: str) -> Markup:
    """A small line of a series (oldest first) as inline SVG; `label` says what it is for screen readers,
    and the values follow it in words."""
    width, height, top = 120, 24, max(values, default=0) or 1
    step = width / max(len(values) - 1, 1)
    points = " ".join(
        f"{i * step:.1f},{height - 2 - (height - 4) * v / top:.1f}" for i, v in enumerate(values)
    )
    spoken = f"{label}: {', '.join(number(v) for v in values)}"
    return Markup(
        f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(spoken)}"><title>{escape(spoken)}</title>'
        f'<polyline points="{points}" fill="none" stroke="currentColor" stroke-width="1.5"/></svg>'
    )


def when(value: dt.datetime | None) -> str:
    """A moment, in the display time zone and the reader's language."""
    return MISSING if value is None else format_datetime(value, "medium")


def day(value: dt.date | dt.datetime | None) -> str:
    """A day (of a timestamp: in the display time zone), in the reader's language."""
    return MISSING if value is None else format_date(value, "medium")


def month(value: dt.date | None) -> str:
    """A month, in the reader's language."""
    return MISSING if value is None else format_date(value, "MMM y")


FILTERS = {
    "percent": percent,
    "points": points,
    "score": score,
    "money": money,
    "number": number,
    "when": when,
    "day": day,
    "month": month,
    "risk_band": risk_band,
    "sparkline": sparkline,
}


def register(app: Flask) -> None:
    """Make the filters and band names available to every template."""
    app.jinja_env.filters.update(FILTERS)
    app.jinja_env.globals.update(BAND_LABELS=BAND_LABELS, BAND_SYMBOLS=BAND_SYMBOLS, get_locale=get_locale)
