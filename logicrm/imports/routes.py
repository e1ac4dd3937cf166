"""Import API: upload a CSV, follow its job, download the rejected rows."""

from __future__ import annotations

from flask import current_app, url_for
from flask.views import MethodView

from logicrm.api import Blueprint, csv_download, current_user, page_of, paginate, require_role, session
from logicrm.errors import Invalid
from logicrm.imports import jobs, progress, service
from logicrm.imports.csvfile import write_rows
from logicrm.imports.kinds import KINDS
from logicrm.imports.schemas import ImportArgs, ImportJobOut, ImportListArgs, KindOut, RejectOut, UploadIn
from logicrm.users.models import UserRole

blp = Blueprint("imports", __name__, url_prefix="/imports", description="Bulk CSV imports and their jobs")
IMPORTERS = (UserRole.ADMIN, UserRole.MANAGER, UserRole.ACCOUNT_MANAGER)


def _settings():
    return current_app.config["LOGICRM"]


def _database():
    return current_app.extensions["logicrm.db"]


def _spool_dir() -> str:
    return service.spool_dir(settings=_settings(), instance_path=current_app.instance_path)


def _out(job) -> dict:
    """A job as the API shows it: live progress while running, and where its rejected rows are."""
    shown = {column.key: getattr(job, column.key) for column in job.__table__.columns}
    shown.update(progress.live_progress(job=job, spool_dir=_spool_dir()))
    if job.counts.get("invalid"):
        shown["rejected_rows_url"] = url_for("imports.RejectedRows", job_id=job.id)
    return shown


@blp.route("/kinds")
class Kinds(MethodView):
    @blp.response(200, KindOut(many=True))
    def get(self):
        """The kinds of file an import takes, with their columns."""
        return [
            {
                "name": kind.name,
                "columns": [
                    {
                        "name": c.name,
                        "required": c.required,
                        "type": c.type.doc,
                        "default": c.format(c.default) or None,
                        "doc": c.doc,
                    }
                    for c in kind.columns
                ],
            }
            for kind in KINDS.values()
        ]


@blp.route("/<string:kind>")
class Upload(MethodView):
    @blp.arguments(ImportArgs, location="query")
    @blp.arguments(UploadIn, location="form", content_type="multipart/form-data")
    @blp.response(201, ImportJobOut)
    @blp.alt_response(
        202, schema=ImportJobOut, description="a large file: queued as a job; follow its Location"
    )
    @blp.alt_response(413, description="the file is larger than import_max_upload_bytes")
    def post(self, query, upload, kind):
        """Import a CSV file of `kind`: small files at once (201), large ones as a background job (202).

        The options go in the query or as fields of the body, not both. By default any invalid row
        means nothing is written (state rejected); every invalid row is reported with its line,
        column and reason."""
        user = require_role(*IMPORTERS)
        import_kind = service.get_kind(name=kind)
        file = upload.pop("file")
        options = service.options_from(settings=_settings(), **_given_once(query, upload))
        job, queued = jobs.accept(
            _database(), upload=file, kind=import_kind, user=user, options=options,
            settings=_settings(), spool_dir=_spool_dir(),
        )  # fmt: skip
        return _out(job), 202 if queued else 201, {"Location": url_for("imports.Job", job_id=job.id)}


def _given_once(query: dict, form: dict) -> dict:
    """The options of the query and of the form, refusing any given in both."""
    twice = sorted(query.keys() & form.keys())
    if twice:
        raise Invalid(
            f"{', '.join(twice)}: given both in the query and as a form field; give each option once",
            errors={"form": {name: ["also given in the query"] for name in twice}},
        )
    return {**query, **form}


@blp.route("")
class Jobs(MethodView):
    @blp.arguments(ImportListArgs, location="query")
    @blp.response(200, page_of(ImportJobOut))
    def get(self, args):
        """Import jobs, newest first (administrators and managers see all, others their own)."""
        jobs.recover(_database(), settings=_settings())
        statement = service.list_statement(
            user=current_user(), state=args.get("state"), kind=args.get("kind")
        )
        page = paginate(session(), statement, page=args["page"], page_size=args["page_size"])
        return {**page, "items": [_out(job) for job in page["items"]]}


@blp.route("/<int:job_id>")
class Job(MethodView):
    @blp.response(200, ImportJobOut)
    def get(self, job_id):
        """One import job: state, rows done, counts and the first errors."""
        jobs.recover(_database(), settings=_settings())
        return _out(service.get(session(), user=current_user(), job_id=job_id))


@blp.route("/<int:job_id>/errors")
class Errors(MethodView):
    @blp.arguments(ImportListArgs(only=("page", "page_size")), location="query")
    @blp.response(200, page_of(RejectOut))
    def get(self, args, job_id):
        """Every rejected row of a job with its line, cells and problems."""
        job = service.get(session(), user=current_user(), job_id=job_id)
        return paginate(
            session(), service.errors_statement(job=job), page=args["page"], page_size=args["page_size"]
        )


@blp.route("/<int:job_id>/rejected.csv")
class RejectedRows(MethodView):
    @blp.response(200, description="CSV: the file's header plus import_errors, and each rejected row")
    def get(self, job_id):
        """Download the rejected rows to fix and import again (the import_errors column is ignored)."""
        db = session()
        header, rows = service.rejected_rows(db, job=service.get(db, user=current_user(), job_id=job_id))
        return csv_download(db, write_rows(header, rows), filename=f"import-{job_id}-rejected.csv")


blueprints = (blp,)
