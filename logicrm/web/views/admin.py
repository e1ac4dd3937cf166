"""Administration: the index, roles in words, health-check runs (list, start one), webhook receivers and
the scoring and rule settings in force. Users, keys and coverage: admin_users.py; imports: imports.py."""

from __future__ import annotations

import dataclasses

from flask import current_app, flash, redirect, url_for
from flask_babel import gettext

from logicrm.api import paginate, session
from logicrm.health import runs
from logicrm.outbox import receivers
from logicrm.outbox import service as outbox
from logicrm.users.models import UserRole
from logicrm.web.forms import WebhookForm, attempt
from logicrm.web.pages import MANAGERS, Page, render, route
from logicrm.web.views.common import page_number

ADMINS = (UserRole.ADMIN,)


@route("/admin")
class Admin(Page):
    roles = MANAGERS

    def get(self):
        return render("admin/index.html")


@route("/admin/roles")
class Roles(Page):
    """What each role may do: the rules logicrm/access.py and the API apply, in words."""

    roles = MANAGERS

    def get(self):
        return render("admin/roles.html")


@route("/admin/runs", methods=["GET", "POST"])
class Runs(Page):
    roles = MANAGERS

    def get(self):
        found = paginate(session(), runs.list_statement(), page=page_number(), page_size=25)
        return render("admin/runs.html", found=found)

    def post(self):
        """Start a health run now, in the background as the API does; 409 while one is running."""
        try:
            runs.start_in_background(
                current_app.extensions["logicrm.db"], runs.RunConfig.of_app(current_app.config)
            )
        except (runs.RunInProgress, runs.SlotTaken) as refused:
            flash(refused.message, "error")
        else:
            flash(gettext("Health run started; reload this page to see it finish."), "success")
        return redirect(url_for("web.Runs"), 303)


@route("/admin/settings")
class Parameters(Page):
    """The scoring and rule parameters in force, with what each means; they change through the environment."""

    roles = MANAGERS

    def get(self):
        config = current_app.config
        return render(
            "admin/settings.html",
            groups=[
                (
                    gettext("Scoring"),
                    _rows(config["LOGICRM_SCORING"]),
                    config["LOGICRM_SCORING"].config_hash(),
                ),
                (
                    gettext("Alert rules"),
                    _rows(config["LOGICRM_RULES"]),
                    config["LOGICRM_RULES"].config_hash(),
                ),
            ],
        )


def _rows(params) -> list[dict]:
    described = {name: (env, default, doc) for name, env, default, doc in type(params).describe()}
    return [
        {
            "name": f.name,
            "env": described[f.name][0],
            "value": getattr(params, f.name),
            "default": described[f.name][1],
            "doc": described[f.name][2],
        }
        for f in dataclasses.fields(params)
    ]


@route("/admin/webhooks", methods=["GET", "POST"])
class Webhooks(Page):
    roles = ADMINS

    def get(self, form=None, secret=None, status=200):
        found = paginate(session(), receivers.list_statement(), page=page_number(), page_size=50)
        return render(
            "admin/webhooks.html", status, found=found, form=form or WebhookForm(formdata=None), secret=secret
        )

    def post(self):
        form = WebhookForm()
        if form.validate_on_submit():
            settings = current_app.config["LOGICRM"]
            made = attempt(
                form,
                lambda: receivers.create(
                    session(), url=form.url.data, description=form.description.data or None, settings=settings
                ),
            )
            if made is not None:
                return self.get(secret=made[1])
        return self.get(form=form, status=422)


@route("/admin/webhooks/<int:receiver_id>/<any(test, pause, resume, delete):action>", methods=["POST"])
class WebhookAction(Page):
    roles = ADMINS

    def post(self, receiver_id, action):
        receiver = receivers.get(session(), receiver_id=receiver_id)
        settings = current_app.config["LOGICRM"]
        if action == "test":
            outbox.enqueue_test(session(), receiver=receiver, settings=settings)
            flash(gettext("Test event queued: the next outbox flush sends it."), "success")
        elif action == "delete":
            receivers.delete(session(), receiver=receiver)
            flash(gettext("Receiver deleted."), "success")
        else:
            receivers.update(
                session(), receiver=receiver, changes={"active": action == "resume"}, settings=settings
            )
        return redirect(url_for("web.Webhooks"), 303)
