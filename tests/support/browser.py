"""A real browser for the dashboard's tests: Debian's Chromium, headless, driven by Selenium.

``browser`` is a pytest fixture (import it into a test module or a conftest): a WebDriver of
``/usr/bin/chromium`` through ``/usr/bin/chromedriver`` (``make test`` installs both), with a
fresh profile in the test's tmp_path, closed at the end. Waits are ``wait(driver, condition)``:
WebDriverWait on a condition, bounded by DEADLINE only to turn a hang into a failure; nothing
sleeps. ``screenshot`` saves a page to docs/screenshots/ when MOONHOOK_SCREENSHOTS=1.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from support.waits import HANG

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
DEADLINE = HANG  # seconds: a hang guard, never what a test waits for
PHONE = (390, 844)  # a phone's width in CSS pixels
DESKTOP = (1280, 900)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

# What this machine needs: no sandbox as root in a container, no GPU, /dev/shm too small for
# Chromium's default, and none of the background traffic to Google's servers.
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync")


def chromium(profile: Path, size: tuple[int, int] = DESKTOP, flags: tuple[str, ...] = (),
             network: bool = False) -> webdriver.Chrome:
    """A headless Chromium with its own profile folder ``profile`` and ``flags`` besides FLAGS
    (``--host-resolver-rules=MAP name 127.0.0.1``: a name of a test's own); ``network``: its
    network events kept for ``answered`` to wait on (a navigation's answer no page can see: a
    204). Raises FileNotFoundError
    naming what is missing when Chromium or its driver is not installed (``make test`` installs
    them: apt-get install chromium chromium-driver)."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing: `make test` installs it (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, *flags):
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={size[0]},{size[1]}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", **({"performance": "ALL"} if network else {})})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(DEADLINE)
    driver.set_script_timeout(DEADLINE)
    return driver


@pytest.fixture
def browser(tmp_path):
    """A fresh headless Chromium for one test, quit at its end."""
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    driver = chromium(profile)
    try:
        yield driver
    finally:
        driver.quit()


def wait(driver: webdriver.Chrome, condition: Callable[[webdriver.Chrome], Any], what: str) -> Any:
    """The first truthy value of ``condition(driver)``, polled by WebDriverWait; fails naming
    ``what`` after DEADLINE (a hang, not a slow machine). An element missing or redrawn between
    its lookup and its reading (a live view) counts as not yet."""
    return WebDriverWait(driver, DEADLINE, poll_frequency=0.05, ignored_exceptions=(StaleElementReferenceException,)).until(
        condition, message=f"{what}: not after {DEADLINE:g} s")


def live(driver: webdriver.Chrome, what: str = "the live stream") -> None:
    """Waits until the page's event stream is open (its indicator says live): what happens after
    reaches the open page without a reload."""
    wait(driver, lambda d: d.find_element(By.ID, "live").get_attribute("data-state") == "live", what)


def texts(driver: webdriver.Chrome, css: str) -> list[str]:
    """The text of every element ``css`` matches, read in one turn of the page's script: a live
    view cannot redraw between the lookup and the reading, as it can between Selenium calls."""
    return driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map((e) => e.innerText ?? e.textContent)", css)


def cells(driver: webdriver.Chrome, css: str) -> list[list[str]]:
    """The cells' texts of every row ``css`` matches, read in one turn (as ``texts``)."""
    return driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map((r) => [...r.querySelectorAll('td')]"
        ".map((td) => td.innerText))", css)


def click(driver: webdriver.Chrome, css: str, what: str) -> None:
    """Clicks the element ``css`` once it is there; an element the page redrew meanwhile (a live
    table) is looked up again rather than failing as stale."""

    def clicked(d):
        found = d.find_elements(By.CSS_SELECTOR, css)
        if not found:
            return False
        found[0].click()
        return True

    WebDriverWait(driver, DEADLINE, poll_frequency=0.05, ignored_exceptions=(StaleElementReferenceException,)).until(
        clicked, message=f"{what}: not after {DEADLINE:g} s")


def log_in(driver: webdriver.Chrome, base: str, token: str) -> None:
    """The dashboard at ``base`` opened and logged in with ``token``, once its overview shows."""
    driver.get(f"{base}/")
    wait(driver, lambda d: d.find_element(By.ID, "token"), "the login form").send_keys(token)
    driver.find_element(By.ID, "login-button").click()
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#overview .panel"), "the overview")


def logged_out_in_a_second_tab(driver: webdriver.Chrome, base: str, page: str) -> str:
    """``page`` (``plugins``, ``overview``) opened in a second tab, which logs out there and stays in
    front, at the login; returns the first tab's handle, its session ended under it."""
    first = driver.current_window_handle
    driver.switch_to.new_window("tab")
    driver.get(f"{base}/#/{page}")
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, f"#{page} .panel"), f"the second tab's {page}")
    click(driver, "#logout", "the second tab's Log out")
    wait(driver, lambda d: d.find_elements(By.ID, "token"), "the second tab's login")
    return first


def answered(driver: webdriver.Chrome, url: str, what: str) -> int:
    """Waits until the browser has had an answer to a request for ``url`` (a driver made with
    ``chromium(..., network=True)``) and returns its status."""
    def status(d: webdriver.Chrome) -> int | None:
        for entry in d.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.responseReceived" and message["params"]["response"]["url"] == url:
                return message["params"]["response"]["status"]
        return None
    return wait(driver, status, what)


def console_errors(driver: webdriver.Chrome) -> list[str]:
    """The browser console's errors so far (a CSP violation is one)."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def screenshot(driver: webdriver.Chrome, page: str) -> Path | None:
    """docs/screenshots/<page>.png of the current page when MOONHOOK_SCREENSHOTS=1; else nothing."""
    if os.environ.get("MOONHOOK_SCREENSHOTS") != "1":
        return None
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{page}.png"
    assert driver.save_screenshot(str(path)), f"could not save {path}"
    return path


# The editor's CodeMirror instance, as a script in the page reaches it.
PAD = "document.querySelector('.CodeMirror').CodeMirror"


def open_script(driver: webdriver.Chrome, base: str) -> str:
    """demo.lua opened in the editor of the current tab; its text."""
    driver.get(f"{base}/#/editor")
    click(driver, "#script-files a", "demo.lua in the list")
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".CodeMirror .CodeMirror-linenumber"), "the editor")
    return driver.execute_script(f"return {PAD}.getValue()")


def save_script(driver: webdriver.Chrome, text: str) -> str:
    """``text`` saved from the open editor; the result's text once the save has answered."""
    driver.execute_script(f"{PAD}.setValue(arguments[0]); document.getElementById('editor-result').textContent = ''",
                          text)
    driver.find_element(By.ID, "save").click()
    return wait(driver, lambda d: d.find_element(By.ID, "editor-result").text, "the save's answer")
