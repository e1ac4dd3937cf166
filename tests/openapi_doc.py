"""Read the served OpenAPI document: its operations, the fields of their inputs, and whether a JSON value
matches a documented schema (the subset of OpenAPI 3.0 that apispec writes)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

PREFIX = "/api/v1"
METHODS = ("get", "post", "put", "patch", "delete")
ERROR_SCHEMAS = {"#/components/schemas/Error", "#/components/schemas/ConflictError"}


@dataclass(frozen=True)
class Operation:
    method: str
    template: str  # path under /api/v1, with {placeholders}
    doc: dict
    path_parameters: tuple[dict, ...]

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.template}"

    @property
    def parameters(self) -> list[dict]:
        return [*self.path_parameters, *self.doc.get("parameters", [])]

    def query(self) -> list[dict]:
        return [p for p in self.parameters if p["in"] == "query"]

    def json_body(self) -> dict | None:
        """The schema of the JSON request body, if the operation takes one."""
        content = self.doc.get("requestBody", {}).get("content", {})
        return content.get("application/json", {}).get("schema")

    def concrete(self, **values) -> str:
        """The path with each {placeholder} replaced by values[name] (1 when not given)."""
        return re.sub(r"\{(\w+)\}", lambda m: str(values.get(m.group(1), 1)), self.template)


def operations(spec: dict) -> list[Operation]:
    """Every operation of the document."""
    return [
        Operation(method, path.removeprefix(PREFIX), item[method], tuple(item.get("parameters", [])))
        for path, item in spec["paths"].items()
        for method in METHODS
        if method in item
    ]


def resolve(spec: dict, node: dict) -> dict:
    """Follow a $ref to what it names."""
    while "$ref" in node:
        *_, kind, name = node["$ref"].split("/")
        node = spec["components"][kind][name]
    return node


def _alternatives(spec: dict, schema: dict) -> list[dict]:
    """The schemas a value may match: apispec writes a nullable $ref as anyOf [null-marker object, $ref]."""
    if "anyOf" in schema:
        return [resolve(spec, s) for s in schema["anyOf"] if not _is_null_marker(s)]
    if "allOf" in schema:
        return [resolve(spec, s) for s in schema["allOf"]]
    return [resolve(spec, schema)]


def _is_null_marker(schema: dict) -> bool:
    return schema == {"type": "object", "nullable": True}


def nullable(schema: dict) -> bool:
    return schema.get("nullable", False) or any(_is_null_marker(s) for s in schema.get("anyOf", []))


def fields(spec: dict, schema: dict, path: tuple = ()) -> Iterator[tuple[tuple, dict]]:
    """Every property of a body schema as (path, schema), nested objects and (first) array items included."""
    for alternative in _alternatives(spec, schema):
        for name, prop in alternative.get("properties", {}).items():
            yield (*path, name), prop
            inner = _alternatives(spec, prop)[0]
            if inner.get("type") == "array":
                item = _alternatives(spec, inner["items"])[0]
                if "properties" in item:
                    yield from fields(spec, item, (*path, name, 0))
            elif "properties" in inner:
                yield from fields(spec, inner, (*path, name))


def nest(path: tuple, value):
    """Build the JSON body that holds `value` at `path`: ("shipments", 0, "revenue") → {"shipments": [{…}]}."""
    for key in reversed(path):
        value = [value] if isinstance(key, int) else {key: value}
    return value


def error_at(body: dict, location: str, path: tuple):
    """The reasons an error answer gives for one field (None when it names no such field)."""
    node = body.get("errors", {}).get(location, {})
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(str(key), node.get(key))
    return node


_TYPES = {
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def mismatches(spec: dict, schema: dict, value, where: str = "$") -> list[str]:
    """Say where `value` breaks `schema`: nulls, types, enums, ranges, required and unknown properties."""
    if value is None:
        return [] if nullable(resolve(spec, schema)) else [f"{where}: null, not marked nullable"]
    found = []
    alternatives = _alternatives(spec, resolve(spec, schema))
    for alternative in alternatives:
        found = _mismatches(spec, alternative, value, where)
        if not found:
            return []
    return found


def _mismatches(spec: dict, schema: dict, value, where: str) -> list[str]:
    kind = schema.get("type")
    if kind and not _TYPES[kind](value):
        return [f"{where}: {value!r} is not {kind}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{where}: {value!r} not in {schema['enum']}"]
    if ("minimum" in schema and value < schema["minimum"]) or (
        "maximum" in schema and value > schema["maximum"]
    ):
        return [f"{where}: {value!r} outside [{schema.get('minimum')}, {schema.get('maximum')}]"]
    found = []
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            found += mismatches(spec, schema["items"], item, f"{where}[{index}]")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        found += [f"{where}: {name} missing" for name in schema.get("required", []) if name not in value]
        for name, item in value.items():
            if name in properties:
                found += mismatches(spec, properties[name], item, f"{where}.{name}")
            elif schema.get("additionalProperties") is False:
                found.append(f"{where}: {name} not documented")
    return found
