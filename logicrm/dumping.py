"""Answers dumped as marshmallow dumps them, without its per-value dispatch, their floats rounded on the way.

marshmallow serialises every value through `Field.serialize` → `get_value` → `_serialize`: a page of 50
customers is ~45,000 such calls, a health answer ~60 fields with nested lists; the JSON answer then walked
the whole dump once more to round its floats. `dumper(schema)` walks the schema once and returns a function
giving the same output, rounded: the common fields (String, Integer, Float, Boolean, DateTime, Date, Enum,
Nested, List and Dict of those) pass a value already of their output type straight through and hand any
other value to the field's own `_serialize`; every other field (Raw, Method, Function, custom ones) is
serialised by marshmallow itself and its output rounded, and a schema with dump hooks or its own attribute
access is dumped by marshmallow whole (its answer rounded by the JSON provider). So the output is
marshmallow's by construction, field by field (tests/test_dumping.py compares the two, byte for byte).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import marshmallow as ma
from marshmallow.decorators import POST_DUMP, PRE_DUMP
from marshmallow.utils import get_value

from logicrm.schemas import WholeNumber

F = ma.fields
_MISSING = ma.missing
_NUMBER_FORMATS = (F.Number._format_num, WholeNumber._format_num)  # both are num_type(value) for a num_type
FLOAT_PLACES = 6  # decimals a JSON answer gives a float: a probability to 0.0001 %, money to a millionth
NESTING_COMPILED = 32  # deeper nested schemas (a schema nesting itself) are dumped as they come

Convert = Callable[[Any], Any]
_NO_KEY = object()  # in no dict: a field whose value is not a dict's key as it is
# types of the objects dumped whose values are attributes only (no __getitem__: records, dataclasses):
# marshmallow's get_value asks each object first whether it can be indexed
_ATTRIBUTES_ONLY: set[type] = set()


class Rounded(dict):
    """A dumped answer whose floats are all rounded to FLOAT_PLACES already: its JSON needs no walk."""


def rounded_floats(obj):
    """Return `obj` with every float in it rounded to FLOAT_PLACES decimals."""
    if isinstance(obj, float):
        return round(obj, FLOAT_PLACES)
    if isinstance(obj, dict):
        return {key: rounded_floats(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return [rounded_floats(value) for value in obj]
    return obj


def dumper(schema: ma.Schema) -> Callable[..., Any]:
    """Return `dump(obj, *, many=None)` giving what `schema.dump` gives with its floats rounded to
    FLOAT_PLACES, as the JSON answer rounds them (a dict answer comes as a `Rounded`)."""
    if _own_dump(schema):
        return type(schema).dump.__get__(schema)  # the class's: `schema.dump` may be this dumper
    compiled: list[Callable[[Any], dict]] = []

    def dump(obj, *, many: bool | None = None):
        if not compiled:  # on first use: nested schemas named by a string resolve once all are imported
            compiled.append(_object_dumper(schema, depth=0))
        if schema.many if many is None else many:
            return None if obj is None else [compiled[0](item) for item in obj]
        return Rounded(compiled[0](obj))

    return dump


def _own_dump(schema: ma.Schema) -> bool:
    """Tell whether marshmallow must dump `schema` itself: hooks see the whole, or values are got its own way."""
    return bool(
        schema._hooks[PRE_DUMP]
        or schema._hooks[POST_DUMP]
        or type(schema).get_attribute is not ma.Schema.get_attribute
        or schema.dict_class is not dict
    )


def _object_dumper(schema: ma.Schema, *, depth: int) -> Callable[[Any], dict]:
    """Dump one object with `schema` (its `many` aside)."""
    fields = [_field_dumper(schema, name, field, depth) for name, field in schema.dump_fields.items()]

    def dump_one(obj) -> dict:
        out = {}
        if type(obj) is dict:  # most answers: read its keys here (as get_value would), not through a call
            for key, attribute, value_of, convert in fields:
                value = obj[attribute] if attribute in obj else value_of(obj)
                if value is not _MISSING:
                    out[key] = convert(value)
            return out
        for key, _, value_of, convert in fields:
            value = value_of(obj)
            if value is not _MISSING:
                out[key] = convert(value)
        return out

    return dump_one


def _field_dumper(
    schema: ma.Schema, name: str, field: F.Field, depth: int
) -> tuple[str, object, Convert, Convert]:
    """(output key, the dict key holding the field's value as it is, or _NO_KEY; the field's value in an
    object or missing; its conversion), as `Schema._serialize` and `Field.serialize` do it."""
    key = field.data_key if field.data_key is not None else name
    convert = _converter(field, depth)
    if (
        convert is None
        or not field._CHECK_ATTRIBUTE
        or type(field).get_value is not F.Field.get_value
        or type(field).serialize is not F.Field.serialize
    ):
        accessor = schema.get_attribute
        return key, _NO_KEY, lambda obj: field.serialize(name, obj, accessor=accessor), rounded_floats
    attribute = field.attribute if field.attribute is not None else name
    default = field.dump_default
    plain = "." not in attribute  # a dotted attribute is a path (get_value follows it)

    def value_of(obj):
        # (a dict holding `attribute` never comes here: dump_one reads it)
        if not plain:
            value = get_value(obj, attribute, _MISSING)
        elif type(obj) in _ATTRIBUTES_ONLY:  # what get_value does for an object it cannot index
            value = getattr(obj, attribute, _MISSING)
        else:
            value = get_value(obj, attribute, _MISSING)
            if not hasattr(obj, "__getitem__"):
                _ATTRIBUTES_ONLY.add(type(obj))
        if value is _MISSING and default is not _MISSING:
            value = default() if callable(default) else default
        return value

    return key, attribute if plain else _NO_KEY, value_of, convert


def _same(cls: type, method: str, base: type) -> bool:
    return getattr(cls, method) is getattr(base, method)


def _converter(field: F.Field, depth: int) -> Convert | None:
    """`field._serialize` for a value alone, its floats rounded; None when the field needs its attribute or
    object, or is one marshmallow must serialise."""
    cls = type(field)
    own = field._serialize
    if _same(cls, "_serialize", F.String):  # ensure_text_type: a str, or None
        return lambda value: value if type(value) is str else own(value, None, None)
    if (
        _same(cls, "_serialize", F.Number)
        and not field.as_string
        and cls._format_num in _NUMBER_FORMATS
        and field.num_type in (int, float)
    ):
        if field.num_type is int:
            return lambda value: value if type(value) is int else own(value, None, None)

        def rounded_float(value):
            if type(value) is not float:
                if value is None:
                    return None
                value = own(value, None, None)
            return round(value, FLOAT_PLACES)

        return rounded_float
    if issubclass(cls, F.Boolean) and _same(cls, "_serialize", F.Field):  # marshmallow 4: the value as is
        return rounded_floats
    if _same(cls, "_serialize", F.DateTime):
        formatted = field.SERIALIZATION_FUNCS.get(field.format or field.DEFAULT_FORMAT)
        if formatted is None:
            return None
        return lambda value: None if value is None else formatted(value)
    if _same(cls, "_serialize", F.Enum):
        inner = _converter(field.field, depth) or (
            _same(type(field.field), "_serialize", F.Raw) and rounded_floats
        )
        if not inner:
            return None
        by_value = field.by_value
        return lambda value: None if value is None else inner(value.value if by_value else value.name)
    if _same(cls, "_serialize", F.Nested):
        nested = field.schema
        if _own_dump(nested) or depth >= NESTING_COMPILED:
            return None
        dump = _object_dumper(nested, depth=depth + 1)
        if nested.many or field.many:
            return lambda value: None if value is None else [dump(item) for item in value]
        return lambda value: None if value is None else dump(value)
    if _same(cls, "_serialize", F.Mapping) and field.mapping_type is dict:
        key_of = field.key_field and _converter(field.key_field, depth)
        value_of = field.value_field and _converter(field.value_field, depth)
        if not key_of or not value_of:
            return None
        return lambda value: None if value is None else {key_of(k): value_of(v) for k, v in value.items()}
    if _same(cls, "_serialize", F.List):
        inner = _converter(field.inner, depth)
        if inner is None:
            return None
        return lambda value: None if value is None else [inner(item) for item in value]
    return None
