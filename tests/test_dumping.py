"""The compiled dumper gives marshmallow's output: field by field on awkward values, and byte for byte
for whole answers of the demo network through the API (every schema the app answers with dumped both
ways)."""

from __future__ import annotations

import datetime as dt
import enum

import marshmallow as ma
import pytest

from logicrm.dumping import Rounded, dumper, rounded_floats
from logicrm.schemas import Id, WholeNumber, enum_field
from tests.conftest import Api
from tests.scoring.test_routes import demo  # noqa: F401  (the module fixture: the demo network)

F = ma.fields


class Colour(enum.StrEnum):
    RED = "red"
    BLUE = "blue"


class Inner(ma.Schema):
    n = F.Integer()
    label = F.String(allow_none=True)


class Hooked(ma.Schema):
    n = F.Integer()

    @ma.post_dump
    def doubled(self, data, **_kwargs):
        return {**data, "n": data["n"] * 2}


class Everything(ma.Schema):
    id = Id()
    whole = WholeNumber()
    name = F.String()
    renamed = F.String(data_key="shown_as", attribute="hidden_name")
    number = F.Float()
    flag = F.Boolean()
    at = F.DateTime()
    on = F.Date()
    colour = enum_field(Colour, allow_none=True)
    raw = F.Raw(allow_none=True)
    inner = F.Nested(Inner, allow_none=True)
    inners = F.List(F.Nested(Inner))
    many_inner = F.Nested(Inner, many=True)
    only_inner = F.Nested(Inner, only=("label",))
    hooked = F.Nested(Hooked)
    tags = F.List(F.String())
    counts = F.Dict(keys=F.String(), values=F.Integer())
    defaulted = F.Integer(dump_default=5)
    doubled = F.Method("_doubled")
    dotted = F.Integer(attribute="inner.n")

    def _doubled(self, obj):
        return 2 * ma.utils.get_value(obj, "whole")


class Attributes:
    """An object read by attribute, as an ORM row is."""

    def __init__(self, **values):
        self.__dict__.update(values)


class Indexed(Attributes):
    """An object that can be indexed: marshmallow reads its values by index first, then by attribute."""

    def __getitem__(self, key):
        return {"id": 8, "name": "by index"}[key]


AWKWARD = {
    "id": 7,
    "whole": 3.0,  # a float with no fraction: an integer field's int()
    "name": Colour.RED,  # a str subclass: str() of it
    "hidden_name": b"bytes",
    "number": 2,  # an int in a float field
    "flag": 1,  # truthy, not a bool
    "at": dt.datetime(2026, 1, 2, 3, 4, 5, 600, tzinfo=dt.UTC),
    "on": dt.date(2026, 1, 2),
    "colour": Colour.BLUE,
    "raw": {"x": [1.5, None]},
    "inner": {"n": True, "label": None},
    "inners": [{"n": 1, "label": "a"}, {"label": 5}],
    "many_inner": [{"n": 2, "label": "b"}],
    "only_inner": {"n": 3, "label": "c"},
    "hooked": {"n": 4},
    "tags": ["a", 1],
    "counts": {"a": 1.0},
    "doubled": None,
}


@pytest.mark.parametrize(
    "obj",
    [
        AWKWARD,
        {**AWKWARD, "inner": None, "colour": None, "defaulted": 9, "flag": "yes"},
        {"id": 1, "whole": 2},  # fields missing from a dict are left out, as marshmallow leaves them
        Attributes(**AWKWARD),
        Indexed(**AWKWARD),
    ],
)
def test_dumper_equals_marshmallow_field_by_field(obj):
    """Equal once rounded as the JSON answer rounds (a Raw field's and a Method field's output too)."""
    schema = Everything()
    dumped = dumper(schema)(obj)
    assert dumped == rounded_floats(schema.dump(obj)) and type(dumped) is Rounded
    assert dumper(schema)([obj, obj], many=True) == rounded_floats(schema.dump([obj, obj], many=True))


class Typed(ma.Schema):
    number = F.Float(allow_none=True)
    flag = F.Boolean()
    numbers = F.List(F.Float())
    inner = F.Nested(Inner)
    colour = enum_field(Colour)
    counts = F.Dict(keys=F.String(), values=F.Float())


def test_an_answer_of_typed_fields_comesrounded_floats():
    obj = {
        "number": 0.1 + 0.2,
        "flag": 0.1 + 0.2,  # marshmallow 4 dumps a Boolean's value as it is
        "numbers": [1 / 3, 2, None],
        "inner": {"n": 1.0},
        "colour": Colour.RED,
        "counts": {Colour.BLUE: 2 / 3},
    }
    dumped = dumper(Typed())(obj)
    assert type(dumped) is Rounded
    assert dumped == rounded_floats(Typed().dump(obj)) == {
        "number": 0.3, "flag": 0.3, "numbers": [0.333333, 2.0, None], "inner": {"n": 1}, "colour": "red",
        "counts": {"blue": 0.666667},
    }  # fmt: skip


def test_a_schema_with_dump_hooks_is_dumped_by_marshmallow():
    assert dumper(Hooked())({"n": 2}) == {"n": 4}
    assert dumper(Hooked(many=True))([{"n": 1}]) == [{"n": 2}]


def test_a_value_marshmallow_refuses_is_refused_alike():
    with pytest.raises(ValueError):
        dumper(Everything())({"whole": 2.5})
    with pytest.raises(ValueError):
        Everything().dump({"whole": 2.5})


def _compiled_schemas(app) -> list[ma.Schema]:
    """The response schemas whose `dump` the API replaced with a compiled dumper."""
    found = []
    for view in app.view_functions.values():
        cls = getattr(view, "view_class", None)
        for method in (getattr(cls, name, None) for name in ("get", "post", "put", "patch", "delete")):
            while method is not None:
                cells = [c.cell_contents for c in (method.__closure__ or ()) if _filled(c)]
                found += [c for c in cells if isinstance(c, ma.Schema) and "dump" in vars(c)]
                method = getattr(method, "__wrapped__", None)
    return found


def _filled(cell) -> bool:
    try:
        cell.cell_contents  # noqa: B018
    except ValueError:  # an empty cell
        return False
    return True


def test_answers_are_marshmallows_byte_for_byte(demo, monkeypatch):  # noqa: F811
    app, summary = demo
    api = Api(app.test_client(), summary.admin_key)
    customer = api.get("/customers", query={"page_size": 1, "role": "shipper"}).json["items"][0]["id"]
    paths = [
        ("/customers", {"page_size": 50}),
        (f"/customers/{customer}", None),
        (f"/customers/{customer}/health", None),
        ("/network/risk", {"page_size": 50}),
        ("/network/hubs", {"page_size": 5}),
        ("/network/graph", {"center": customer, "depth": 2}),
        ("/portfolio/summary", None),
        ("/model", None),
    ]
    compiled = [api.get(path, query=query) for path, query in paths]
    schemas = _compiled_schemas(app)
    assert len(schemas) > 50  # every response schema of the app, not a few
    for schema in schemas:
        monkeypatch.delattr(schema, "dump")  # marshmallow's own Schema.dump again
    for (path, _), fast, slow in zip(paths, compiled, [api.get(p, query=q) for p, q in paths], strict=True):
        assert fast.status_code == slow.status_code == 200, path
        assert fast.data == slow.data, path
