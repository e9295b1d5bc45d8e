"""What the dashboard says when a request of its own is refused or unanswered, as a trader reads it:
the real `moonhook run`, a real headless Chromium (tests/support/browser.py). Said as what was not
done, then why ("Not shown: ...", "Not checked: ..."), as the other actions are: never beginning with
the request's method and path ("GET /api/alerts/99999: 404 ..."), which is the page's, not the trader's."""

from __future__ import annotations

from selenium.webdriver.common.by import By

from support.browser import browser, click, log_in, open_script, wait  # noqa: F401 (browser: a fixture)
from support.e2e_support import init


def test_an_alert_that_is_not_there_and_a_check_unanswered_say_what_was_not_done(user, browser):
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    base = f"http://127.0.0.1:{run.port}"
    log_in(browser, base, config.values["server"]["api_token"])
    browser.get(f"{base}/#/alerts/99999")   # a link to an alert the journal does not hold
    said = wait(browser, lambda d: next((e.text for e in d.find_elements(By.CSS_SELECTOR, "#alert-detail .error")), None),
                "the detail's refusal")
    assert said == "Not shown: no alert 99999", said

    open_script(browser, base)
    assert run.interrupt() == 0    # the engine stopped: the Check is not answered
    click(browser, "#check", "Check")
    said = wait(browser, lambda d: d.find_element(By.ID, "editor-result").text, "the Check's answer")
    assert said == "Not checked: the server cannot be reached", said


def test_a_page_whose_panel_cannot_be_read_says_what_was_not_shown(user, browser):
    """A whole panel not read (the engine stopped, a 503 while it starts) said 'GET /api/overview: the server
    cannot be reached': the request's method and path first, where the other refusals say what was not done."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    base = f"http://127.0.0.1:{run.port}"
    log_in(browser, base, config.values["server"]["api_token"])
    assert run.interrupt() == 0    # the engine stopped: no page's panel is read
    for view, title in (("plugins", "Plugins"), ("trades", "Trades"), ("alerts", "Latest alerts"),
                        ("overview", "Overview")):   # the overview last: the page opened on it
        browser.execute_script("location.hash = arguments[0]", f"#/{view}")
        said = wait(browser, lambda d: next((e.text for e in d.find_elements(By.CSS_SELECTOR, "section.panel .error")
                                             if e.text), None), f"the {view} panel's refusal")
        assert said == "Not shown: the server cannot be reached", (view, said)
        assert browser.find_element(By.CSS_SELECTOR, "section.panel h2").text == title, view
