"""HTTP routes of the customer core: customers, their merge, restore and history."""

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
from logicrm.audit import service as audit
from logicrm.customers import aliases, duplicates, merge
from logicrm.customers import service as customers
from logicrm.customers.schemas import (
    AliasIn,
    AliasOut,
    AuditEventOut,
    CustomerCreateIn,
    CustomerIn,
    CustomerListArgs,
    CustomerOut,
    DuplicateArgs,
    DuplicateScanArgs,
    DuplicateScanOut,
    MergeIn,
    MergeOut,
)
from logicrm.errors import NotFound
from logicrm.schemas import patch_schema

blp = Blueprint(
    "customers",
    __name__,
    url_prefix="/customers",
    description="Customers: companies holding shipper and/or consignee roles.",
)


@blp.route("")
class Customers(MethodView):
    @blp.arguments(CustomerListArgs, location="query")
    @blp.response(200, page_of(CustomerOut))
    def get(self, args):
        """List customers with filters, search, sort and pagination."""
        page, page_size = args.pop("page"), args.pop("page_size")
        statement = customers.answered_rows(customers.list_statement(user=current_user(), **args))
        total = customers.list_total(user=current_user(), **args)
        found = paginate(session(), statement, page=page, page_size=page_size, scalars=False, total=total)
        return {**found, "items": customers.answers(session(), found["items"])}

    @blp.arguments(CustomerCreateIn)
    @blp.arguments(DuplicateArgs, location="query")
    @blp.response(201, CustomerOut)
    @blp.alt_response(409, description="probable duplicate: the body names `existing_id`")
    def post(self, customer_in, args):
        """Create a customer, optionally with its shipper and consignee roles."""
        customer = customers.create(
            session(), user=current_user(), data=customer_in, allow_duplicate=args["allow_duplicate"]
        )
        return with_etag(customer, 201)


@blp.route("/<int:customer_id>")
class CustomerById(MethodView):
    @blp.response(200, CustomerOut)
    def get(self, customer_id):
        """Read one customer."""
        return with_etag(customers.get(session(), user=current_user(), customer_id=customer_id))

    @blp.arguments(patch_schema(CustomerIn))
    @blp.arguments(DuplicateArgs, location="query")
    @blp.response(200, CustomerOut)
    def patch(self, changes, args, customer_id):
        """Update some fields of a customer (If-Match required)."""
        customer = customers.get(session(), user=current_user(), customer_id=customer_id)
        expected_version(customer)
        customers.update(
            session(),
            user=current_user(),
            customer=customer,
            changes=changes,
            allow_duplicate=args["allow_duplicate"],
        )
        return with_etag(customer)

    @blp.response(204)
    def delete(self, customer_id):
        """Soft-delete a customer (If-Match required); restore undoes it."""
        customer = customers.get(session(), user=current_user(), customer_id=customer_id)
        expected_version(customer)
        customers.delete(session(), user=current_user(), customer=customer)


@blp.route("/<int:customer_id>/restore")
class CustomerRestore(MethodView):
    @blp.response(200, CustomerOut)
    def post(self, customer_id):
        """Restore a soft-deleted customer."""
        customer = customers.get(
            session(), user=current_user(), customer_id=customer_id, include_deleted=True
        )
        return with_etag(customers.restore(session(), user=current_user(), customer=customer))


@blp.route("/<int:customer_id>/merge")
class CustomerMerge(MethodView):
    @blp.arguments(MergeIn)
    @blp.response(200, MergeOut)
    def post(self, merge_in, customer_id):
        """Fold another customer into this one, moving every related record."""
        target = customers.get(session(), user=current_user(), customer_id=customer_id)
        try:
            source = customers.get(session(), user=current_user(), customer_id=merge_in["source_id"])
        except NotFound:
            raise NotFound(
                f"customer {merge_in['source_id']} not found",
                errors={"json": {"source_id": ["unknown customer"]}},
            ) from None
        moved = merge.merge(session(), user=current_user(), target=target, source=source)
        return {
            "customer": customers.get(session(), user=current_user(), customer_id=target.id),
            "moved": moved,
        }


@blp.route("/<int:customer_id>/history")
class CustomerHistory(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(AuditEventOut))
    def get(self, args, customer_id):
        """Who changed what on this customer, its roles, departments, contacts and links."""
        customers.require_visible(
            session(), user=current_user(), customer_id=customer_id, include_deleted=True
        )
        found = paginate(session(), audit.history_statement(customer_id=customer_id), **args)
        return {**found, "items": audit.present(user=current_user(), events=found["items"])}


@blp.route("/duplicates")
class CustomerDuplicates(MethodView):
    @blp.arguments(DuplicateScanArgs, location="query")
    @blp.response(200, DuplicateScanOut)
    def get(self, args):
        """Scan the customers you see for probable duplicates: groups, with whom to keep and what to merge."""
        return duplicates.scan(session(), user=current_user(), **args)


@blp.route("/<int:customer_id>/aliases")
class CustomerAliases(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(AliasOut))
    def get(self, args, customer_id):
        """The customer's other names (searched and matched like its name)."""
        customers.require_visible(session(), user=current_user(), customer_id=customer_id)
        return paginate(session(), aliases.list_statement(customer_id=customer_id), **args)

    @blp.arguments(AliasIn)
    @blp.arguments(DuplicateArgs, location="query")
    @blp.response(201, AliasOut)
    @blp.alt_response(409, description="already a name of this customer, or probably another customer's")
    def post(self, alias_in, args, customer_id):
        """Give the customer another name, e.g. its Chinese or English name."""
        customer = customers.get(session(), user=current_user(), customer_id=customer_id)
        alias = aliases.create(session(), user=current_user(), customer=customer, data=alias_in, **args)
        return with_etag(alias, 201)


@blp.route("/<int:customer_id>/aliases/<int:alias_id>")
class CustomerAliasById(MethodView):
    @blp.response(200, AliasOut)
    def get(self, customer_id, alias_id):
        """Read one alias."""
        customer = customers.get(session(), user=current_user(), customer_id=customer_id)
        return with_etag(aliases.get(session(), customer=customer, alias_id=alias_id))

    @blp.response(204)
    def delete(self, customer_id, alias_id):
        """Remove an alias (If-Match required)."""
        customer = customers.get(session(), user=current_user(), customer_id=customer_id)
        alias = aliases.get(session(), customer=customer, alias_id=alias_id)
        expected_version(alias)
        aliases.delete(session(), user=current_user(), alias=alias)


blueprints = (blp,)
