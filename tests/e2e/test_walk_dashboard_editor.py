"""The dashboard's editor as a trader saves with it: the real `moonhook run`, a real headless
Chromium (tests/support/browser.py). What the page says after a save is what trades now.
"""

from __future__ import annotations

from selenium.webdriver.common.by import By

from support.browser import browser, click, log_in, wait  # noqa: F401 (browser: a fixture)
from support.e2e_support import init

PAD = "document.querySelector('.CodeMirror').CodeMirror"


def _save(browser, text: str) -> str:
    """``text`` saved from the open editor; the result's text once the save has answered."""
    browser.execute_script(f"{PAD}.setValue(arguments[0]); document.getElementById('editor-result').textContent = ''",
                           text)
    browser.find_element(By.ID, "save").click()
    return wait(browser, lambda d: d.find_element(By.ID, "editor-result").text, "the save's answer")


def test_a_save_says_what_trades_after_it(user, browser):
    """A save that does not load leaves the version before it serving, and the page says so; a
    guard switched off by an administrator (here from Telegram or the API) stays off when its
    file is saved: the page once said only "Saved and loaded.", and the trader, taking the
    guard for live, let an entry without a stop through."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    base = f"http://127.0.0.1:{run.port}"
    log_in(browser, base, config.values["server"]["api_token"])
    browser.get(f"{base}/#/editor")
    click(browser, "#script-files a", "demo.lua in the list")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".CodeMirror .CodeMirror-linenumber"), "the editor")
    original = browser.execute_script(f"return {PAD}.getValue()")

    broken = _save(browser, original + "\nthis is not lua\n")
    assert "demo goes on serving its version from before this save." in broken, broken

    assert run.client.post("/api/plugins/demo/disable", json={"reason": "elsewhere"}).status_code == 200
    said = _save(browser, original + "\n-- the stop rule, reviewed\n")
    assert "Saved and loaded, but demo is switched off" in said, said
    assert [p["enabled"] for p in run.get("/api/plugins")["plugins"]] == [False]
    passed = run.webhook("buy EURUSD volume=0.1 price=1.1")  # no stop: demo, off, refuses nothing
    assert run.settled(passed["id"])["status"] == "done"
    assert run.interrupt() == 0
