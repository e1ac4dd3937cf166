"""Signing in to the web pages as a user, from the Flask test client."""

from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from logicrm.users import passwords
from logicrm.users import service as users

PASSWORD = "correct horse battery"
CSRF = re.compile(r'data-csrf="([^"]+)"')


def csrf_token(client) -> str:
    """The CSRF token of the client's session, read from a page (the sign-in page, or once signed in, the
    user's settings)."""
    answer = client.get("/login")
    if answer.status_code == 302:
        answer = client.get("/settings")
    return CSRF.search(answer.get_data(as_text=True)).group(1)


@contextmanager
def statements(engine):
    """Count the SQL statements run on `engine` inside the block (the list grows by one each)."""
    counted = []

    def listener(*_args):
        counted.append(1)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield counted
    finally:
        event.remove(engine, "before_cursor_execute", listener)


class Browser:
    """A test client signed in (or not) to the web pages; `post` sends the session's CSRF token."""

    def __init__(self, client):
        self.client = client

    def get(self, path, **kwargs):
        return self.client.get(path, **kwargs)

    def post(self, path, data=None, *, csrf: bool = True, **kwargs):
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", csrf_token(self.client))
        return self.client.post(path, data=data, **kwargs)

    def sign_in(self, email: str, password: str = PASSWORD):
        return self.post("/login", {"email": email, "password": password})


def give_password(db, email: str, password: str = PASSWORD) -> None:
    with db.session_scope() as session:
        passwords.set_password(session, user=users.get_by_email(session, email=email), password=password)


@pytest.fixture
def browse(app, db):
    """browse(email) -> a Browser signed in as that user (given a password first); browse() -> signed out."""

    def make(email: str | None = None) -> Browser:
        browser = Browser(app.test_client())
        if email is not None:
            give_password(db, email)
            answer = browser.sign_in(email)
            assert answer.status_code == 302, answer.get_data(as_text=True)
        return browser

    return make
