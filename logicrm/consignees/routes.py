"""HTTP routes of the consignee role: its profile, the consignee list and its shippers."""

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
from logicrm.consignees import service as consignees
from logicrm.consignees.schemas import ConsigneeProfileIn, ConsigneeProfileOut
from logicrm.customers import service as customers
from logicrm.customers.schemas import CustomerOut, RoleViewArgs

blp = Blueprint("consignees", __name__, url_prefix="", description="Customers holding the consignee role.")


@blp.route("/customers/<int:customer_id>/consignee")
class ConsigneeProfile(MethodView):
    @blp.response(200, ConsigneeProfileOut)
    def get(self, customer_id):
        """Read the consignee role of a customer."""
        return with_etag(consignees.get(session(), user=current_user(), customer_id=customer_id))

    @blp.arguments(ConsigneeProfileIn)
    @blp.response(200, ConsigneeProfileOut)
    def put(self, profile_in, customer_id):
        """Add or replace the consignee role (If-Match required when it exists)."""
        customer = customers.get(session(), user=current_user(), customer_id=customer_id)
        if customer.consignee_profile is not None:
            expected_version(customer.consignee_profile)
        return with_etag(consignees.put(session(), user=current_user(), customer=customer, data=profile_in))

    @blp.response(204)
    def delete(self, customer_id):
        """Remove the consignee role (refused while links use it)."""
        customer = customers.get(session(), user=current_user(), customer_id=customer_id)
        expected_version(consignees.get(session(), user=current_user(), customer_id=customer_id))
        consignees.delete(session(), user=current_user(), customer=customer)


@blp.route("/consignees")
class Consignees(MethodView):
    @blp.arguments(RoleViewArgs, location="query")
    @blp.response(200, page_of(CustomerOut))
    def get(self, args):
        """List customers holding the consignee role (same filters as /customers)."""
        page, page_size = args.pop("page"), args.pop("page_size")
        statement = consignees.list_statement(user=current_user(), **args)
        return paginate(session(), customers.answered_whole(statement), page=page, page_size=page_size)


@blp.route("/consignees/<int:customer_id>/shippers")
class ConsigneeShippers(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(CustomerOut))
    def get(self, args, customer_id):
        """List the shippers this consignee has lanes with."""
        consignees.get(session(), user=current_user(), customer_id=customer_id)
        statement = consignees.shippers_statement(user=current_user(), customer_id=customer_id)
        return paginate(session(), customers.answered_whole(statement), **args)


blueprints = (blp,)
