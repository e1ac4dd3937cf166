"""Signing in and out, the reader's language, and one's own settings (language, password).

A session remembers the user's id and a stamp of its password hash: a new password, a deactivated user
or a user without a password ends every session at its next request.
"""

from __future__ import annotations

import hashlib

from flask import Flask, current_app, g, redirect, request, session, url_for
from flask_babel import gettext, refresh
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from werkzeug.security import check_password_hash

from logicrm.api import session as request_session
from logicrm.db import utcnow
from logicrm.users import passwords
from logicrm.users import service as users
from logicrm.users.models import User
from logicrm.web.forms import LanguageForm, LoginForm, PasswordForm
from logicrm.web.pages import Page, back, htmx, render, route, safe_next

# What the pages are written in; a browser asking for any Chinese gets Simplified Chinese.
LANGUAGES = {"en": "English", "zh_Hans": "简体中文"}
BROWSER_LANGUAGES = {"en": "en", "zh": "zh_Hans"}


class SignedIn(UserMixin):
    """The signed-in user as Flask-Login sees it; `user` is the row the services are given."""

    def __init__(self, user: User):
        self.user = user

    def get_id(self) -> str:
        return f"{self.user.id}:{_stamp(self.user)}"

    @property
    def is_active(self) -> bool:
        return self.user.active


def _stamp(user: User) -> str:
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:16]


def _load(session_id: str) -> SignedIn | None:
    user_id, _, stamp = session_id.partition(":")
    if not user_id.isdigit():
        return None
    with current_app.extensions["logicrm.db"].session(write=False) as db:
        user = db.get(User, int(user_id))
        if user is None or not user.active or not user.password_hash or _stamp(user) != stamp:
            return None
        db.expunge(user)
    return SignedIn(user)


def _unauthorized():
    target = url_for("web.Login", next=request.full_path if request.method == "GET" else None)
    if htmx():  # htmx follows this header with a full page load
        return "", 401, {"HX-Redirect": target}
    return redirect(target)


def init_app(app: Flask) -> None:
    manager = LoginManager(app)
    manager.user_loader(_load)
    manager.unauthorized_handler(_unauthorized)


def locale() -> str:
    """The language of this request: the user's choice, else the one chosen before signing in, else the
    browser's best match."""
    chosen = current_user.user.language if current_user.is_authenticated else None
    chosen = chosen or session.get("language")
    if chosen in LANGUAGES:
        return chosen
    match = request.accept_languages.best_match(list(BROWSER_LANGUAGES), default="en")
    return BROWSER_LANGUAGES[match]


@route("/login", methods=["GET", "POST"])
class Login(Page):
    public = True

    def get(self):
        if current_user.is_authenticated:
            return redirect(url_for("web.MyDay"))
        return render("login.html", form=LoginForm(), languages=LANGUAGES)

    def post(self):
        form = LoginForm()
        if not form.validate_on_submit():
            return render("login.html", 422, form=form, languages=LANGUAGES)
        settings = current_app.config["LOGICRM"]
        throttle = passwords.Throttle(settings.login_max_failures, settings.login_window_s)
        # the attempt is kept whatever the outcome, so it commits on its own
        with current_app.extensions["logicrm.db"].session_scope() as db:
            outcome = passwords.sign_in(
                db,
                email=form.email.data,
                password=form.password.data,
                address=request.remote_addr or "unknown",
                now=utcnow(),
                throttle=throttle,
            )
            if outcome.user is not None:
                db.expunge(outcome.user)
        if outcome.retry_after_s is not None:
            minutes = max(1, round(outcome.retry_after_s / 60))
            form.form_errors.append(
                gettext("Too many failed sign-ins: try again in %(minutes)d minutes.", minutes=minutes)
            )
            return render("login.html", 429, form=form, languages=LANGUAGES)
        if outcome.user is None:
            form.form_errors.append(gettext("The email or the password is wrong."))
            return render("login.html", 401, form=form, languages=LANGUAGES)
        language = session.get("language")
        session.clear()  # a new session for the new user: nothing carries over from before
        session.permanent = True
        login_user(SignedIn(outcome.user))
        if language and not outcome.user.language:
            session["language"] = language
        return redirect(safe_next(request.args.get("next"), url_for("web.MyDay")))


@route("/logout", methods=["POST"])
class Logout(Page):
    personal = True

    def post(self):
        logout_user()
        session.clear()
        return redirect(url_for("web.Login"))


@route("/language", methods=["POST"])
class Language(Page):
    """Switch the pages' language: kept on the user when signed in, in the session before."""

    public = True

    def post(self):
        form = LanguageForm()
        if form.validate_on_submit():
            if current_user.is_authenticated:
                users.update(
                    request_session(),
                    user=_attached(current_user.user),
                    changes={"language": form.language.data},
                )
                current_user.user.language = form.language.data
            session["language"] = form.language.data
            refresh()
        return back()


def _attached(user: User) -> User:
    """The signed-in user as a row of this request's session (to write it)."""
    return users.get(request_session(), user_id=user.id)


@route("/settings", methods=["GET", "POST"])
class Settings(Page):
    """One's own language and password."""

    personal = True

    def get(self):
        return render("settings.html", form=PasswordForm(), languages=LANGUAGES)

    def post(self):
        form = PasswordForm()
        me = g.user
        if form.validate_on_submit():
            if not check_password_hash(me.password_hash or "", form.current.data):
                form.current.errors.append(gettext("This is not your current password."))
            else:
                row = _attached(me)
                passwords.set_password(request_session(), user=row, password=form.new.data)
                me.password_hash = row.password_hash
                login_user(SignedIn(me))  # this session goes on under the new stamp; the others end
                return render(
                    "settings.html", form=PasswordForm(formdata=None), languages=LANGUAGES, saved=True
                )
        return render("settings.html", 422, form=form, languages=LANGUAGES)
