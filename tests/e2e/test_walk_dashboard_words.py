"""The dashboard read by a trader on a fresh engine: the real `moonhook run` of a fresh
`moonhook init`, a real headless Chromium (tests/support/browser.py). Every page says what it
shows in words, an empty journal included, and the browser's console stays free of errors.
"""

from __future__ import annotations

import re

from selenium.webdriver.common.by import By

from support.browser import browser, console_errors, log_in, texts, wait  # noqa: F401 (browser: a fixture)
from support.e2e_support import init

SPAN = r"\d+\.\d+ (ms|s)|\d+m \d+s"   # a span with its unit (engine/domain/words.py millis)
# What each page says once it has loaded, on an engine that has received nothing yet.
EMPTY = {"overview": ("No open positions.", "No pending orders.", "None."),
         "alerts": ("No alerts.",),
         "plugins": ("demo",),
         "editor": ("demo.lua",),
         "trades": ("No closed trades yet.",)}


def _logged_in(browser) -> None:
    """The console read up to the login: free of errors, the page's question for a session before there
    is one included (test_a_first_visit_asks_for_the_token_with_no_console_error)."""
    assert console_errors(browser) == []


def test_a_first_visit_asks_for_the_token_with_no_console_error(user, browser):
    """A first visit asked GET /api/session, answered 401 (no session yet), before it showed the
    login: Chromium logged that 401 as an error in the console of every first visit. The page now
    knows from itself whether it has a session; so does a reload once logged in, and after a logout."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    base = f"http://127.0.0.1:{run.port}"
    browser.get(f"{base}/")
    wait(browser, lambda d: d.find_elements(By.ID, "token"), "the login form")
    assert browser.title == "moonhook: log in" and console_errors(browser) == []
    log_in(browser, base, config.values["server"]["api_token"])
    browser.refresh()
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#overview .panel"), "the overview, still logged in")
    browser.find_element(By.ID, "logout").click()
    wait(browser, lambda d: d.find_elements(By.ID, "token"), "the login form after the logout")
    browser.refresh()
    wait(browser, lambda d: d.find_elements(By.ID, "token"), "the login form after a reload")
    assert console_errors(browser) == []
    assert run.interrupt() == 0


def test_the_overview_says_its_fields_in_words(user, browser):
    """The Health panel named its fields by /health's JSON keys (broker_connected, load_errors,
    uptime_s, last_stop_out), and Broker, Account, Today and Limits theirs (refused_orders,
    margin_free, max_order_volume): they now say them as `moonhook status` and Telegram's /status do."""
    config, _ = init(user, "bot")
    (user.home / "bot" / "scripts" / "broken.lua").write_text("function on_alert(a)\n  this is not lua\nend\n")
    run = user.start("run", config=config, cwd="bot")
    log_in(browser, f"http://127.0.0.1:{run.port}", config.values["server"]["api_token"])
    _logged_in(browser)

    def health(d):
        (panel,) = [p for p in texts(d, "#overview .panel") if p.startswith("Health")]
        return panel.split("\n")[1:]
    said = wait(browser, health, "the Health panel")
    fields = dict(zip(said[::2], said[1::2]))
    assert all("_" not in name for name in fields), said
    assert fields["Broker connected"] == "yes" and fields["Paused"] == "no", fields
    assert fields["Scripts that do not load"] == "broken.lua", fields
    assert fields["Plugins"] == "1 loaded, 1 enabled" and fields["Last stop-out"] == "none", fields
    named = texts(browser, "#overview dt")
    assert all("_" not in name for name in named) and "Orders refused" in named and "Free margin" in named, named
    assert console_errors(browser) == []
    assert run.interrupt() == 0


# The fields (dd) whose text is shown on more lines than it has words: a word broken across lines.
BROKEN = """return [...document.querySelectorAll('#view dd')].filter((dd) => {
  const range = document.createRange();
  range.selectNodeContents(dd);
  const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
  return lines.size > dd.textContent.trim().split(/\\s+/).length;
}).map((dd) => `${dd.previousElementSibling.textContent}: ${dd.textContent}`);"""


def test_the_overviews_fields_are_said_whole_beside_their_longest_name(user, browser):
    """The panels' names take the width they need (grid max-content), the values the rest: beside "Shadow
    scripts that do not load" the Health panel's values had a few pixels, "ok" and "0m 12s" read a letter
    a line (docs/screenshots/overview.png). A long name now wraps; each value's words stay whole."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    log_in(browser, f"http://127.0.0.1:{run.port}", config.values["server"]["api_token"])
    wait(browser, lambda d: any(p.startswith("Health") for p in texts(d, "#overview .panel")), "the Health panel")
    assert "Shadow scripts that do not load" in texts(browser, "#overview dt")
    assert browser.execute_script(BROKEN) == []
    assert run.interrupt() == 0


def test_a_fresh_journal_shows_words_on_every_page_and_no_console_error(user, browser):
    """Each page of an engine that has received nothing says so in words; none leaves a blank,
    an error, or a message in the browser's console."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    base = f"http://127.0.0.1:{run.port}"
    log_in(browser, base, config.values["server"]["api_token"])
    _logged_in(browser)
    for page, words in EMPTY.items():
        browser.get(f"{base}/#/{page}")
        shown = wait(browser, lambda d: (d.find_element(By.ID, "view").get_attribute("data-view") == page
                                         and "Loading…" not in (text := d.find_element(By.ID, "view").text)
                                         and all(w in text for w in words) and text), f"the {page} page")
        assert "undefined" not in shown and "NaN" not in shown and "[object" not in shown, (page, shown)
        blank = [t for t in texts(browser, "#view dt") if not t.strip()] + [
            t for t in texts(browser, "#view dd") if not t.strip()]
        assert blank == [], (page, shown)  # a field named with nothing said of it
        assert console_errors(browser) == [], page
    assert run.interrupt() == 0


def test_an_alerts_timings_are_said_in_words_with_their_units(user, browser):
    """The alert's detail listed its Timings by the API's keys (received_at, to_broker_ms, total_ms,
    orders) with bare numbers and a JSON list for the orders: they now say what each is and its unit."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    done = run.settled(run.webhook("buy EURUSD volume=0.1 price=1.1 sl=1.09")["id"])
    assert done["status"] == "done" and done["orders"], done
    base = f"http://127.0.0.1:{run.port}"
    log_in(browser, base, config.values["server"]["api_token"])
    browser.get(f"{base}/#/alerts/{done['id']}")

    def timings(d):
        said = texts(d, "#alert-detail h4 + dl dt, #alert-detail h4 + dl dd")  # the dl below "Timings"
        return said if len(said) > 1 else None
    said = wait(browser, timings, "the alert's timings")
    fields = dict(zip(said[::2], said[1::2]))
    client_id = done["orders"][0]["client_id"]
    assert list(fields) == ["Received", "Finished", "Receipt to the broker", "Receipt to finish",
                            f"Order {client_id}"], fields
    assert fields["Received"].endswith(" UTC") and fields["Finished"].endswith(" UTC"), fields
    order = fields[f"Order {client_id}"]
    spans = [fields["Receipt to the broker"], fields["Receipt to finish"], order.split(" after")[0]]
    assert all(re.fullmatch(SPAN, span) for span in spans), fields   # in ms, or s on a busy machine
    assert " after receipt, answered " in order, fields
    assert console_errors(browser) == []
    assert run.interrupt() == 0
