"""HTTP routes of the shipper role: its profile, the shipper list and its consignees."""

from __future__ import annotations

from flask.views import MethodView

from logicrm.api import (
    Blueprint,
    PageArgs,
    current_user,
    expected_version,
    page_of,
    paginate,
    session,
    with_etag,
)
from logicrm.customers import service as customers
from logicrm.customers.schemas import CustomerOut, RoleViewArgs
from logicrm.shippers import service as shippers
from logicrm.shippers.schemas import ShipperProfileIn, ShipperProfileOut

blp = Blueprint("shippers", __name__, url_prefix="", description="Customers holding the shipper role.")


@blp.route("/customers/<int:customer_id>/shipper")
class ShipperProfile(MethodView):
    @blp.response(200, ShipperProfileOut)
    def get(self, customer_id):
        """Read the shipper role of a customer."""
        return with_etag(shippers.get(session(), user=current_user(), customer_id=customer_id))

    @blp.arguments(ShipperProfileIn)
    @blp.response(200, ShipperProfileOut)
    def put(self, profile_in, customer_id):
        """Add or replace the shipper role (If-Match required when it exists)."""
        customer = customers.get(session(), user=current_user(), customer_id=customer_id)
        if customer.shipper_profile is not None:
            expected_version(customer.shipper_profile)
        return with_etag(shippers.put(session(), user=current_user(), customer=customer, data=profile_in))

    @blp.response(204)
    def delete(self, customer_id):
        """Remove the shipper role (refused while links use it)."""
        customer = customers.get(session(), user=current_user(), customer_id=customer_id)
        expected_version(shippers.get(session(), user=current_user(), customer_id=customer_id))
        shippers.delete(session(), user=current_user(), customer=customer)


@blp.route("/shippers")
class Shippers(MethodView):
    @blp.arguments(RoleViewArgs, location="query")
    @blp.response(200, page_of(CustomerOut))
    def get(self, args):
        """List customers holding the shipper role (same filters as /customers)."""
        page, page_size = args.pop("page"), args.pop("page_size")
        statement = shippers.list_statement(user=current_user(), **args)
        return paginate(session(), customers.answered_whole(statement), page=page, page_size=page_size)


@blp.route("/shippers/<int:customer_id>/consignees")
class ShipperConsignees(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(CustomerOut))
    def get(self, args, customer_id):
        """List the consignees this shipper has lanes with."""
        shippers.get(session(), user=current_user(), customer_id=customer_id)
        statement = shippers.consignees_statement(user=current_user(), customer_id=customer_id)
        return paginate(session(), customers.answered_whole(statement), **args)


blueprints = (blp,)
