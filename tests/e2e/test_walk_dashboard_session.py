"""A page whose session ends under it, as a trader meets it: the real `moonhook run`, a real headless
Chromium (tests/support/browser.py). The session ends in another tab here (Log out there: the tabs
share the cookie); an expiry or a restart of the engine ends it the same way for the open page.
"""

from __future__ import annotations

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from support.browser import PAD, browser, click, live, log_in, logged_out_in_a_second_tab, open_script, wait  # noqa: F401 (browser: a fixture)
from support.e2e_support import init

ENDED = "Your session ended"


def _logged_out_in_another_tab(browser, run) -> None:
    """Log out clicked in a second tab, then the first tab back in front; an alert then (refused by
    demo.lua: no stop), whose events end the first tab's stream at once rather than at its keepalive."""
    base = f"http://127.0.0.1:{run.port}"
    first = logged_out_in_a_second_tab(browser, base, "plugins")
    browser.close()
    browser.switch_to.window(first)
    assert run.settled(run.webhook("buy EURUSD volume=0.1 price=1.1")["id"])["status"] == "rejected"


def _log_in_again(browser, token: str) -> None:
    """The token typed into the login the page shows now, without loading the page again."""
    browser.find_element(By.ID, "token").send_keys(token)
    browser.find_element(By.ID, "login-button").click()


def test_an_open_overview_whose_session_ended_asks_for_the_login_and_comes_back(user, browser):
    """The session ended elsewhere: the open overview went on showing the position and its Close as
    if live, its indicator saying "offline" and nothing else, for as long as it stayed open (the
    stream, refused 401, is not opened again by the browser). It now says the session ended and
    asks for the token; logged in, it shows the overview again, live."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    base, token = f"http://127.0.0.1:{run.port}", config.values["server"]["api_token"]
    (bought,) = run.settled(run.webhook("buy GBPUSD volume=0.2 price=1.27 sl=1.26")["id"])["outcome"]["orders"]
    log_in(browser, base, token)
    live(browser)

    _logged_out_in_another_tab(browser, run)
    said = wait(browser, lambda d: d.find_elements(By.ID, "token") and d.find_element(By.ID, "login-error").text,
                "the login, saying why")
    assert said.startswith(ENDED), said
    assert not browser.find_elements(By.ID, f"close-{bought['ticket']}")   # nothing stale to click
    _log_in_again(browser, token)
    wait(browser, lambda d: d.find_elements(By.ID, f"close-{bought['ticket']}"), "the overview again")
    assert browser.current_url.endswith("#/overview")
    live(browser, "the stream open again")
    assert run.interrupt() == 0


def test_a_script_being_edited_when_the_session_ended_stays_and_is_saved_after_the_login(user, browser):
    """A strategy typed in the editor was lost when the session ended under it (the next request
    answered 401 and the login replaced the editor, text and all): the login now shows above the
    editor, the text stays, and once logged in Save writes it, over the version it opened."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    base, token = f"http://127.0.0.1:{run.port}", config.values["server"]["api_token"]
    demo = user.home / "bot" / "scripts" / "demo.lua"
    log_in(browser, base, token)
    open_script(browser, base)
    live(browser)
    browser.find_element(By.CSS_SELECTOR, ".CodeMirror").click()
    ActionChains(browser).send_keys("-- an hour's work ").perform()
    typed = browser.execute_script(f"return {PAD}.getValue()")

    _logged_out_in_another_tab(browser, run)
    said = wait(browser, lambda d: d.find_elements(By.ID, "token") and d.find_element(By.ID, "login-error").text,
                "the login, saying why")
    assert said.startswith(ENDED) and "demo.lua has changes not saved" in said, said
    assert browser.execute_script(f"return {PAD}.getValue()") == typed
    _log_in_again(browser, token)
    wait(browser, lambda d: not d.find_elements(By.ID, "token"), "logged in again")
    browser.find_element(By.ID, "save").click()
    said = wait(browser, lambda d: d.find_element(By.ID, "editor-result").text, "the save's answer")
    assert said.startswith("Saved and loaded."), said
    assert demo.read_text(encoding="utf-8") == typed
    assert run.interrupt() == 0
