"""Shared API plumbing: the request session, pagination envelopes and ETag checks."""

from __future__ import annotations

import math

import flask_smorest
import marshmallow as ma
from flask import current_app, g, request
from flask_smorest.arguments import ArgumentsMixin
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from logicrm import auth
from logicrm.errors import PreconditionFailed, PreconditionRequired


class _StrictParser(type(ArgumentsMixin.ARGUMENTS_PARSER)):
    # webargs ignores unknown query parameters by default; a typo such as ?teir=vip would then
    # silently return the unfiltered list, so query strings are as strict as bodies.
    DEFAULT_UNKNOWN_BY_LOCATION = {
        **type(ArgumentsMixin.ARGUMENTS_PARSER).DEFAULT_UNKNOWN_BY_LOCATION,
        "query": ma.RAISE,
        "querystring": ma.RAISE,
    }


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest Blueprint that rejects unknown query parameters, naming them."""

    ARGUMENTS_PARSER = _StrictParser()


def session() -> Session:
    """Return this request's session; writers take the database lock up front (see db.py).

    Read-only requests (safe methods, and computations such as the what-if POST) never take it.
    """
    if "db_session" not in g:
        g.db_session = current_app.extensions["logicrm.db"].session(write=not auth.is_read_only_request())
    return g.db_session


class PageArgs(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1))
    page_size = ma.fields.Integer(load_default=None, validate=ma.validate.Range(min=1))


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


def paginate(db: Session, statement, *, page: int, page_size: int | None, scalars: bool = True) -> dict:
    """Run `statement` for one page and count the total; return the envelope."""
    settings = current_app.config["LOGICRM"]
    size = min(page_size or settings.page_size_default, settings.page_size_max)
    total = db.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    result = db.execute(statement.limit(size).offset((page - 1) * size))
    items = result.scalars().all() if scalars else result.all()
    return {
        "items": items,
        "meta": {
            "total": total,
            "page": page,
            "page_size": size,
            "pages": math.ceil(total / size) if total else 0,
        },
    }


def etag_of(obj) -> str:
    """Return the strong ETag of a versioned row."""
    return (
        f'"{type(obj).__name__.lower()}-{obj.id if hasattr(obj, "id") else obj.customer_id}-v{obj.version}"'
    )


def expected_version(obj) -> int:
    """Check If-Match against the row: 428 when missing, 412 when stale; return the version."""
    header = request.headers.get("If-Match")
    if not header:
        raise PreconditionRequired("If-Match header required: send the ETag you last read")
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    if "*" not in tags and etag_of(obj) not in tags:
        raise PreconditionFailed(
            f"{type(obj).__name__} changed since you read it: current ETag {etag_of(obj)}"
        )
    return obj.version
