"""HTTP routes for departments, contacts, survey responses and interactions: one class per resource."""

from __future__ import annotations

from flask.views import MethodView

from logicrm.api import Blueprint, current_user, expected_version, page_of, paginate, session, with_etag
from logicrm.customers import records
from logicrm.customers.schemas import ByCustomerArgs
from logicrm.relations.schemas import (
    ContactIn,
    ContactOut,
    DepartmentIn,
    DepartmentOut,
    InteractionIn,
    InteractionOut,
    SurveyIn,
    SurveyOut,
)
from logicrm.relations.service import CONTACTS, DEPARTMENTS, INTERACTIONS, SURVEYS
from logicrm.schemas import patch_schema

departments_blp = Blueprint(
    "departments",
    __name__,
    url_prefix="/departments",
    description="Departments of a client company, with decision weights.",
)

contacts_blp = Blueprint(
    "contacts",
    __name__,
    url_prefix="/contacts",
    description="People at a client; planners never see their email or phone.",
)

surveys_blp = Blueprint(
    "surveys",
    __name__,
    url_prefix="/surveys",
    description="Survey responses: expectation and perception per service dimension.",
)

interactions_blp = Blueprint(
    "interactions",
    __name__,
    url_prefix="/interactions",
    description="Visits, calls and meetings with a client.",
)


@departments_blp.route("")
class Departments(MethodView):
    @departments_blp.arguments(ByCustomerArgs, location="query")
    @departments_blp.response(200, page_of(DepartmentOut))
    def get(self, args):
        """List department records of visible customers, optionally of one customer."""
        page, page_size = args.pop("page"), args.pop("page_size")
        statement = records.list_statement(user=current_user(), kind=DEPARTMENTS, **args)
        return paginate(session(), statement, page=page, page_size=page_size)

    @departments_blp.arguments(DepartmentIn)
    @departments_blp.response(201, DepartmentOut)
    def post(self, department_in):
        """Create a department."""
        return with_etag(
            records.create(session(), user=current_user(), kind=DEPARTMENTS, data=department_in), 201
        )


@departments_blp.route("/<int:department_id>")
class DepartmentById(MethodView):
    @departments_blp.response(200, DepartmentOut)
    def get(self, department_id):
        """Read one department."""
        return with_etag(
            records.get(session(), user=current_user(), kind=DEPARTMENTS, record_id=department_id)
        )

    @departments_blp.arguments(patch_schema(DepartmentIn))
    @departments_blp.response(200, DepartmentOut)
    def patch(self, changes, department_id):
        """Update some fields of a department (If-Match required)."""
        department = records.get(session(), user=current_user(), kind=DEPARTMENTS, record_id=department_id)
        expected_version(department)
        return with_etag(
            records.update(
                session(), user=current_user(), kind=DEPARTMENTS, record=department, changes=changes
            )
        )

    @departments_blp.response(204)
    def delete(self, department_id):
        """Delete a department (If-Match required). Refused (409) while survey responses would go with it."""
        department = records.get(session(), user=current_user(), kind=DEPARTMENTS, record_id=department_id)
        expected_version(department)
        records.delete(session(), user=current_user(), kind=DEPARTMENTS, record=department)


@contacts_blp.route("")
class Contacts(MethodView):
    @contacts_blp.arguments(ByCustomerArgs, location="query")
    @contacts_blp.response(200, page_of(ContactOut))
    def get(self, args):
        """List contact records of visible customers, optionally of one customer."""
        page, page_size = args.pop("page"), args.pop("page_size")
        statement = records.list_statement(user=current_user(), kind=CONTACTS, **args)
        return paginate(session(), statement, page=page, page_size=page_size)

    @contacts_blp.arguments(ContactIn)
    @contacts_blp.response(201, ContactOut)
    def post(self, contact_in):
        """Create a contact."""
        return with_etag(records.create(session(), user=current_user(), kind=CONTACTS, data=contact_in), 201)


@contacts_blp.route("/<int:contact_id>")
class ContactById(MethodView):
    @contacts_blp.response(200, ContactOut)
    def get(self, contact_id):
        """Read one contact."""
        return with_etag(records.get(session(), user=current_user(), kind=CONTACTS, record_id=contact_id))

    @contacts_blp.arguments(patch_schema(ContactIn))
    @contacts_blp.response(200, ContactOut)
    def patch(self, changes, contact_id):
        """Update some fields of a contact (If-Match required)."""
        contact = records.get(session(), user=current_user(), kind=CONTACTS, record_id=contact_id)
        expected_version(contact)
        return with_etag(
            records.update(session(), user=current_user(), kind=CONTACTS, record=contact, changes=changes)
        )

    @contacts_blp.response(204)
    def delete(self, contact_id):
        """Delete a contact (If-Match required)."""
        contact = records.get(session(), user=current_user(), kind=CONTACTS, record_id=contact_id)
        expected_version(contact)
        records.delete(session(), user=current_user(), kind=CONTACTS, record=contact)


@surveys_blp.route("")
class Surveys(MethodView):
    @surveys_blp.arguments(ByCustomerArgs, location="query")
    @surveys_blp.response(200, page_of(SurveyOut))
    def get(self, args):
        """List survey records of visible customers, optionally of one customer."""
        page, page_size = args.pop("page"), args.pop("page_size")
        statement = records.list_statement(user=current_user(), kind=SURVEYS, **args)
        return paginate(session(), statement, page=page, page_size=page_size)

    @surveys_blp.arguments(SurveyIn)
    @surveys_blp.response(201, SurveyOut)
    def post(self, survey_in):
        """Create a survey."""
        return with_etag(records.create(session(), user=current_user(), kind=SURVEYS, data=survey_in), 201)


@surveys_blp.route("/<int:survey_id>")
class SurveyById(MethodView):
    @surveys_blp.response(200, SurveyOut)
    def get(self, survey_id):
        """Read one survey."""
        return with_etag(records.get(session(), user=current_user(), kind=SURVEYS, record_id=survey_id))

    @surveys_blp.response(204)
    def delete(self, survey_id):
        """Delete a survey (If-Match required)."""
        survey = records.get(session(), user=current_user(), kind=SURVEYS, record_id=survey_id)
        expected_version(survey)
        records.delete(session(), user=current_user(), kind=SURVEYS, record=survey)


@interactions_blp.route("")
class Interactions(MethodView):
    @interactions_blp.arguments(ByCustomerArgs, location="query")
    @interactions_blp.response(200, page_of(InteractionOut))
    def get(self, args):
        """List interaction records of visible customers, optionally of one customer."""
        page, page_size = args.pop("page"), args.pop("page_size")
        statement = records.list_statement(user=current_user(), kind=INTERACTIONS, **args)
        return paginate(session(), statement, page=page, page_size=page_size)

    @interactions_blp.arguments(InteractionIn)
    @interactions_blp.response(201, InteractionOut)
    def post(self, interaction_in):
        """Create an interaction."""
        return with_etag(
            records.create(session(), user=current_user(), kind=INTERACTIONS, data=interaction_in), 201
        )


@interactions_blp.route("/<int:interaction_id>")
class InteractionById(MethodView):
    @interactions_blp.response(200, InteractionOut)
    def get(self, interaction_id):
        """Read one interaction."""
        return with_etag(
            records.get(session(), user=current_user(), kind=INTERACTIONS, record_id=interaction_id)
        )

    @interactions_blp.arguments(patch_schema(InteractionIn))
    @interactions_blp.response(200, InteractionOut)
    def patch(self, changes, interaction_id):
        """Update some fields of an interaction (If-Match required)."""
        interaction = records.get(session(), user=current_user(), kind=INTERACTIONS, record_id=interaction_id)
        expected_version(interaction)
        return with_etag(
            records.update(
                session(), user=current_user(), kind=INTERACTIONS, record=interaction, changes=changes
            )
        )

    @interactions_blp.response(204)
    def delete(self, interaction_id):
        """Delete an interaction (If-Match required)."""
        interaction = records.get(session(), user=current_user(), kind=INTERACTIONS, record_id=interaction_id)
        expected_version(interaction)
        records.delete(session(), user=current_user(), kind=INTERACTIONS, record=interaction)


blueprints = (departments_blp, contacts_blp, surveys_blp, interactions_blp)
