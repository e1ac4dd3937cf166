"""HTTP routes for lanes (links) and shipments."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app
from flask.views import MethodView

from logicrm.api import Blueprint, current_user, expected_version, page_of, paginate, session, with_etag
from logicrm.db import utcnow
from logicrm.lanes import metrics, shipments
from logicrm.lanes import service as lanes
from logicrm.lanes.schemas import (
    BulkShipmentsOut,
    CustomerMetricsArgs,
    CustomerMetricsOut,
    LinkIn,
    LinkListArgs,
    LinkMetricsOut,
    LinkOut,
    MetricsArgs,
    ShipmentIn,
    ShipmentListArgs,
    ShipmentOut,
)
from logicrm.schemas import patch_schema

links_blp = Blueprint(
    "links", __name__, url_prefix="/links", description="Lanes from a shipper to a consignee."
)
shipments_blp = Blueprint("shipments", __name__, url_prefix="/shipments", description="Shipments on lanes.")
customer_metrics_blp = Blueprint(
    "customer-metrics", __name__, url_prefix="/customers", description="A customer's lanes over time."
)


@links_blp.route("")
class Links(MethodView):
    @links_blp.arguments(LinkListArgs, location="query")
    @links_blp.response(200, page_of(LinkOut))
    def get(self, args):
        """List lanes where you see at least one end, each with its last 90 days' shipments, revenue and OTIF."""
        page, page_size = args.pop("page"), args.pop("page_size")
        statement = lanes.list_statement(user=current_user(), **args)
        found = paginate(session(), statement, page=page, page_size=page_size)
        return {**found, "items": metrics.listed(session(), links=found["items"], now=utcnow())}

    @links_blp.arguments(LinkIn)
    @links_blp.response(201, LinkOut)
    def post(self, link_in):
        """Link a shipper to a consignee; both must already hold those roles."""
        link = lanes.create(session(), user=current_user(), data=link_in)
        return with_etag(link, 201)


@links_blp.route("/<int:link_id>")
class LinkById(MethodView):
    @links_blp.response(200, LinkOut)
    def get(self, link_id):
        """Read one lane."""
        link = lanes.get(session(), user=current_user(), link_id=link_id)
        return with_etag(link)

    @links_blp.arguments(patch_schema(LinkIn))
    @links_blp.response(200, LinkOut)
    def patch(self, changes, link_id):
        """Update a lane (If-Match required)."""
        link = lanes.get(session(), user=current_user(), link_id=link_id)
        expected_version(link)
        lanes.update(session(), user=current_user(), link=link, changes=changes)
        return with_etag(link)

    @links_blp.response(204)
    def delete(self, link_id):
        """Delete a lane and its shipments (If-Match required); set status ended to keep history."""
        link = lanes.get(session(), user=current_user(), link_id=link_id)
        expected_version(link)
        lanes.delete(session(), user=current_user(), link=link)


@links_blp.route("/<int:link_id>/metrics")
class LinkMetrics(MethodView):
    @links_blp.arguments(MetricsArgs, location="query")
    @links_blp.response(200, LinkMetricsOut)
    def get(self, args, link_id):
        """The lane month by month (or week by week): shipments, revenue, cost, margin, OTIF, damage, claims."""
        return metrics.link_metrics(session(), user=current_user(), link_id=link_id, **args)


@customer_metrics_blp.route("/<int:customer_id>/metrics")
class CustomerMetrics(MethodView):
    @customer_metrics_blp.arguments(CustomerMetricsArgs, location="query")
    @customer_metrics_blp.response(200, CustomerMetricsOut)
    def get(self, args, customer_id):
        """The customer's lanes over time, with each lane's totals over the range."""
        return metrics.customer_metrics(session(), user=current_user(), customer_id=customer_id, **args)


class BulkShipmentsIn(ma.Schema):
    shipments = ma.fields.List(
        ma.fields.Nested(ShipmentIn), required=True, validate=ma.validate.Length(min=1)
    )


@shipments_blp.route("")
class Shipments(MethodView):
    @shipments_blp.arguments(ShipmentListArgs, location="query")
    @shipments_blp.response(200, page_of(ShipmentOut))
    def get(self, args):
        """List shipments on lanes you see."""
        page, page_size = args.pop("page"), args.pop("page_size")
        statement = shipments.list_statement(user=current_user(), **args)
        return paginate(session(), statement, page=page, page_size=page_size)

    @shipments_blp.arguments(BulkShipmentsIn)
    @shipments_blp.response(201, BulkShipmentsOut)
    def post(self, bulk_in):
        """Import up to 10,000 shipments at once: all rows are written or none; a known external_ref updates its row."""
        limit = current_app.config["LOGICRM"].bulk_shipments_max
        return shipments.create_many(
            session(), user=current_user(), rows=bulk_in["shipments"], max_rows=limit
        )


@shipments_blp.route("/<int:shipment_id>")
class ShipmentById(MethodView):
    @shipments_blp.response(200, ShipmentOut)
    def get(self, shipment_id):
        """Read one shipment."""
        shipment = shipments.get(session(), user=current_user(), shipment_id=shipment_id)
        return with_etag(shipment)

    @shipments_blp.arguments(patch_schema(ShipmentIn))
    @shipments_blp.response(200, ShipmentOut)
    def patch(self, changes, shipment_id):
        """Correct a shipment, e.g. record its delivery (If-Match required); both ends' history records it."""
        shipment = shipments.get(session(), user=current_user(), shipment_id=shipment_id)
        expected_version(shipment)
        shipments.update(session(), user=current_user(), shipment=shipment, changes=changes)
        return with_etag(shipment)

    @shipments_blp.response(204)
    def delete(self, shipment_id):
        """Delete a shipment (If-Match required); both ends' history records what it was."""
        shipment = shipments.get(session(), user=current_user(), shipment_id=shipment_id)
        expected_version(shipment)
        shipments.delete(session(), user=current_user(), shipment=shipment)


blueprints = (links_blp, shipments_blp, customer_metrics_blp)
