"""Schema helpers shared by every domain: ids, bounded numbers, timestamps, texts and enums.

Every number and text a schema accepts is bounded here from logicrm/bounds.py, so an absurd value is a 422
naming the field (never an overflow further down), and its range shows in the OpenAPI document.
"""

from __future__ import annotations

import datetime as dt

import marshmallow as ma

from logicrm import bounds

Length = ma.validate.Length


class WholeNumber(ma.fields.Integer):
    """An integer that refuses fractions (marshmallow's Integer would truncate 2.5 to 2)."""

    def _format_num(self, value) -> int:
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(value)
        return super()._format_num(value)


class Id(WholeNumber):
    """A record id. Ids are database `integer`s: a larger one names no record and would overflow the driver."""

    def __init__(self, **kwargs):
        super().__init__(validate=ma.validate.Range(min=1, max=bounds.ID_MAX), **kwargs)


def number(
    bound: bounds.Bound, *, description: str = "", integer: bool = False, **kwargs
) -> ma.fields.Number:
    """A number within `bound`, its range and unit in the OpenAPI document.

    Floats refuse NaN and ±Infinity: marshmallow 4's Float has allow_nan=False by default.
    """
    metadata = {"description": "; ".join(part for part in (description, bound.describe()) if part)}
    if not bound.low_inclusive:
        metadata["exclusiveMinimum"] = True  # apispec shows `minimum` but not that it is excluded
    field_class = WholeNumber if integer else ma.fields.Float
    return field_class(
        validate=ma.validate.Range(min=bound.low, max=bound.high, min_inclusive=bound.low_inclusive),
        metadata=metadata,
        **kwargs,
    )


def long_text(**kwargs) -> ma.fields.String:
    """A free text (comment, summary) up to bounds.LONG_TEXT characters."""
    return ma.fields.String(validate=Length(max=bounds.LONG_TEXT), **kwargs)


class AwareDateTime(ma.fields.AwareDateTime):
    """A timestamp with a UTC offset (UTC when it has none) that can be stored, i.e. converted to UTC."""

    default_error_messages = {"out_of_range": "Out of range once converted to UTC (years 1 to 9999)."}

    def __init__(self, **kwargs):
        super().__init__(default_timezone=dt.UTC, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> dt.datetime:
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            moment.astimezone(dt.UTC)  # 0001-01-01T00:00+05:00 is a valid time before year 1 in UTC
        except OverflowError:
            raise self.make_error("out_of_range") from None
        return moment


def external_ref_field() -> ma.fields.String:
    """The import key of a record: given by the client's own system, or generated (lcrm-…) when left out."""
    return ma.fields.String(
        validate=Length(min=1, max=64),
        metadata={"description": "import key (unique); generated as lcrm-… when not given"},
    )


def enum_field(enum_cls, **kwargs) -> ma.fields.Enum:
    """Serialise a StrEnum by value, as stored and documented."""
    return ma.fields.Enum(enum_cls, by_value=True, **kwargs)


def patch_schema(schema_cls: type[ma.Schema]) -> ma.Schema:
    """Return a partial-load instance of `schema_cls` under its own OpenAPI name (<Name>Patch)."""
    name = schema_cls.__name__.removesuffix("In") + "Patch"
    return type(name, (schema_cls,), {"__doc__": f"Partial update of {schema_cls.__name__}."})(partial=True)
