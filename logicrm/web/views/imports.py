"""Imports: upload a CSV (a dry run by default), see every rejected row with its reasons, download the
rejected rows to fix and import again. The same jobs, options and rules as the import API."""

from __future__ import annotations

from flask import current_app, redirect, url_for

from logicrm.api import csv_download, paginate, session
from logicrm.imports import jobs, progress
from logicrm.imports import service as imports
from logicrm.imports.csvfile import write_rows
from logicrm.imports.kinds import KINDS
from logicrm.web.forms import ImportForm, attempt, choices
from logicrm.web.pages import IMPORTERS, Page, render, route, user
from logicrm.web.views.common import page_number


def _spool_dir() -> str:
    return imports.spool_dir(settings=current_app.config["LOGICRM"], instance_path=current_app.instance_path)


def _form(formdata=...) -> ImportForm:
    form = ImportForm() if formdata is ... else ImportForm(formdata=formdata)
    form.kind.choices = choices({name: name for name in KINDS})
    return form


@route("/imports", methods=["GET", "POST"])
class Imports(Page):
    roles = IMPORTERS

    def get(self, form=None, status=200):
        jobs.recover(current_app.extensions["logicrm.db"], settings=current_app.config["LOGICRM"])
        found = paginate(session(), imports.list_statement(user=user()), page=page_number(), page_size=25)
        return render("imports.html", status, found=found, form=form or _form(None), kinds=KINDS)

    def post(self):
        form = _form()
        if not form.validate_on_submit():
            return self.get(form=form, status=422)
        settings = current_app.config["LOGICRM"]
        accepted = attempt(
            form,
            lambda: jobs.accept(
                current_app.extensions["logicrm.db"],
                upload=form.file.data,
                kind=imports.get_kind(name=form.kind.data),
                user=user(),
                options=imports.options_from(
                    settings=settings, dry_run=form.dry_run.data, skip_invalid=form.skip_invalid.data
                ),
                settings=settings,
                spool_dir=_spool_dir(),
            ),
        )
        if accepted is None:
            return self.get(form=form, status=422)
        return redirect(url_for("web.ImportJob", job_id=accepted[0].id), 303)


@route("/imports/<int:job_id>")
class ImportJob(Page):
    """One import: its state and counts, and each rejected row with its line, column and reason."""

    roles = IMPORTERS

    def get(self, job_id):
        job = imports.get(session(), user=user(), job_id=job_id)
        rejected = paginate(session(), imports.errors_statement(job=job), page=page_number(), page_size=50)
        return render(
            "import_job.html",
            job=job,
            progress=progress.live_progress(job=job, spool_dir=_spool_dir()),
            rejected=rejected,
        )


@route("/imports/<int:job_id>/rejected.csv")
class ImportRejects(Page):
    roles = IMPORTERS

    def get(self, job_id):
        db = session()
        header, rows = imports.rejected_rows(db, job=imports.get(db, user=user(), job_id=job_id))
        return csv_download(db, write_rows(header, rows), filename=f"import-{job_id}-rejected.csv")
