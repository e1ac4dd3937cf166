"""CSV reading and writing: encodings, delimiters, physical line numbers, formula escaping."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logicrm.imports.csvfile import (
    FORMULA_STARTS,
    CsvReader,
    FileError,
    escape_formula,
    unescape_formula,
    write_rows,
)

# Any text a cell may hold: Chinese, quotes, delimiters, line breaks, formula starts (no NUL, no surrogates).
cell_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30
) | st.sampled_from(
    ["=SUM(A1:A9)", "+86 21 5555", "-1", "@cmd", "'=x", "上海物流", 'a"b', "a,b;c\td", "x\r\ny"]
)


def _read(data: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    reader = CsvReader(io.BytesIO(data))
    return reader.header, list(reader.records())


@given(cell_text)
def test_unescape_undoes_escape(text):
    assert unescape_formula(escape_formula(text)) == text


@given(cell_text)
def test_an_escaped_cell_never_starts_like_a_formula(text):
    assert not escape_formula(text).startswith(FORMULA_STARTS)


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@A1", "'", "'=x", "''"])
def test_formula_like_text_is_escaped_with_an_apostrophe(text):
    assert escape_formula(text) == "'" + text


def test_plain_text_and_a_lone_apostrophe_prefix_are_left_alone():
    assert escape_formula("Hamburg") == "Hamburg"
    assert unescape_formula("'Hamburg") == "'Hamburg"  # not something escape_formula wrote


rows_strategy = st.lists(
    st.lists(cell_text, min_size=3, max_size=3).filter(lambda cells: any(c.strip() for c in cells)),
    max_size=8,
)


@given(rows_strategy)
def test_written_rows_read_back_identical_with_their_physical_lines(rows):
    text = "".join(write_rows(["a", "b", "c"], rows))
    header, records = _read(text.encode())
    assert header == ["a", "b", "c"]
    assert [cells for _line, cells in records] == rows
    # Each record starts on the line after the previous one ended (quoted line breaks count).
    expected, line = [], 2
    for row in rows:
        expected.append(line)
        line += "".join(write_rows(row, [])).count("\n")  # the row written alone, as a header
    assert [line for line, _cells in records] == expected


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["no bom", "bom"])
def test_delimiter_is_found_from_the_header_and_a_bom_is_dropped(delimiter, bom):
    text = delimiter.join(["external_ref", "name", "revenue"]) + "\r\n"
    text += delimiter.join(["C1", "上海物流有限公司", "1,5" if delimiter != "," else "1.5"]) + "\r\n"
    reader = CsvReader(io.BytesIO(bom + text.encode()))
    assert reader.delimiter == delimiter
    assert reader.header == ["external_ref", "name", "revenue"]
    assert list(reader.records()) == [(2, ["C1", "上海物流有限公司", "1,5" if delimiter != "," else "1.5"])]


def test_blank_lines_are_skipped_but_counted():
    _header, records = _read(b'a,b\n\n1,2\n , \n\n3,"x\ny"\n5,6\n')
    assert records == [(3, ["1", "2"]), (6, ["3", "x\ny"]), (8, ["5", "6"])]


def test_an_empty_file_is_refused():
    with pytest.raises(FileError, match="empty"):
        CsvReader(io.BytesIO(b""))


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


class _Unseekable:
    """An upload stream that can only be iterated."""

    def __init__(self, data: bytes):
        self._lines = iter(io.BytesIO(data))

    def __iter__(self):
        return self._lines


@pytest.mark.parametrize("stream", [io.BytesIO, _Unseekable])
def test_bytes_read_follows_the_reading_on_any_stream(stream):
    data = b"a,b\n1,2\n3,4\n"
    reader = CsvReader(stream(data))
    records = reader.records()
    next(records)
    assert reader.bytes_read == len(b"a,b\n1,2\n")
    list(records)
    assert reader.bytes_read == len(data)
