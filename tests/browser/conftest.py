"""Browser tests: Debian's Chromium, headless, driven through chromedriver by Selenium, against the demo
served by a real HTTP server in this process (SQLite, one health run done).

They carry the `browser` marker, which pyproject's addopts deselects: scripts/test runs them as a step of
its own (`pytest -m browser tests/browser`). Without a browser they skip, except with CI=true, where a
browser that cannot start fails the run. Set LOGICRM_SCREENSHOTS to a folder to keep a picture of each
main page (docs/screenshots holds the ones the README shows).
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select
from werkzeug.serving import make_server

from logicrm import create_app, migrate
from logicrm.customers import service as customers
from logicrm.customers.models import Customer
from logicrm.db import make_engine
from logicrm.demo import DemoSummary, load_demo
from logicrm.health import runs
from logicrm.users.models import User

CHROMIUM = os.environ.get("LOGICRM_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("LOGICRM_CHROMEDRIVER", "/usr/bin/chromedriver")
IN_CI = os.environ.get("CI") in ("true", "1")
WAIT_SECONDS = 15


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)


@dataclass
class Site:
    url: str
    app: object
    summary: DemoSummary

    def owner_of(self, customer_id: int) -> str:
        """The e-mail of the account manager who owns a customer."""
        with self.app.extensions["logicrm.db"].session() as session:
            return session.scalar(
                select(User.email)
                .join(Customer, Customer.owner_id == User.id)
                .where(Customer.id == customer_id)
            )

    def sees(self, email: str, customer_id: int) -> bool:
        """Whether a user may see a customer (its owner, on its team, or a role that sees every account)."""
        with self.app.extensions["logicrm.db"].session() as session:
            user = session.scalar(select(User).where(User.email == email))
            return customers.is_visible(session, user=user, customer_id=customer_id)

    def customers_of(self, email: str) -> set[int]:
        with self.app.extensions["logicrm.db"].session() as session:
            return set(
                session.scalars(
                    select(Customer.id).join(User, Customer.owner_id == User.id).where(User.email == email)
                )
            )


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Iterator[Site]:
    """The demo (seed 7) after one health run, served on a free loopback port."""
    folder = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{folder / 'logicrm.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    # no worker runs beside this server: reads recompute scores behind the journeys' writes
    app = create_app(
        {"database_url": url, "secret_key": secrets.token_hex(32), "scores_refreshed_by": "request"}
    )
    database = app.extensions["logicrm.db"]
    with database.session_scope() as session:
        summary = load_demo(session, seed=7)
    config = runs.RunConfig(app.config["LOGICRM"], app.config["LOGICRM_SCORING"], app.config["LOGICRM_RULES"])
    runs.run_health(database, config, slot="browser-tests")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Site(f"http://127.0.0.1:{server.server_port}", app, summary)
    server.shutdown()
    database.engine.dispose()


@pytest.fixture(scope="session")
def driver() -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1366,900"):
        options.add_argument(argument)
    options.add_argument("--lang=en-GB")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        chrome = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    except WebDriverException as error:
        message = f"Chromium ({CHROMIUM}) via {CHROMEDRIVER} did not start: {error.msg}"
        if IN_CI:
            pytest.fail(
                f"{message}; CI=true needs the browser tests (apt-get install chromium chromium-driver)"
            )
        pytest.skip(message)
    yield chrome
    chrome.quit()


class Browser:
    """The driver on the test site: visit, sign in, find, wait; records the console's errors."""

    def __init__(self, driver: webdriver.Chrome, site: Site):
        self.driver, self.site = driver, site

    def visit(self, path: str) -> None:
        self.driver.get(self.site.url + path)

    def sign_in(self, email: str) -> None:
        self.visit("/login")
        self.driver.find_element(By.NAME, "email").send_keys(email)
        self.driver.find_element(By.NAME, "password").send_keys(self.site.summary.passwords[email])
        self.driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
        self.wait_for("nav[aria-label]")

    def find(self, css: str):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def wait_for(self, css: str):
        return WebDriverWait(self.driver, WAIT_SECONDS).until(
            expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, css))
        )

    def wait_until(self, condition, message: str = ""):
        """Wait until `condition()` is true; elements htmx replaces meanwhile are looked up again."""
        waiting = WebDriverWait(
            self.driver, WAIT_SECONDS, ignored_exceptions=(StaleElementReferenceException,)
        )
        return waiting.until(lambda _driver: condition(), message)

    def text(self, css: str = "main") -> str:
        return self.find(css).text

    def console_errors(self) -> list[str]:
        """The console's errors and failed requests since the last call (reading them clears them)."""
        return [entry["message"] for entry in self.driver.get_log("browser") if entry["level"] == "SEVERE"]

    def screenshot(self, name: str) -> None:
        folder = os.environ.get("LOGICRM_SCREENSHOTS")
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            self.driver.save_screenshot(str(Path(folder) / f"{name}.png"))


@pytest.fixture
def browser(driver, site) -> Iterator[Browser]:
    """A signed-out browser; after the test, no JavaScript error and no failed request may have happened."""
    driver.delete_all_cookies()
    driver.get_log("browser")  # forget the previous test's entries
    browser = Browser(driver, site)
    yield browser
    assert browser.console_errors() == []
