"""Helpers for import tests: CSV text, uploads through the API, imports through the service and CLI."""

from __future__ import annotations

import csv
import io
import os
import uuid

import pytest
from sqlalchemy import func, select

from logicrm.imports import service
from logicrm.imports.models import ImportJob
from logicrm.users.models import User

SHIPMENT_HEADER = ("external_ref", "link_ref", "shipped_at", "delivered_at", "revenue", "cost")


def csv_text(header, rows, *, delimiter: str = ",") -> str:
    """Write `header` and `rows` as CSV text (\\r\\n line ends, as spreadsheets write them)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def shipment_rows(count: int, *, link_ref: str = "L1", prefix: str = "SH") -> list[list[str]]:
    """`count` valid shipment rows on one lane, refs SH00000, SH00001, ..."""
    return [
        [
            f"{prefix}{n:05d}",
            link_ref,
            f"2026-01-{1 + n % 28:02d}T08:00:00Z",
            f"2026-02-{1 + n % 28:02d}T08:00:00Z",
            f"{100 + n % 50}.50",
            "80",
        ]
        for n in range(count)
    ]


def upload(api, kind: str, text: str | bytes, *, filename: str = "upload.csv", **query):
    """POST a CSV file to /imports/<kind> as the client's actor."""
    data = text.encode() if isinstance(text, str) else text
    headers = {"Authorization": f"Bearer {api.key}"} if api.key else {}
    return api.client.post(
        f"/api/v1/imports/{kind}",
        data={"file": (io.BytesIO(data), filename)},
        query_string={
            name: str(value).lower() if isinstance(value, bool) else value for name, value in query.items()
        },
        headers=headers,
        content_type="multipart/form-data",
    )


def run_import(app, kind: str, text: str | bytes, *, user_id: int | None = None, **options):
    """Import through the service as the command line does; return the finished job."""
    database, settings = app.extensions["logicrm.db"], app.config["LOGICRM"]
    opts = service.options_from(settings=settings, **options)
    import_kind = service.get_kind(name=kind)
    data = text.encode() if isinstance(text, str) else text
    with database.session_scope() as session:
        user = session.get(User, user_id) if user_id else None
        job = service.create(
            session, kind=import_kind, filename=f"{kind}.csv", user=user, options=opts, bytes_total=len(data)
        )
    return service.execute(
        database,
        job_id=job.id,
        stream=io.BytesIO(data),
        options=opts,
        spool_dir=service.spool_dir(settings=settings, instance_path=app.instance_path),
    )


def job_row(db, job_id: int) -> ImportJob:
    """The job as stored now."""
    with db.session(write=False) as session:
        return session.get(ImportJob, job_id)


def count(db, model, *where) -> int:
    with db.session(write=False) as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


CUSTOMERS = csv_text(
    ("external_ref", "name", "shipper", "consignee"),
    [["S1", "Shipper One GmbH", "true", "false"], ["C1", "Consignee One Ltd", "false", "true"]],
)
LINKS = csv_text(
    ("external_ref", "shipper_ref", "consignee_ref", "origin", "destination"),
    [["L1", "S1", "C1", "Hamburg", "Shanghai"]],
)


@pytest.fixture
def lane(app, db):
    """Shipper S1, consignee C1 and the link L1 between them, committed (for other processes too)."""
    for kind, text in (("customers", CUSTOMERS), ("links", LINKS)):
        job = run_import(app, kind, text)
        assert job.state == "succeeded", (job.error, job.counts)
    return "L1"


def queue_import(app, kind: str, text: str | bytes, **options) -> ImportJob:
    """Spool a file and queue its job as an upload too large for the request does; return the job."""
    settings = app.config["LOGICRM"]
    spool = service.spool_dir(settings=settings, instance_path=app.instance_path)
    path = os.path.join(spool, f"upload-{uuid.uuid4().hex}.csv")
    with open(path, "wb") as file:
        file.write(text.encode() if isinstance(text, str) else text)
    with app.extensions["logicrm.db"].session_scope() as session:
        return service.create(
            session, kind=service.get_kind(name=kind), filename=f"{kind}.csv", user=None,
            options=service.options_from(settings=settings, **options), bytes_total=os.path.getsize(path),
            spool_path=path,
        )  # fmt: skip
