"""Column types of import and export files: how a cell is read, checked and written back.

Reading a cell turns text into a value or raises ValueError with the reason a user reads next to the
line and column; writing formats a value so that reading it again gives the same value (an export
re-imports to the same data). Numbers are held to the bounds of logicrm.bounds, the ones the API
holds them to, so a file is refused exactly where the API would refuse the same value. Files are
read a column of a batch at a time: the filled cells of a column are read in one go (a million-row
file has ten million cells), and only a column with an unreadable cell is read again cell by cell
to say which.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from logicrm import bounds
from logicrm.bounds import Bound
from logicrm.imports.csvfile import ESCAPE, unescape_formula

LIST_SEPARATOR = "|"
TRUE = frozenset({"true", "yes", "y", "1", "是"})
FALSE = frozenset({"false", "no", "n", "0", "否"})
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
NUL = "\x00"
# A date and time no date format may confuse: every field differs from the others.
_SAMPLE_MOMENT = dt.datetime(2026, 3, 31, 14, 5, 9)


@dataclass(frozen=True)
class Formats:
    """How the file writes dates: ISO 8601 always, and optionally a local format such as %d.%m.%Y."""

    date_format: str | None = None
    timezone: dt.tzinfo = dt.UTC  # naive timestamps are wall-clock times here

    @classmethod
    def of(cls, *, date_format: str | None, timezone: str) -> Formats:
        """Formats of a date format (see check_date_format) and a time zone name (KeyError: unknown)."""
        return cls(date_format or None, dt.UTC if timezone == "UTC" else ZoneInfo(timezone))

    def local_timestamp_formats(self) -> list[str]:
        """The local date format followed by a time, or alone (midnight)."""
        local = self.date_format
        return [f"{local} %H:%M:%S", f"{local} %H:%M", local] if local else []


def check_date_format(date_format: str) -> None:
    """Raise ValueError unless `date_format` writes a date, and a date with a time, that read back."""
    with_seconds, with_minutes, _alone = Formats(date_format).local_timestamp_formats()
    moment = _SAMPLE_MOMENT
    checks = (
        (date_format, moment.replace(hour=0, minute=0, second=0)),
        (with_seconds, moment),
        (with_minutes, moment.replace(second=0)),
    )
    for pattern, written in checks:
        try:
            text = written.strftime(pattern)
            read = dt.datetime.strptime(text, pattern)
        except re.error:  # a field given twice
            raise ValueError(
                "it names a field twice (a timestamp is the date followed by %H:%M:%S or %H:%M)"
            ) from None
        except ValueError as problem:
            raise ValueError(f"not a date format: {problem}") from None
        if read != written:
            raise ValueError(
                f"it does not read back a whole date: {written:%Y-%m-%d %H:%M:%S} written with it "
                f"({text!r}) reads back as {read}; give the day, month and year, e.g. %d.%m.%Y"
            )


Parser = Callable[[str], Any]
ColumnParser = Callable[[Sequence[str]], list]


class Type:
    """A column type: `parser(formats)` reads a non-empty cell, `format(value)` writes one.

    `column_parser(formats)` reads many non-empty cells at once, and raises ValueError when any of them
    is unreadable (each is then read alone); types override it where a whole column is read faster.
    """

    doc = ""

    def parser(self, formats: Formats) -> Parser:
        raise NotImplementedError

    def column_parser(self, formats: Formats) -> ColumnParser:
        parse = self.parser(formats)
        return lambda cells: list(map(parse, cells))

    def format(self, value) -> str:
        return str(value)


class Text(Type):
    def __init__(self, max_length: int, *, strip: bool = False):
        self.max_length, self.strip = max_length, strip
        self.doc = f"text, at most {max_length} characters"

    def parser(self, formats: Formats) -> Parser:
        limit, strip = self.max_length, self.strip

        def parse(cell: str) -> str:
            text = unescape_formula(cell.strip() if strip else cell)
            if len(text) > limit:
                raise ValueError(f"longer than {limit} characters ({len(text)})")
            return text

        return parse

    def column_parser(self, formats: Formats) -> ColumnParser:
        parse, limit, strip = self.parser(formats), self.max_length, self.strip

        def parse_all(cells: Sequence[str]) -> list[str]:
            texts = list(map(str.strip, cells)) if strip else list(cells)
            if ESCAPE in "".join(texts):  # (checked in C) an apostrophe may be an escape to undo
                return list(map(parse, cells))
            if texts and max(map(len, texts)) > limit:
                raise ValueError("a cell too long")
            return texts

        return parse_all


def ref(max_length: int = 64) -> Text:
    """An external_ref or a reference to one: surrounding spaces are never meant."""
    text = Text(max_length, strip=True)
    text.doc = f"external_ref, at most {max_length} characters"
    return text


class Integer(Type):
    """A whole number; one written with decimals is read when they are zero (7.0), refused otherwise."""

    def __init__(self, bound: Bound | None = None):
        self.bound = bound
        self.doc = "whole number" + _bound_doc(bound)

    def parser(self, formats: Formats) -> Parser:
        bound = self.bound

        def parse(cell: str) -> int:
            try:
                value = int(cell)  # surrounding spaces are fine for int()
            except ValueError:
                try:
                    number = _read_number(cell)
                except ValueError:
                    number = math.nan
                if not number.is_integer():
                    raise ValueError(f"{cell!r} is not a whole number") from None
                value = int(number)
            _check_bound(value, bound)
            return value

        return parse


class Number(Type):
    """A decimal number; a decimal comma (1,5) is read too. `places` rounds as the database stores it."""

    def __init__(self, bound: Bound | None = None, *, places: int | None = None):
        self.bound, self.places = bound, places
        self.doc = "number" + _bound_doc(bound) + (f", {places} decimals" if places is not None else "")

    def parser(self, formats: Formats) -> Parser:
        bound, places = self.bound, self.places

        def parse(cell: str) -> float:
            value = _read_number(cell)
            if places is not None:
                value = round(value, places)
            _check_bound(value, bound)
            return value

        return parse

    def column_parser(self, formats: Formats) -> ColumnParser:
        bound, places = self.bound, self.places

        def parse_all(cells: Sequence[str]) -> list[float]:
            values = list(map(float, cells))  # a decimal comma raises: read cell by cell
            array = np.array(values)
            if not (np.isfinite(array).all() and (bound is None or _within(array, bound))):
                raise ValueError("a cell out of range")
            if places is not None:
                # round() only where it changes something: a value numpy leaves as it is, round()
                # leaves too, and the rest keep round()'s exact decimal rounding.
                for index in np.flatnonzero(np.round(array, places) != array).tolist():
                    values[index] = round(values[index], places)
            return values

        return parse_all

    def format(self, value) -> str:
        return f"{value:.{self.places}f}" if self.places is not None else repr(float(value))


def _read_number(cell: str) -> float:
    try:
        value = float(cell)  # surrounding spaces are fine for float()
    except ValueError:
        text = unescape_formula(cell).strip()  # a line's first cell is written escaped: '-1
        if text.count(",") == 1 and "." not in text:
            text = text.replace(",", ".")  # a decimal comma
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"{cell!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{cell!r} is not a finite number")
    return value


def _within(array: np.ndarray, bound: Bound) -> bool:
    above_low = array >= bound.low if bound.low_inclusive else array > bound.low
    return bool(above_low.all() and (array <= bound.high).all())


def money() -> Number:
    return Number(bounds.MONEY, places=2)


class Boolean(Type):
    doc = "true/false (also yes/no, 1/0, 是/否)"
    spellings = {
        spelling: value
        for words, value in ((TRUE, True), (FALSE, False))
        for word in words
        for spelling in (word, word.upper(), word.title())
    }

    def parser(self, formats: Formats) -> Parser:
        def parse(cell: str) -> bool:
            text = cell.strip().lower()
            if text in TRUE:
                return True
            if text in FALSE:
                return False
            raise ValueError(f"{cell!r} is not true or false")

        return parse

    def column_parser(self, formats: Formats) -> ColumnParser:
        spellings = self.spellings

        def parse_all(cells: Sequence[str]) -> list[bool]:
            try:
                return list(map(spellings.__getitem__, cells))
            except KeyError:
                raise ValueError("an unusual spelling") from None

        return parse_all

    def format(self, value) -> str:
        return "true" if value else "false"


class Choice(Type):
    def __init__(self, enum_cls: type[enum.StrEnum]):
        self.values = {member.value: member for member in enum_cls}
        self.doc = "one of " + ", ".join(self.values)

    def parser(self, formats: Formats) -> Parser:
        values = self.values

        def parse(cell: str):
            member = values.get(cell.strip().lower())
            if member is None:
                raise ValueError(f"{cell!r} is not one of {', '.join(values)}")
            return member

        return parse

    def format(self, value) -> str:
        return value.value if isinstance(value, enum.Enum) else str(value)


class Date(Type):
    doc = "date, ISO 8601 (2026-03-31) or the configured local format"

    def parser(self, formats: Formats) -> Parser:
        local = formats.date_format

        def parse(cell: str) -> dt.date:
            text = cell.strip()
            try:
                return dt.date.fromisoformat(text)
            except ValueError:
                pass
            if local:
                try:
                    return dt.datetime.strptime(text, local).date()
                except ValueError:
                    pass
            raise ValueError(f"{cell!r} is not a date (YYYY-MM-DD{' or ' + local if local else ''})")

        return parse

    def format(self, value) -> str:
        return value.isoformat()


class DateTime(Type):
    doc = (
        "timestamp, ISO 8601 (2026-03-31T14:05:00+08:00); without an offset it is read in the import "
        "time zone; a date alone means midnight"
    )

    def parser(self, formats: Formats) -> Parser:
        local = formats.date_format
        local_formats = formats.local_timestamp_formats()
        in_utc = self._in_utc(formats)

        def read(text: str) -> dt.datetime:
            try:
                return dt.datetime.fromisoformat(text)
            except ValueError:
                pass
            for pattern in local_formats:
                try:
                    return dt.datetime.strptime(text, pattern)
                except ValueError:
                    continue
            raise ValueError(f"{text!r} is not a timestamp (ISO 8601{' or ' + local if local else ''})")

        return lambda cell: in_utc(read(cell.strip()))

    def column_parser(self, formats: Formats) -> ColumnParser:
        in_utc, read = self._in_utc(formats), dt.datetime.fromisoformat
        in_utc_already = operator.methodcaller("endswith", ("Z", "+00:00"))

        def parse_all(cells: Sequence[str]) -> list[dt.datetime]:
            values = list(map(read, cells))
            if all(map(in_utc_already, cells)):  # Z or +00:00 (checked in C): nothing to convert
                return values
            return [value if value.tzinfo is dt.UTC else in_utc(value) for value in values]

        return parse_all

    @staticmethod
    def _in_utc(formats: Formats) -> Callable[[dt.datetime], dt.datetime]:
        zone = formats.timezone

        def in_utc(value: dt.datetime) -> dt.datetime:
            if value.tzinfo is None:
                value = value.replace(tzinfo=zone)
            try:
                return value if value.tzinfo is dt.UTC else value.astimezone(dt.UTC)
            except OverflowError:
                raise ValueError(f"{value.isoformat()} is out of range in UTC") from None

        return in_utc

    def format(self, value) -> str:
        return value.astimezone(dt.UTC).isoformat()


class Email(Type):
    doc = "email address"

    def parser(self, formats: Formats) -> Parser:
        def parse(cell: str) -> str:
            text = unescape_formula(cell.strip())
            if len(text) > 254 or not EMAIL.match(text):
                raise ValueError(f"{cell!r} is not an email address")
            return text

        return parse


class Listing(Type):
    """Several texts in one cell, separated by |."""

    def __init__(self, max_length: int):
        self.item = Text(max_length, strip=True)
        self.doc = f"list separated by {LIST_SEPARATOR}, each item at most {max_length} characters"

    def parser(self, formats: Formats) -> Parser:
        item = self.item.parser(formats)

        def parse(cell: str) -> list[str]:
            return [item(part) for part in cell.split(LIST_SEPARATOR) if part.strip()]

        return parse

    def format(self, value) -> str:
        return LIST_SEPARATOR.join(value)


def _bound_doc(bound: Bound | None) -> str:
    if bound is None:
        return ""
    low, high = _figure(bound.low), _figure(bound.high)
    span = f"from {low} to {high}" if bound.low_inclusive else f"greater than {low}, at most {high}"
    return f" {span} {bound.unit}".rstrip()


def _figure(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


def _check_bound(value: float, bound: Bound | None) -> None:
    if bound is None:
        return
    if value < bound.low or (value == bound.low and not bound.low_inclusive):
        if bound.low_inclusive:
            raise ValueError(f"{value:g} is below the minimum {_figure(bound.low)}")
        raise ValueError(f"{value:g} is not greater than {_figure(bound.low)}")
    if value > bound.high:
        raise ValueError(f"{value:g} is above the maximum {_figure(bound.high)}")


@dataclass(frozen=True)
class Column:
    """One column of a kind's file. An empty cell is `default`; a column left out of the file leaves
    existing records' values as they are (and gives new records `default`)."""

    name: str
    type: Type
    required: bool = False
    default: Any = None
    doc: str = ""

    def format(self, value) -> str:
        return "" if value is None else self.type.format(value)

    def reader(self, formats: Formats) -> Callable[[Sequence[str]], tuple[list, dict[int, str]]]:
        """Return a function reading a column's cells: (values, {position: reason} for unreadable cells).

        An empty (or blank) cell is the default; a required column reports it. A cell holding a NUL
        character is refused in every column: no database text holds it (PostgreSQL refuses it).
        """
        parse, parse_all = self.type.parser(formats), self.type.column_parser(formats)
        required, default = self.required, self.default

        def read(cells: Sequence[str]) -> tuple[list, dict[int, str]]:
            if NUL in "".join(cells):  # (checked in C)
                return one_by_one(cells)
            if "" not in cells and not any(map(str.isspace, cells)):  # no blank cell (checked in C)
                try:
                    return parse_all(cells), {}
                except ValueError:
                    return one_by_one(cells)
            filled = [position for position, cell in enumerate(cells) if cell and not cell.isspace()]
            try:
                parsed = parse_all([cells[position] for position in filled])
            except ValueError:
                return one_by_one(cells)
            values = [default] * len(cells)
            for position, value in zip(filled, parsed, strict=True):
                values[position] = value
            if not required:
                return values, {}
            filled_set = set(filled)
            return values, {p: "required" for p in range(len(cells)) if p not in filled_set}

        def one_by_one(cells: Sequence[str]) -> tuple[list, dict[int, str]]:
            values, errors = [], {}
            for position, cell in enumerate(cells):
                if NUL in cell:
                    errors[position] = "holds a NUL character (\\x00), which no text may hold"
                elif cell and not cell.isspace():
                    try:
                        values.append(parse(cell))
                        continue
                    except ValueError as error:
                        errors[position] = str(error)
                elif required:
                    errors[position] = "required"
                values.append(default)
            return values, errors

        return read
