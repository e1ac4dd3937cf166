"""Schema helpers shared by every domain."""

from __future__ import annotations

import datetime as dt

import marshmallow as ma

AwareDateTime = lambda **kw: ma.fields.AwareDateTime(default_timezone=dt.UTC, **kw)  # noqa: E731


def external_ref_field() -> ma.fields.String:
    """The import key of a record: given by the client's own system, or generated (lcrm-…) when left out."""
    return ma.fields.String(
        validate=ma.validate.Length(min=1, max=64),
        metadata={"description": "import key (unique); generated as lcrm-… when not given"},
    )


def enum_field(enum_cls, **kwargs) -> ma.fields.Enum:
    """Serialise a StrEnum by value, as stored and documented."""
    return ma.fields.Enum(enum_cls, by_value=True, **kwargs)


def patch_schema(schema_cls: type[ma.Schema]) -> ma.Schema:
    """Return a partial-load instance of `schema_cls` under its own OpenAPI name (<Name>Patch)."""
    name = schema_cls.__name__.removesuffix("In") + "Patch"
    return type(name, (schema_cls,), {"__doc__": f"Partial update of {schema_cls.__name__}."})(partial=True)


class IdArgs(ma.Schema):
    id = ma.fields.Integer(required=True)
