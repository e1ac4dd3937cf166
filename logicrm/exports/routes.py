"""HTTP route streaming a CSV export."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from flask import Response
from flask.views import MethodView
from sqlalchemy.orm import Session

from logicrm.api import Blueprint, current_user, session
from logicrm.exports import service as exports
from logicrm.imports.csvfile import write_rows

BOM = "\ufeff"  # Excel reads a CSV as UTF-8 (Chinese names intact) only when it starts with one

blp = Blueprint(
    "exports",
    __name__,
    url_prefix="/exports",
    description="CSV files of what you can see; an import kind's file re-imports to the same data.",
)


@blp.route("/<kind>")
class Export(MethodView):
    @blp.response(
        200,
        {"type": "string"},
        content_type="text/csv",
        description="UTF-8 CSV with a byte-order mark, streamed",
    )
    @blp.alt_response(403, description="your role may not export this kind (planners: contacts)")
    @blp.alt_response(404, description="no such export kind; the message lists them")
    def get(self, kind):
        """Download a CSV export: customers, departments, contacts, links, shipments, surveys, interactions,
        tickets (each in its import format), health_snapshots or alerts."""
        db = session()
        header, rows = exports.table(db, kind=kind, user=current_user())
        return csv_download(db, header, rows, filename=f"{kind}.csv")


def csv_download(db: Session, header: list[str], rows: Iterable[list[str]], *, filename: str) -> Response:
    """Stream a CSV attachment read from the request's session `db`."""
    return Response(
        _body(db, write_rows(header, rows)),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _body(db: Session, chunks: Iterator[str]) -> Iterator[str]:
    # The request's session was committed and closed before the body is read; the stream reads on in a
    # transaction of its own, closed when the file is done or the client goes away.
    try:
        yield BOM
        yield from chunks
    finally:
        db.close()


blueprints = (blp,)
