"""What every page shares: the blueprint, the Page base class with its access rules, rendering and errors.

Access follows the API's rules, through the same functions: the signed-in user becomes the request's
user (`logicrm.api.current_user`), services apply visibility, a read-only role may not write
(`auth.may_write`), and a page may be limited to some roles. Every form and htmx request that is not a
GET must carry the session's CSRF token.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, g, redirect, render_template, request, url_for
from flask.views import MethodView
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from logicrm import auth
from logicrm.api import SAFE_METHODS
from logicrm.errors import DomainError, Forbidden
from logicrm.users.models import User, UserRole
from logicrm.web import words
from logicrm.web.forms import INTERACTION_KINDS, ROLE_LABELS

blp = Blueprint(
    "web", __name__, template_folder="templates", static_folder="static", static_url_path="/static"
)

MANAGERS = (UserRole.ADMIN, UserRole.MANAGER)


class Page(MethodView):
    """A page or a page's action. `roles` limits who may open it (None: every signed-in user)."""

    roles: tuple[UserRole, ...] | None = None
    # open to everyone, signed in or not (the sign-in page)
    public = False
    # a POST that changes only the caller's own settings (language, password): any role may make it
    personal = False
    # a POST that computes without writing (what-if): any role, no write lock (logicrm.api.session)
    read_only = False


def route(rule: str, **options) -> Callable[[type[Page]], type[Page]]:
    """Register a Page class at `rule`; its endpoint is `web.<ClassName>`."""

    def register(view: type[Page]) -> type[Page]:
        blp.add_url_rule(rule, view_func=view.as_view(view.__name__), **options)
        return view

    return register


def user() -> User:
    """The signed-in user (the same object `logicrm.api.current_user` returns)."""
    return g.user


def htmx() -> bool:
    """Tell whether the request comes from htmx (it then wants a fragment, not a page)."""
    return request.headers.get("HX-Request") == "true"


def render(template: str, code: int = 200, **context):
    """Render a template with the signed-in user in its context, answering with status `code`."""
    return render_template(template, me=g.get("user"), **context), code


def safe_next(target: str | None, default: str) -> str:
    """Return `target` if it is a path on this site (never another host), else `default`."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


@blp.before_request
def _check_access():
    view = getattr(current_app.view_functions.get(request.endpoint), "view_class", None)
    if view is None or view.public:
        if request.method not in SAFE_METHODS:
            current_app.extensions["csrf"].protect()
        return None
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    g.user = current_user.user
    if view.roles is not None and g.user.role not in view.roles:
        raise Forbidden(gettext("Your role may not open this page."))
    if request.method not in SAFE_METHODS:
        current_app.extensions["csrf"].protect()
        if not (view.personal or view.read_only or auth.may_write(g.user)):
            raise Forbidden(gettext("Your role may look but not change anything."))
    return None


IMPORTERS = (UserRole.ADMIN, UserRole.MANAGER, UserRole.ACCOUNT_MANAGER)
# (endpoint, label, roles that see it: None for all); the pages themselves check the same roles
NAV = (
    ("web.MyDay", _l("My day"), None),
    ("web.Accounts", _l("Accounts"), None),
    ("web.Network", _l("Network"), None),
    ("web.WhatIf", _l("What-if"), None),
    ("web.Alerts", _l("Alerts"), None),
    ("web.ServiceDesk", _l("Service desk"), None),
    ("web.MyTasks", _l("My tasks"), None),
    ("web.Portfolio", _l("Portfolio"), None),
    ("web.Imports", _l("Imports"), IMPORTERS),
    ("web.Admin", _l("Admin"), MANAGERS),
)
# pages reached from a navigation entry, marked as its part
NAV_FAMILY = {
    "web.Accounts": ("web.Account",),
    "web.Imports": ("web.ImportJob",),
    "web.Admin": (
        "web.Users",
        "web.UserPage",
        "web.Roles",
        "web.Coverage",
        "web.Webhooks",
        "web.Runs",
        "web.Parameters",
    ),
}


def role_label(role) -> str:
    return str(ROLE_LABELS.get(role, role))


@blp.app_context_processor
def _navigation():
    def nav_items(me: User):
        return [(endpoint, label) for endpoint, label, roles in NAV if roles is None or me.role in roles]

    me = g.get("user")
    return {
        "is_htmx": htmx(),
        "nav_items": nav_items,
        "nav_family": NAV_FAMILY,
        "role_label": role_label,
        "rule_name": words.rule_name,
        "may_write": me is not None and auth.may_write(me),
        "is_manager": me is not None and me.role in MANAGERS,
        "dimension_name": lambda key: str(words.DIMENSIONS.get(key, key)),
        "interaction_kind": lambda key: str(INTERACTION_KINDS.get(key, key)),
    }


@blp.errorhandler(DomainError)
def _domain_error(error: DomainError):
    return _error_page(error.status, error.message)


@blp.errorhandler(CSRFError)
def _csrf_error(error: CSRFError):
    return _error_page(
        400, gettext("This form has expired or did not come from this site: reload the page and try again.")
    )


def _error_page(status: int, message: str):
    if htmx():
        response = current_app.make_response(render("_flash.html", status, level="error", message=message))
        # show the message in the page's message area, whatever the request meant to replace
        response.headers.update({"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"})
        return response
    return render("error.html", status, status=status, message=message)


def register_errors(app: Flask, *, api_prefix: str) -> None:
    """Answer an unknown address or method with a page, except under the API (which answers JSON)."""

    def _not_routed(error):
        if request.path.startswith(api_prefix):
            return app.extensions["logicrm.api"].handle_http_exception(error)
        message = (
            gettext("There is no page at this address.")
            if error.code == 404
            else gettext("This page does not take that request.")
        )
        return render("error.html", error.code, status=error.code, message=message)

    for code in (404, 405):
        app.register_error_handler(code, _not_routed)


def back(default_endpoint: str = "web.MyDay", **values):
    """Redirect to the page the request came from (on this site), else to `default_endpoint`."""
    target = request.form.get("next") or request.referrer
    if target and urlsplit(target).netloc == urlsplit(request.host_url).netloc:
        parts = urlsplit(target)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
    return redirect(safe_next(target, url_for(default_endpoint, **values)))
