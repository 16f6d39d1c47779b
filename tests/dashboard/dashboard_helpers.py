"""Fixtures and helpers for the dashboard tests (`conftest.py` re-exports the fixtures): the
Flask app with a logged-in test client (on the migrated `data_dir` of tests/conftest.py), and
for the browser tests a real `tshirt-service serve` on loopback, its queue running the fake
renderer, driven by a real headless Chromium through Selenium.

Chromium and its WebDriver are Debian's (`.ci/chromium` installs them and exports their
paths); without them the browser tests skip and say so.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from common_helpers import free_port
from flask import Flask
from flask.testing import FlaskClient
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

# The real service and the queue's fake renderer, as the queue tests start them.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "queue"))
import queue_helpers  # noqa: E402
from fake_renderer import FakeRenderer  # noqa: E402
from queue_helpers import TOKEN, Proc, wait_http  # noqa: E402

from sync_service.app import create_app  # noqa: E402

fake_renderer = queue_helpers.fake_renderer  # fixtures, found by name
spawn = queue_helpers.spawn

#: Headless, and nothing that reaches outside loopback or leaves state behind.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--no-default-browser-check",
                  "--autoplay-policy=no-user-gesture-required")


# -- the app and a test client ---------------------------------------------------------------


@pytest.fixture
def app(data_dir: Path) -> Iterator[Flask]:
    app = create_app({"TESTING": True, "TSHIRT_DATA_DIR": str(data_dir),
                      "TSHIRT_API_TOKENS": TOKEN, "TSHIRT_DEV_MODE": False, "REDIS_URL": None})
    service = app.extensions["tshirt"]
    service.enqueued = []
    service.enqueue = service.enqueued.append
    yield app
    service.db.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF field"
    return match.group(1)


@pytest.fixture
def logged_in(client: FlaskClient) -> tuple[FlaskClient, str]:
    """A test client with a dashboard session, and its CSRF token."""
    csrf = csrf_of(client.get("/dashboard/login").text)
    response = client.post("/dashboard/login", data={"token": TOKEN, "csrf_token": csrf})
    assert response.status_code == 303, response.text
    return client, csrf


# -- the real service and a real browser ------------------------------------------------------


@dataclass
class LiveService:
    base: str
    fake: FakeRenderer
    process: Proc


@pytest.fixture
def live_service(spawn: Callable[..., Proc], fake_renderer: FakeRenderer,
                 tmp_path: Path) -> LiveService:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = spawn("serve", ["serve", "--port", str(port), "--workers", "1"],
                    TSHIRT_DATA_DIR=str(tmp_path / "service-data"),
                    TSHIRT_BLENDER_BIN=str(fake_renderer.binary))
    wait_http(base, process)
    return LiveService(base=base, fake=fake_renderer, process=process)


def chromium_binaries() -> tuple[str, str]:
    chromium = os.environ.get("TSHIRT_CHROMIUM") or shutil.which("chromium")
    driver = os.environ.get("TSHIRT_CHROMEDRIVER") or shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.skip("Chromium and chromium-driver are not installed, and the browser tests "
                    "need them (`eval \"$(.ci/chromium)\"` installs Debian's)")
    return chromium, driver


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    chromium, driver = chromium_binaries()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}",
                 "--window-size=1280,900"):
        options.add_argument(flag)
    service = webdriver.ChromeService(executable_path=driver,
                                      log_output=str(tmp_path / "chromedriver.log"))
    chrome = webdriver.Chrome(options=options, service=service)
    chrome.set_page_load_timeout(30)
    try:
        yield chrome
    finally:
        chrome.quit()


def page_state(browser: WebDriver) -> dict[str, Any]:
    """What the browser shows of the first job on the page (a list row or a job page)."""
    return browser.execute_script("""
        const el = document.querySelector('[data-state]');
        if (!el) { return null; }
        return {status: el.querySelector('[data-field=status]').textContent,
                progress: el.querySelector('progress').value,
                thumb: !!el.querySelector('.thumb img')};""")


def click_through(browser: WebDriver, element: WebElement) -> None:
    """Click a link or button and wait until the page it leads to has replaced this one.

    The old page is marked with a window property that a new document does not have. Selenium's
    `staleness_of` is not used: while Chromium is tearing the old document down, asking about
    its node can fail with "Node with given id does not belong to the document" instead of
    reporting it stale (one CI run failed that way), so errors mid-navigation mean "not yet".
    """
    mark = secrets.token_hex(8)
    browser.execute_script("window.__tshirtPage = arguments[0];", mark)
    element.click()
    WebDriverWait(browser, 15, ignored_exceptions=(WebDriverException,)).until(
        lambda b: b.execute_script(
            "return document.readyState === 'complete' && window.__tshirtPage !== arguments[0];",
            mark))


def log_in(browser: WebDriver, base: str, token: str = TOKEN) -> None:
    browser.get(f"{base}/dashboard/")
    assert "/dashboard/login" in browser.current_url
    browser.find_element(By.NAME, "token").send_keys(token)
    click_through(browser, browser.find_element(By.CSS_SELECTOR, "#login button"))
