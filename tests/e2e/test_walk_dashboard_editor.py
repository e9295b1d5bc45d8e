"""The dashboard's editor as a trader saves with it: the real `moonhook run`, a real headless
Chromium (tests/support/browser.py). What the page says after a save is what trades now.
"""

from __future__ import annotations

import re

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

from support.browser import PAD, browser, log_in, open_script, save_script, wait  # noqa: F401 (browser: a fixture)
from support.e2e_support import init

# The page's saves, counted as they leave it (the page calls the global fetch).
COUNT_SAVES = """window.savesSent = 0; const sent = window.fetch;
window.fetch = (url, init) => { if (init && init.method === "PUT") window.savesSent++; return sent(url, init); };"""
# Whether the page asks the browser to ask before it is left (a reload, the tab closed).
LEAVING = "const e = new Event('beforeunload', {cancelable: true}); window.dispatchEvent(e); return e.defaultPrevented"


def test_a_save_says_what_trades_after_it(user, browser):
    """A save that does not load leaves the version before it serving, and the page says so; a
    guard switched off by an administrator (here from Telegram or the API) stays off when its
    file is saved: the page once said only "Saved and loaded.", and the trader, taking the
    guard for live, let an entry without a stop through."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    base = f"http://127.0.0.1:{run.port}"
    log_in(browser, base, config.values["server"]["api_token"])
    original = open_script(browser, base)

    broken = save_script(browser, original + "\nthis is not lua\n")
    assert "demo goes on serving its version from before this save." in broken, broken
    line = len((original + "\nthis is not lua\n").splitlines())
    assert f"line {line} error:" in broken or f"{line}:" in broken, broken   # the error named at its line
    served = run.webhook("buy EURUSD volume=0.2 price=1.1")        # no stop: the version before refuses it
    assert run.settled(served["id"])["status"] == "rejected"

    assert run.client.post("/api/plugins/demo/disable", json={"reason": "elsewhere"}).status_code == 200
    said = save_script(browser, original + "\n-- the stop rule, reviewed\n")
    assert "Saved and loaded, but demo is switched off" in said, said
    assert [p["enabled"] for p in run.get("/api/plugins")["plugins"]] == [False]
    passed = run.webhook("buy EURUSD volume=0.1 price=1.1")  # no stop: demo, off, refuses nothing
    assert run.settled(passed["id"])["status"] == "done"
    assert run.interrupt() == 0


def _asked(browser, what: str):
    """The page's question (a confirm() or the browser's own before leaving), once it shows."""
    return wait(browser, lambda d: EC.alert_is_present()(d), what)


def test_leaving_a_script_with_changes_not_saved_asks_first(user, browser):
    """A strategy typed in the editor was lost without a word to a click on another page, another
    script, New, Log out, or a reload of the tab: each now asks first, and staying keeps the text."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    base = f"http://127.0.0.1:{run.port}"
    log_in(browser, base, config.values["server"]["api_token"])
    original = open_script(browser, base)
    browser.find_element(By.CSS_SELECTOR, ".CodeMirror").click()
    ActionChains(browser).send_keys("-- a thought ").perform()   # typed: the page is the trader's now
    typed = browser.execute_script(f"return {PAD}.getValue()")
    assert typed != original

    for leave, css in (("another page", 'nav a[data-view="overview"]'), ("Log out", "#logout"),
                       ("another script", "#script-files a")):
        browser.find_element(By.CSS_SELECTOR, css).click()
        question = _asked(browser, f"the question before {leave}")
        assert "demo.lua has changes not saved" in question.text, (leave, question.text)
        question.dismiss()
        assert browser.execute_script(f"return location.hash + {PAD}.getValue()") == "#/editor" + typed, leave
    browser.find_element(By.ID, "new-name").send_keys("fresh.lua")
    browser.find_element(By.CSS_SELECTOR, "#new-script button").click()
    _asked(browser, "the question before New").dismiss()
    assert browser.find_element(By.CSS_SELECTOR, "#editor-work h2").text == "demo.lua"
    browser.find_element(By.ID, "new-name").send_keys(" copy")     # "fresh.lua copy": refused beside the form
    browser.find_element(By.CSS_SELECTOR, "#new-script button").click()
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#new-refused .error"), "the name refused")
    assert browser.execute_script(f"return {PAD}.getValue()") == typed     # the typed text not wiped by it
    # The page left by the browser (a reload, the tab closed): Chromium asks when the page's beforeunload
    # says so, which its driver answers by itself; the page's answer is what is held here.
    assert browser.execute_script(LEAVING) is True

    # Saved: nothing is lost by leaving, and nothing asks.
    browser.find_element(By.ID, "save").click()
    wait(browser, lambda d: "Saved and loaded" in d.find_element(By.ID, "editor-result").text, "the save")
    assert browser.execute_script(LEAVING) is False
    browser.find_element(By.CSS_SELECTOR, 'nav a[data-view="overview"]').click()
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#overview .panel"), "the overview, unasked")
    assert (user.home / "bot" / "scripts" / "demo.lua").read_text() == typed
    assert run.interrupt() == 0


def test_two_tabs_saving_one_script_and_a_paste_too_large_lose_nothing(user, browser):
    """Two tabs on demo.lua: the second save is refused, naming the first, until Save over it. A
    paste larger than server.max_body is refused saying so, nothing written, the text kept."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    base = f"http://127.0.0.1:{run.port}"
    demo = user.home / "bot" / "scripts" / "demo.lua"
    log_in(browser, base, config.values["server"]["api_token"])
    original = open_script(browser, base)
    first = browser.current_window_handle
    browser.switch_to.new_window("tab")
    open_script(browser, base)
    second = browser.current_window_handle

    browser.switch_to.window(first)
    assert "Saved and loaded" in save_script(browser, original + "-- the first tab's\n")
    browser.switch_to.window(second)
    said = save_script(browser, original + "-- the second tab's\n")
    assert "demo.lua changed since it was opened" in said and demo.read_text().endswith("-- the first tab's\n"), said
    # A double-click on Save over it sent two saves: the second, over the version the first replaced, was
    # refused, and the page said the file "changed since it was opened", of its own save.
    browser.execute_script(COUNT_SAVES)
    browser.execute_script("arguments[0].click(); arguments[0].click();", browser.find_element(By.ID, "save-over"))
    wait(browser, lambda d: "Saved and loaded" in d.find_element(By.ID, "editor-result").text, "saved over it")
    assert browser.execute_script("return window.savesSent") == 1
    assert demo.read_text().endswith("-- the second tab's\n")

    pasted = original + ("-- " + "y" * 97 + "\n") * 1_000   # about 100 KB, over the 64 KB default
    said = save_script(browser, pasted)
    assert said == "Not saved: the body is larger than 65536 bytes (server.max_body)", said   # no request's path
    assert demo.read_text().endswith("-- the second tab's\n")
    assert browser.execute_script(f"return {PAD}.getValue()") == pasted
    assert browser.execute_script(LEAVING) is True    # not saved: leaving still asks
    assert run.interrupt() == 0


def test_new_refuses_a_name_at_once_saying_why_and_writes_nothing(user, browser):
    """New took a..b.lua or the name of a live strategy, opened an empty editor for it, and
    refused it only at Save, once the strategy was typed. Each name is now asked about first. It
    checked names by a rule of its own, which let through ema.cross.lua and 1st.lua (no plugin name:
    they never loaded) and CON.lua (no file Windows can make): it now checks by the server's rule. Demo.lua
    beside demo.lua (one file on Windows and macOS) was refused only at the save, the strategy typed."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    base = f"http://127.0.0.1:{run.port}"
    scripts = user.home / "bot" / "scripts"
    before = sorted(p.name for p in scripts.iterdir())
    log_in(browser, base, config.values["server"]["api_token"])
    browser.get(f"{base}/#/editor")
    wait(browser, lambda d: "demo.lua" in d.find_element(By.ID, "script-files").text, "the scripts")
    for name, said in (("ema.cross.lua", "needs a file name like trend.lua"), ("1st.lua", "a letter, then letters"),
                       ("CON.lua", "not a name Windows keeps for a device"),
                       ("a..b.lua", "needs a file name like trend.lua"), ("demo.lua", "demo.lua exists already"),
                       ("Demo.lua", "differs from demo.lua only in case"),   # refused at the save only, typed
                       ("my strategy.lua", "needs a file name like trend.lua"),
                       ("stratégie.lua", "needs a file name like trend.lua"),
                       ("trend.txt", "needs a file name like trend.lua"),
                       ("../moonhook.lua", "needs a file name like")):
        field = browser.find_element(By.ID, "new-name")
        field.clear()
        field.send_keys(name)
        browser.find_element(By.CSS_SELECTOR, "#new-script button").click()
        refusal = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#new-refused .error"), f"{name} refused")
        assert said in refusal[0].text, (name, refusal[0].text)
        assert browser.find_elements(By.ID, "save") == [], name   # no editor opened for it
        browser.execute_script("document.getElementById('new-refused').replaceChildren()")
    assert sorted(p.name for p in scripts.iterdir()) == before
    assert run.interrupt() == 0


def _replayed(browser) -> str:
    """Replay clicked; the result's text once it has answered."""
    browser.execute_script("document.getElementById('editor-result').textContent = ''")
    browser.find_element(By.ID, "replay").click()
    return wait(browser, lambda d: (said := d.find_element(By.ID, "editor-result").text)
                and not said.startswith("Replaying") and said, "the replay's answer")


# The editor's lines marked as an error's (0-based), as CodeMirror holds them.
MARKED = (f"const cm = {PAD}; const out = []; cm.eachLine((l) => "
          "{ if ((l.bgClass || '').includes('line-error')) out.push(cm.getLineNumber(l)); }); return out")


def test_a_replay_refused_for_the_draft_marks_its_line_and_names_another_file_s_fault(user, browser):
    """A draft that does not load was refused by Replay with "gate.lua:2: script error: boom" in text
    (after the request's path), the editor left unmarked, where a save's error is marked at its line. It
    is marked as a save's is; a fault in another file (moonhook.toml saved since) names that file, and
    marks nothing in the script open."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    assert run.settled(run.webhook("buy EURUSD volume=0.1 price=1.1 sl=1.09")["id"])["status"] == "done"
    log_in(browser, f"http://127.0.0.1:{run.port}", config.values["server"]["api_token"])
    original = open_script(browser, f"http://127.0.0.1:{run.port}")
    browser.execute_script(f"{PAD}.setValue(arguments[0])", "x = 1\nerror('boom')\n" + original)
    said = _replayed(browser)
    assert said.startswith("Not replayed: demo.lua does not run:") and "demo.lua:2: script error: boom" in said, said
    assert "/api/" not in said, said
    assert browser.execute_script(MARKED) == [1], browser.execute_script(MARKED)   # line 2, as a save marks it

    saved = re.sub(r"^spread_points = .*$", "spread_points = -3", config.path.read_text(), flags=re.M)
    config.path.write_text(saved, encoding="utf-8")   # saved since the start: the engine refuses it, goes on
    said = _replayed(browser)
    assert said.startswith("Not replayed, for a fault in moonhook.toml (not in demo.lua): moonhook.toml: line"), said
    assert browser.execute_script(MARKED) == []   # nothing of it is in the script open
    assert run.interrupt() == 0


def test_with_editing_off_new_says_so_and_opens_no_editor_that_cannot_save(user, browser):
    """server.dashboard_edit = false: New opened an empty editor for the name, read-only, its Save
    greyed out, with nothing to say why until the trader looked for it. New now says editing is
    off, beside the form; the scripts still open to be read, checked and replayed."""
    config, _ = init(user, "bot")
    config.replace("dashboard_edit = true", "dashboard_edit = false")
    run = user.start("run", config=config, cwd="bot")
    base = f"http://127.0.0.1:{run.port}"
    log_in(browser, base, config.values["server"]["api_token"])
    browser.get(f"{base}/#/editor")
    wait(browser, lambda d: "demo.lua" in d.find_element(By.ID, "script-files").text, "the scripts")
    browser.find_element(By.ID, "new-name").send_keys("fresh.lua")
    browser.find_element(By.CSS_SELECTOR, "#new-script button").click()
    refusal = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#new-refused .error"), "New refused")
    assert refusal[0].text == "Editing is off (server.dashboard_edit = false): no new script is made here.", \
        refusal[0].text
    assert browser.find_elements(By.ID, "save") == []
    assert open_script(browser, base).startswith("-- The example strategy")   # read still
    assert not browser.find_element(By.ID, "save").is_enabled()
    assert run.interrupt() == 0


def test_a_replayed_draft_s_faults_are_marked_at_their_lines_and_name_their_alerts(user, browser):
    """The draft's faults in the replay (an error in on_alert on some alerts) were listed as "error at
    demo.lua:3: ... (/home/.../data/moonhook.db:1)", the editor unmarked and the alert named by the
    journal's path on the engine's disk. The line is marked as a save's error is, the alert linked."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    alert = run.settled(run.webhook("buy EURUSD volume=0.1 price=1.1 sl=1.09")["id"])
    log_in(browser, f"http://127.0.0.1:{run.port}", config.values["server"]["api_token"])
    open_script(browser, f"http://127.0.0.1:{run.port}")
    draft = "function on_alert(a)\n  local x = nil\n  return x.y\nend\n"   # line 3 fails on every alert
    browser.execute_script(f"{PAD}.setValue(arguments[0])", draft)
    said = _replayed(browser)
    assert "error at demo.lua:3: on_alert: script error: attempt to index a nil value" in said, said
    assert "moonhook.db" not in said, said
    link = browser.find_element(By.CSS_SELECTOR, "#replay-result .findings a")
    assert (link.text, link.get_attribute("href").split("#", 1)[1]) == (f"alert #{alert['id']}",
                                                                        f"/alerts/{alert['id']}")
    assert browser.execute_script(MARKED) == [2]   # line 3
    assert run.interrupt() == 0
