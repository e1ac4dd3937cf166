"""Reading and writing CSV as spreadsheets and other systems produce it.

Reading takes bytes (UTF-8, with or without a byte-order mark), finds the delimiter from the header
line (comma, semicolon or tab) and yields each record with the physical line it starts on, so an
error can point at the line a user sees in an editor. Text cells a spreadsheet would execute are
escaped on export with a leading apostrophe, and the apostrophe is taken off again on import.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Iterator
from typing import BinaryIO

DELIMITERS = (",", ";", "\t")
# A cell starting with one of these is run as a formula by Excel, LibreOffice and Google Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ESCAPE = "'"


class FileError(ValueError):
    """The file as a whole cannot be read (encoding, header): no row is looked at."""


def escape_formula(text: str) -> str:
    """Prefix a text cell that a spreadsheet would execute (or that starts with the escape itself)."""
    if text and (text[0] in FORMULA_STARTS or text[0] == ESCAPE):
        return ESCAPE + text
    return text


def unescape_formula(text: str) -> str:
    """Undo escape_formula."""
    if len(text) > 1 and text[0] == ESCAPE and (text[1] in FORMULA_STARTS or text[1] == ESCAPE):
        return text[1:]
    return text


class CsvReader:
    """Stream the records of a CSV file; `bytes_read` and `line` follow the reading for progress."""

    def __init__(self, stream: BinaryIO):
        self._stream = stream
        self.bytes_read = 0
        self.line = 0
        first = self._decoded_lines()
        try:
            header_line = next(first)
        except StopIteration:
            raise FileError("the file is empty: expected a header line naming the columns") from None
        self.delimiter = max(DELIMITERS, key=header_line.count)
        header = next(csv.reader([header_line], delimiter=self.delimiter), [])
        self.header = [name.strip() for name in header]
        self._lines = first

    def _decoded_lines(self) -> Iterator[str]:
        for number, raw in enumerate(self._stream, 1):
            self.bytes_read += len(raw)
            self.line = number
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            try:
                yield raw.decode()
            except UnicodeDecodeError as error:
                raise FileError(
                    f"line {number}: not UTF-8 (byte 0x{raw[error.start]:02x} at position {error.start + 1}); "
                    "save the file as UTF-8 (in Excel: CSV UTF-8)"
                ) from None

    def records(self) -> Iterator[tuple[int, list[str]]]:
        """Yield (line the record starts on, cells) for each non-blank record after the header."""
        reader = csv.reader(self._lines, delimiter=self.delimiter)
        start = 2
        try:
            for cells in reader:
                line, start = start, self.line + 1
                if cells and any(cell.strip() for cell in cells):
                    yield line, cells
        except csv.Error as error:
            raise FileError(f"line {self.line}: {error}") from None


def write_rows(header: Iterable[str], rows: Iterable[Iterable[str]]) -> Iterator[str]:
    """Yield CSV text a chunk at a time: the header, then rows of already formatted cells."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for number, row in enumerate(rows, 1):
        writer.writerow(row)
        if number % 1000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
