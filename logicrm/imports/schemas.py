"""Import payloads: the upload, its options, and what a job reports."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest.fields import Upload
from werkzeug.datastructures import FileStorage

from logicrm.api import PageArgs
from logicrm.imports.models import ImportState
from logicrm.schemas import Id, enum_field


class CsvFile(Upload):
    """A file part of a multipart body: a text field of the same name is refused, not read as a file."""

    default_error_messages = {"invalid": "must be a file part (with a filename), not a text field"}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, FileStorage):
            raise self.make_error("invalid")
        return value


class ImportOptions(ma.Schema):
    """An import's options: query parameters, or fields of the multipart body beside the file."""

    dry_run = ma.fields.Boolean(
        metadata={"description": "check and report; write nothing", "doc_default": False}
    )
    skip_invalid = ma.fields.Boolean(
        metadata={
            "description": "import the valid rows and report the rest (default: any invalid row, nothing)",
            "doc_default": False,
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


class ImportArgs(ImportOptions):
    """The options as query parameters."""


class UploadIn(ImportOptions):
    """The multipart body: the file, and the options as fields if not in the query."""

    file = CsvFile(required=True, metadata={"description": "the CSV file (UTF-8, comma, semicolon or tab)"})


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
    timezone = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    started_at = ma.fields.DateTime(allow_none=True)
    finished_at = ma.fields.DateTime(allow_none=True)
    attempts = ma.fields.Integer(
        metadata={"description": "runs started; a job whose worker died runs once more (at most 2)"}
    )
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
