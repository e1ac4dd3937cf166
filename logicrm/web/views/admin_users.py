"""Users, their passwords and API keys (administrators, as in the API), and who covers how many accounts."""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask_babel import gettext

from logicrm.api import paginate, session
from logicrm.customers import service as customers
from logicrm.users import keys as api_keys
from logicrm.users import passwords
from logicrm.users import service as users
from logicrm.users.models import UserRole
from logicrm.web.forms import KeyForm, NewPasswordForm, UserForm, attempt
from logicrm.web.pages import MANAGERS, Page, render, route
from logicrm.web.views.admin import ADMINS
from logicrm.web.views.common import page_number

USERS_PAGE = 100


@route("/admin/users", methods=["GET", "POST"])
class Users(Page):
    roles = ADMINS

    def get(self, form=None, status=200):
        found = paginate(session(), users.list_statement(), page=page_number(), page_size=USERS_PAGE)
        return render(
            "admin/users.html",
            status,
            found=found,
            live_keys=api_keys.live_counts(session(), user_ids=[u.id for u in found["items"]]),
            form=form or UserForm(formdata=None),
        )

    def post(self):
        form = UserForm()
        if form.validate_on_submit():
            made = attempt(
                form,
                lambda: users.create(
                    session(), name=form.name.data, email=form.email.data, role=UserRole(form.role.data)
                ),
            )
            if made is not None:
                made.active = form.active.data
                flash(
                    gettext(
                        "User %(name)s created: give them a password or an API key below.", name=made.name
                    ),
                    "success",
                )
                return redirect(url_for("web.UserPage", user_id=made.id), 303)
        return self.get(form=form, status=422)


@route("/admin/users/<int:user_id>", methods=["GET", "POST"])
class UserPage(Page):
    """One user: name, email, role, active; a new password; API keys (a new one is shown once)."""

    roles = ADMINS

    def get(self, user_id, form=None, password_form=None, key_form=None, secret=None, status=200):
        person = users.get(session(), user_id=user_id)
        if form is None:
            form = UserForm(formdata=None, obj=person)
            form.role.data = str(person.role)
        return render(
            "admin/user.html",
            status,
            person=person,
            form=form,
            password_form=password_form or NewPasswordForm(formdata=None),
            key_form=key_form or KeyForm(formdata=None),
            keys=sorted(person.keys, key=lambda key: key.id, reverse=True),
            secret=secret,
        )

    def post(self, user_id):
        person = users.get(session(), user_id=user_id)
        form = UserForm()
        if form.validate_on_submit():
            changes = {
                "name": form.name.data,
                "email": form.email.data,
                "role": UserRole(form.role.data),
                "active": form.active.data,
            }
            if attempt(form, lambda: users.update(session(), user=person, changes=changes)) is not None:
                flash(gettext("Saved."), "success")
                return redirect(url_for("web.UserPage", user_id=user_id), 303)
        return self.get(user_id, form=form, status=422)


@route("/admin/users/<int:user_id>/password", methods=["POST"])
class UserPassword(Page):
    roles = ADMINS

    def post(self, user_id):
        person = users.get(session(), user_id=user_id)
        form = NewPasswordForm()
        if form.validate_on_submit() and attempt(
            form, lambda: passwords.set_password(session(), user=person, password=form.password.data) or True
        ):
            flash(gettext("Password set; the user's other sessions are signed out."), "success")
            return redirect(url_for("web.UserPage", user_id=user_id), 303)
        return UserPage().get(user_id, password_form=form, status=422)


@route("/admin/users/<int:user_id>/keys", methods=["POST"])
class UserKeys(Page):
    roles = ADMINS

    def post(self, user_id):
        person = users.get(session(), user_id=user_id)
        form = KeyForm()
        if not form.validate_on_submit():
            return UserPage().get(user_id, key_form=form, status=422)
        _key, secret = api_keys.create(session(), user=person, label=form.label.data or None)
        return UserPage().get(user_id, secret=secret)


@route("/admin/keys/<int:key_id>/revoke", methods=["POST"])
class RevokeKey(Page):
    roles = ADMINS

    def post(self, key_id):
        key = api_keys.revoke(session(), key_id=key_id)
        flash(gettext("Key %(prefix)s revoked.", prefix=key.prefix), "success")
        return redirect(url_for("web.UserPage", user_id=key.user_id), 303)


@route("/admin/coverage")
class Coverage(Page):
    """Teams: who covers how many accounts (owner or team member); an account's page sets its coverage."""

    roles = MANAGERS

    def get(self):
        counts = customers.coverage_counts(session())
        everyone = list(session().scalars(users.list_statement()))
        return render("admin/coverage.html", everyone=everyone, counts=counts)
