"""The dashboard as an administrator meets it: the real `moonhook run`, its page at / opened in
a real headless Chromium (tests/support/browser.py), the login with the API token, the views.

With MOONHOOK_SCREENSHOTS=1 (`make screenshots`) each page reached is saved to
docs/screenshots/<page>.png, on a desktop's width and on a phone's.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

from engine.interfaces.web.dashboard import CSP
from engine.interfaces.web.dashboard.files import STATIC
from support.browser import browser  # noqa: F401 (a fixture)
from support.browser import DESKTOP, PHONE, cells, click, console_errors, live, log_in, screenshot, texts, wait
from support.e2e_support import init, until

MARKUP = "<img src=x onerror=window.pwned=1><b>bold</b>"  # what an alert's comment may hold


class _Inline(HTMLParser):
    """What a page holds that a strict CSP would refuse: inline scripts, style elements and
    attributes, event-handler attributes, javascript: URLs, and anything loaded from elsewhere."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self._in_script = tag == "script"
        if tag == "script" and not attrs.get("src"):
            self.found.append("a <script> without src")
        if tag == "style":
            self.found.append("a <style> element")
        for name, value in attrs.items():
            if name == "style" or name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            if name in ("src", "href", "action") and value and re.match(r"\s*(javascript:|https?:|//)", value, re.I):
                self.found.append(f"<{tag} {name}={value!r}>")

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.found.append("a script's inline text")


def _inline(html: str) -> list[str]:
    parser = _Inline()
    parser.feed(html)
    return parser.found


def test_every_answer_of_the_dashboard_carries_the_csp_and_the_page_has_nothing_inline(user):
    config, _ = init(user, "bot")
    (user.home / "bot" / "static").mkdir()  # a folder of the user's, which Quart alone would serve
    (user.home / "bot" / "static" / "notes.js").write_text("the user's own file")
    run = user.start("run", config=config, cwd="bot")
    base = f"http://127.0.0.1:{run.port}"
    page = httpx.get(f"{base}/", timeout=10)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert _inline((STATIC / "index.html").read_text(encoding="utf-8")) == []
    assert _inline(page.text) == []

    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text)
    assert len(assets) == 2  # the stylesheet and the main module, both under the version
    answers = [page] + [httpx.get(f"{base}{path}", timeout=10) for path in assets]
    answers.append(httpx.get(f"{base}/static/notes.js", timeout=10))
    answers.append(httpx.get(f"{base}/static/%2e%2e/%2e%2e/moonhook.toml", timeout=10))  # httpx would fold a plain ..
    for answer in answers:
        assert answer.headers.get("content-security-policy") == CSP, answer.url
        assert answer.headers.get("x-content-type-options") == "nosniff", answer.url
        assert answer.headers.get("referrer-policy") == "no-referrer", answer.url
    css, module, missing, outside = answers[1:]
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert module.status_code == 200 and module.headers["content-type"].startswith("text/javascript")
    assert "immutable" in module.headers["cache-control"]  # versioned: a new release has a new path
    assert module.headers["content-encoding"] == "gzip"  # httpx asks for it, and unpacks it
    assert page.headers["cache-control"] == "no-cache"     # the page that names the version is revalidated
    assert missing.status_code == 404 and "the user's own file" not in missing.text
    assert outside.status_code == 404
    assert "api_token" not in outside.text
    assert run.interrupt() == 0


def test_an_administrator_logs_in_with_the_token_and_sees_the_overview(user, browser):
    config, _ = init(user, "bot")
    config.replace("# max_open_positions = 10", "max_open_positions = 10")
    run = user.start("run", config=config, cwd="bot")
    token = config.values["server"]["api_token"]
    base = f"http://127.0.0.1:{run.port}"
    limit = run.settled(run.webhook("buylimit EURUSD volume=0.1 price=1.05 sl=1.04 expiry=1d")["id"])
    (placed,) = limit["outcome"]["orders"]
    (bought,) = run.settled(run.webhook("buy GBPUSD volume=0.2 price=1.27 sl=1.26")["id"])["outcome"]["orders"]

    browser.get(f"{base}/")
    field = wait(browser, lambda d: d.find_element(By.ID, "token"), "the login form")
    screenshot(browser, "login")
    field.send_keys("not the token")
    browser.find_element(By.ID, "login-button").click()
    wait(browser, lambda d: d.find_element(By.ID, "login-error").text, "the refusal of a wrong token")
    field.clear()
    field.send_keys(token)
    browser.find_element(By.ID, "login-button").click()

    overview = wait(browser, lambda d: texts(d, "#overview .panel h2"), "the overview's panels")
    assert "Health" in overview, overview
    (limits,) = [p.split("\n") for p in texts(browser, "#overview .panel") if p.startswith("Limits")]
    assert limits == ["Limits", "Lots an order, at most", "none", "Open positions, at most", "10",
                      "Price gap, at most (%)", "none", "A day's loss, at most (%)", "none", "Equity, at least", "none",
                      "Risk at a stop, at most (%)", "none", "Entries an hour, at most", "none",
                      "Spread, at most (pips)", "none", "Waited for the spread, at most (s)", "none",
                      "Trading day", "UTC"], limits
    (pending,) = cells(browser, "#pending-orders tbody tr")
    assert pending[:6] + pending[7:-1] == ["EURUSD", "buy limit", "0.10", "1.05000", "1.04000", "", "engine",
                                           str(placed["ticket"])]  # no take profit
    (expires,) = [o["expires"] for o in run.get("/api/orders")["open"]]
    assert pending[6] == browser.execute_script("return new Date(arguments[0] * 1000).toLocaleString()", expires)
    click(browser, f"#cancel-{placed['ticket']}", "the order's Cancel")            # asked first, in place
    assert "Cancel buy limit 0.10 EURUSD at 1.05000?" in browser.find_element(By.ID, "pending-orders").text
    assert run.get("/api/orders")["open"] != []
    click(browser, f"#cancel-{placed['ticket']}-yes", "Yes")
    wait(browser, lambda d: "No pending orders." in d.find_element(By.ID, "overview").text, "the order gone")
    (cancel,) = [o for o in run.get("/api/orders")["recent"] if o["kind"] == "close"]
    assert (cancel["plugin"], cancel["status"], cancel["request"]["ticket"]) == ("dashboard", "done", placed["ticket"])
    (position,) = cells(browser, "#open-positions tbody tr")
    assert position[:-1] == ["GBPUSD", "buy", "0.20", "1.27000", "0.00", str(bought["ticket"])], position
    click(browser, f"#close-{bought['ticket']}", "the position's Close")
    click(browser, f"#close-{bought['ticket']}-yes", "Yes")
    wait(browser, lambda d: "No open positions." in d.find_element(By.ID, "overview").text, "the position closed")
    assert run.get("/api/positions")["positions"] == []
    assert token not in browser.current_url
    assert browser.execute_script("return JSON.stringify(localStorage) + JSON.stringify(sessionStorage)") == "{}{}"
    assert browser.execute_script("return document.cookie") == ""  # HttpOnly: out of the page's reach
    live(browser)

    # Live: an alert sent now shows up in the Alerts table without a reload.
    browser.get(f"{base}/#/alerts")
    wait(browser, lambda d: d.find_element(By.ID, "alerts-table").text not in ("", "Loading…"), "the alerts")
    sent = run.webhook('{"secret": "SECRET", "action": "buy", "symbol": "EURUSD", "volume": 0.1, "price": 1.1, '
                       '"sl": 1.09, "comment": "' + MARKUP + '"}')
    click(browser, f'#alerts-table tr[data-id="{sent["id"]}"]', f"alert {sent['id']} in the table")
    wait(browser, lambda d: f"Alert {sent['id']}" in d.find_element(By.ID, "alert-detail").text, "the alert's detail")
    assert browser.current_url.endswith(f"#/alerts/{sent['id']}")  # the detail's own link, to share or reopen
    # The alert's own strings are shown as text, never parsed as markup.
    assert MARKUP in browser.find_element(By.ID, "alert-detail").text
    assert browser.find_elements(By.CSS_SELECTOR, "#alert-detail img, #alert-detail b") == []
    assert browser.execute_script("return window.pwned === undefined")
    screenshot(browser, "alerts")

    # Plugins: pausing asks first, and goes through with the session's CSRF token.
    browser.get(f"{base}/#/plugins")
    wait(browser, lambda d: d.find_element(By.ID, "engine-state").text == "Running", "the engine's state")
    click(browser, "#pause", "the pause button")
    click(browser, "#pause-yes", "the question before pausing")
    wait(browser, lambda d: d.find_element(By.ID, "engine-state").text.startswith("Paused"), "the engine paused")
    assert run.get("/api/plugins")["pause"]["paused"] is True
    click(browser, "#resume", "the resume button")
    click(browser, "#resume-yes", "the question before resuming")
    wait(browser, lambda d: d.find_element(By.ID, "engine-state").text == "Running", "the engine running again")
    # demo is a guard: switching it off lets through what it refuses, so the page asks first.
    headers, (row,) = texts(browser, "#plugins th"), cells(browser, "#plugins tbody tr")
    assert row[headers.index("Guard")] == "yes", (headers, row)
    assert row[headers.index("Budget")] == "2,000,000 instructions, 100 ms, 16 MB", row   # [sandbox]'s default
    click(browser, "#disable-demo", "demo's switch")
    assert [p["enabled"] for p in run.get("/api/plugins")["plugins"]] == [True]  # not before the answer
    # A live event redraws the page while the question is open (here another admin pauses): the question stays.
    assert run.client.post("/api/pause", json={"reason": "elsewhere"}).status_code == 200
    wait(browser, lambda d: d.find_element(By.ID, "engine-state").text.startswith("Paused"), "the page redrawn")
    assert browser.find_elements(By.ID, "disable-demo-yes"), "the open question was taken away by the redraw"
    assert run.client.post("/api/resume", json={}).status_code == 200
    wait(browser, lambda d: d.find_element(By.ID, "engine-state").text == "Running", "the page redrawn again")
    click(browser, "#disable-demo-yes", "the question before disabling a guard")
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#plugins td button").text == "Enable", "demo disabled")
    assert [p["enabled"] for p in run.get("/api/plugins")["plugins"]] == [False]
    # The next alert passes demo by: an entry without a stop, which demo refuses, goes through.
    passed = run.webhook("buy EURUSD volume=0.1 price=1.1")
    assert run.settled(passed["id"])["status"] == "done"
    browser.get(f"{base}/#/alerts")
    click(browser, f'#alerts-table tr[data-id="{passed["id"]}"]', f"alert {passed['id']} in the table")
    # Its detail once loaded ("Loading…" first: text, but not yet the detail).
    def loaded(d):
        text = d.find_element(By.ID, "alert-detail").text
        return text if f"Alert {passed['id']}" in text else None
    detail = wait(browser, loaded, "the alert's detail")
    assert "done" in detail and "demo" not in detail, detail
    browser.get(f"{base}/#/plugins")
    click(browser, "#plugins td button", "demo's switch")
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#plugins td button").text == "Disable", "demo enabled")
    refused = run.webhook("buy EURUSD volume=0.2 price=1.1")  # demo serves again (another content: no repeat)
    assert run.settled(refused["id"])["status"] == "rejected"
    screenshot(browser, "plugins")

    # Editor: demo.lua in CodeMirror with its line numbers; Check answers with its findings.
    browser.get(f"{base}/#/editor")
    click(browser, "#script-files a", "demo.lua in the list")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".CodeMirror .CodeMirror-linenumber"), "the editor")
    assert "on_alert" in browser.execute_script("return document.querySelector('.CodeMirror').CodeMirror.getValue()")
    browser.find_element(By.ID, "check").click()
    wait(browser, lambda d: d.find_element(By.ID, "editor-result").text, "the check's answer")
    # Save: a script that does not load is marked at its line, and the one before keeps serving.
    original = browser.execute_script("return document.querySelector('.CodeMirror').CodeMirror.getValue()")
    browser.execute_script("document.querySelector('.CodeMirror').CodeMirror.setValue(arguments[0])",
                           original + "\nthis is not lua\n")
    browser.find_element(By.ID, "save").click()
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".CodeMirror .line-error"), "the failed load marked at its line")
    screenshot(browser, "editor")
    browser.execute_script("document.querySelector('.CodeMirror').CodeMirror.setValue(arguments[0])", original)
    browser.find_element(By.ID, "save").click()
    wait(browser, lambda d: "Saved and loaded" in d.find_element(By.ID, "editor-result").text, "the script saved")
    # Saved from another editor meanwhile: the page's save, based on what it opened, is refused
    # and says so, and the other save stays until "Save over it".
    demo = user.home / "bot" / "scripts" / "demo.lua"
    elsewhere = original + "\n-- saved from the trader's own editor\n"
    demo.write_text(elsewhere)
    browser.execute_script("document.querySelector('.CodeMirror').CodeMirror.setValue(arguments[0])",
                           original + "\n-- saved from the dashboard\n")
    browser.find_element(By.ID, "save").click()
    conflict = wait(browser, lambda d: d.find_elements(By.ID, "save-conflict"), "the save refused")
    assert "demo.lua changed since it was opened" in conflict[0].text and demo.read_text() == elsewhere
    browser.find_element(By.ID, "save-over").click()
    wait(browser, lambda d: "Saved and loaded" in d.find_element(By.ID, "editor-result").text, "saved over it")
    assert demo.read_text().endswith("-- saved from the dashboard\n")
    # Replay: a draft that passes everything, over the alerts so far, beside demo as it serves.
    browser.execute_script("document.querySelector('.CodeMirror').CodeMirror.setValue(arguments[0])",
                           "function on_alert(a) return nil end\n")
    browser.find_element(By.ID, "replay").click()
    result = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#replay-result tbody tr[data-id]"),
                  "the draft's replay with the alerts it decides differently")
    assert str(refused["id"]) in [row.get_attribute("data-id") for row in result]
    # Each differing alert links to its detail, in a new tab: the draft stays in the editor.
    link = browser.find_element(By.CSS_SELECTOR, f'#replay-result a[href="#/alerts/{refused["id"]}"]')
    assert (link.text, link.get_attribute("target")) == (f"#{refused['id']}", "_blank")
    said = browser.find_element(By.ID, "replay-result").text
    assert "2 decided differently" in said and "demo: rejected" in said and "No prices" in said
    screenshot(browser, "editor-replay")
    assert "on_alert(a) return nil" not in (user.home / "bot" / "scripts" / "demo.lua").read_text()  # not saved
    # New under the name of a live strategy: refused at once, the strategy left as it is.
    browser.find_element(By.ID, "new-name").send_keys("demo.lua")
    browser.find_element(By.CSS_SELECTOR, "#new-script button").click()
    taken = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#new-refused .error"), "the new file refused")
    assert "demo.lua exists already" in taken[0].text and demo.read_text().endswith("-- saved from the dashboard\n")
    browser.find_element(By.ID, "new-name").clear()
    # New: a file started from an example, saved, and served as a plugin of its own.
    browser.find_element(By.ID, "new-name").send_keys("fresh.lua")
    example = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#example option:not([value=''])"), "the examples")
    example[0].click()
    browser.find_element(By.CSS_SELECTOR, "#new-script button").click()
    # The draft replayed is not saved: the page asks before New replaces it, and the trader lets it go.
    question = wait(browser, lambda d: EC.alert_is_present()(d), "the question before New")
    assert "demo.lua has changes not saved" in question.text, question.text
    question.accept()
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#editor-work h2").text == "fresh.lua", "the new file open")
    assert "on_alert" in browser.execute_script("return document.querySelector('.CodeMirror').CodeMirror.getValue()")
    browser.find_element(By.ID, "save").click()
    wait(browser, lambda d: "Saved and loaded" in d.find_element(By.ID, "editor-result").text, "the new script saved")
    wait(browser, lambda d: "fresh.lua" in d.find_element(By.ID, "script-files").text, "fresh.lua in the list")

    # Trades: the positions opened above, closed; the page shows what the broker's deals say.
    closed = run.webhook("close EURUSD price=1.2")  # the paper broker quotes the alert's price: a profit
    assert run.settled(closed["id"])["status"] == "done"
    trades = run.get("/api/trades")
    assert trades["closed"] >= 1
    browser.get(f"{base}/#/trades")
    wait(browser, lambda d: d.find_element(By.ID, "view").get_attribute("data-view") == "trades", "the trades view")
    shown = wait(browser, lambda d: cells(d, "#trades section:last-child tbody tr"), "the closed trades")
    assert [(r[1], r[6], r[8], r[9]) for r in shown] == \
        [(t["symbol"], f'{t["profit"]:.2f}', f'{t["net"]:.2f}', t["plugin"] or "") for t in trades["trades"]], shown
    (chart,) = texts(browser, "#trades svg[aria-label='net by plugin']")
    assert all(name in chart for name in trades["by_plugin"]), (chart, trades["by_plugin"])
    assert browser.find_elements(By.CSS_SELECTOR, "#trades svg[aria-label='equity curve'] polyline, "
                                                  "#trades svg[aria-label='equity curve'] path")
    screenshot(browser, "trades")

    browser.get(f"{base}/#/overview")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#overview .panel h2"), "the overview, with the alert's order")
    screenshot(browser, "overview")
    browser.set_window_size(*PHONE)
    wait(browser, lambda d: d.execute_script("return window.innerWidth") <= PHONE[0], "a phone's width")
    # Nothing wider than the phone's screen but what scrolls inside its own panel.
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(browser, "overview-phone")

    # Dark: the system's preference, followed without a switch of the page's own.
    light = browser.execute_script("return getComputedStyle(document.body).backgroundColor")
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
    wait(browser, lambda d: d.execute_script("return getComputedStyle(document.body).backgroundColor") != light, "dark colours")
    browser.set_window_size(*DESKTOP)
    screenshot(browser, "overview-dark")

    assert [e for e in console_errors(browser) if "Content Security Policy" in e] == []

    # Logging out ends the session: the page asks for the token again, the stream is closed,
    # and the API refuses the old session's cookie.
    name = f"moonhook_session_{run.port}"  # the port in the name: a browser sends a host's cookies to all its ports
    session = browser.get_cookie(name)["value"]
    assert httpx.get(f"{base}/api/plugins", cookies={name: session}).status_code == 200
    click(browser, "#logout", "the log-out button")
    wait(browser, lambda d: d.find_elements(By.ID, "token"), "the login form again")
    assert browser.find_element(By.ID, "live").get_attribute("data-state") == "offline"
    assert httpx.get(f"{base}/api/plugins", cookies={name: session}).status_code == 401
    assert run.interrupt() == 0


def test_the_page_with_the_editor_loaded_is_under_300_kb(user, browser):
    """What a browser downloads for the page, the editor's CodeMirror included (loaded only
    there), on a cold cache: under 300 KB."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    browser.get(f"http://127.0.0.1:{run.port}/")
    wait(browser, lambda d: d.find_element(By.ID, "token"), "the login form").send_keys(config.values["server"]["api_token"])
    browser.find_element(By.ID, "login-button").click()
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#overview .panel h2"), "the overview")
    browser.execute_script("location.hash = '#/editor'")
    click(browser, "#script-files a", "demo.lua in the list")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".CodeMirror"), "the editor")
    sizes = browser.execute_script("""
        const all = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')];
        return all.filter((e) => !e.name.endsWith('/api/events')).map((e) => [e.name, e.transferSize]);""")
    assert any("codemirror.min.js" in name for name, _ in sizes), sizes
    assert sum(size for _, size in sizes) < 300_000, sizes
    assert run.interrupt() == 0


def test_the_page_s_own_code_never_writes_markup():
    """Data reaches the page as text (dom.js: textContent, setAttribute); no file of the page's
    own code (vendor/ aside) can turn a string into markup."""
    sinks = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|setAttribute\(\s*[\"']on")
    own = [p for p in STATIC.rglob("*.js") if "vendor" not in p.parts]
    assert len(own) >= 8
    found = {p.name: sinks.findall(p.read_text(encoding="utf-8")) for p in own}
    assert {name: hits for name, hits in found.items() if hits} == {}


def test_a_page_left_and_opened_again_many_times_still_loads(user, browser):
    """A page left keeps its live stream in the back-forward cache unless it closes it, and
    the browser opens at most six connections to one server: the seventh page never loaded."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    base = f"http://127.0.0.1:{run.port}"
    log_in(browser, base, config.values["server"]["api_token"])
    for n in range(8):
        browser.get(f"{base}/?{n}#/overview")
        live(browser, f"load {n}, live")
        browser.get("about:blank")
    assert run.interrupt() == 0


def test_the_alerts_filtered_by_a_plugin_take_new_alerts_live(user, browser):
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    base = f"http://127.0.0.1:{run.port}"
    log_in(browser, base, config.values["server"]["api_token"])
    browser.get(f"{base}/#/alerts")
    browser.find_element(By.ID, "filter-plugin").send_keys("demo")
    browser.find_element(By.CSS_SELECTOR, "form.filters button").click()
    wait(browser, lambda d: "No alerts" in d.find_element(By.ID, "alerts-table").text, "the filtered, empty table")
    live(browser)
    refused = run.webhook("buy EURUSD volume=0.1 price=1.1")  # demo refuses an entry without a stop
    row = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f'#alerts-table tr[data-id="{refused["id"]}"]'),
               "the refused alert in the filtered table, without a reload")
    assert "rejected" in row[0].text
    assert run.interrupt() == 0


def test_an_alert_s_link_opens_its_detail_with_what_the_shadow_decided(user, browser):
    """#/alerts/<id>, opened as a link is: the alert's detail, and beside the live decision the
    shadow scripts' one (shadow mode), with the differences."""
    config, _ = init(user, "bot")
    (user.home / "bot" / "scripts-next").mkdir()
    (user.home / "bot" / "scripts-next" / "demo.lua").write_text("function on_alert(a) return nil end\n")
    config.append('[shadow]\nscripts = "scripts-next"\n')
    run = user.start("run", config=config, cwd="bot")
    refused = run.webhook("buy EURUSD volume=0.1 price=1.1")["id"]  # live demo refuses an entry without a stop
    assert run.settled(refused)["status"] == "rejected"
    until(lambda: run.get(f"/api/alerts/{refused}")["shadow"], bool, f"the shadow's record of alert {refused}")

    log_in(browser, f"http://127.0.0.1:{run.port}", config.values["server"]["api_token"])
    browser.get(f"http://127.0.0.1:{run.port}/#/alerts/{refused}")
    shadow = wait(browser, lambda d: d.find_elements(By.ID, "alert-shadow"), "the shadow's part of the detail")[0].text
    detail = browser.find_element(By.ID, "alert-detail").text
    assert f"Alert {refused}" in detail and "rejected" in detail
    assert "Decided differently" in shadow and "status: rejected → done" in shadow, shadow
    assert "demo: reject (entries need a stop loss" in shadow and "order engine market: absent → buy EURUSD 0.1 no stops" in shadow
    browser.execute_script("document.getElementById('alert-shadow').scrollIntoView()")
    screenshot(browser, "alert-shadow")
    assert [p["volume"] for p in run.get("/api/positions")["positions"]] == []  # the shadow's order never traded
    assert run.interrupt() == 0


def test_a_replay_with_no_alert_in_the_journal_says_so(user, browser):
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    log_in(browser, f"http://127.0.0.1:{run.port}", config.values["server"]["api_token"])
    browser.get(f"http://127.0.0.1:{run.port}/#/editor")
    click(browser, "#script-files a", "demo.lua in the list")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".CodeMirror"), "the editor")
    browser.find_element(By.ID, "replay").click()
    said = wait(browser, lambda d: d.find_element(By.ID, "replay-result").text, "the replay's answer")
    assert said.startswith("No alert reached this engine in the last 30 days: nothing to replay."), said
    assert browser.find_elements(By.CSS_SELECTOR, "#replay-result table") == []  # no table of zeros
    assert run.interrupt() == 0


def test_a_replay_of_a_draft_counts_the_stop_outs_as_moonhook_replay_does(user, browser):
    """The editor's replay counted trades and profit but not the positions a stop-out closed,
    which `moonhook replay` says: 9 lots at 1.1 (9,900.00 of margin on 10,000 USD), then a price
    of 1.094 that demo rejects but the paper market takes, stop both sides out."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    assert run.settled(run.webhook("buy EURUSD volume=9 price=1.1 sl=1.0")["id"])["status"] == "done"
    assert run.settled(run.webhook("buy EURUSD volume=0.1 price=1.094")["id"])["status"] == "rejected"
    log_in(browser, f"http://127.0.0.1:{run.port}", config.values["server"]["api_token"])
    browser.get(f"http://127.0.0.1:{run.port}/#/editor")
    click(browser, "#script-files a", "demo.lua in the list")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".CodeMirror"), "the editor")
    browser.find_element(By.ID, "replay").click()
    table = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#replay-result table"), "the replay's figures")
    head = [th.text for th in table[0].find_elements(By.CSS_SELECTOR, "th")]
    rows = [[td.text for td in tr.find_elements(By.CSS_SELECTOR, "td")]
            for tr in table[0].find_elements(By.CSS_SELECTOR, "tbody tr")]
    assert head[-1] == "stopped out" and [r[-1] for r in rows] == ["1, net -5400.00"] * 2, (head, rows)
    assert run.interrupt() == 0


def test_an_alert_tried_on_the_alerts_page_shows_its_orders_and_sends_nothing(user, browser):
    """The Alerts page's "Try an alert": a message typed as TradingView would send it, checked
    against the running engine (its limits, its account): the order it would place and the
    limit that would refuse it; a bad one's reason; nothing journaled or traded."""
    config, _ = init(user, "bot")
    config.replace("# max_order_volume = 1.0", "max_order_volume = 1.0")
    run = user.start("run", config=config, cwd="bot")
    base = f"http://127.0.0.1:{run.port}"
    log_in(browser, base, config.values["server"]["api_token"])
    browser.get(f"{base}/#/alerts")

    def tried(text: str, what: str) -> str:
        body = wait(browser, lambda d: d.find_element(By.ID, "try-body"), "the try box")
        body.clear()
        body.send_keys(text)
        click(browser, "#try-button", "Check")
        return wait(browser, lambda d: (t := d.find_element(By.ID, "try-result").text) not in ("", "Checking…") and t,
                    what)

    sized = tried('{"symbol": "OANDA:EURUSD", "action": "buy", "risk": 1, "sl_pips": 20, "price": 1.1}', "the sized buy")
    assert cells(browser, "#try-result tbody tr") == [["market buy", "EURUSD", "0.5", "1.1", "1.098", "", ""]], sized
    assert "Nothing was sent." in sized
    tried("buy EURUSD volume=5 price=1.1", "the refused buy")
    assert cells(browser, "#try-result tbody tr")[0][-1] == "over engine.max_order_volume: 5 lots asked, at most 1"
    bad = tried("buy EURUSD volume=0.1 sl=low", "the bad alert's reason")   # said as a refusal, no request's path
    assert bad == "Refused, as the webhook would refuse it: sl: must be a number, got 'low'", bad
    assert run.get("/api/alerts")["alerts"] == [] and run.get("/api/positions")["positions"] == []
    assert [e for e in console_errors(browser) if "Content Security Policy" in e or "Uncaught" in e] == []
    assert run.interrupt() == 0
