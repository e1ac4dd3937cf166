"""Import payloads: the upload, its options, and what a job reports."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest.fields import Upload

from logicrm.api import PageArgs
from logicrm.imports.models import ImportState
from logicrm.schemas import Id, enum_field


class UploadIn(ma.Schema):
    file = Upload(required=True, metadata={"description": "the CSV file (UTF-8, comma, semicolon or tab)"})


class ImportArgs(ma.Schema):
    dry_run = ma.fields.Boolean(
        load_default=False, metadata={"description": "check and report; write nothing"}
    )
    skip_invalid = ma.fields.Boolean(
        load_default=False,
        metadata={
            "description": "import the valid rows and report the rest (default: any invalid row, nothing)"
        },
    )
    date_format = ma.fields.String(
        validate=ma.validate.Length(min=2, max=40),
        metadata={"description": "local date format accepted besides ISO 8601, e.g. %d.%m.%Y"},
    )
    timezone = ma.fields.String(
        validate=ma.validate.Length(min=1, max=60),
        metadata={"description": "time zone of timestamps without a UTC offset, e.g. Asia/Shanghai"},
    )


class ImportListArgs(PageArgs):
    state = enum_field(ImportState)
    kind = ma.fields.String(validate=ma.validate.Length(max=40))


class ImportErrorOut(ma.Schema):
    line = ma.fields.Integer()
    column = ma.fields.String(metadata={"description": "empty when the problem is the row as a whole"})
    reason = ma.fields.String()


class ImportCountsOut(ma.Schema):
    created = ma.fields.Integer()
    updated = ma.fields.Integer()
    unchanged = ma.fields.Integer()
    invalid = ma.fields.Integer(metadata={"description": "rows rejected"})
    errors = ma.fields.List(ma.fields.Nested(ImportErrorOut), metadata={"description": "the first errors"})


class ImportJobOut(ma.Schema):
    id = Id()
    kind = ma.fields.String()
    filename = ma.fields.String()
    user_id = Id(allow_none=True)
    state = enum_field(ImportState)
    dry_run = ma.fields.Boolean()
    skip_invalid = ma.fields.Boolean()
    date_format = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    started_at = ma.fields.DateTime(allow_none=True)
    finished_at = ma.fields.DateTime(allow_none=True)
    bytes_total = ma.fields.Integer(allow_none=True)
    bytes_done = ma.fields.Integer()
    rows_done = ma.fields.Integer()
    counts = ma.fields.Nested(ImportCountsOut)
    error = ma.fields.String(
        allow_none=True, metadata={"description": "why the file as a whole was refused or failed"}
    )
    rejected_rows_url = ma.fields.String(
        metadata={"description": "CSV of the rejected rows, to fix and re-import"}
    )


class RejectOut(ma.Schema):
    line = ma.fields.Integer()
    errors = ma.fields.List(ma.fields.Nested(ImportErrorOut))
    cells = ma.fields.Function(
        lambda reject: reject.cells.get("values"), metadata={"description": "the row as read"}
    )


class KindOut(ma.Schema):
    name = ma.fields.String()
    columns = ma.fields.List(ma.fields.Dict(), metadata={"description": "name, required, type, default, doc"})
