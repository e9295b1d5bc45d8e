"""The overview's money actions as a trader's hand makes them: the real `moonhook run`, a real
headless Chromium (tests/support/browser.py). An action asked for once is sent once, and what
the page says of it is what happened.
"""

from __future__ import annotations

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from support.browser import (PAD, browser, cells, click, live, log_in,  # noqa: F401 (browser: a fixture)
                             logged_out_in_a_second_tab, wait)
from support.e2e_support import init

# The page's requests to close, counted as they leave it (the page calls the global fetch).
COUNT_CLOSES = """window.closesSent = 0; const sent = window.fetch;
window.fetch = (url, init) => { if (String(url).endsWith("/close")) window.closesSent++; return sent(url, init); };"""


def test_a_double_click_on_yes_closes_the_position_once_and_says_nothing_failed(user, browser):
    """A double-click on the Yes of "Close ...?" sent the close twice: the broker closed the
    position once, the second was refused (no such position any more), and the page said
    "Position N not closed", which a trader would act on, by hand at the broker, against a
    position already closed."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    (bought,) = run.settled(run.webhook("buy GBPUSD volume=0.2 price=1.27 sl=1.26")["id"])["outcome"]["orders"]
    log_in(browser, f"http://127.0.0.1:{run.port}", config.values["server"]["api_token"])
    ticket = bought["ticket"]
    click(browser, f"#close-{ticket}", "the position's Close")
    yes = wait(browser, lambda d: d.find_element(By.ID, f"close-{ticket}-yes"), "the question")
    browser.execute_script(COUNT_CLOSES)
    browser.execute_script("arguments[0].click(); arguments[0].click();", yes)  # two clicks, before any answer
    wait(browser, lambda d: "No open positions." in d.find_element(By.ID, "overview").text, "the position closed")
    assert browser.execute_script("return window.closesSent") == 1
    assert browser.find_element(By.ID, "overview-message").text == ""
    closes = [o for o in run.get("/api/orders")["recent"] if o["kind"] == "close"]
    assert [(o["plugin"], o["status"]) for o in closes] == [("dashboard", "done")]
    assert run.interrupt() == 0


def test_a_tab_left_open_closes_a_position_after_a_login_in_another_tab(user, browser):
    """The trader logs out and in again in a second tab: the browser's cookie is the new
    session's in both tabs, and the first still reads and looks live, but held the old session's
    CSRF token: its Close was refused ("403 missing or wrong X-CSRF-Token") every time until a
    reload. It now takes the session's token and closes the position, once."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    base, token = f"http://127.0.0.1:{run.port}", config.values["server"]["api_token"]
    (bought,) = run.settled(run.webhook("buy GBPUSD volume=0.2 price=1.27 sl=1.26")["id"])["outcome"]["orders"]
    log_in(browser, base, token)
    first = logged_out_in_a_second_tab(browser, base, "overview")
    log_in(browser, base, token)
    browser.switch_to.window(first)
    ticket = bought["ticket"]
    browser.execute_script(COUNT_CLOSES)
    click(browser, f"#close-{ticket}", "the position's Close in the first tab")
    click(browser, f"#close-{ticket}-yes", "Yes")
    said = wait(browser, lambda d: d.find_element(By.ID, "overview-message").text
                or ("No open positions." in d.find_element(By.ID, "overview").text and "closed"), "the close's outcome")
    assert said == "closed", said
    assert run.get("/api/positions")["positions"] == []
    assert browser.execute_script("return window.closesSent") == 2  # refused for the old token, then sent
    closes = [o for o in run.get("/api/orders")["recent"] if o["kind"] == "close"]
    assert [(o["plugin"], o["status"]) for o in closes] == [("dashboard", "done")]
    assert run.interrupt() == 0


def _state(browser, starts: str, what: str) -> str:
    """The Plugins page's engine state once it starts with ``starts``."""
    return wait(browser, lambda d: (said := d.find_element(By.ID, "engine-state").text).startswith(starts) and said,
                what)


def _pairs(browser, css: str) -> list[list[str]]:
    """The (term, value) pairs of the definition lists ``css`` matches, read in one turn."""
    return browser.execute_script("return [...document.querySelectorAll(arguments[0])].flatMap((dl) => "
                                  "[...dl.querySelectorAll('dt')].map((dt) => [dt.innerText, "
                                  "dt.nextElementSibling.innerText]))", css)


def _asked_and_yes(browser, button: str, what: str) -> None:
    click(browser, f"#{button}", what)
    click(browser, f"#{button}-yes", f"{what}: Yes")


def test_a_pause_from_the_plugins_page_keeps_the_reason_typed_and_shows_it(user, browser):
    """The API's pause and Telegram's /pause REASON keep why; the dashboard's Pause sent none, and
    the page said "Paused by api" to a second trader wondering why. The reason typed beside Pause
    goes with it, as typed: the facade trims and cuts it, as for the API; an empty one is none."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    base = f"http://127.0.0.1:{run.port}"
    log_in(browser, base, config.values["server"]["api_token"])
    browser.get(f"{base}/#/plugins")
    live(browser)
    field = wait(browser, lambda d: d.find_element(By.ID, "pause-reason"), "the pause's reason")
    field.send_keys("  NFP at")
    (plugin,) = run.get("/api/plugins")["plugins"]
    assert run.client.post(f"/api/plugins/{plugin['name']}/disable").status_code == 200   # a redraw meanwhile
    wait(browser, lambda d: "Enable" in d.find_element(By.ID, "plugins").text, "the page redrawn")
    ActionChains(browser).send_keys(" 14:30  ").perform()   # typed on, where the cursor was
    assert browser.find_element(By.ID, "pause-reason").get_attribute("value") == "  NFP at 14:30  "   # kept
    _asked_and_yes(browser, "pause", "Pause")
    assert _state(browser, "Paused", "the engine paused") == "Paused by dashboard: NFP at 14:30"
    assert run.get("/api/plugins")["pause"]["reason"] == "NFP at 14:30"
    browser.get(f"{base}/#/overview")    # the overview's Health says it too, where it says paused
    assert wait(browser, lambda d: next((v for k, v in _pairs(d, "#overview dl.pairs") if k == "Paused"), None),
                "the Health panel's Paused") == "yes, by dashboard: NFP at 14:30"
    browser.get(f"{base}/#/plugins")
    _asked_and_yes(browser, "resume", "Resume")
    _state(browser, "Running", "the engine running")
    assert browser.find_element(By.ID, "pause-reason").get_attribute("value") == ""   # said with that pause

    browser.find_element(By.ID, "pause-reason").send_keys("x" * 250)
    _asked_and_yes(browser, "pause", "Pause, again")
    _state(browser, "Paused", "paused again")
    assert run.get("/api/plugins")["pause"]["reason"] == "x" * 200    # cut by the facade, as for the API
    _asked_and_yes(browser, "resume", "Resume, again")
    _state(browser, "Running", "running again")
    _asked_and_yes(browser, "pause", "Pause, with no reason")
    assert _state(browser, "Paused", "paused with no reason") == "Paused by dashboard"
    assert run.get("/api/plugins")["pause"].get("reason") is None
    assert run.interrupt() == 0


def _resume_and_run(browser, run, held) -> None:
    """The asked resume answered "Resume and run them", Yes: the engine running, each alert of
    ``held`` done."""
    click(browser, "#resume-run", "Resume and run them")
    click(browser, "#resume-run-yes", "Yes")
    wait(browser, lambda d: d.find_element(By.ID, "engine-state").text == "Running", "the engine running")
    assert [run.settled(a["id"])["status"] for a in held] == ["done"] * len(held)


def test_resuming_from_the_plugins_page_says_how_many_alerts_it_skips_and_can_run_them(user, browser):
    """A resume skips for good the alerts received while paused; the page asked only "Resume the
    engine?", and a trader who paused for a news release lost the alerts of it without being told.
    The question now counts them, and running them is a choice of its own."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    assert run.client.post("/api/pause").status_code == 200
    held = [run.settled(run.webhook(f"buy {s} volume=0.1 price=1.1 sl=1.09")["id"]) for s in ("EURUSD", "GBPUSD")]
    assert [a["status"] for a in held] == ["paused", "paused"]
    log_in(browser, f"http://127.0.0.1:{run.port}", config.values["server"]["api_token"])
    browser.get(f"http://127.0.0.1:{run.port}/#/plugins")
    click(browser, "#resume", "Resume")
    asked = wait(browser, lambda d: d.find_element(By.ID, "plugins").text, "the question")
    assert "The 2 alerts received while paused will be skipped" in asked, asked
    click(browser, "#plugins .confirm button:not(.danger):not([id])", "Cancel")
    _resume_and_run(browser, run, held)
    assert run.interrupt() == 0


def _asked_then_another_held(user, browser):
    """A paused engine with one alert held, the Plugins page open asking whether to resume over
    it; then a second alert held. The run and the two alerts."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    assert run.client.post("/api/pause").status_code == 200
    first = run.settled(run.webhook("buy EURUSD volume=0.1 price=1.1 sl=1.09")["id"])
    log_in(browser, f"http://127.0.0.1:{run.port}", config.values["server"]["api_token"])
    browser.get(f"http://127.0.0.1:{run.port}/#/plugins")
    live(browser)
    click(browser, "#resume", "Resume")
    asked = wait(browser, lambda d: d.find_element(By.ID, "plugins").text, "the question")
    assert "The alert received while paused will be skipped" in asked, asked
    second = run.settled(run.webhook("buy GBPUSD volume=0.1 price=1.1 sl=1.09")["id"])
    return run, first, second


def test_an_alert_held_after_the_resume_question_was_drawn_is_not_skipped_unshown(user, browser):
    """The page asked "The alert received while paused will be skipped"; a second came before
    Yes, and the resume skipped both, the second never shown. Now the engine stays paused, the
    page says more are held and asks again with the new count."""
    run, first, second = _asked_then_another_held(user, browser)
    click(browser, "#resume-yes", "Yes")
    said = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "p.error[role=alert]").text, "the refusal")
    # Worded as the other actions' refusals: what was not done, then why; no request's path.
    assert said.startswith("Not resumed (still paused): the alerts held from the pause changed"), said
    assert f"alert {second['id']} held since; 2 held now" in said and "/api/" not in said, said
    assert run.get("/api/plugins")["pause"]["paused"] is True
    assert [run.settled(a["id"])["status"] for a in (first, second)] == ["paused", "paused"]
    click(browser, "#resume", "Resume, asked again")
    asked = wait(browser, lambda d: d.find_element(By.ID, "plugins").text, "the new question")
    assert "The 2 alerts received while paused will be skipped" in asked, asked
    _resume_and_run(browser, run, (first, second))
    assert run.interrupt() == 0


def test_a_resume_question_redrawn_over_other_held_alerts_is_withdrawn_not_answered_unseen(user, browser):
    """The page asked about the alert held; a second was held, and a live event (a plugin switched
    elsewhere) redrew the page: the question was drawn again over the alerts held then, and its Yes
    would skip an alert the trader had not been asked about. It is withdrawn, saying why."""
    run, first, second = _asked_then_another_held(user, browser)
    (plugin,) = run.get("/api/plugins")["plugins"]
    assert run.client.post(f"/api/plugins/{plugin['name']}/disable").status_code == 200   # a redraw
    said = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "p.error[role=alert]").text, "the withdrawal")
    assert said == "The alerts held while paused changed: the question is withdrawn, Resume asks again.", said
    assert not browser.find_elements(By.ID, "resume-yes")
    click(browser, "#resume", "Resume, asked again")
    asked = wait(browser, lambda d: d.find_element(By.ID, "plugins").text, "the new question")
    assert "The 2 alerts received while paused will be skipped" in asked, asked
    click(browser, "#resume-yes", "Yes")
    wait(browser, lambda d: d.find_element(By.ID, "engine-state").text == "Running", "the engine running")
    assert [run.settled(a["id"])["status"] for a in (first, second)] == ["skipped", "skipped"]
    assert run.interrupt() == 0


def test_a_script_that_does_not_load_has_no_switch_on_the_plugins_page_and_the_api_says_why(user, browser):
    """The Plugins page listed a script that does not load ("failed: nothing serves") with an Enable
    button, whose click said "404 no plugin named 'broken'" under the row naming it: it has nothing
    to switch until it loads. The row says so, and the API's refusal too; its link to the Editor opened the
    editor with no file open, the trader to find the one to fix in the list: it opens that file."""
    config, _ = init(user, "bot")
    (user.home / "bot" / "scripts" / "broken.lua").write_text("this is not lua\n", encoding="utf-8")
    run = user.start("run", config=config, cwd="bot")
    base = f"http://127.0.0.1:{run.port}"
    log_in(browser, base, config.values["server"]["api_token"])
    browser.get(f"{base}/#/plugins")
    rows = wait(browser, lambda d: {r[0]: r for r in cells(d, "#plugins table tbody tr")}, "the plugins")
    assert rows["demo"][-1] == "Disable"
    assert rows["broken"][-1] == "Does not load: fix it in the Editor", rows["broken"]
    # The link opens the file that does not load, not an editor to look for it in.
    click(browser, "#plugins table tbody a", "fix it in the Editor")
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#editor-work h2").text == "broken.lua", "broken.lua open")
    assert wait(browser, lambda d: d.execute_script(f"return {PAD}.getValue()"), "its text") == "this is not lua\n"
    assert browser.find_element(By.ID, "save").is_enabled() and not browser.execute_script(
        f"return {PAD}.getOption('readOnly')")   # to be fixed there, editing being on
    refused = run.client.post("/api/plugins/broken/enable", json={})
    assert refused.status_code == 404 and "broken does not load" in refused.json()["error"], refused.text
    assert run.client.post("/api/plugins/nosuch/enable", json={}).json() == {"error": "no plugin named 'nosuch'"}
    assert run.interrupt() == 0


# The page's event stream held before it delivers anything: the moment between a change elsewhere and the
# redraw its event brings (up to a second, the overview's reads being a second apart), held for the test.
HELD_STREAM = "window.EventSource = class { constructor() { this.readyState = 0; } close() {} };"


def test_a_close_confirmed_after_the_position_closed_elsewhere_says_it_was_closed_already(user, browser):
    """The question was on screen when the position closed elsewhere (another admin, Telegram, its stop),
    and Yes came before the redraw: the page said "Position N not closed: ... 404 ...", which a trader
    reads as still open, to be closed by hand at the broker. It says the position was closed already."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    (bought,) = run.settled(run.webhook("buy GBPUSD volume=0.2 price=1.27 sl=1.26")["id"])["outcome"]["orders"]
    ticket = bought["ticket"]
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": HELD_STREAM})
    log_in(browser, f"http://127.0.0.1:{run.port}", config.values["server"]["api_token"])
    click(browser, f"#close-{ticket}", "the position's Close")
    yes = wait(browser, lambda d: d.find_element(By.ID, f"close-{ticket}-yes"), "the question")
    assert run.client.post(f"/api/positions/{ticket}/close", json={}).json()["ok"] is True   # closed elsewhere
    yes.click()
    said = wait(browser, lambda d: d.find_element(By.ID, "overview-message").text, "the close's outcome")
    assert said == f"Position {ticket} was closed already (elsewhere, or by its stop or target): nothing was sent.", \
        said
    wait(browser, lambda d: "No open positions." in d.find_element(By.ID, "overview").text, "the overview read again")
    assert run.interrupt() == 0
