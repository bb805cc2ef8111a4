"""The web pages, in a real headless browser (Debian's chromium, driven by its own
chromedriver; `make test` installs both): the conformance report shows every statement's
verdict and each failure's curl command; the mock's Swagger UI lists every operation of its
variant, and "Try it out" reaches the mock."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from contract.openapi import operations
from contract.spec.variants import PROJECT_ROOT, load_document
from tests.servers import run_mock


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver, "chromium and chromium-driver come with `make test` (Makefile)"
    options = Options()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(argument)
    session = webdriver.Chrome(service=Service(driver), options=options)
    try:
        yield session
    finally:
        session.quit()


def test_the_conformance_report_shows_every_verdict_and_each_failures_curl(
        browser, shared_reference, tmp_path):
    with run_mock("2015-08", "--time-scale", "0.01") as base:
        run = subprocess.run([sys.executable, "-m", "contract", "conform", "--base-url", base,
                              "--variant", "2016-08", "--max-examples", "2", "--quiet",
                              "--html", str(tmp_path / "r.html"), "--json",
                              str(tmp_path / "r.json")], cwd=PROJECT_ROOT,
                             capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stderr
    expected = json.loads((tmp_path / "r.json").read_text())["variants"][0]["statements"]
    browser.get((tmp_path / "r.html").as_uri())
    assert "does not conform" in browser.find_element(By.TAG_NAME, "h2").text
    rows = browser.find_elements(By.CSS_SELECTOR, "table.statements tr")[1:]
    shown = {row.find_element(By.TAG_NAME, "b").text:
             row.find_elements(By.TAG_NAME, "td")[2].text for row in rows}
    assert shown == {s["id"]: s["status"] for s in expected}
    assert shown["S7b"] == "fail"  # the 2015-08 mock applies hard=false
    failure_row = next(row for row in rows if row.find_element(By.TAG_NAME, "b").text == "S7b")
    curl = failure_row.find_element(By.CSS_SELECTOR, "pre.curl")
    assert curl.is_displayed() and curl.text.startswith("curl -i -X DELETE")
    # The statements' text is rendered (`hard` as code, no backticks), passes collapsed.
    assert "`" not in failure_row.text and failure_row.find_elements(By.CSS_SELECTOR,
                                                                      "td code")
    collapsed = browser.find_elements(By.CSS_SELECTOR, "details")
    assert collapsed and not any(d.get_attribute("open") for d in collapsed)
    assert not collapsed[0].find_element(By.TAG_NAME, "li").is_displayed()
    # The summary links to each failed statement and cause: following S7b's cause link
    # scrolls to the cause, which quotes the answer that shows it.
    summary = browser.find_element(By.CSS_SELECTOR, "ul.summary")
    link = next(a for a in summary.find_elements(By.TAG_NAME, "a")
                if a.get_attribute("href").split("#")[1].startswith("2016-08-cause-")
                and a.find_element(By.XPATH, "../../..").text.startswith("S7b"))
    link.click()
    assert browser.current_url.endswith("#" + link.get_attribute("href").split("#")[1])
    cause = browser.find_element(By.ID, browser.current_url.split("#")[1])
    assert cause.is_displayed() and "fail" in cause.text
    assert cause.find_element(By.CSS_SELECTOR, "pre.answer").text.startswith("DELETE http")
    top = browser.execute_script("return arguments[0].getBoundingClientRect().top", cause)
    assert -1 < top < 200, top  # scrolled to it


def test_the_report_rolls_up_every_variant_on_its_first_screen_and_filters_failures(
        browser, shared_reference, tmp_path):
    """With --variant all, the first screen holds the environment (target, date, version,
    the command with its token masked) and a line per variant whose link scrolls to it;
    "Show failures only" hides every statement that did not fail, in each variant."""
    token = "t0k3n-of-the-browser-test"
    with run_mock("2015-08", "--time-scale", "0.01", "--tokens", token) as base:
        run = subprocess.run([sys.executable, "-m", "contract", "conform", "--base-url", base,
                              "--variant", "all", "--checks", "api", "--token", token,
                              "--max-examples", "1", "--seed", "1", "--quiet",
                              "--html", str(tmp_path / "r.html"), "--json",
                              str(tmp_path / "r.json")], cwd=PROJECT_ROOT,
                             capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stderr
    data = json.loads((tmp_path / "r.json").read_text())
    browser.get((tmp_path / "r.html").as_uri())
    height = browser.execute_script("return window.innerHeight")
    environment = browser.find_element(By.CSS_SELECTOR, "table.environment")
    rollup = browser.find_elements(By.CSS_SELECTOR, "table.rollup tr.variant")
    assert [row.text.split()[0] for row in rollup] == ["2015-08", "2016-08"]
    for row, variant in zip(rollup, data["variants"], strict=True):
        assert variant["verdict"] in row.text and row.is_displayed()
        assert row.rect["y"] + row.rect["height"] < height, row.rect  # on the first screen
    shown = environment.text
    assert base in shown and data["environment"]["started"] in shown
    assert data["environment"]["version"] in shown and "--variant all" in shown
    assert "--token '***'" in shown or "--token ***" in shown, shown
    assert token not in browser.page_source
    # The second variant's link scrolls to its section, 35-40k px down before.
    link = rollup[1].find_element(By.TAG_NAME, "a")
    link.click()
    assert browser.current_url.endswith("#variant-2016-08")
    section = browser.find_element(By.ID, "variant-2016-08")
    top = browser.execute_script("return arguments[0].getBoundingClientRect().top", section)
    assert -1 < top < 200, top
    assert section.find_element(By.TAG_NAME, "h2").text.startswith("2016-08: does not")
    # Failures only: every statement row that did not fail is hidden, the failed stay.
    rows = browser.find_elements(By.CSS_SELECTOR, "tr.statement")
    failed = {f"{v['variant']}-{sid}" for v in data["variants"] for sid in v["failed"]}
    assert failed and len(rows) == sum(len(v["statements"]) for v in data["variants"])
    browser.find_element(By.CSS_SELECTOR, "label[for=failures-only]").click()
    visible = {row.get_attribute("id") for row in rows if row.is_displayed()}
    assert visible == failed, visible
    assert not any(d.is_displayed() for d in
                   browser.find_elements(By.CSS_SELECTOR, "details.passes"))
    browser.find_element(By.CSS_SELECTOR, "label[for=failures-only]").click()
    assert all(row.is_displayed() for row in rows[:3])
    # Each variant says how long each check took.
    assert len(browser.find_elements(By.CSS_SELECTOR, "details.durations")) == 2


def test_swagger_ui_lists_every_operation_and_try_it_out_reaches_the_mock(
        browser, shared_reference):
    document = load_document("2016-08")
    expected = sorted((method.upper(), template) for template, method, _ in
                      operations(document))
    with run_mock("2016-08") as base:
        browser.get(f"{base}/docs")
        wait = WebDriverWait(browser, 30)
        wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, ".opblock")) >= len(expected))
        listed = sorted(
            (block.find_element(By.CSS_SELECTOR, ".opblock-summary-method").text,
             block.find_element(By.CSS_SELECTOR, ".opblock-summary-path").get_attribute(
                 "data-path"))
            for block in browser.find_elements(By.CSS_SELECTOR, ".opblock"))
        assert listed == expected
        # grouped by resource: one section per tag of the spec, in the spec's order
        sections = [tag.get_attribute("data-tag")
                    for tag in browser.find_elements(By.CSS_SELECTOR, ".opblock-tag")]
        assert sections == [tag["name"] for tag in document["tags"]]
        ping = next(block for block in browser.find_elements(By.CSS_SELECTOR, ".opblock")
                    if block.find_element(By.CSS_SELECTOR, ".opblock-summary-path")
                    .get_attribute("data-path") == "/v1.0/{project_id}/ping")
        ping.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
        wait.until(lambda b: ping.find_elements(By.CSS_SELECTOR, ".try-out__btn"))
        ping.find_element(By.CSS_SELECTOR, ".try-out__btn").click()
        field = ping.find_element(By.CSS_SELECTOR, "input[placeholder='project_id']")
        field.send_keys("123")
        ping.find_element(By.CSS_SELECTOR, ".execute").click()
        status = wait.until(lambda b: ping.find_elements(
            By.CSS_SELECTOR, ".live-responses-table tr.response .response-col_status"))
        # no token was authorized in the page: the mock's own 401, with its error body (S10)
        assert status[0].text.strip().startswith("401")
        body = ping.find_element(By.CSS_SELECTOR, ".live-responses-table .microlight").text
        assert "X-Auth-Token header is missing" in body


def test_try_it_out_gets_the_documented_answer_from_a_fresh_mock(browser, shared_reference):
    """Issue 46, item 6: Swagger UI's "Try it out" sends the spec's examples (project
    110011, service 96737ae3-...), which a fresh mock now holds: the documented 200 and
    service, not a 404; and the mock's root leads to the page."""
    with run_mock("2016-08") as base:
        browser.get(f"{base}/")
        wait = WebDriverWait(browser, 30)
        wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, ".opblock"))
        assert browser.current_url == f"{base}/docs"
        get = next(block for block in browser.find_elements(By.CSS_SELECTOR, ".opblock")
                   if block.get_attribute("id") == "operations-services-getService")
        get.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
        wait.until(lambda b: get.find_elements(By.CSS_SELECTOR, ".try-out__btn"))
        get.find_element(By.CSS_SELECTOR, ".try-out__btn").click()
        prefilled = {field.get_attribute("placeholder"): field.get_attribute("value")
                     for field in get.find_elements(By.CSS_SELECTOR, ".parameters input")}
        assert prefilled["project_id"] == "110011"
        assert prefilled["service_id"] == "96737ae3-cfc1-4c72-be88-5d0e7cc9a3f0"
        browser.find_element(By.CSS_SELECTOR, ".auth-wrapper .authorize").click()
        wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, ".auth-container input"))
        browser.find_element(By.CSS_SELECTOR, ".auth-container input").send_keys(
            "0f6e9f63600142f0a970911583522217")  # the samples' token
        browser.find_element(By.CSS_SELECTOR, ".auth-btn-wrapper .authorize").click()
        browser.find_element(By.CSS_SELECTOR, ".auth-btn-wrapper .btn-done").click()
        get.find_element(By.CSS_SELECTOR, ".execute").click()
        status = wait.until(lambda b: get.find_elements(
            By.CSS_SELECTOR, ".live-responses-table tr.response .response-col_status"))
        assert status[0].text.strip().startswith("200"), status[0].text
        body = get.find_element(By.CSS_SELECTOR, ".live-responses-table .microlight").text
        assert '"mywebsite.com"' in body and '"deployed"' in body
