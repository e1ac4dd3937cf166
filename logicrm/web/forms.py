"""The pages' forms (labels, CSRF, first checks) and `submit`, which checks a form's payload with the API's
own schema and writes it through the API's own service, so a form accepts exactly what the API accepts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    DecimalField,
    EmailField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, NumberRange, Optional

from logicrm import bounds
from logicrm.errors import Invalid
from logicrm.relations.models import Dimension, InteractionKind
from logicrm.tickets.models import Severity, TicketKind
from logicrm.users.models import UserRole
from logicrm.users.passwords import MAX_LENGTH, MIN_LENGTH

ROLE_LABELS = {
    UserRole.ADMIN: _l("administrator"),
    UserRole.MANAGER: _l("manager"),
    UserRole.ACCOUNT_MANAGER: _l("account manager"),
    UserRole.PLANNER: _l("planner"),
    UserRole.VIEWER: _l("viewer"),
}
INTERACTION_KINDS = {
    InteractionKind.VISIT: _l("visit"),
    InteractionKind.CALL: _l("call"),
    InteractionKind.EMAIL: _l("email"),
    InteractionKind.MEETING: _l("meeting"),
    InteractionKind.REVIEW: _l("review"),
}
TICKET_KINDS = {
    TicketKind.COMPLAINT: _l("complaint"),
    TicketKind.CLAIM: _l("claim"),
    TicketKind.REQUEST: _l("request"),
}
SEVERITIES = {Severity.LOW: _l("low"), Severity.MEDIUM: _l("medium"), Severity.HIGH: _l("high")}


def choices(labels: Mapping) -> list[SelectChoice]:
    return [SelectChoice(str(value), label) for value, label in labels.items()]


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=MAX_LENGTH)])


class LanguageForm(FlaskForm):
    language = SelectField(_l("Language"), choices=choices({"en": "English", "zh_Hans": "简体中文"}))


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    new = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(min=MIN_LENGTH, max=MAX_LENGTH)],
        description=_l("%(low)d to %(high)d characters", low=MIN_LENGTH, high=MAX_LENGTH),
    )
    confirm = PasswordField(
        _l("New password again"), validators=[DataRequired(), EqualTo("new", message=_l("The two differ."))]
    )


class InteractionForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=choices(INTERACTION_KINDS))
    at = DateTimeLocalField(_l("When"), validators=[DataRequired()])
    department_id = SelectField(_l("Department"), coerce=str, validate_choice=False)
    summary = TextAreaField(_l("What was said"), validators=[DataRequired(), Length(max=bounds.LONG_TEXT)])
    next_follow_up = DateField(_l("Next follow-up"), validators=[Optional()])


class TicketForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=choices(TICKET_KINDS))
    severity = SelectField(_l("Severity"), choices=choices(SEVERITIES), default="medium")
    subject = StringField(_l("Subject"), validators=[DataRequired(), Length(max=300)])
    link_id = SelectField(_l("Lane"), coerce=str, validate_choice=False)
    claim_amount = DecimalField(
        _l("Claim amount (account currency)"),
        validators=[Optional(), NumberRange(min=0, max=bounds.MONEY.high)],
    )


class ScoreForm(Form):
    dimension = HiddenField()
    expectation = IntegerField(_l("Expected"), validators=[Optional()])
    perception = IntegerField(_l("Perceived"), validators=[Optional()])


class SurveyForm(FlaskForm):
    department_id = SelectField(_l("Department"), coerce=str, validate_choice=False)
    collected_at = DateTimeLocalField(_l("Answered on"), validators=[DataRequired()])
    scale_max = SelectField(_l("Scale"), choices=choices({"5": "1–5", "7": "1–7", "10": "1–10"}), default="7")
    likelihood_to_recommend = IntegerField(
        _l("Likelihood to recommend (0–10)"), validators=[Optional(), NumberRange(min=0, max=10)]
    )
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=bounds.LONG_TEXT)])
    scores = FieldList(FormField(ScoreForm), min_entries=len(Dimension))


class CoverageForm(FlaskForm):
    version = HiddenField()  # the account's version when the form was shown: no lost update
    owner_id = SelectField(_l("Owner"), coerce=str, validate_choice=False)
    team_ids = SelectMultipleField(_l("Team"), coerce=str, validate_choice=False)


class UserForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    role = SelectField(_l("Role"), choices=choices(ROLE_LABELS))
    active = BooleanField(_l("Active (may sign in and use API keys)"), default=True)


class NewPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"),
        validators=[InputRequired(), Length(min=MIN_LENGTH, max=MAX_LENGTH)],
        description=_l(
            "%(low)d to %(high)d characters; tell the user in person", low=MIN_LENGTH, high=MAX_LENGTH
        ),
    )


class KeyForm(FlaskForm):
    label = StringField(_l("Label"), validators=[Optional(), Length(max=200)])


class WebhookForm(FlaskForm):
    url = URLField(_l("Address (URL)"), validators=[DataRequired(), Length(max=2000)])
    description = StringField(_l("Description"), validators=[Optional(), Length(max=300)])


class ImportForm(FlaskForm):
    kind = SelectField(_l("Kind of file"))
    file = FileField(_l("CSV file"), validators=[FileRequired()])
    dry_run = BooleanField(_l("Dry run: check every row, write nothing"), default=True)
    skip_invalid = BooleanField(_l("Import the valid rows even if some are invalid"))


def choices_of_departments(departments, *, optional: bool) -> list[SelectChoice]:
    """Choices of a customer's departments, deciding ones marked."""
    found = [SelectChoice(str(d.id), f"{d.name} ★" if d.is_decision_maker else d.name) for d in departments]
    return [SelectChoice("", str(_l("(none)"))), *found] if optional else found


def choices_of_lanes(links) -> list[SelectChoice]:
    return [
        SelectChoice("", str(_l("(none)"))),
        *(
            SelectChoice(str(link.id), f"{link.origin} → {link.destination} ({link.service_type})")
            for link in links
        ),
    ]


def choices_of_users(everyone, *, optional: bool) -> list[SelectChoice]:
    found = [
        SelectChoice(str(u.id), f"{u.name} ({ROLE_LABELS.get(u.role, u.role)})") for u in everyone if u.active
    ]
    return [SelectChoice("", str(_l("(nobody)"))), *found] if optional else found


def submit(form: FlaskForm, schema: ma.Schema, payload: dict, write: Callable[[dict], object]):
    """Check `payload` with the API's `schema` and hand it to `write`; return what it returns, or None with
    every reason (the schema's or the service's) shown at the form field it is about."""
    try:
        data = schema.load(payload)
    except ma.ValidationError as error:
        _show(form, error.messages)
        return None
    return attempt(form, lambda: write(data))


def attempt(form: FlaskForm, write: Callable[[], object]):
    """Run a service call; return what it returns, or None with its refusal shown at the form's fields."""
    try:
        return write()
    except Invalid as error:
        _show(form, (error.errors or {}).get("json") or {"": [error.message]})
    return None


def _show(form: FlaskForm, messages: Mapping) -> None:
    for name, reasons in messages.items():
        field = getattr(form, name, None) if name else None
        text = reasons if isinstance(reasons, list) else [str(reasons)]
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, *map(str, text)]
        else:
            form.form_errors.extend(f"{name}: {reason}" if name else str(reason) for reason in text)
