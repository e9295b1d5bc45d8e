"""The shadow's differing alerts on the dashboard (shadow mode, docs/shadow.md), in a real
Chromium against `moonhook run`: the Alerts page lists them, newest first, with each line that
says who traded what, a page at a time, and a row opens the alert's detail."""

from __future__ import annotations

from selenium.webdriver.common.by import By

from support.browser import browser  # noqa: F401 (a fixture)
from support.browser import cells, click, console_errors, log_in, wait
from support.e2e_support import init, shadow_user, until

LIVE = 'function on_alert(a) if a.volume == 0.3 then return false, "live says no" end end\n'
NEXT = ('function on_alert(a)\n  if a.volume == 0.4 then return false, "next says no" end\n'
        '  if a.volume == 0.5 then return {volume = 0.6} end\nend\n')
PAGE = 20   # the page's rows (views/shadow.js)


def rows(driver) -> list[list[str]]:
    return cells(driver, "#shadow-differences tbody tr")


def test_the_alerts_page_lists_the_shadows_differing_alerts_a_page_at_a_time(user, browser):
    config = shadow_user(user, LIVE, NEXT)
    run = user.start("run", config=config, cwd="bot")
    volumes = [0.3, 0.4, 0.5] * 9
    ids = [run.webhook(f"buy EURUSD volume={v} price=1.0850 sl=1.0800 id=d{n}")["id"] for n, v in enumerate(volumes)]
    until(lambda: run.get("/api/shadow"), lambda v: v["differ"] == len(ids), "the shadow's run of every alert")
    newest = ids[::-1]

    log_in(browser, f"http://127.0.0.1:{run.port}", run.config.values["server"]["api_token"])
    browser.get(f"http://127.0.0.1:{run.port}/#/alerts")
    first = wait(browser, lambda d: rows(d) if len(rows(d)) == PAGE else None, "the first page of differences")
    assert [int(r[0]) for r in first] == newest[:PAGE]
    by_id = {int(r[0]): r for r in first}
    assert "order engine market: buy EURUSD 0.5 sl → buy EURUSD 0.6 sl" in by_id[ids[-1]][-1]
    assert "order engine market: absent → buy EURUSD 0.3 sl" in by_id[ids[-3]][-1]
    assert "order engine market: buy EURUSD 0.4 sl → absent" in by_id[ids[-2]][-1]
    said = browser.find_element(By.ID, "shadow-range").text
    assert f"1–{PAGE} of {len(ids)}" in said, said

    # The shadow runs on while the trader reads: an alert differing now moves no page (by an offset,
    # Older showed again the last row of the first page).
    late = run.webhook("buy EURUSD volume=0.3 price=1.0850 sl=1.0800 id=late")["id"]
    until(lambda: run.get("/api/shadow"), lambda v: v["latest_differing"] == late, "the late alert's run")
    # Double-clicked: the second click went a page further by the count (the range said 41-47 of 28)
    # and Newer came back to the same page.
    browser.execute_script("arguments[0].click(); arguments[0].click();", browser.find_element(By.ID, "shadow-older"))
    older = wait(browser, lambda d: rows(d) if len(rows(d)) == len(ids) - PAGE else None, "the second page")
    assert [int(r[0]) for r in older] == newest[PAGE:]
    said = browser.find_element(By.ID, "shadow-range").text
    assert said.startswith(f"{PAGE + 1}–{len(ids)} of {len(ids) + 1} "), said
    assert browser.find_element(By.ID, "shadow-older").get_attribute("disabled") is not None

    click(browser, f"#shadow-differences tr[data-id='{ids[0]}']", "the oldest differing alert")
    shadow = wait(browser, lambda d: d.find_elements(By.ID, "alert-shadow"), "its detail")[0].text
    assert "status: rejected → done" in shadow, shadow
    click(browser, "#shadow-newer", "the newer differences")
    newest = [late, *newest]
    wait(browser, lambda d: [int(r[0]) for r in rows(d)] == newest[:PAGE] or None, "the first page again")
    assert [e for e in console_errors(browser) if "Content Security Policy" in e or "Uncaught" in e] == []
    assert run.interrupt() == 0


def test_without_shadow_mode_the_alerts_page_has_no_differences(user, browser):
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    log_in(browser, f"http://127.0.0.1:{run.port}", run.config.values["server"]["api_token"])
    browser.get(f"http://127.0.0.1:{run.port}/#/alerts")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#shadow-panel[data-state=off]"), "the shadow asked")
    run.settled(run.webhook("buy EURUSD volume=0.1 price=1.0850 sl=1.0800")["id"])
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#alerts-table tbody tr"), "the alert's row")
    assert browser.find_elements(By.ID, "shadow-differences") == []
    assert run.interrupt() == 0
