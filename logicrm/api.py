"""Shared API plumbing: request parsing, error answers and their documentation, the request session,
pagination envelopes and ETag checks.

Every route goes through the parser, the Blueprint and the Api below, so what they refuse, answer and
document holds for all of them at once.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

import flask_smorest
import marshmallow as ma
from flask import Response, current_app, g, request
from flask.json.provider import DefaultJSONProvider
from flask.views import MethodView
from flask_smorest.utils import resolve_schema_instance
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session
from webargs.core import missing
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.datastructures import CombinedMultiDict, FileStorage
from werkzeug.routing import IntegerConverter

from logicrm import bounds, dumping
from logicrm.errors import Forbidden, PreconditionFailed, PreconditionRequired
from logicrm.schemas import Id, WholeNumber

if TYPE_CHECKING:
    from logicrm.users.models import User, UserRole

WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})


class ErrorSchema(ma.Schema):
    """Every error answer: what went wrong in words and, for bad input, each field and why."""

    code = ma.fields.Integer(required=True, metadata={"description": "HTTP status code"})
    status = ma.fields.String(required=True, metadata={"description": "HTTP status phrase"})
    message = ma.fields.String(required=True, metadata={"description": "what went wrong"})
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        metadata={
            "description": 'the reasons by location and field, e.g. {"json": {"name": ["…"]}}; '
            'list items by index: {"json": {"shipments": {"3": {"revenue": ["…"]}}}}'
        },
    )


class ConflictErrorSchema(ErrorSchema):
    """A write that conflicts with existing data."""

    existing_id = Id(metadata={"description": "the existing record it conflicts with"})
    allow_duplicate = ma.fields.Boolean(
        metadata={"description": "true when ?allow_duplicate=true would create it anyway (same name only)"}
    )
    match_score = ma.fields.Float(
        metadata={
            "description": "duplicate customer: how alike the names are, 0–1 (1: the same name or number)"
        }
    )
    link_ids = ma.fields.List(Id(), metadata={"description": "merge: the lanes between the two customers"})
    merged_into_id = Id(metadata={"description": "restore: the customer this one was merged into"})
    run_id = Id(allow_none=True, metadata={"description": "health run: the run in progress"})


class JSONProvider(DefaultJSONProvider):
    """JSON answers: text as written (a Chinese name stays Chinese, not \\u escapes), floats rounded to
    FLOAT_PLACES decimals (a computed figure carries no binary noise such as 0.30000000000000004), and
    NaN or ±Infinity refused: they are not JSON, so a bug shows as an error, not a broken answer."""

    ensure_ascii = False

    def dumps(self, obj, **kwargs) -> str:
        rounded = obj if type(obj) is dumping.Rounded else dumping.rounded_floats(obj)  # dumped: rounded
        return super().dumps(rounded, allow_nan=False, **kwargs)


class IdConverter(IntegerConverter):
    """`<int:…>` in routes: an id beyond the id range names no record, so it answers 404 like a missing one
    instead of overflowing the database driver."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", bounds.ID_MAX)
        super().__init__(map, *args, **kwargs)


def _text_problem(value) -> str | None:
    """Say why a string (or an upload's file name) cannot be stored, or None when it can."""
    if isinstance(value, FileStorage):
        value = value.filename
    if not isinstance(value, str) or (value.isascii() and "\x00" not in value):  # the fast, common case
        return None
    if "\x00" in value:
        return "must not contain the NUL character (\\u0000)"  # PostgreSQL text cannot hold it
    try:
        value.encode()
    except UnicodeEncodeError:
        return "must not contain a lone surrogate (\\ud800–\\udfff): it is not Unicode text"
    return None


def unstorable_text(data) -> dict:
    """Name every string in loaded request data that no database can store, in marshmallow's error layout."""
    if not isinstance(data, Mapping | list):
        problem = _text_problem(data)
        return {"_schema": [problem]} if problem else {}
    errors: dict = {}
    pending = [((), data)]
    while pending:  # a loop, not recursion: the JSON may nest as deep as its parser allowed
        path, container = pending.pop()
        for key, value in container.items() if isinstance(container, Mapping) else enumerate(container):
            if isinstance(value, dict | list):  # JSON nests only these; a query string does not nest
                pending.append(((*path, key), value))
            elif problem := _text_problem(value):
                node = errors
                for parent in path:
                    node = node.setdefault(parent, {})
                node[key] = [problem]
    return errors


def _limit_body(req, setting: str) -> None:
    """Read at most `setting` bytes of this request's body: beyond, 413 naming the setting (see app.py)."""
    g.body_limit = setting
    req.max_content_length = getattr(current_app.config["LOGICRM"], setting)


class _Parser(FlaskParser):
    # webargs ignores unknown query parameters by default; a typo such as ?teir=vip would then
    # silently return the unfiltered list, so query strings are as strict as bodies.
    DEFAULT_UNKNOWN_BY_LOCATION = {
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
        "query": ma.RAISE,
        "querystring": ma.RAISE,
    }

    def load_json(self, req, schema):
        """Load a JSON body: the body is required, and must be JSON (else webargs would read it as `{}`)."""
        _limit_body(req, "json_max_body_bytes")
        if not is_json_request(req):
            flask_smorest.abort(415, message="send a JSON body with Content-Type: application/json")
        try:
            data = super().load_json(req, schema)
        except RecursionError:  # the stdlib parser recurses once per nesting level
            flask_smorest.abort(400, message="the JSON body is nested too deeply")
        except ValueError:  # webargs handles JSONDecodeError; Python refuses integers over 4,300 digits
            flask_smorest.abort(400, message="the JSON body holds an integer of more than 4,300 digits")
        if data is missing:
            flask_smorest.abort(400, message="the JSON body is empty")
        return data

    def load_form(self, req, schema):
        """Load a multipart body, its file parts with its text fields (an unknown one is refused, like an
        unknown query parameter): the one kind of body allowed past json_max_body_bytes."""
        _limit_body(req, "import_max_upload_bytes")
        return self._makeproxy(CombinedMultiDict([req.files, req.form]), schema)

    def pre_load(self, location_data, *, schema, req, location):
        """Refuse text no database stores before any field sees it (a NUL or lone surrogate would be a 500),
        and in a JSON body any value not of its field's JSON type (marshmallow would read 0 or "true" as a
        boolean and "12" as a number)."""
        errors = unstorable_text(location_data)
        if location == "json" and not errors:
            errors = json_type_errors(schema, location_data)
        if errors:
            raise ma.ValidationError(errors)
        return location_data


def json_type_errors(schema: ma.Schema, data) -> dict:
    """Name the values of a JSON body whose JSON type is not their field's (nested bodies included)."""
    if not isinstance(data, Mapping):
        return {}
    fields = {field.data_key or name: field for name, field in schema.fields.items() if not field.dump_only}
    errors = {}
    for key, value in data.items():
        field = fields.get(key)
        problem = _json_type_problem(field, value) if field is not None else None
        if problem:
            errors[key] = problem
    return errors


def _json_type_problem(field: ma.fields.Field, value):
    if value is None:
        return None
    if isinstance(field, ma.fields.Boolean):
        return None if isinstance(value, bool) else ["must be true or false"]
    if isinstance(field, ma.fields.Number):
        return (
            None if isinstance(value, int | float) and not isinstance(value, bool) else ["must be a number"]
        )
    if isinstance(field, ma.fields.Nested) and isinstance(value, Mapping):
        return json_type_errors(field.schema, value) or None
    if isinstance(field, ma.fields.List) and isinstance(value, list):
        items = {i: p for i, item in enumerate(value) if (p := _json_type_problem(field.inner, item))}
        return items or None
    return None


def _reasons(errors, path=()):
    """Yield (field path, reason) from marshmallow's nested error layout."""
    if isinstance(errors, Mapping):
        for key, value in errors.items():
            yield from _reasons(value, (*path, str(key)))
    elif isinstance(errors, list):
        for item in errors:
            yield from _reasons(item, path)
    else:
        yield path, errors


def describe_errors(errors: Mapping, shown: int = 3) -> str:
    """Sum up field errors in one line: `shipments.3.revenue: Must be …; name: …`."""
    reasons = [
        f"{'.'.join(path[1:])}: {reason}" if path[1:] else str(reason) for path, reason in _reasons(errors)
    ]
    more = f" (and {len(reasons) - shown} more)" if len(reasons) > shown else ""
    return "; ".join(reasons[:shown]) + more


class Api(flask_smorest.Api):
    """flask-smorest's Api with one error layout for every answer (see ErrorSchema)."""

    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error):
        body, code, headers = super().handle_http_exception(error)
        body.setdefault("message", describe_errors(body.get("errors", {})) or error.description)
        # flask-smorest keeps only headers passed to abort(); werkzeug's own (Allow on a 405) must stay.
        own = {name: value for name, value in error.get_headers() if name != "Content-Type"}
        return body, code, {**own, **(headers or {})}


def _if_match(method: str, function) -> str | None:
    """Tell whether a view needs If-Match: it does when it calls expected_version (PUT: to replace only)."""
    if "expected_version" not in inspect.unwrap(function).__code__.co_names:
        return None
    return "optional" if method == "put" else "required"


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest Blueprint with the parser above, documenting the plumbing's answers on every route."""

    ARGUMENTS_PARSER = _Parser()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._prepare_doc_cbks.append(self._prepare_plumbing_doc)

    def response(self, status_code, schema=None, **kwargs):
        """flask-smorest's response, its answers dumped by a dumper compiled from the schema: marshmallow's
        output without its per-value dispatch (see dumping.py)."""
        if isinstance(schema, type | ma.Schema):
            schema = resolve_schema_instance(schema)
            schema.dump = dumping.dumper(schema)  # the instance's: flask-smorest calls `schema.dump(answer)`
        return super().response(status_code, schema, **kwargs)

    def add_url_rule(self, rule, endpoint=None, view_func=None, provide_automatic_options=None, **kwargs):
        # What the documentation needs to know of each view, read where flask-smorest reads its _apidoc.
        views = (
            {method.lower(): getattr(view_func, method.lower()) for method in view_func.methods}
            if isinstance(view_func, type) and issubclass(view_func, MethodView)
            else {}
        )
        for method, function in views.items():
            function._apidoc = getattr(function, "_apidoc", {})
            function._apidoc["plumbing"] = {
                "path_parameters": "<" in rule,
                "read_only": getattr(view_func, "read_only", False),
                "if_match": _if_match(method, function),
            }
        super().add_url_rule(rule, endpoint, view_func, provide_automatic_options, **kwargs)

    @staticmethod
    def _prepare_plumbing_doc(doc, doc_info, *, method, **_kwargs):
        """Document the answers any operation may get from the plumbing, with the real error body."""
        plumbing = doc_info.get("plumbing", {})
        body = doc.get("requestBody", {}).get("content", {})
        codes = {401: "missing, invalid or revoked API key", 403: "your role may not do this"}
        if plumbing.get("path_parameters"):
            codes[404] = "not found, or not yours to see"
        if body:
            codes[400] = "the body is not valid JSON"
            codes[413] = "the body is larger than json_max_body_bytes (uploads: import_max_upload_bytes)"
        if "application/json" in body:
            codes[415] = "the body is not JSON (Content-Type: application/json)"
        if body or doc.get("parameters"):
            codes[422] = "invalid input: `errors` names each field and why"
        if method in WRITE_METHODS and not plumbing.get("read_only"):
            codes[409] = "conflicts with existing data"
        if plumbing.get("if_match"):
            codes[412] = "the record changed since you read it: If-Match is not its ETag"
            codes[428] = "If-Match is missing: send the ETag you last read"
            doc.setdefault("parameters", []).append(
                {
                    "in": "header",
                    "name": "If-Match",
                    "required": plumbing["if_match"] == "required",
                    "description": "the ETag you last read"
                    + (" (needed to replace an existing record)" if method == "put" else ""),
                    "schema": {"type": "string"},
                }
            )
        responses = doc.setdefault("responses", {})
        for code, description in codes.items():
            schema = ConflictErrorSchema if code == 409 else ErrorSchema
            response = responses.setdefault(code, {"description": description})
            if isinstance(response, Mapping):  # else a reference to flask-smorest's error response
                response.setdefault("content", {"application/json": {"schema": schema}})
        return doc


def encoded(dump, answer) -> bytes:
    """The JSON body a route's response sends for `answer`, dumped by `dump` (its schema's `dumping.dumper`):
    a route that answers many callers alike encodes it once and sends it with `encoded_response`."""
    return current_app.json.response(dump(answer)).get_data()


def encoded_response(body: bytes) -> Response:
    """An answer encoded by `encoded`: flask-smorest sends a Response as it is, past the response schema
    (which still documents it)."""
    return current_app.response_class(body, mimetype=current_app.json.mimetype)


def session() -> Session:
    """Return this request's session; writers take the database lock up front (see db.py).

    Read-only requests (safe methods, and computations such as the what-if POST) never take it.
    """
    if "db_session" not in g:
        g.db_session = current_app.extensions["logicrm.db"].session(write=not is_read_only_request())
    return g.db_session


class PageArgs(ma.Schema):
    page = WholeNumber(load_default=1, validate=ma.validate.Range(min=1, max=bounds.PAGE_MAX))
    page_size = WholeNumber(
        load_default=None,
        validate=ma.validate.Range(min=1, max=bounds.PAGE_MAX),
        metadata={"description": "items per page; more than page_size_max (default 500) gives that many"},
    )


class PageMeta(ma.Schema):
    total = ma.fields.Integer()
    page = ma.fields.Integer()
    page_size = ma.fields.Integer()
    pages = ma.fields.Integer()


_envelopes: dict[type, type] = {}


def page_of(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    """Return (and cache) the `{items, meta}` envelope schema for a list of `item_schema`."""
    if item_schema not in _envelopes:
        name = item_schema.__name__.removesuffix("Schema").removesuffix("Out") + "Page"
        _envelopes[item_schema] = ma.Schema.from_dict(
            {"items": ma.fields.List(ma.fields.Nested(item_schema)), "meta": ma.fields.Nested(PageMeta)},
            name=name,
        )
    return _envelopes[item_schema]


def paginate(
    db: Session,
    statement,
    *,
    page: int,
    page_size: int | None,
    scalars: bool = True,
    total: Select | None = None,
) -> dict:
    """Run `statement` for one page and count the total (with `total`, a cheaper count of the same rows);
    return the envelope."""
    settings = current_app.config["LOGICRM"]
    size = min(page_size or settings.page_size_default, settings.page_size_max)
    if total is None:
        total = select(func.count()).select_from(statement.order_by(None).subquery())
    total = db.scalar(total)
    result = db.execute(statement.limit(size).offset((page - 1) * size))
    # unique(): a statement joining a collection (customers.answered_whole) gives a row per related record
    items = result.unique().scalars().all() if scalars else result.all()
    return {
        "items": items,
        "meta": {
            "total": total,
            "page": page,
            "page_size": size,
            "pages": math.ceil(total / size) if total else 0,
        },
    }


CSV_BOM = "\ufeff"  # Excel reads a CSV as UTF-8 (Chinese names intact) only when it starts with one


def csv_download(db: Session, chunks: Iterator[str], *, filename: str) -> Response:
    """Stream CSV text, written a chunk at a time from the request's session `db`, as an attachment."""
    return Response(
        _csv_body(db, chunks),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _csv_body(db: Session, chunks: Iterator[str]) -> Iterator[str]:
    # The request's session was committed and closed before the body is read; the stream reads on in a
    # transaction of its own, closed when the file is done or the client goes away.
    try:
        yield CSV_BOM
        yield from chunks
    finally:
        db.close()


def etag_of(obj) -> str:
    """Return the strong ETag of a versioned row."""
    return (
        f'"{type(obj).__name__.lower()}-{obj.id if hasattr(obj, "id") else obj.customer_id}-v{obj.version}"'
    )


def with_etag(record, status: int = 200):
    """Return a view result carrying the record's ETag (send it back in If-Match to update)."""
    return record, status, {"ETag": etag_of(record)}


def expected_version(obj) -> int:
    """Check If-Match against the row: 428 when missing, 412 when stale; return the version.

    Calling it from a view documents If-Match, 412 and 428 for that operation (see Blueprint).
    """
    header = request.headers.get("If-Match")
    if not header:
        raise PreconditionRequired("If-Match header required: send the ETag you last read")
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    if "*" not in tags and etag_of(obj) not in tags:
        raise PreconditionFailed(
            f"{type(obj).__name__} changed since you read it: current ETag {etag_of(obj)}"
        )
    return obj.version


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def extra_writers() -> frozenset:
    """The roles this request's view class lets write besides the usual writers (`also_written_by`)."""
    view = current_app.view_functions.get(request.endpoint)
    return getattr(getattr(view, "view_class", None), "also_written_by", frozenset())


def is_read_only_request() -> bool:
    """Tell whether this request only reads: a safe method, or a view class marked `read_only` (what-if POSTs)."""
    if request.method in SAFE_METHODS:
        return True
    view = current_app.view_functions.get(request.endpoint)
    return getattr(getattr(view, "view_class", None), "read_only", False)


def current_user() -> User:
    """Return the authenticated user of this request."""
    return g.user


def require_role(*roles: UserRole) -> User:
    """Return the current user if its role is one of `roles`, else raise Forbidden."""
    user = current_user()
    if user.role not in roles:
        raise Forbidden(f"role {user.role} may not do this")
    return user
