"""Reading and writing CSV as spreadsheets and other systems produce it.

Reading takes bytes (UTF-8, with or without a byte-order mark), finds the delimiter from the header
line (comma, semicolon or tab) and the line ends (\\n, \\r\\n, or a lone \\r as old Mac programs write),
and yields each record with the physical line it starts on, so an error can point at the line a user
sees in an editor. A quote that does not close where CSV says it must refuses the file, naming the
line: read leniently, it would swallow the lines after it into one cell.

Writing makes every file safe to open in any spreadsheet, whatever separator its locale uses: a cell
holding a separator of any locale is quoted, and every place a spreadsheet could start a cell at
(the cell's start, and after each separator, quote or line break in it) that begins like a formula
gets an apostrophe. Reading takes the apostrophes off again (`unescape_formula`), so a written
file re-imports to the same data.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterable, Iterator
from typing import BinaryIO

DELIMITERS = (",", ";", "\t")
# A cell starting with one of these is run as a formula by Excel, LibreOffice and Google Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ESCAPE = "'"
# Where a spreadsheet splits a line into cells, in some locale: after these a new cell may start.
SPLITTERS = ',;\t|"\r\n'
_AT_CELL_START = rf"(?:^|(?<=[{re.escape(SPLITTERS)}]))"
_RISKY = "=+\\-@\t\r'"  # a formula start, or the escape itself (so that unescaping is exact)
_ESCAPE_POINTS = re.compile(rf"{_AT_CELL_START}(?=[{_RISKY}])")
_ESCAPES = re.compile(rf"{_AT_CELL_START}{ESCAPE}(?=[{_RISKY}])")
# A number (as an import reads it) is no formula, even with a sign.
_NUMBER = re.compile(r"[ \t]*[+-]?[\d_.,]*\d[\d_.,]*(?:[eE][+-]?\d+)?[ \t]*")
_NEEDS_QUOTES = re.compile(f"[{re.escape(SPLITTERS)}]")
_FORMULA_AFTER_JOIN = re.compile(f"\x00[{_RISKY}]")

HEADER_MAX_BYTES = 64 * 1024
CHUNK_BYTES = 64 * 1024


class FileError(ValueError):
    """The file as a whole cannot be read (encoding, header, quotes): no row is looked at."""


def escape_formula(text: str, *, keep_numbers: bool = False) -> str:
    """Put an apostrophe before each place a spreadsheet could start a cell with a formula.

    With `keep_numbers`, a number (-1,5) stays as it is, to be read as a number: right for a cell
    after the first of a line, where only a spreadsheet splitting on the file's own delimiter starts
    a cell. Elsewhere a spreadsheet of another locale may read it together with the cells after it.
    """
    if keep_numbers and _NUMBER.fullmatch(text):
        return text
    return _ESCAPE_POINTS.sub(ESCAPE, text)


def unescape_formula(text: str) -> str:
    """Undo escape_formula."""
    return _ESCAPES.sub("", text) if ESCAPE in text else text


class CsvReader:
    """Stream the records of a CSV file; `bytes_read` follows the reading for progress."""

    def __init__(self, stream: BinaryIO):
        self._stream = stream
        raw = stream.readline(HEADER_MAX_BYTES)
        if not raw:
            raise FileError("the file is empty: expected a header line naming the columns")
        lone_cr = raw.find(b"\r")
        if lone_cr != -1 and raw[lone_cr + 1 : lone_cr + 2] != b"\n":
            # Lines end in a lone \r: the first readline() took more than the header.
            raw, rest = raw[: lone_cr + 1], raw[lone_cr + 1 :]
            self._lines: Iterator[bytes] = _universal_lines(rest, stream)
        elif not raw.endswith(b"\n") and len(raw) == HEADER_MAX_BYTES:
            raise FileError(f"line 1: the header line is longer than {HEADER_MAX_BYTES:,} bytes")
        else:
            self._lines = iter(stream)  # the fast path: lines split by the file object, in C
        self._counted = len(raw)  # bytes read, for streams that cannot tell their position
        header_line = _decode(raw.removeprefix(codecs.BOM_UTF8), 1)
        self.delimiter = max(DELIMITERS, key=header_line.count)
        try:
            header = next(csv.reader([header_line], delimiter=self.delimiter, strict=True), [])
        except csv.Error as error:
            raise FileError(f"line 1 (the header): {error}") from None
        self.header = [name.strip() for name in header]
        if not _tells(stream):
            self._lines = self._counting(self._lines)

    @property
    def bytes_read(self) -> int:
        return self._stream.tell() if _tells(self._stream) else self._counted

    def _counting(self, lines: Iterator[bytes]) -> Iterator[bytes]:
        for raw in lines:
            self._counted += len(raw)
            yield raw

    def records(self) -> Iterator[tuple[int, list[str]]]:
        """Yield (line the record starts on, cells) for each non-blank record after the header."""
        # Decoding line by line in C keeps reading fast; a line that is not UTF-8 is then the one after
        # the last the csv reader counted (line_num counts the lines after the header).
        reader = csv.reader(map(bytes.decode, self._lines), delimiter=self.delimiter, strict=True)
        start = 2
        try:
            for cells in reader:
                line, start = start, reader.line_num + 2
                if cells and (cells[0][:1] > " " or any(cell.strip() for cell in cells)):
                    yield line, cells
        except csv.Error as error:
            raise FileError(_csv_problem(str(error), start, reader.line_num + 1)) from None
        except UnicodeDecodeError as error:
            _decode(error.object, reader.line_num + 2)


def _universal_lines(pending: bytes, stream: BinaryIO) -> Iterator[bytes]:
    """Yield the lines of the rest of `stream` after `pending`, ended by \\r, \\n or \\r\\n."""
    while chunk := stream.read(CHUNK_BYTES):
        lines = (pending + chunk).splitlines(keepends=True)
        pending = lines.pop()  # unfinished, or a \r the next chunk may follow with \n
        yield from lines
    yield from pending.splitlines(keepends=True)


def _csv_problem(error: str, start: int, line: int) -> str:
    """Say what the csv module found wrong, naming the line where the record (and its quote) began."""
    if error == "unexpected end of data":
        return (
            f'line {start}: a quoted cell starting here is never closed (no closing "); '
            "it would take in every line after it"
        )
    if error.endswith("expected after '\"'"):
        if line > start:
            return (
                f"line {start}: a quoted cell starting here is not closed where expected "
                f'(line {line} has a " followed by other text); check the quotes on line {start}'
            )
        return f'line {start}: text after the closing " of a quoted cell (a " inside a quoted cell is written "")'
    if error.startswith("field larger than field limit") and line > start:
        return (
            f"line {start}: a cell starting here grows past {csv.field_size_limit():,} characters by "
            f'line {line}; most likely its closing " is missing'
        )
    if error.startswith("new-line character seen in unquoted field"):
        return f"line {line}: a line break (\\r) inside an unquoted cell; use one kind of line end"
    return f"line {line}: {error}"


def _decode(raw: bytes, line: int) -> str:
    try:
        return raw.decode()
    except UnicodeDecodeError as error:
        raise FileError(
            f"line {line}: not UTF-8 (byte 0x{raw[error.start]:02x} at position {error.start + 1}); "
            "save the file as UTF-8 (in Excel: CSV UTF-8)"
        ) from None


def _tells(stream) -> bool:
    seekable = getattr(stream, "seekable", None)
    return bool(seekable and seekable())


def write_rows(header: Iterable[str], rows: Iterable[Iterable[str]]) -> Iterator[str]:
    """Yield CSV text a chunk at a time: the header, then rows of cells formatted as text.

    Every CSV LogiCRM writes goes through here, so every file is safe in a spreadsheet (module doc).
    """
    lines = [_line(header)]
    for number, row in enumerate(rows, 1):
        lines.append(_line(row))
        if number % 1000 == 0:
            yield "".join(lines)
            lines.clear()
    yield "".join(lines)


def _line(cells: Iterable[str]) -> str:
    cells = list(cells)
    joined = "\x00" + "\x00".join(cells)
    if _NEEDS_QUOTES.search(joined) is None and _FORMULA_AFTER_JOIN.search(joined) is None:
        return ",".join(cells) + "\r\n"  # the usual row (refs, numbers, dates): nothing to do
    return ",".join([_cell(cell, first=index == 0) for index, cell in enumerate(cells)]) + "\r\n"


def _cell(text: str, *, first: bool) -> str:
    text = escape_formula(text, keep_numbers=not first)
    if _NEEDS_QUOTES.search(text):
        return '"' + text.replace('"', '""') + '"'
    return text
