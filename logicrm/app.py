"""Application factory: configuration, database, API blueprints, the web workspace, error mapping."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

import swagger_ui_bundle
from flask import Blueprint, Flask, g, jsonify, request, send_from_directory
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import UniqueConstraint
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import RequestEntityTooLarge

from logicrm import auth
from logicrm import models as _every_model  # noqa: F401 (the ORM maps a flush against them all)
from logicrm.api import Api, IdConverter, JSONProvider
from logicrm.config import Settings
from logicrm.db import Base, Database, make_engine
from logicrm.errors import DomainError
from logicrm.health.rule_params import RuleParams
from logicrm.network.params import ScoringParams

API_PREFIX = "/api/v1"
PUBLIC_PATHS = (f"{API_PREFIX}/openapi.json", f"{API_PREFIX}/docs")


class _SessionInterface(SecureCookieSessionInterface):
    """The web pages' signed-cookie session. An API request is authenticated by its key alone: it opens
    none (reading and verifying the cookie cost ~4 % of a customer's read) and so never sets a cookie."""

    def open_session(self, app, request):
        if request.path.startswith(API_PREFIX):
            return self.make_null_session(app)
        return super().open_session(app, request)


def create_app(config: Settings | Mapping | None = None, *, api: bool = True) -> Flask:
    """Build the Flask app; `config` overrides LOGICRM_* settings (a Settings or a mapping of fields).
    Without `api` it serves no routes (neither the API nor the web pages): the command line's own commands
    start seconds sooner without them."""
    # no app-wide static folder: the web workspace serves its own files at /static
    app = Flask("logicrm", instance_path=os.environ.get("LOGICRM_INSTANCE_PATH") or None, static_folder=None)
    app.json = JSONProvider(app)
    app.session_interface = _SessionInterface()
    app.url_map.converters["int"] = IdConverter  # before any route is added
    settings = Settings.from_env()
    if isinstance(config, Settings):
        settings = config
    elif config:
        settings = settings.replace(**config)
    os.makedirs(app.instance_path, exist_ok=True)
    if not settings.database_url:
        settings = settings.replace(database_url=f"sqlite:///{os.path.join(app.instance_path, 'logicrm.db')}")
    app.config["LOGICRM"] = settings
    app.config["LOGICRM_SCORING"] = ScoringParams.from_mapping(os.environ)
    app.config["LOGICRM_RULES"] = RuleParams.from_mapping(os.environ)
    app.extensions["logicrm.db"] = Database(
        make_engine(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    )
    app.config.update(
        API_TITLE="LogiCRM API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=API_PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        OPENAPI_SWAGGER_UI_URL=f"{API_PREFIX}/docs/static/",
        JSON_SORT_KEYS=False,
        # Bodies read outside the parser; the parser sets each request's own limit (api._limit_body).
        MAX_CONTENT_LENGTH=settings.json_max_body_bytes,
    )
    if api:
        from logicrm import web  # here: its pages import the whole scoring core, which commands skip

        app.extensions["logicrm.api"] = _register_api(app)
        web.init_app(app, api_prefix=API_PREFIX)
    _register_session_lifecycle(app)
    _register_errors(app)
    return app


def _register_api(app: Flask) -> Api:
    from logicrm.consignees import routes as consignees_routes
    from logicrm.customers import routes as customers_routes
    from logicrm.exports import routes as exports_routes
    from logicrm.growth import routes as growth_routes
    from logicrm.health import routes as health_routes
    from logicrm.imports import routes as imports_routes
    from logicrm.lanes import routes as lanes_routes
    from logicrm.outbox import routes as outbox_routes
    from logicrm.relations import routes as relations_routes
    from logicrm.reports import routes as reports_routes
    from logicrm.sales import routes as sales_routes
    from logicrm.scoring import routes as scoring_routes
    from logicrm.shippers import routes as shippers_routes
    from logicrm.tasks import routes as tasks_routes
    from logicrm.teams import routes as teams_routes
    from logicrm.tickets import routes as tickets_routes
    from logicrm.users import routes as users_routes

    api = Api(
        app,
        spec_kwargs={
            "components": {
                "securitySchemes": {
                    "bearerAuth": {"type": "http", "scheme": "bearer", "description": "LogiCRM API key"}
                }
            },
            "security": [{"bearerAuth": []}],
        },
    )
    # every domain's routes module exposes `blueprints`; this order is the order of the API document
    domains = (
        customers_routes,
        relations_routes,
        tickets_routes,
        tasks_routes,
        sales_routes,
        growth_routes,
        shippers_routes,
        consignees_routes,
        lanes_routes,
        scoring_routes,
        health_routes,
        outbox_routes,
        imports_routes,
        users_routes,
        teams_routes,
        reports_routes,
        exports_routes,
    )
    for blp in (blp for routes in domains for blp in routes.blueprints):
        api.register_blueprint(blp, url_prefix=f"{API_PREFIX}{blp.url_prefix or ''}")

    # Swagger UI's assets ship in a wheel, so the docs page works with no internet.
    static = Blueprint("docs_static", __name__)
    static.add_url_rule(
        f"{API_PREFIX}/docs/static/<path:filename>",
        view_func=lambda filename: send_from_directory(swagger_ui_bundle.swagger_ui_path, filename),
    )
    app.register_blueprint(static)

    @app.before_request
    def _authenticate():
        if request.path.startswith(API_PREFIX) and not request.path.startswith(PUBLIC_PATHS):
            auth.authenticate_request()

    @app.teardown_request  # registered before the session's teardown, so it runs after that one
    def _record_key_use(_exc):
        auth.record_key_use()

    return api


def _register_session_lifecycle(app: Flask) -> None:
    """Commit a request's session only when the response succeeded: a request writes whole or nothing."""

    @app.after_request
    def _commit(response):
        db_session = g.pop("db_session", None)
        if db_session is None:
            return response
        try:
            if response.status_code < 400:
                db_session.commit()
            else:
                db_session.rollback()
        except IntegrityError as error:
            db_session.rollback()
            return _integrity_response(error)
        except StaleDataError:
            db_session.rollback()
            return _error_response(412, "the record changed while you wrote it; read it again")
        finally:
            db_session.close()
        return response

    @app.teardown_request
    def _close(_exc):
        db_session = g.pop("db_session", None)
        if db_session is not None:
            db_session.rollback()
            db_session.close()


def _error_response(code: int, message: str, errors: dict | None = None, **extra):
    from http import HTTPStatus

    body = {"code": code, "status": HTTPStatus(code).phrase, "message": message}
    if errors:
        body["errors"] = errors
    body.update(extra)
    return jsonify(body), code


def _integrity_response(error: IntegrityError):
    fields = _unique_columns(error)
    return _error_response(
        409,
        f"conflicts with existing data: {str(error.orig).splitlines()[0]}",
        {"json": {field: ["already used by another record"] for field in fields}} if fields else None,
    )


def _unique_columns(error: IntegrityError) -> list[str]:
    """Name the columns of the unique constraint a write broke, so the 409 names its fields."""
    constraint = getattr(getattr(error.orig, "diag", None), "constraint_name", None)  # PostgreSQL
    if constraint:
        return next(
            (
                [column.name for column in unique.columns]
                for table in Base.metadata.tables.values()
                for unique in table.constraints
                if isinstance(unique, UniqueConstraint) and unique.name == constraint
            ),
            [],
        )
    match = re.search(r"UNIQUE constraint failed: (.+)", str(error.orig))  # SQLite
    return [column.rsplit(".", 1)[-1] for column in match.group(1).split(", ")] if match else []


def _register_errors(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(error: DomainError):
        extra = dict(error.extra)
        headers = extra.pop("headers", {})
        body, code = _error_response(error.status, error.message, error.errors, **extra)
        return body, code, headers

    @app.errorhandler(IntegrityError)
    def _integrity(error: IntegrityError):
        return _integrity_response(error)

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(_error):
        setting = g.get("body_limit", "json_max_body_bytes")
        limit = request.max_content_length
        return _error_response(
            413, f"the request body is larger than the limit of {limit:,} bytes ({setting})"
        )

    @app.errorhandler(StaleDataError)
    def _stale(_error):
        return _error_response(412, "the record changed while you wrote it; read it again")
