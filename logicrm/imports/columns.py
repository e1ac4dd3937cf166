"""Column types of import and export files: how a cell is read, checked and written back.

Reading a cell turns text into a value or raises ValueError with the reason a user reads next to the
line and column; writing formats a value so that reading it again gives the same value (an export
re-imports to the same data). Files are read a column of a batch at a time: the filled cells of a
column are read in one go (a million-row file has ten million cells), and only a column with an
unreadable cell is read again cell by cell to say which.
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

from logicrm.imports.csvfile import ESCAPE, escape_formula, unescape_formula

LIST_SEPARATOR = "|"
TRUE = frozenset({"true", "yes", "y", "1", "是"})
FALSE = frozenset({"false", "no", "n", "0", "否"})
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Formats:
    """How the file writes dates: ISO 8601 always, and optionally a local format such as %d.%m.%Y."""

    date_format: str | None = None
    timezone: dt.tzinfo = dt.UTC  # naive timestamps are wall-clock times here

    @classmethod
    def of(cls, *, date_format: str | None, timezone: str) -> Formats:
        return cls(date_format or None, dt.UTC if timezone == "UTC" else ZoneInfo(timezone))


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
            text = cell.strip() if strip else cell
            if text[:1] == "'":
                text = unescape_formula(text)
            if len(text) > limit:
                raise ValueError(f"longer than {limit} characters ({len(text)})")
            return text

        return parse

    def column_parser(self, formats: Formats) -> ColumnParser:
        parse, limit, strip = self.parser(formats), self.max_length, self.strip
        escaped = operator.methodcaller("startswith", ESCAPE)

        def parse_all(cells: Sequence[str]) -> list[str]:
            texts = list(map(str.strip, cells)) if strip else list(cells)
            if any(map(escaped, texts)):
                return list(map(parse, cells))
            if texts and max(map(len, texts)) > limit:
                raise ValueError("a cell too long")
            return texts

        return parse_all

    def format(self, value) -> str:
        return escape_formula(value)


def ref(max_length: int = 64) -> Text:
    """An external_ref or a reference to one: surrounding spaces are never meant."""
    text = Text(max_length, strip=True)
    text.doc = f"external_ref, at most {max_length} characters"
    return text


class Integer(Type):
    def __init__(self, low: int | None = None, high: int | None = None):
        self.low, self.high = low, high
        self.doc = "whole number" + _bounds_doc(low, high)

    def parser(self, formats: Formats) -> Parser:
        low, high = self.low, self.high

        def parse(cell: str) -> int:
            try:
                value = int(cell.strip())
            except ValueError:
                raise ValueError(f"{cell!r} is not a whole number") from None
            _check_bounds(value, low, high)
            return value

        return parse


class Number(Type):
    """A decimal number; a decimal comma (1,5) is read too. `places` rounds as the database stores it."""

    def __init__(self, low: float | None = None, high: float | None = None, *, places: int | None = None):
        self.low, self.high, self.places = low, high, places
        self.doc = "number" + _bounds_doc(low, high) + (f", {places} decimals" if places is not None else "")

    def parser(self, formats: Formats) -> Parser:
        low, high, places = self.low, self.high, self.places

        def parse(cell: str) -> float:
            try:
                value = float(cell)  # surrounding spaces are fine for float()
            except ValueError:
                text = cell.strip()
                if text.count(",") != 1 or "." in text:
                    raise ValueError(f"{cell!r} is not a number") from None
                try:
                    value = float(text.replace(",", "."))
                except ValueError:
                    raise ValueError(f"{cell!r} is not a number") from None
            if not math.isfinite(value):
                raise ValueError(f"{cell!r} is not a finite number")
            if places is not None:
                value = round(value, places)
            _check_bounds(value, low, high)
            return value

        return parse

    def column_parser(self, formats: Formats) -> ColumnParser:
        low, high, places = self.low, self.high, self.places

        def parse_all(cells: Sequence[str]) -> list[float]:
            values = list(map(float, cells))  # a decimal comma raises: read cell by cell
            array = np.array(values)
            if not (
                np.isfinite(array).all()
                and (low is None or (array >= low).all())
                and (high is None or (array <= high).all())
            ):
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


def money() -> Number:
    return Number(0, places=2)


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
        local_formats = [f"{local} %H:%M:%S", f"{local} %H:%M", local] if local else []
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

    def format(self, value) -> str:
        return escape_formula(value)


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
        return LIST_SEPARATOR.join(escape_formula(item) for item in value)


def _bounds_doc(low, high) -> str:
    if low is not None and high is not None:
        return f" from {low:g} to {high:g}"
    if low is not None:
        return f", at least {low:g}"
    return f", at most {high:g}" if high is not None else ""


def _check_bounds(value, low, high) -> None:
    if low is not None and value < low:
        raise ValueError(f"{value:g} is below the minimum {low:g}")
    if high is not None and value > high:
        raise ValueError(f"{value:g} is above the maximum {high:g}")


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

        An empty (or blank) cell is the default; a required column reports it.
        """
        parse, parse_all = self.type.parser(formats), self.type.column_parser(formats)
        required, default = self.required, self.default

        def read(cells: Sequence[str]) -> tuple[list, dict[int, str]]:
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
                if cell and not cell.isspace():
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
