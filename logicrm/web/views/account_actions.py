"""What one does on an account page: log an interaction, open a ticket, record a survey, set who covers it.

Each form's payload is checked by the API's own schema and written by the API's own service (forms.submit),
so the page accepts and refuses exactly what the API does. A success reloads the account page with a
message; a refusal shows the form again with each reason at its field.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from flask import current_app, flash, redirect, url_for
from flask_babel import gettext

from logicrm.api import paginate, session
from logicrm.customers import records
from logicrm.customers import service as customers
from logicrm.customers.schemas import CustomerIn
from logicrm.db import utcnow
from logicrm.errors import PreconditionFailed
from logicrm.lanes import service as lanes
from logicrm.relations import service as relations
from logicrm.relations.schemas import InteractionIn, SurveyIn
from logicrm.schemas import patch_schema
from logicrm.tickets.schemas import TicketIn
from logicrm.tickets.service import TICKETS
from logicrm.users import service as users
from logicrm.web import words
from logicrm.web.forms import (
    CoverageForm,
    InteractionForm,
    SurveyForm,
    TicketForm,
    choices_of_departments,
    choices_of_lanes,
    choices_of_users,
    submit,
)
from logicrm.web.pages import MANAGERS, Page, htmx, render, route, user

LANE_CHOICES = 100  # lanes the ticket form offers (a hub has hundreds; each option costs render time)


def _utc(local: dt.datetime) -> str:
    """A time entered in the display time zone, as the API's ISO 8601 in UTC."""
    zone = zoneinfo.ZoneInfo(current_app.config["LOGICRM"].display_timezone)
    return local.replace(tzinfo=zone).astimezone(dt.UTC).isoformat()


def _id(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _done(customer_id: int, message: str):
    flash(message, "success")
    target = url_for("web.Account", customer_id=customer_id) + "#timeline"
    if htmx():
        # HX-Refresh as well: a redirect to the page the form is on, differing only by its #fragment,
        # would merely scroll, leaving the form filled in and the message unshown
        return "", 204, {"HX-Redirect": target, "HX-Refresh": "true"}
    return redirect(target, 303)


def _refused(form, template: str, customer_id: int):
    return render(template, 422, form=form, customer_id=customer_id)


def _departments(customer_id: int) -> list:
    return list(
        session().scalars(
            records.list_statement(user=user(), kind=relations.DEPARTMENTS, customer_id=customer_id)
        )
    )


def _fill_coverage(form: CoverageForm) -> None:
    everyone = list(session().scalars(users.list_statement()))
    form.owner_id.choices = choices_of_users(everyone, optional=True)
    form.team_ids.choices = choices_of_users(everyone, optional=False)


def new_forms(customer) -> dict:
    """The account page's forms, blank, their choices filled; the coverage form only for managers."""
    now = utcnow().astimezone(zoneinfo.ZoneInfo(current_app.config["LOGICRM"].display_timezone))
    now = now.replace(second=0, microsecond=0, tzinfo=None)
    found = {}
    for action in (LogInteraction, OpenTicket, RecordSurvey):
        form = action.form_class(prefix=action.prefix, formdata=None)
        action.fill(form, customer.id)
        found[action.prefix] = form
    found["interaction"].at.data = found["survey"].collected_at.data = now
    if user().role in MANAGERS:
        coverage = CoverageForm(prefix="coverage", formdata=None)
        _fill_coverage(coverage)
        coverage.owner_id.data = str(customer.owner_id or "")
        coverage.team_ids.data = [str(member.id) for member in customer.team]
        coverage.version.data = str(customer.version)
        found["coverage"] = coverage
    return found


class AccountAction(Page):
    """An action on one account: the account must be one the user may see (else 404, as the API)."""

    form_class: type
    template: str

    prefix: str

    def post(self, customer_id):
        customers.require_visible(session(), user=user(), customer_id=customer_id)
        form = self.form_class(prefix=self.prefix)
        self.fill(form, customer_id)
        if form.validate_on_submit():
            done = self.write(form, customer_id)
            if done is not None:
                return _done(customer_id, self.message)
        return _refused(form, self.template, customer_id)

    @staticmethod
    def fill(form, customer_id) -> None:
        """Give the form's choices (the service checks whatever id comes back)."""

    def write(self, form, customer_id):
        raise NotImplementedError


@route("/accounts/<int:customer_id>/interactions", methods=["POST"])
class LogInteraction(AccountAction):
    form_class, template, prefix = InteractionForm, "_form_interaction.html", "interaction"
    message = property(lambda self: gettext("Interaction logged."))

    @staticmethod
    def fill(form, customer_id):
        form.department_id.choices = choices_of_departments(_departments(customer_id), optional=True)

    def write(self, form, customer_id):
        payload = {
            "customer_id": customer_id,
            "kind": form.kind.data,
            "at": _utc(form.at.data),
            "department_id": _id(form.department_id.data),
            "summary": form.summary.data,
            "next_follow_up": form.next_follow_up.data.isoformat() if form.next_follow_up.data else None,
        }
        return submit(
            form,
            InteractionIn(),
            payload,
            lambda data: records.create(session(), user=user(), kind=relations.INTERACTIONS, data=data),
        )


@route("/accounts/<int:customer_id>/tickets", methods=["POST"])
class OpenTicket(AccountAction):
    form_class, template, prefix = TicketForm, "_form_ticket.html", "ticket"
    message = property(lambda self: gettext("Ticket opened."))

    @staticmethod
    def fill(form, customer_id):
        found = paginate(
            session(),
            lanes.list_statement(user=user(), customer_id=customer_id),
            page=1,
            page_size=LANE_CHOICES,
        )
        form.link_id.choices = choices_of_lanes(found["items"])
        if found["meta"]["total"] > LANE_CHOICES:
            form.link_id.description = gettext(
                "The first %(shown)s of its %(total)s lanes; another lane's ticket can name it by id "
                "through the API (link_id).",
                shown=LANE_CHOICES,
                total=found["meta"]["total"],
            )

    def write(self, form, customer_id):
        payload = {
            "customer_id": customer_id,
            "kind": form.kind.data,
            "severity": form.severity.data,
            "subject": form.subject.data,
            "link_id": _id(form.link_id.data),
            "claim_amount": None if form.claim_amount.data is None else float(form.claim_amount.data),
        }
        return submit(
            form,
            TicketIn(),
            payload,
            lambda data: records.create(session(), user=user(), kind=TICKETS, data=data),
        )


@route("/accounts/<int:customer_id>/surveys", methods=["POST"])
class RecordSurvey(AccountAction):
    form_class, template, prefix = SurveyForm, "_form_survey.html", "survey"
    message = property(lambda self: gettext("Survey answer recorded."))

    @staticmethod
    def fill(form, customer_id):
        form.department_id.choices = choices_of_departments(_departments(customer_id), optional=False)
        for entry, dimension in zip(form.scores, words.DIMENSION_ORDER, strict=True):
            entry.dimension.data = dimension

    def write(self, form, customer_id):
        scores = [
            {
                "dimension": entry.dimension.data,
                "expectation": entry.expectation.data,
                "perception": entry.perception.data,
            }
            for entry in form.scores
            if entry.expectation.data is not None or entry.perception.data is not None
        ]
        if not scores:
            form.form_errors.append(gettext("Give expected and perceived for at least one dimension."))
            return None
        payload = {
            "customer_id": customer_id,
            "department_id": _id(form.department_id.data),
            "collected_at": _utc(form.collected_at.data),
            "scale_min": 1,
            "scale_max": int(form.scale_max.data),
            "likelihood_to_recommend": form.likelihood_to_recommend.data,
            "comment": form.comment.data or None,
            "scores": scores,
        }
        return submit(
            form,
            SurveyIn(),
            payload,
            lambda data: records.create(session(), user=user(), kind=relations.SURVEYS, data=data),
        )


@route("/accounts/<int:customer_id>/coverage", methods=["POST"])
class SetCoverage(Page):
    """Who covers the account (owner and team): managers and administrators, as in the API."""

    roles = MANAGERS

    def post(self, customer_id):
        customer = customers.get(session(), user=user(), customer_id=customer_id)
        form = CoverageForm(prefix="coverage")
        _fill_coverage(form)
        if form.validate_on_submit():
            if str(customer.version) != form.version.data:
                raise PreconditionFailed(
                    gettext(
                        "Someone changed this account since you opened the page: reload it and try again."
                    )
                )
            payload = {
                "owner_id": _id(form.owner_id.data),
                "team_ids": [int(i) for i in form.team_ids.data if i.isdigit()],
            }
            done = submit(
                form,
                patch_schema(CustomerIn)(),
                payload,
                lambda data: customers.update(session(), user=user(), customer=customer, changes=data),
            )
            if done is not None:
                return _done(customer_id, gettext("Coverage saved."))
        return _refused(form, "_form_coverage.html", customer_id)
