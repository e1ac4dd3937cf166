"""HTTP routes of the customer core."""

from __future__ import annotations

from flask.views import MethodView

from logicrm.api import Blueprint, PageArgs, etag_of, expected_version, page_of, paginate, session
from logicrm.audit import service as audit
from logicrm.auth import current_user
from logicrm.consignees.schemas import ConsigneeProfileIn, ConsigneeProfileOut
from logicrm.customers import related
from logicrm.customers import service as customers
from logicrm.customers.schemas import (
    AuditEventOut,
    ByCustomerArgs,
    ContactIn,
    ContactOut,
    CustomerCreateIn,
    CustomerIn,
    CustomerListArgs,
    CustomerOut,
    DepartmentIn,
    DepartmentOut,
    DuplicateArgs,
    InteractionIn,
    InteractionOut,
    MergeIn,
    MergeOut,
    OpportunityIn,
    OpportunityOut,
    RoleViewArgs,
    SurveyIn,
    SurveyOut,
    TicketIn,
    TicketOut,
)
from logicrm.errors import NotFound
from logicrm.network import service as network
from logicrm.schemas import patch_schema
from logicrm.shippers.schemas import ShipperProfileIn, ShipperProfileOut

blp = Blueprint(
    "customers",
    __name__,
    url_prefix="/customers",
    description="Customers: companies holding shipper and/or consignee roles.",
)


def with_etag(record, status: int = 200):
    """Return a view result carrying the record's ETag (send it back in If-Match to update)."""
    return record, status, {"ETag": etag_of(record)}


def list_customers(args: dict, **fixed):
    """Paginate the customer list for the current user with query filters."""
    page, page_size = args.pop("page"), args.pop("page_size")
    statement = customers.list_statement(current_user(), **{**args, **fixed})
    return paginate(session(), statement, page=page, page_size=page_size)


@blp.route("")
class Customers(MethodView):
    @blp.arguments(CustomerListArgs, location="query")
    @blp.response(200, page_of(CustomerOut))
    def get(self, args):
        """List customers with filters, search, sort and pagination."""
        return list_customers(args)

    @blp.arguments(CustomerCreateIn)
    @blp.arguments(DuplicateArgs, location="query")
    @blp.response(201, CustomerOut)
    @blp.alt_response(409, description="probable duplicate: the body names `existing_id`")
    def post(self, customer_in, args):
        """Create a customer, optionally with its shipper and consignee roles."""
        customer = customers.create(
            session(), current_user(), customer_in, allow_duplicate=args["allow_duplicate"]
        )
        return with_etag(customer, 201)


@blp.route("/<int:customer_id>")
class CustomerById(MethodView):
    @blp.response(200, CustomerOut)
    def get(self, customer_id):
        """Read one customer."""
        return with_etag(customers.get_visible(session(), current_user(), customer_id))

    @blp.arguments(patch_schema(CustomerIn))
    @blp.arguments(DuplicateArgs, location="query")
    @blp.response(200, CustomerOut)
    def patch(self, changes, args, customer_id):
        """Update some fields of a customer (If-Match required)."""
        customer = customers.get_visible(session(), current_user(), customer_id)
        expected_version(customer)
        customers.update(
            session(), current_user(), customer, changes, allow_duplicate=args["allow_duplicate"]
        )
        return with_etag(customer)

    @blp.response(204)
    def delete(self, customer_id):
        """Soft-delete a customer (If-Match required); restore undoes it."""
        customer = customers.get_visible(session(), current_user(), customer_id)
        expected_version(customer)
        customers.soft_delete(session(), current_user(), customer)


@blp.route("/<int:customer_id>/restore")
class CustomerRestore(MethodView):
    @blp.response(200, CustomerOut)
    def post(self, customer_id):
        """Restore a soft-deleted customer."""
        customer = customers.get_visible(session(), current_user(), customer_id, include_deleted=True)
        return with_etag(customers.restore(session(), current_user(), customer))


@blp.route("/<int:customer_id>/merge")
class CustomerMerge(MethodView):
    @blp.arguments(MergeIn)
    @blp.response(200, MergeOut)
    def post(self, merge_in, customer_id):
        """Fold another customer into this one, moving every related record."""
        user = current_user()
        target = customers.get_visible(session(), user, customer_id)
        try:
            source = customers.get_visible(session(), user, merge_in["source_id"])
        except NotFound:
            raise NotFound(
                f"customer {merge_in['source_id']} not found",
                errors={"json": {"source_id": ["unknown customer"]}},
            ) from None
        moved = customers.merge(session(), user, target, source)
        return {"customer": session().get(type(target), target.id), "moved": moved}


@blp.route("/<int:customer_id>/history")
class CustomerHistory(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(AuditEventOut))
    def get(self, args, customer_id):
        """Who changed what on this customer, its roles, departments, contacts and links."""
        customer = customers.get_visible(session(), current_user(), customer_id, include_deleted=True)
        found = paginate(session(), customers.history_statement(customer), **args)
        return {**found, "items": audit.present(current_user(), found["items"])}


def _role_profile_routes(role: str, in_schema, out_schema) -> None:
    class RoleProfile(MethodView):
        @blp.response(200, out_schema)
        def get(self, customer_id):
            customer = customers.get_visible(session(), current_user(), customer_id)
            profile = getattr(customer, f"{role}_profile")
            if profile is None:
                raise NotFound(f"customer {customer_id} has no {role} role")
            return with_etag(profile)

        @blp.arguments(in_schema)
        @blp.response(200, out_schema)
        def put(self, profile_in, customer_id):
            customer = customers.get_visible(session(), current_user(), customer_id)
            existing = getattr(customer, f"{role}_profile")
            if existing is not None:
                expected_version(existing)
            return with_etag(customers.put_profile(session(), current_user(), customer, role, profile_in))

        @blp.response(204)
        def delete(self, customer_id):
            customer = customers.get_visible(session(), current_user(), customer_id)
            profile = getattr(customer, f"{role}_profile")
            if profile is None:
                raise NotFound(f"customer {customer_id} has no {role} role")
            expected_version(profile)
            customers.delete_profile(session(), current_user(), customer, role)

    RoleProfile.get.__doc__ = f"Read the {role} role of a customer."
    RoleProfile.put.__doc__ = f"Add or replace the {role} role (If-Match required when it exists)."
    RoleProfile.delete.__doc__ = f"Remove the {role} role (refused while links use it)."
    blp.route(f"/<int:customer_id>/{role}")(type(f"{role.title()}Profile", (RoleProfile,), {}))


_role_profile_routes("shipper", ShipperProfileIn, ShipperProfileOut)
_role_profile_routes("consignee", ConsigneeProfileIn, ConsigneeProfileOut)


def related_blueprint(
    kind: related.RelatedKind, in_schema, out_schema, *, path: str, title: str, patchable: bool = True
) -> Blueprint:
    """Build list/create/read/update/delete routes for one kind of customer-scoped record."""
    rblp = Blueprint(path, __name__, url_prefix=f"/{path}", description=title)

    class Collection(MethodView):
        @rblp.arguments(ByCustomerArgs, location="query")
        @rblp.response(200, page_of(out_schema))
        def get(self, args):
            page, page_size = args.pop("page"), args.pop("page_size")
            statement = related.list_statement(kind, current_user(), **args)
            return paginate(session(), statement, page=page, page_size=page_size)

        @rblp.arguments(in_schema)
        @rblp.response(201, out_schema)
        def post(self, record_in):
            return with_etag(related.create(session(), current_user(), kind, record_in), 201)

    @rblp.response(200, out_schema)
    def get(self, record_id):
        return with_etag(related.get(session(), current_user(), kind, record_id))

    @rblp.response(204)
    def delete(self, record_id):
        record = related.get(session(), current_user(), kind, record_id)
        expected_version(record)
        related.delete(session(), current_user(), kind, record)

    @rblp.arguments(patch_schema(in_schema))
    @rblp.response(200, out_schema)
    def patch(self, changes, record_id):
        record = related.get(session(), current_user(), kind, record_id)
        expected_version(record)
        return with_etag(related.update(session(), current_user(), kind, record, changes))

    get.__doc__ = f"Read one {kind.entity}."
    delete.__doc__ = f"Delete a {kind.entity} (If-Match required)." + "".join(
        f" Refused (409) while {model.__tablename__.replace('_', ' ')} would go with it."
        for model, _column, _advice in kind.kept_by
    )
    patch.__doc__ = f"Update some fields of a {kind.entity} (If-Match required)."
    # MethodView fixes its HTTP methods when the class is created, so build it with the right ones.
    item_methods = {"get": get, "delete": delete, **({"patch": patch} if patchable else {})}
    Item = type("Item", (MethodView,), item_methods)

    Collection.get.__doc__ = f"List {kind.entity} records of visible customers, optionally of one customer."
    Collection.post.__doc__ = f"Create a {kind.entity}."
    rblp.route("")(Collection)
    rblp.route("/<int:record_id>")(Item)
    return rblp


blueprints = (
    blp,
    related_blueprint(
        related.DEPARTMENTS,
        DepartmentIn,
        DepartmentOut,
        path="departments",
        title="Departments of a client company, with decision weights.",
    ),
    related_blueprint(
        related.CONTACTS,
        ContactIn,
        ContactOut,
        path="contacts",
        title="People at a client; planners never see their email or phone.",
    ),
    related_blueprint(
        related.SURVEYS,
        SurveyIn,
        SurveyOut,
        path="surveys",
        patchable=False,
        title="Survey responses: expectation and perception per service dimension.",
    ),
    related_blueprint(
        related.INTERACTIONS,
        InteractionIn,
        InteractionOut,
        path="interactions",
        title="Visits, calls and meetings with a client.",
    ),
    related_blueprint(
        related.TICKETS, TicketIn, TicketOut, path="tickets", title="Complaints, claims and requests."
    ),
    related_blueprint(
        related.OPPORTUNITIES,
        OpportunityIn,
        OpportunityOut,
        path="opportunities",
        title="Sales funnel: new business, cross-sell, up-sell, renewals.",
    ),
)


def role_blueprint(role: str, other: str) -> Blueprint:
    """Build the role view of customers: `/shippers`, `/shippers/{id}/consignees` (and the reverse)."""
    rblp = Blueprint(
        f"{role}s", __name__, url_prefix=f"/{role}s", description=f"Customers holding the {role} role."
    )

    class Members(MethodView):
        @rblp.arguments(RoleViewArgs, location="query")
        @rblp.response(200, page_of(CustomerOut))
        def get(self, args):
            return list_customers(args, role=role)

    class Partners(MethodView):
        @rblp.arguments(PageArgs, location="query")
        @rblp.response(200, page_of(CustomerOut))
        def get(self, args, customer_id):
            customer = customers.get_visible(session(), current_user(), customer_id)
            if getattr(customer, f"{role}_profile") is None:
                raise NotFound(f"customer {customer_id} has no {role} role")
            statement = network.partners_statement(current_user(), customer.id, as_role=role)
            return paginate(session(), statement, **args)

    # The OpenAPI summary is read when the route is registered, so set the docstrings first.
    Members.get.__doc__ = f"List customers holding the {role} role (same filters as /customers)."
    Partners.get.__doc__ = f"List the {other}s this {role} has lanes with."
    rblp.route("")(Members)
    rblp.route(f"/<int:customer_id>/{other}s")(Partners)
    return rblp
