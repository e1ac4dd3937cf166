"""The demo's story in a real browser: sign in, my day, the falling shipper's page, its consignees and
network, the what-if of losing the biggest shipper, logging an interaction through htmx with its CSRF
token, acknowledging an alert, importing a CSV with an invalid row, the language switch, another manager's
account answering like a missing page, and the lists, portfolio and admin pages a manager opens.
Each main page leaves a screenshot (LOGICRM_SCREENSHOTS) that the README shows."""

from __future__ import annotations

import re

from selenium.webdriver.support.ui import Select

from logicrm.demo import ADMIN_EMAIL

PLANNER = "priya.nair@demo.logicrm.example"
MANAGER = "marco.bianchi@demo.logicrm.example"


def falling_shipper(site) -> int:
    return site.summary.troubled["falling_volume"][0]


def test_the_root_asks_to_sign_in_then_opens_my_day(browser, site):
    owner = site.owner_of(falling_shipper(site))
    browser.visit("/")
    assert "/login" in browser.driver.current_url
    browser.find("input[name=email]").send_keys(owner)
    browser.find("input[name=password]").send_keys("not the password")
    browser.find("main form button[type=submit]").click()
    assert "/login" in browser.driver.current_url
    assert browser.find("main .flash, main .error").text  # the refusal says so
    browser.console_errors()  # the refused sign-in answers 4xx, which the console reports

    browser.sign_in(owner)
    assert browser.driver.current_url.rstrip("/") == site.url
    assert browser.find("h1").text == "My day"
    main = browser.text()
    assert "Open alerts" in main and site.summary.names[falling_shipper(site)] in main
    browser.screenshot("my-day")


def test_the_falling_shippers_page_explains_its_risk_and_shows_its_network(browser, site):
    customer_id = falling_shipper(site)
    browser.sign_in(site.owner_of(customer_id))
    browser.visit(f"/accounts/{customer_id}")
    assert browser.find("h1").text == site.summary.names[customer_id]
    health = browser.text("section[aria-labelledby=health-heading]")
    assert "Main causes:" in health and "%" in health
    browser.wait_until(lambda: browser.find_all("#trend-chart") == [] or _chart_drawn(browser, "trend-chart"))
    browser.screenshot("account")

    # its consignees, each with its own health, one click away; the consignee's page names it as its shipper
    consignee = browser.find("#consignees-table a[href^='/accounts/']")
    name = consignee.text
    consignee.click()
    assert browser.find("h1").text == name
    assert browser.find_all("section[aria-labelledby=health-heading] .band")  # its own risk band, in words
    assert site.summary.names[customer_id] in browser.text("#shippers-table")
    browser.driver.back()

    browser.find("a[href^='/network?center=']").click()
    browser.wait_for("#graph canvas")
    nodes = browser.wait_until(lambda: _graph_nodes(browser), "the graph drew no account")
    assert customer_id in nodes and len(nodes) > 1
    assert len(browser.find_all("#graph-list li")) == len(nodes)
    browser.screenshot("network")


def test_what_if_our_biggest_shipper_leaves(browser, site):
    browser.sign_in(PLANNER)
    browser.visit("/what-if")
    browser.find("button[name=scenario][value=biggest_shipper]").click()
    result = browser.wait_for("#result-heading")
    assert result.text.startswith("If ")
    figures = browser.text("dl.figures")
    assert "Accounts lost" in figures and "Revenue a month lost" in figures
    browser.screenshot("what-if")


def test_logging_an_interaction_through_htmx(browser, site):
    customer_id = falling_shipper(site)
    browser.sign_in(site.owner_of(customer_id))
    browser.visit(f"/accounts/{customer_id}")
    browser.find("#interaction-action summary").click()

    # refused: the form comes back in place (htmx swaps the 422) with the reason at the field
    browser.find("#interaction-form button[type=submit]").click()
    browser.wait_for("#interaction-form small.error")
    assert browser.driver.current_url.endswith(f"/accounts/{customer_id}")
    browser.console_errors()  # the refusal is a 422 answer

    form = browser.find("#interaction-form")
    form.find_element("css selector", "textarea").send_keys("Called about the falling volume: new lane offer")
    form.find_element("css selector", "button[type=submit]").click()
    browser.wait_for(".flash.success")
    assert "Called about the falling volume" in browser.text("#timeline, main")


def test_a_forged_csrf_token_is_refused(browser, site):
    customer_id = falling_shipper(site)
    browser.sign_in(site.owner_of(customer_id))
    browser.visit(f"/accounts/{customer_id}")
    browser.driver.execute_script(
        "document.body.dataset.csrf = 'forged';"
        "document.querySelector('#interaction-form [name$=csrf_token]').value = 'forged';"
    )
    browser.find("#interaction-action summary").click()
    browser.find("#interaction-form textarea").send_keys("never written")
    browser.find("#interaction-form button[type=submit]").click()
    assert "expired or did not come from this site" in browser.wait_for("#flash .flash.error").text
    assert browser.console_errors() != []  # the 400 answer
    browser.visit(f"/accounts/{customer_id}")
    assert "never written" not in browser.text()


def test_switching_to_chinese_and_back(browser, site):
    browser.sign_in(PLANNER)
    Select(browser.find("#language-choice")).select_by_value("zh_Hans")
    browser.wait_until(lambda: browser.find("html").get_attribute("lang") == "zh-Hans")
    assert browser.find("h1").text == "我的一天"
    browser.screenshot("my-day-zh")
    browser.visit("/accounts")  # the choice stays for the next pages
    assert browser.find("html").get_attribute("lang") == "zh-Hans"
    Select(browser.find("#language-choice")).select_by_value("en")
    browser.wait_until(lambda: browser.find("html").get_attribute("lang") == "en")


def test_another_managers_account_is_a_missing_page(browser, site):
    customer_id = falling_shipper(site)
    other = next(
        email
        for email in site.summary.passwords
        if site.customers_of(email) and not site.sees(email, customer_id)  # another manager, not on its team
    )
    browser.sign_in(other)
    browser.visit(f"/accounts/{customer_id}")
    hidden = browser.text()
    browser.console_errors()  # the 404 answers
    browser.visit("/accounts/2000000000")
    missing = browser.text()
    browser.console_errors()
    assert browser.find("h1").text == "Not found"
    assert hidden.replace(str(customer_id), "ID") == missing.replace("2000000000", "ID")
    assert site.summary.names[customer_id] not in hidden


def _chart_drawn(browser, canvas_id: str) -> bool:
    return browser.driver.execute_script(f"return !!(window.Chart && Chart.getChart('{canvas_id}'));")


def _graph_nodes(browser) -> list[int]:
    """The ids of the accounts cytoscape drew in #graph (it keeps its instance on the container)."""
    return browser.driver.execute_script(
        "var reg = document.getElementById('graph')._cyreg;"
        "return reg && reg.cy ? reg.cy.nodes().map(function (n) { return Number(n.id()); }) : null;"
    )


def test_acknowledging_an_alert_in_place(browser, site):
    customer_id = falling_shipper(site)
    browser.sign_in(site.owner_of(customer_id))
    browser.visit("/alerts")
    row = browser.find("li.alert-row")
    row_id = row.get_attribute("id")
    browser.screenshot("alerts")
    assert "acknowledged" not in row.text
    row.find_element("css selector", "form[action$='/acknowledge'] button").click()
    browser.wait_until(lambda: "acknowledged" in browser.find(f"#{row_id}").text)
    assert browser.find_all(f"#{row_id} form[action$='/acknowledge']") == []  # only "resolve" is left


def test_importing_a_csv_with_an_invalid_row(browser, site, tmp_path):
    owner = site.owner_of(falling_shipper(site))
    upload = tmp_path / "customers.csv"
    upload.write_text(
        "external_ref,name,tier\nWEB-IMPORT-1,Browser Import Ltd,standard\nWEB-IMPORT-2,,no-such-tier\n",
        encoding="utf-8",
    )
    browser.sign_in(owner)
    browser.visit("/imports")
    Select(browser.find("#import-form select")).select_by_value("customers")
    browser.find("#import-form input[type=file]").send_keys(str(upload))
    browser.find("#import-form button[type=submit]").click()
    browser.wait_for("#rejected-download")
    main = browser.text()
    assert "nothing was written" in main and "tier" in main  # the bad row, its column and reason
    browser.visit("/accounts?q=Browser+Import")
    assert "Browser Import Ltd" not in browser.text()


def test_the_lists_portfolio_and_admin_pages_a_manager_opens(browser, site):
    browser.sign_in(MANAGER)
    browser.visit("/accounts?band=high&sort=risk")
    assert browser.find("h1").text == "Accounts"
    rows = browser.find_all("#accounts-table tbody tr")
    assert rows and all("high" in row.text for row in rows)  # the band in words, not colour alone
    risks = [float(re.search(r"(\d+(?:\.\d+)?)\s?%", row.text).group(1)) for row in rows]
    assert risks == sorted(risks, reverse=True)
    browser.screenshot("accounts")

    browser.visit("/service-desk")
    assert browser.find("h1").text == "Service desk"
    assert "open tickets" in browser.text()
    browser.screenshot("service-desk")

    browser.visit("/portfolio")
    for chart in ("pareto-chart", "risk-chart", "satisfaction-chart", "lifecycle-chart"):
        browser.wait_until(lambda chart=chart: _chart_drawn(browser, chart), f"{chart} was not drawn")
    browser.screenshot("portfolio")

    browser.visit("/admin/runs")
    assert browser.find_all("main tbody tr")  # the health run the site was prepared with


def test_the_admin_sees_users_with_their_roles_and_keys(browser, site):
    browser.sign_in(ADMIN_EMAIL)
    browser.visit("/admin/users")
    users = browser.text("main table")
    assert all(email in users for email in site.summary.passwords)
    browser.screenshot("admin")
