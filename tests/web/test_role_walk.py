"""Every web page and action × every role, on the role matrix's world (tests/api/world.py), against a table.

The same rules as the API: a page limited to some roles answers 403 to the others; read-only roles
(planner, viewer) are refused every write except their own settings and the what-if computation; the
account manager gets 404 for another manager's account, alert or import, exactly as for a missing one,
and no page it sees names a hidden account; no page a planner sees carries a contact's email or phone.
A page or action missing from the tables fails the run, so new routes are covered the day they appear.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from logicrm.web.pages import blp
from tests.api import world as worlds
from tests.conftest import fresh_app
from tests.web.conftest import Browser, give_password

ROLES = worlds.ROLES
EVERYONE = frozenset(ROLES)
MANAGERS = frozenset({"admin", "manager"})
ADMIN = frozenset({"admin"})
WRITERS = frozenset({"admin", "manager", "account_manager"})
MISSING_ID = 2_000_000_000
CSRF_TOKEN = re.compile(
    r'(?<=data-csrf=")[^"]+|(?<=name="csrf_token" type="hidden" value=")[^"]+|(?<=name="csrf_token" value=")[^"]+'
)


@dataclass
class Ctx:
    app: object
    world: worlds.World
    browsers: dict[str, Browser]
    seen: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def get(self, role: str, path: str):
        answer = self.browsers[role].get(path)
        self.seen.setdefault(role, []).append((path, answer.get_data(as_text=True)))
        return answer


@pytest.fixture(scope="module")
def ctx(database_url, tmp_path_factory) -> Iterator[Ctx]:
    app = fresh_app(database_url, str(tmp_path_factory.mktemp("walk")))
    app.config["LOGICRM"] = app.config["LOGICRM"].replace(webhook_allow_private=True)
    world = worlds.seed(app)
    db = app.extensions["logicrm.db"]
    browsers = {}
    for role in (*ROLES, "other_am"):
        give_password(db, f"{role}@matrix.example")
        browser = Browser(app.test_client())
        assert browser.sign_in(f"{role}@matrix.example").status_code == 302
        browsers[role] = browser
    yield Ctx(app, world, browsers)
    db.engine.dispose()


Path = Callable[[worlds.World, str], str]  # (world, "own" | "foreign" | "missing") -> path


def account(suffix: str = "") -> Path:
    keys = {"own": "alpha", "foreign": "zephyr"}
    return lambda w, which: f"/accounts/{w.customers[keys[which]] if which in keys else MISSING_ID}{suffix}"


def alert(action: str) -> Path:
    def path(w, which):
        found = (
            w.alerts["alpha"]
            if which == "own"
            else w.alerts["zephyr"]
            if which == "foreign"
            else [MISSING_ID]
        )
        return f"/alerts/{found[0]}/{action}"

    return path


def import_job(suffix: str = "") -> Path:
    return lambda w, which: f"/imports/{w.imports.get(which, MISSING_ID)}{suffix}"


def fixed(path: str) -> Path:
    return lambda _w, _which: path


@dataclass(frozen=True)
class Rule:
    path: Path
    may: frozenset = EVERYONE
    hides: bool = False  # the record is the account manager's or another's: 404 on another's


# Every page (GET) of the web blueprint.
PAGES: dict[str, Rule] = {
    "web.MyDay": Rule(fixed("/")),
    "web.Accounts": Rule(fixed("/accounts?sort=risk")),
    "web.AccountsCsv": Rule(fixed("/accounts.csv")),
    "web.Account": Rule(account(), hides=True),
    "web.AccountTimeline": Rule(account("/timeline?page=1"), hides=True),
    "web.Network": Rule(
        lambda w, which: account()(w, which).replace("/accounts/", "/network?center="), hides=True
    ),
    "web.NetworkGraph": Rule(
        lambda w, which: account()(w, which).replace("/accounts/", "/network/graph.json?depth=2&center="),
        hides=True,
    ),
    "web.WhatIf": Rule(fixed("/what-if")),
    "web.Alerts": Rule(fixed("/alerts")),
    "web.ServiceDesk": Rule(fixed("/service-desk")),
    "web.MyTasks": Rule(fixed("/tasks")),
    "web.Portfolio": Rule(fixed("/portfolio")),
    "web.Settings": Rule(fixed("/settings")),
    "web.Admin": Rule(fixed("/admin"), MANAGERS),
    "web.Roles": Rule(fixed("/admin/roles"), MANAGERS),
    "web.Coverage": Rule(fixed("/admin/coverage"), MANAGERS),
    "web.Runs": Rule(fixed("/admin/runs"), MANAGERS),
    "web.Parameters": Rule(fixed("/admin/settings"), MANAGERS),
    "web.Users": Rule(fixed("/admin/users"), ADMIN),
    "web.UserPage": Rule(lambda w, _which: f"/admin/users/{w.user_ids['viewer']}", ADMIN),
    "web.Webhooks": Rule(fixed("/admin/webhooks"), ADMIN),
    "web.Imports": Rule(fixed("/imports"), WRITERS),
    "web.ImportJob": Rule(import_job(), WRITERS, hides=True),
    "web.ImportRejects": Rule(import_job("/rejected.csv"), WRITERS, hides=True),
}
# Every action (POST), sent empty or harmless: the role gate and visibility answer before any form check.
ACTIONS: dict[str, Rule] = {
    "web.LogInteraction": Rule(account("/interactions"), WRITERS, hides=True),
    "web.OpenTicket": Rule(account("/tickets"), WRITERS, hides=True),
    "web.RecordSurvey": Rule(account("/surveys"), WRITERS, hides=True),
    "web.SetCoverage": Rule(account("/coverage"), MANAGERS, hides=True),
    "web.AlertAction": Rule(alert("acknowledge"), WRITERS, hides=True),
    "web.WhatIf": Rule(fixed("/what-if")),  # a computation: every role
    "web.Settings": Rule(fixed("/settings")),  # one's own password: every role
    "web.Language": Rule(fixed("/language")),  # one's own language: every role
    "web.Imports": Rule(fixed("/imports"), WRITERS),
    "web.Runs": Rule(fixed("/admin/runs"), MANAGERS),
    "web.Users": Rule(fixed("/admin/users"), ADMIN),
    "web.UserPage": Rule(lambda w, _which: f"/admin/users/{w.user_ids['viewer']}", ADMIN),
    "web.UserPassword": Rule(lambda w, _which: f"/admin/users/{w.user_ids['viewer']}/password", ADMIN),
    "web.UserKeys": Rule(lambda w, _which: f"/admin/users/{w.user_ids['viewer']}/keys", ADMIN),
    "web.RevokeKey": Rule(lambda _w, _which: f"/admin/keys/{MISSING_ID}/revoke", ADMIN),
    "web.Webhooks": Rule(fixed("/admin/webhooks"), ADMIN),
    "web.WebhookAction": Rule(lambda w, _which: f"/admin/webhooks/{w.webhook_id}/pause", ADMIN),
}
OPEN_TO_ALL = {"web.Login", "web.Logout", "web.static"}  # sign in and out: tested in test_login.py


def routes(app, method: str) -> set[str]:
    return {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith(f"{blp.name}.")
        and method in rule.methods
        and rule.endpoint not in OPEN_TO_ALL
    }


def test_every_page_and_action_is_classified(ctx):
    assert routes(ctx.app, "GET") ^ PAGES.keys() == set()
    assert routes(ctx.app, "POST") ^ ACTIONS.keys() == set()


# Past the gate: the page, a redirect after the action, or a refusal of the form (422), of a stale one (412)
PASSED = (200, 204, 302, 303, 412, 422)


def _expected(rule: Rule, role: str, which: str, passed: tuple[int, ...]) -> tuple[int, ...]:
    if role not in rule.may:
        return (403,)
    if rule.hides and which != "own" and (role == "account_manager" or which == "missing"):
        return (404,)
    return passed


@pytest.mark.parametrize("endpoint", sorted(PAGES))
def test_pages_by_role(ctx, endpoint):
    rule, found = PAGES[endpoint], {}
    for role in ROLES:
        for which in ("own", "foreign", "missing") if rule.hides else ("own",):
            answer = ctx.get(role, rule.path(ctx.world, which))
            if answer.status_code not in _expected(rule, role, which, (200,)):
                found[(role, which)] = (answer.status_code, answer.get_data(as_text=True)[:300])
    assert found == {}


@pytest.mark.parametrize("endpoint", sorted(ACTIONS))
def test_actions_by_role(ctx, endpoint):
    """Read-only roles are refused, the account manager meets another's records as missing ones, and a
    role that may act gets past the gate."""
    rule, found = ACTIONS[endpoint], {}
    passed = (*PASSED, 404) if endpoint == "web.RevokeKey" else PASSED  # its key id names no key
    for role in ROLES:
        for which in ("own", "foreign") if rule.hides else ("own",):
            answer = ctx.browsers[role].post(rule.path(ctx.world, which), {"language": "en"})
            if answer.status_code not in _expected(rule, role, which, passed):
                found[(role, which)] = (answer.status_code, answer.get_data(as_text=True)[:300])
    assert found == {}


def test_a_hidden_account_looks_missing(ctx):
    """Another manager's account, its timeline and network answer the account manager like a missing one."""
    for endpoint in ("web.Account", "web.AccountTimeline", "web.Network", "web.NetworkGraph"):
        path = PAGES[endpoint].path
        foreign = ctx.get("account_manager", path(ctx.world, "foreign"))
        missing = ctx.get("account_manager", path(ctx.world, "missing"))
        assert foreign.status_code == missing.status_code == 404
        # the id asked for may be echoed (the address, "customer 4 not found") and CSRF tokens carry their
        # second: those are the only differences
        shown = [
            CSRF_TOKEN.sub("TOKEN", re.sub(rf"\b{ident}\b", "ID", answer.get_data(as_text=True)))
            for answer, ident in ((foreign, ctx.world.customers["zephyr"]), (missing, MISSING_ID))
        ]
        assert shown[0].splitlines() == shown[1].splitlines()


MARKERS = (*worlds.FOREIGN_NAMES.values(), worlds.FOREIGN_EMAIL_DOMAIN, worlds.FOREIGN_REF_PREFIX)
PERSONAL = (worlds.CONTACT_EMAIL, worlds.CONTACT_PHONE, worlds.EDITED_PHONE, worlds.FOREIGN_EMAIL_DOMAIN)


def _walk(ctx: Ctx, role: str) -> list[tuple[str, str]]:
    ctx.seen.pop(role, None)
    for rule in PAGES.values():
        if role in rule.may:
            ctx.get(role, rule.path(ctx.world, "own"))
    for key in worlds.OWN_NAMES:  # every page of the accounts it sees
        ctx.get(role, f"/accounts/{ctx.world.customers[key]}")
        ctx.get(role, f"/network/graph.json?depth=3&center={ctx.world.customers[key]}")
    return ctx.seen[role]


def test_the_account_manager_never_sees_a_hidden_account(ctx):
    seen = _walk(ctx, "account_manager")
    assert len(seen) > sum("account_manager" in rule.may for rule in PAGES.values())
    assert [(path, marker) for path, body in seen for marker in MARKERS if marker in body] == []


def test_a_manager_sees_them(ctx):
    """The walk would find the markers if they were there: a manager's pages show the hidden accounts."""
    seen = _walk(ctx, "manager")
    assert {marker for _path, body in seen for marker in MARKERS[:4] if marker in body} == set(MARKERS[:4])
    assert any(worlds.CONTACT_EMAIL in body for _path, body in seen)


def test_the_planner_never_sees_personal_data(ctx):
    seen = _walk(ctx, "planner")
    assert [(path, value) for path, body in seen for value in PERSONAL if value in body] == []
    alpha = ctx.get("planner", f"/accounts/{ctx.world.customers['alpha']}").get_data(as_text=True)
    assert "Buyer of alpha" in alpha and "hidden for your role" in alpha
