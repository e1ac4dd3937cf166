"""CSV reading and writing: encodings, delimiters, line ends, quotes, physical line numbers, formula escaping."""

from __future__ import annotations

import csv
import io
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logicrm.imports.csvfile import (
    FORMULA_STARTS,
    HEADER_MAX_BYTES,
    SPLITTERS,
    CsvReader,
    FileError,
    escape_formula,
    unescape_formula,
    write_rows,
)

# Any text a cell may hold: Chinese, quotes, separators of every locale, line breaks, formula starts
# anywhere (no NUL, no surrogates).
cell_text = (
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30)
    | st.text(st.sampled_from(list("ab 上海'\"=+-@,;\t|\r\n")), max_size=12)
    | st.sampled_from(
        ["=SUM(A1:A9)", "+86 21 5555", "-1", "-1,5", "@cmd", "'=x", "上海物流", 'a"b', "a,b;c\td", "x\r\ny",
         "Acme;=1+1", "Acme,=HYPERLINK(\"x\")", "a|@SUM(A1)", "a\t-2+3", 'x"=1']
    )
)  # fmt: skip
NUMBER = re.compile(r"\s*[+-]?[\d_.,]*\d[\d_.,]*(?:[eE][+-]?\d+)?\s*")
SEPARATORS = (",", ";", "\t", "|")


def _read(data: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    reader = CsvReader(io.BytesIO(data))
    return reader.header, list(reader.records())


def _starts_a_formula(piece: str) -> bool:
    return piece.startswith(FORMULA_STARTS) and not NUMBER.fullmatch(piece)


@given(cell_text)
def test_unescape_undoes_escape(text):
    assert unescape_formula(escape_formula(text)) == text


@given(cell_text)
def test_no_place_a_spreadsheet_may_start_a_cell_at_starts_a_formula(text):
    """Not the cell's start, and not after any separator, quote or line break in it (where a
    spreadsheet reading with another locale's separator starts a cell)."""
    escaped = escape_formula(text)
    starts = [0, *(index + 1 for index, char in enumerate(escaped) if char in SPLITTERS)]
    assert not any(escaped[start:].startswith(FORMULA_STARTS) for start in starts), escaped


@pytest.mark.parametrize("text", ["=1+1", "+1", "@A1", "'", "'=x", "''", "-1+1", "-", "+", "\tx", "-1"])
def test_formula_like_text_is_escaped_with_an_apostrophe(text):
    assert escape_formula(text) == "'" + text


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("Acme;=1+1", "Acme;'=1+1"),
        ("Acme,=HYPERLINK(1)", "Acme,'=HYPERLINK(1)"),
        ("ftl|@SUM(A1)", "ftl|'@SUM(A1)"),
        ("a\t-2+3", "a\t'-2+3"),
        ('5" =x', '5" =x'),
        ('said "=x"', 'said "\'=x"'),
        ("line\n=1", "line\n'=1"),
        ("x;'y", "x;''y"),
    ],
)
def test_a_formula_after_a_separator_quote_or_line_break_is_escaped(text, escaped):
    assert escape_formula(text) == escaped
    assert unescape_formula(escaped) == text


@pytest.mark.parametrize("number", ["-1", "-1.5", "+2", "-1,5", "-1e-05", " -3 ", "0.00"])
def test_numbers_after_a_lines_first_cell_are_written_as_they_are(number):
    assert escape_formula(number, keep_numbers=True) == number
    [_header, row] = csv.reader(io.StringIO("".join(write_rows(["a", "b"], [[number, number]]))))
    assert row == [escape_formula(number), number]


def test_plain_text_and_a_lone_apostrophe_prefix_are_left_alone():
    assert escape_formula("Hamburg") == "Hamburg"
    assert escape_formula("O'Brien; Rock 'n' Roll") == "O'Brien; Rock 'n' Roll"
    assert unescape_formula("'Hamburg") == "'Hamburg"  # not something escape_formula wrote


rows_strategy = st.lists(
    st.lists(cell_text, min_size=3, max_size=3).filter(lambda cells: any(c.strip() for c in cells)),
    max_size=8,
)


@given(rows_strategy)
def test_written_rows_read_back_as_written_with_their_physical_lines(rows):
    text = "".join(write_rows(["a", "b", "c"], rows))
    header, records = _read(text.encode())
    assert header == ["a", "b", "c"]
    assert [[unescape_formula(cell) for cell in cells] for _line, cells in records] == rows
    # Each record starts on the line after the previous one ended (quoted line breaks count).
    expected, line = [], 2
    for row in rows:
        expected.append(line)
        line += "".join(write_rows(row, [])).count("\n")  # the row written alone, as a header
    assert [line for line, _cells in records] == expected


@given(rows_strategy)
def test_a_written_cell_holding_any_separator_is_quoted_and_no_split_runs_a_formula(rows):
    """A spreadsheet in any locale either keeps each cell whole or, splitting the lines on its own
    separator, finds no piece that starts like a formula."""
    text = "".join(write_rows(["a", "b", "c"], rows))
    for row in rows:
        for cell in row:
            written = "".join(write_rows([cell], [])).removesuffix("\r\n")
            if any(separator in cell for separator in SEPARATORS):
                assert written.startswith('"') and written.endswith('"'), written
    for line in re.split("\r\n|\r|\n", text):  # a line's first cell: never a formula, not even -1
        assert not line.lstrip('"').startswith(FORMULA_STARTS), line
    for separator in SEPARATORS:  # cells after a separator: no formula (a number is no formula)
        for piece in re.split(f"[{re.escape(separator)}\r\n]", text):
            assert not _starts_a_formula(piece.lstrip('"')), (separator, piece)


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["no bom", "bom"])
def test_delimiter_is_found_from_the_header_and_a_bom_is_dropped(delimiter, bom):
    text = delimiter.join(["external_ref", "name", "revenue"]) + "\r\n"
    text += delimiter.join(["C1", "上海物流有限公司", "1,5" if delimiter != "," else "1.5"]) + "\r\n"
    reader = CsvReader(io.BytesIO(bom + text.encode()))
    assert reader.delimiter == delimiter
    assert reader.header == ["external_ref", "name", "revenue"]
    assert list(reader.records()) == [(2, ["C1", "上海物流有限公司", "1,5" if delimiter != "," else "1.5"])]


plain_rows = st.lists(
    st.lists(
        st.text(st.sampled_from(list("ab1 上,;\"'")), min_size=1, max_size=6), min_size=2, max_size=2
    ).filter(
        lambda row: any(cell.strip() for cell in row)  # a blank row is skipped
    ),
    max_size=6,
)


@pytest.mark.parametrize("ending", ["\r\n", "\n", "\r"], ids=["CRLF", "LF", "CR"])
@given(rows=plain_rows, broken=st.sampled_from(["x\ny", "x\r\ny", "x\ry"]))
def test_every_line_end_convention_reads_the_same_records_on_the_same_lines(ending, rows, broken):
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=ending).writerows([["a", "b"], *rows])
    csv.writer(buffer, lineterminator=ending, quoting=csv.QUOTE_ALL).writerow(["last", broken])
    _header, records = _read(buffer.getvalue().encode())
    assert records == [*((line, row) for line, row in enumerate(rows, 2)), (len(rows) + 2, ["last", broken])]


def test_a_file_with_cr_line_ends_is_read_a_chunk_at_a_time():
    rows = [f"R{n},{'x' * 100}" for n in range(2000)]  # 200 kB: more than one chunk, no \n anywhere
    _header, records = _read(("a,b\r" + "\r".join(rows) + "\r").encode())
    assert len(records) == 2000 and records[-1] == (2001, ["R1999", "x" * 100])


def test_blank_lines_are_skipped_but_counted():
    _header, records = _read(b'a,b\n\n1,2\n , \n\n3,"x\ny"\n5,6\n')
    assert records == [(3, ["1", "2"]), (6, ["3", "x\ny"]), (8, ["5", "6"])]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        # a quote never closed would take in the rest of the file
        (b'a,b\n1,2\n3,"Acme\n4,5\n6,7\n', r"^line 3: a quoted cell starting here is never closed"),
        # closed by the next quote, lines later
        (
            b'a,b\n1,"Acme\n2,3\n4,"x",5\n',
            r"^line 2: a quoted cell starting here is not closed where expected \(line 4",
        ),
        (b'a,b\n"Acme" GmbH,1\n', r'^line 2: text after the closing " of a quoted cell'),
        (b"a,b\n1,2\r3,4\n", r"^line 2: a line break \(\\r\) inside an unquoted cell"),
        (b'"a,b\n1,2\n', r"^line 1 \(the header\)"),
    ],
    ids=["never closed", "closed late", "text after quote", "lone CR", "header"],
)
def test_broken_quotes_and_line_ends_refuse_the_file_naming_the_line(data, message):
    with pytest.raises(FileError, match=message):
        _read(data)


def test_an_unclosed_quote_in_a_long_file_names_the_line_it_opened_on():
    data = b'a,b\n1,"x\n' + b"2,y\n" * 100_000
    with pytest.raises(FileError, match=r'^line 2: a cell starting here grows past .* closing " is missing'):
        _read(data)


def test_an_empty_file_is_refused():
    with pytest.raises(FileError, match="empty"):
        CsvReader(io.BytesIO(b""))


def test_a_header_longer_than_any_kind_needs_is_refused_without_reading_on():
    with pytest.raises(FileError, match="line 1: the header line is longer than"):
        CsvReader(io.BytesIO(b"a" * (HEADER_MAX_BYTES + 1)))


def test_a_file_that_is_not_utf8_names_the_line():
    reader = CsvReader(io.BytesIO("a,b\n1,2\nMüller,3\n".encode("latin-1")))
    with pytest.raises(FileError, match=r"line 3: not UTF-8 \(byte 0xfc"):
        list(reader.records())


def test_a_line_that_is_not_utf8_is_named_after_a_record_spanning_lines():
    data = 'a,b\n1,"two\nlines"\n3,4\nMüller,5\n'.encode("latin-1")
    reader = CsvReader(io.BytesIO(data))
    with pytest.raises(FileError, match=r"line 5: not UTF-8"):
        list(reader.records())


def test_a_cell_over_the_csv_field_limit_names_its_line():
    data = f"a,b\n1,2\n3,{'x' * (csv.field_size_limit() + 1)}\n".encode()
    with pytest.raises(FileError, match=r"line 3: field larger than field limit"):
        list(CsvReader(io.BytesIO(data)).records())


@settings(max_examples=300)
@given(
    st.binary(max_size=300)
    | st.text(st.sampled_from(list("a1,;\t\"'\r\n\x00=é上")), max_size=200).map(str.encode)
)
def test_any_bytes_give_records_or_a_file_error(data):
    try:
        reader = CsvReader(io.BytesIO(data))
        records = list(reader.records())
    except FileError:
        return
    assert all(
        isinstance(line, int) and all(isinstance(cell, str) for cell in cells) for line, cells in records
    )


class _Unseekable(io.RawIOBase):
    """An upload stream that can only be read forwards (a pipe, a socket)."""

    def __init__(self, data: bytes):
        self._data = io.BytesIO(data)

    def readable(self):
        return True

    def readinto(self, buffer):
        return self._data.readinto(buffer)


@pytest.mark.parametrize("stream", [io.BytesIO, lambda data: io.BufferedReader(_Unseekable(data))])
@pytest.mark.parametrize("ending", [b"\n", b"\r"], ids=["LF", "CR"])
def test_bytes_read_follows_the_reading_on_any_stream(stream, ending):
    data = b"a,b\n1,2\n3,4\n".replace(b"\n", ending)
    reader = CsvReader(stream(data))
    records = reader.records()
    next(records)
    assert len(b"a,b\n1,2\n") <= reader.bytes_read <= len(data)
    list(records)
    assert reader.bytes_read == len(data)
