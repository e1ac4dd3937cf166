"""Column types: a value written and read again is the same value (an export re-imports to the same data)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from logicrm import bounds
from logicrm.bounds import Bound
from logicrm.consignees.models import ConsigneeProfile
from logicrm.customers.models import Customer, Tier
from logicrm.imports import columns as c
from logicrm.imports.csvfile import _NUMBER as NUMBER
from logicrm.imports.csvfile import FORMULA_STARTS, CsvReader, escape_formula, write_rows
from logicrm.imports.kinds import KINDS
from logicrm.imports.service import _parse, _parsers
from logicrm.relations.models import Department, Dimension
from logicrm.shippers.models import ShipperProfile

FORMATS = c.Formats()
FORMULA_LIKE = ["=SUM(A1:A9)", "+86 21 5555 0101", "-40 °C", "@cmd", "'quoted", "'=already", "=上海"]
chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
# Text with something visible in it (a blank cell is "empty", not a value).
texts = (
    st.text(chars, min_size=1, max_size=40) | st.sampled_from([*FORMULA_LIKE, "上海物流有限公司"])
).filter(lambda t: t.strip())
stripped = texts.map(str.strip).filter(bool)
aware = st.datetimes(
    min_value=dt.datetime(1950, 1, 1),
    max_value=dt.datetime(2100, 1, 1),
    timezones=st.sampled_from(
        [dt.UTC, dt.timezone(dt.timedelta(hours=8)), dt.timezone(dt.timedelta(hours=-5))]
    ),
)


def _strategy(kind: c.Type):
    """Values a column of this type holds, as the database would give them back."""
    if isinstance(kind, c.Text):
        return (stripped if kind.strip else texts).filter(lambda t: len(t) <= kind.max_length)
    if isinstance(kind, c.Listing):
        return st.lists(stripped.filter(lambda t: c.LIST_SEPARATOR not in t), max_size=4)
    bound = getattr(kind, "bound", None) or Bound(-1e9, 1e9, "")
    if isinstance(kind, c.Integer):
        return st.integers(int(bound.low) + (not bound.low_inclusive), int(bound.high))
    if isinstance(kind, c.Number):
        values = st.floats(bound.low, bound.high, allow_nan=False, exclude_min=not bound.low_inclusive)
        return values.map(lambda x: round(x, kind.places) if kind.places is not None else x).filter(
            lambda x: (x >= bound.low if bound.low_inclusive else x > bound.low) and x <= bound.high
        )
    if isinstance(kind, c.Boolean):
        return st.booleans()
    if isinstance(kind, c.Choice):
        return st.sampled_from(list(kind.values.values()))
    if isinstance(kind, c.DateTime):
        return aware.map(lambda value: value.astimezone(dt.UTC))
    if isinstance(kind, c.Date):
        return st.dates(dt.date(1950, 1, 1), dt.date(2100, 1, 1))
    if isinstance(kind, c.Email):
        return st.emails().filter(lambda e: len(e) <= 254)
    raise AssertionError(f"no strategy for {kind!r}")


def _written(kind: c.Type, value) -> str:
    """A value's cell as write_rows writes it (before quoting)."""
    return escape_formula(kind.format(value))


TYPES = {
    "text": c.Text(40),
    "ref": c.ref(),
    "listing": c.Listing(60),
    "integer": c.Integer(bounds.LIKELIHOOD_TO_RECOMMEND),
    "number": c.Number(Bound(0, 1e12, "")),
    "number 0..1": c.Number(bounds.SHARE),
    "number > 0": c.Number(bounds.IMPORTANCE),
    "money": c.money(),
    "boolean": c.Boolean(),
    "choice": c.Choice(Tier),
    "date": c.Date(),
    "datetime": c.DateTime(),
    "email": c.Email(),
}


@pytest.mark.parametrize("name", TYPES)
@settings(max_examples=60)
@given(data=st.data())
def test_parse_of_format_is_the_value(name, data):
    kind = TYPES[name]
    value = data.draw(_strategy(kind))
    assert kind.parser(FORMATS)(_written(kind, value)) == value


# Cells a column reads in one go only when none is blank, or falls back to reading one by one.
AWKWARD_CELLS = ["", " ", "\u3000", "\xa0", " 1 ", "1,5", "-1", "nan", "1e3", "TRUE", "Yes", " 是", "x",
                 "2026-03-31", "2026-03-31 08:00", " 2026-03-31T08:00:00Z", "'=1", "0.125", "1.005"]  # fmt: skip


@pytest.mark.parametrize("name", TYPES)
@settings(max_examples=100)
@given(data=st.data())
def test_a_column_reads_as_its_cells_read_one_by_one(name, data):
    kind = TYPES[name]
    column = c.Column(name, kind, required=data.draw(st.booleans(), label="required"), default="default")
    cell = _strategy(kind).map(lambda value: _written(kind, value))
    if isinstance(kind, c.Number):  # more decimals than a money column keeps
        cell |= st.floats(-1, 1e6, allow_nan=False).map(repr)
    cells = data.draw(st.lists(cell, max_size=12), label="cells")
    for odd in data.draw(st.lists(st.sampled_from(AWKWARD_CELLS) | texts, max_size=2), label="odd cells"):
        cells.insert(data.draw(st.integers(0, len(cells)), label="at"), odd)
    values, errors = column.reader(FORMATS)(tuple(cells))

    parse, expected_values, expected_errors = kind.parser(FORMATS), [], {}
    for position, text in enumerate(cells):
        if not text.strip():
            expected_values.append("default")
            if column.required:
                expected_errors[position] = "required"
            continue
        try:
            expected_values.append(parse(text))
        except ValueError as error:
            expected_errors[position] = str(error)
            expected_values.append("default")
    assert errors == expected_errors
    assert len(values) == len(cells)
    assert [v for p, v in enumerate(values) if p not in errors] == [
        v for p, v in enumerate(expected_values) if p not in errors
    ]


@given(texts)
def test_text_that_a_spreadsheet_would_run_is_written_escaped_and_read_back(text):
    column = c.Text(100)
    written = _written(column, text)
    assert not written.startswith(FORMULA_STARTS) or NUMBER.fullmatch(written)
    assert column.parser(FORMATS)(written) == text


@pytest.mark.parametrize("email", ["-office@example.com", "+info@example.cn", "=1+1@example.com"])
def test_an_email_that_a_spreadsheet_would_run_is_escaped_and_reads_back(email):
    column = c.Email()
    assert column.parser(FORMATS)(email) == email  # a valid address
    written = _written(column, email)
    assert not written.startswith(FORMULA_STARTS), f"{written!r} runs as a formula in a spreadsheet"
    assert column.parser(FORMATS)(written) == email


@pytest.mark.parametrize(
    ("cell", "value"),
    [("1,5", 1.5), ("1234,56", 1234.56), (" 2.25 ", 2.25), ("1e3", 1000.0)],
)
def test_number_reads_decimal_point_and_comma(cell, value):
    assert c.Number().parser(FORMATS)(cell) == value


@pytest.mark.parametrize(
    ("kind", "cell", "reason"),
    [
        (c.Number(), "1.234,5", "is not a number"),
        (c.Number(), "1,2,3", "is not a number"),
        (c.Number(), "nan", "not a finite number"),
        (c.money(), "-1", "below the minimum 0"),
        (c.Number(bounds.SHARE), "1,5", "above the maximum 1"),
        (c.Number(bounds.IMPORTANCE), "0", "not greater than 0"),
        (c.Integer(bounds.LIKELIHOOD_TO_RECOMMEND), "11", "above the maximum 10"),
        (c.Integer(), "1.5", "is not a whole number"),
        (c.Integer(), "3,7", "is not a whole number"),
        (c.Integer(), "1e400", "is not a whole number"),
        (c.Integer(), "nan", "is not a whole number"),
        (c.Boolean(), "maybe", "is not true or false"),
        (c.Choice(Tier), "platinum", "is not one of"),
        (c.Date(), "31.03.2026", "is not a date"),
        (c.DateTime(), "yesterday", "is not a timestamp"),
        (c.Email(), "li.wei@", "is not an email address"),
        (c.Text(3), "abcd", "longer than 3 characters"),
    ],
)
def test_a_bad_cell_raises_valueerror_with_the_reason(kind, cell, reason):
    with pytest.raises(ValueError, match=reason):
        kind.parser(FORMATS)(cell)


@pytest.mark.parametrize("cell", ["true", "YES", "y", "1", "是"])
def test_boolean_reads_the_usual_spellings(cell):
    assert c.Boolean().parser(FORMATS)(cell) is True


def test_local_date_format_is_read_besides_iso():
    formats = c.Formats.of(date_format="%d.%m.%Y", timezone="UTC")
    assert c.Date().parser(formats)("31.03.2026") == dt.date(2026, 3, 31)
    assert c.Date().parser(formats)("2026-03-31") == dt.date(2026, 3, 31)
    assert c.DateTime().parser(formats)("31.03.2026 14:05") == dt.datetime(2026, 3, 31, 14, 5, tzinfo=dt.UTC)


def test_a_naive_timestamp_is_read_in_the_import_time_zone():
    formats = c.Formats.of(date_format=None, timezone="Asia/Shanghai")
    parse = c.DateTime().parser(formats)
    assert parse("2026-03-31T14:05:00") == dt.datetime(2026, 3, 31, 6, 5, tzinfo=dt.UTC)
    assert parse("2026-03-31") == dt.datetime(2026, 3, 30, 16, 0, tzinfo=dt.UTC)  # midnight in Shanghai
    assert parse("2026-03-31T14:05:00+02:00") == dt.datetime(2026, 3, 31, 12, 5, tzinfo=dt.UTC)


@given(aware)
def test_datetime_is_written_in_utc_and_read_as_the_same_instant(value):
    column = c.DateTime()
    written = column.format(value)
    assert written.endswith("+00:00")
    read = column.parser(c.Formats.of(date_format=None, timezone="Asia/Shanghai"))(written)
    assert read == value and read.tzinfo == dt.UTC


def test_listing_drops_empty_items_and_unescapes_each():
    assert c.Listing(60).parser(FORMATS)(" road | '=rail ||sea ") == ["road", "=rail", "sea"]
    listing = c.Listing(60)
    items = ["=rail", "-sea", "'air", "road"]
    assert listing.parser(FORMATS)(_written(listing, items)) == items


@pytest.mark.parametrize("kind_name", KINDS)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_a_formatted_row_of_every_kind_reads_back_through_a_csv_file(kind_name, data):
    """Every column of a kind, formatted, written as CSV, read and parsed: the same values."""
    kind = KINDS[kind_name]
    values = {column.name: data.draw(_strategy(column.type), label=column.name) for column in kind.columns}
    text = "".join(
        write_rows(kind.column_names, [[column.format(values[column.name]) for column in kind.columns]])
    )
    reader = CsvReader(io.BytesIO(text.encode()))
    parsers = _parsers(kind, reader.header, FORMATS)
    batch = _parse(list(reader.records()), parsers, len(reader.header))
    assert batch.errors == {}
    [row] = batch.rows()
    assert row.values == values


@pytest.mark.parametrize("name", TYPES)
def test_a_nul_character_is_refused_in_every_column(name):
    column = c.Column(name, TYPES[name])
    values, errors = column.reader(FORMATS)(("ok\x00", "\x00", "a\x00b"))
    assert set(errors) == {0, 1, 2}
    assert all("NUL character" in reason for reason in errors.values())
    assert values == [None, None, None]


@pytest.mark.parametrize(
    ("cell", "value"), [("7", 7), (" 7 ", 7), ("7.0", 7), ("7,0", 7), ("1e1", 10), ("-0", 0)]
)
def test_a_whole_number_may_be_written_with_zero_decimals(cell, value):
    assert c.Integer(bounds.SCALE_POINT).parser(FORMATS)(cell) == value


@pytest.mark.parametrize("cell", ["3.7", "3,7", "7.000001", "0.5"])
def test_a_whole_number_column_refuses_a_fraction_instead_of_truncating_it(cell):
    with pytest.raises(ValueError, match="is not a whole number"):
        c.Integer(bounds.SCALE_POINT).parser(FORMATS)(cell)
    column = c.Column("scale_min", c.Integer(bounds.SCALE_POINT))
    _values, errors = column.reader(FORMATS)(("1", cell, "2"))
    assert errors == {1: f"{cell!r} is not a whole number"}


# What each numeric column of an import holds, from the one table of bounds the API uses too.
EXPECTED_BOUNDS = {
    ("customers", "contracted_annual_value"): bounds.MONEY,
    ("customers", "on_time_target"): bounds.SHARE,
    ("departments", "decision_weight"): bounds.DECISION_WEIGHT,
    ("links", "declared_monthly_volume"): bounds.MONTHLY_VOLUME,
    **{("shipments", name): bounds.MONEY for name in ("claim_amount", "revenue", "cost")},
    ("surveys", "scale_min"): bounds.SCALE_POINT,
    ("surveys", "scale_max"): bounds.SCALE_POINT,
    ("surveys", "likelihood_to_recommend"): bounds.LIKELIHOOD_TO_RECOMMEND,
    **{
        ("surveys", f"{dimension.value}_{part}"): bounds.IMPORTANCE
        if part == "importance"
        else bounds.SCALE_POINT
        for dimension in Dimension
        for part in ("expectation", "perception", "importance")
    },
    ("tickets", "claim_amount"): bounds.MONEY,
}


def test_every_numeric_import_column_holds_the_bound_the_api_holds():
    found = {
        (kind.name, column.name): column.type.bound
        for kind in KINDS.values()
        for column in kind.columns
        if isinstance(column.type, c.Number | c.Integer)
    }
    assert found == EXPECTED_BOUNDS


@pytest.mark.parametrize(("kind", "column"), sorted(EXPECTED_BOUNDS))
def test_a_value_just_outside_a_bound_is_refused_and_the_bound_itself_accepted(kind, column):
    parse = next(col for col in KINDS[kind].columns if col.name == column).type.parser(FORMATS)
    bound = EXPECTED_BOUNDS[(kind, column)]
    assert parse(repr(bound.high)) == bound.high
    with pytest.raises(ValueError, match="above the maximum"):
        parse(repr(bound.high + 1))
    if bound.low_inclusive:
        assert parse(repr(bound.low)) == bound.low
    with pytest.raises(ValueError, match=r"below the minimum|not greater than"):
        parse(repr(bound.low - 1 if bound.low_inclusive else bound.low))
    for absurd in ("1e307", "1.7e308", "-1e308", "1e400"):
        with pytest.raises(ValueError):
            parse(absurd)


def test_free_text_columns_hold_the_long_text_maximum():
    free = {
        (kind.name, column.name): column.type.max_length
        for kind in KINDS.values()
        for column in kind.columns
        if column.name in ("comment", "summary")
    }
    assert free == {("surveys", "comment"): bounds.LONG_TEXT, ("interactions", "summary"): bounds.LONG_TEXT}


@pytest.mark.parametrize("date_format", ["%d.%m.%Y", "%m/%d/%y", "%Y%m%d", "%d %B %Y", "%Y-%j"])
def test_a_date_format_that_reads_dates_back_is_accepted(date_format):
    c.check_date_format(date_format)


@pytest.mark.parametrize(
    ("date_format", "reason"),
    [
        ("%Q", "bad directive"),
        ("%", "stray %"),
        ("abc", "does not read back a whole date"),
        ("%d.%m.", "does not read back a whole date"),
        ("%d.%m.%Y %H", "names a field twice"),
        ("%d.%d.%Y", "names a field twice"),
        ("%d.%m.%Y%z", "not a date format"),
    ],
)
def test_a_date_format_that_cannot_read_dates_back_is_refused(date_format, reason):
    with pytest.raises(ValueError, match=reason):
        c.check_date_format(date_format)


def _stored_length(kind_name: str, column_name: str) -> int | None:
    """The length of the database column an import column is stored in (None: unbounded text)."""
    kind = KINDS[kind_name]
    if column_name.endswith("_ref") or column_name == "registration_number":
        return Customer.__table__.c.external_ref.type.length  # every external_ref is as long
    if column_name == "department":
        return Department.__table__.c.name.type.length
    for model in (kind.model, ShipperProfile, ConsigneeProfile):
        if column_name in model.__table__.c:
            return getattr(model.__table__.c[column_name].type, "length", None)
    raise AssertionError(f"{kind_name}.{column_name} is stored nowhere")


@pytest.mark.parametrize(
    ("kind", "column"),
    [
        (kind.name, column.name)
        for kind in KINDS.values()
        for column in kind.columns
        if isinstance(column.type, c.Text) and not isinstance(column.type, c.Listing)
    ],
)
def test_a_text_column_holds_no_more_than_the_database_stores(kind, column):
    limit = next(col for col in KINDS[kind].columns if col.name == column).type.max_length
    stored = _stored_length(kind, column)
    assert limit <= (stored or bounds.LONG_TEXT), (limit, stored)


def test_a_column_stored_as_a_whole_number_is_read_as_one_and_no_other_is():
    """So that no import cuts 3.7 to 3 on the way into an integer column (or refuses 3.7 for a float)."""
    stored_whole, read_whole = set(), set()
    for kind in KINDS.values():
        for column in kind.columns:
            for model in (kind.model, ShipperProfile, ConsigneeProfile):
                if column.name in model.__table__.c:
                    if isinstance(model.__table__.c[column.name].type, sa.Integer):
                        stored_whole.add((kind.name, column.name))
                    break
            if isinstance(column.type, c.Integer):
                read_whole.add((kind.name, column.name))
    assert (
        stored_whole
        == read_whole
        == {
            ("surveys", "scale_min"),
            ("surveys", "scale_max"),
            ("surveys", "likelihood_to_recommend"),
        }
    )
