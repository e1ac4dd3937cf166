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
    """Stream the records of a CSV file; `bytes_read` follows the reading for progress."""

    def __init__(self, stream: BinaryIO):
        self._stream = stream
        self._lines = iter(stream)
        raw = next(self._lines, b"")
        if not raw:
            raise FileError("the file is empty: expected a header line naming the columns")
        self._counted = 0  # bytes read, for streams that cannot tell their position
        header_line = _decode(raw.removeprefix(codecs.BOM_UTF8), 1)
        self.delimiter = max(DELIMITERS, key=header_line.count)
        header = next(csv.reader([header_line], delimiter=self.delimiter), [])
        self.header = [name.strip() for name in header]
        if not _tells(stream):
            self._lines = self._counting(self._lines)
            self._counted = len(raw)

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
        reader = csv.reader(map(bytes.decode, self._lines), delimiter=self.delimiter)
        start = 2
        try:
            for cells in reader:
                line, start = start, reader.line_num + 2
                if cells and (cells[0][:1] > " " or any(cell.strip() for cell in cells)):
                    yield line, cells
        except csv.Error as error:
            raise FileError(f"line {reader.line_num + 1}: {error}") from None
        except UnicodeDecodeError as error:
            _decode(error.object, reader.line_num + 2)


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
