"""HTTP route streaming a CSV export."""

from __future__ import annotations

from flask.views import MethodView

from logicrm.api import Blueprint, csv_download, current_user, session
from logicrm.exports import service as exports
from logicrm.imports.csvfile import write_rows

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
        return csv_download(db, write_rows(header, rows), filename=f"{kind}.csv")


blueprints = (blp,)
