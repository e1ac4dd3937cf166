"""The web workspace: server-rendered pages for people, on the API's services and visibility rules.

`init_app` wires sessions (signed cookies, secure in production), password sign-in (Flask-Login), CSRF
checks on every form and htmx request (Flask-WTF), English and Simplified Chinese (Flask-Babel), the
pages' blueprint, HTML error pages and security headers. The pages live in `views/`, one module per page.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path

from flask import Flask, request
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect

from logicrm.config import ConfigError, Settings
from logicrm.web import format as formats
from logicrm.web import login, pages
from logicrm.web.views import blueprints

TRANSLATIONS = str(Path(__file__).with_name("translations"))
SECRET_KEY_FILE = "web-secret.key"
# Scripts come from this server only (inline data blocks, application/json, are not scripts). Inline styles
# are allowed: cytoscape.js styles the elements it creates through style attributes.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def init_app(app: Flask, *, api_prefix: str) -> None:
    """Serve the web workspace from `app`, beside the API under `api_prefix`."""
    settings: Settings = app.config["LOGICRM"]
    app.config.update(
        SECRET_KEY=settings.secret_key or _development_key(app, settings),
        SESSION_COOKIE_NAME="logicrm_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.env == "production",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=settings.session_hours),
        # Forms are checked in the pages' blueprint only: the API authenticates by bearer key, not cookie.
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=settings.session_hours * 3600,
        WTF_CSRF_SSL_STRICT=settings.env == "production",
        BABEL_DEFAULT_LOCALE="en",
        BABEL_TRANSLATION_DIRECTORIES=TRANSLATIONS,
    )
    CSRFProtect(app)
    Babel(app, locale_selector=login.locale, timezone_selector=lambda: settings.display_timezone)
    login.init_app(app)
    formats.register(app)
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    pages.register_errors(app, api_prefix=api_prefix)

    @app.after_request
    def _security_headers(response):
        if not request.path.startswith(api_prefix):
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            response.headers.setdefault("Referrer-Policy", "same-origin")
            response.headers.setdefault("X-Frame-Options", "DENY")
        return response


def _development_key(app: Flask, settings: Settings) -> str:
    """Return the session key kept in the instance folder, made on first use (all workers share it)."""
    if settings.env == "production":
        raise ConfigError(
            [
                "LOGICRM_SECRET_KEY is empty: production needs one key shared by every process (e.g. 64 random hex digits)"
            ]
        )
    path = os.path.join(app.instance_path, SECRET_KEY_FILE)
    if not os.path.exists(path):
        # Written whole under another name, then linked into place: a worker starting at the same moment
        # either links first or reads the finished file, never a half-written one.
        draft = f"{path}.{os.getpid()}.{secrets.token_hex(4)}"
        with open(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
            out.write(secrets.token_hex(32))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(draft)
    return Path(path).read_text().strip()
