"""The dashboard kept true while it is open: what another admin does meanwhile (a cancel or a
close from a phone, through the API or Telegram) shows in the overview without a reload, and so
does, in the alerts, an order whose answer was lost once the broker tells what became of it."""

from __future__ import annotations

from selenium.webdriver.common.by import By

from support.browser import browser, cells, live, log_in, wait  # noqa: F401 (browser: a fixture)
from support.clock_shift import at_midday, utc_day
from support.cutter import Cutter
from support.e2e_support import init, losing_mt5_user


def _overview(driver) -> str:
    return driver.find_element(By.ID, "overview").text


def test_an_order_cancelled_elsewhere_leaves_the_open_overview_at_once(user, browser, monkeypatch):
    """A cancel is an order placed (no fill, no alert): the overview showed the order as still
    pending, and today's orders one short, until some alert or fill came."""
    at_midday(user, monkeypatch, utc_day)  # today's orders: the entry and its cancel in one day
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    (placed,) = run.settled(run.webhook("buylimit EURUSD volume=0.1 price=1.05 sl=1.04")["id"])["outcome"]["orders"]
    log_in(browser, f"http://127.0.0.1:{run.port}", config.values["server"]["api_token"])
    wait(browser, lambda d: d.find_elements(By.ID, f"cancel-{placed['ticket']}"), "the pending order")
    live(browser)

    cancelled = run.client.post(f"/api/orders/{placed['ticket']}/cancel")   # another admin, elsewhere
    assert cancelled.status_code == 200 and cancelled.json()["ok"], cancelled.text
    wait(browser, lambda d: "No pending orders." in _overview(d), "the cancelled order gone from the overview")
    assert "Orders sent\n2" in _overview(browser)   # the entry and its cancel, as /api/overview counts them
    assert run.get("/api/overview")["today"]["orders"] == 2
    assert run.interrupt() == 0


def test_a_stop_out_is_said_above_the_open_overview_at_once(user, browser):
    """A stop-out showed in the overview as a position gone and a balance lower, like any close:
    the account running out of margin was nowhere said. It is said above everything, live."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    assert run.settled(run.webhook("buy EURUSD volume=9 price=1.1 sl=1.0")["id"])["status"] == "done"
    log_in(browser, f"http://127.0.0.1:{run.port}", config.values["server"]["api_token"])
    wait(browser, lambda d: d.find_elements(By.ID, "open-positions"), "the open position")
    live(browser)

    # Rejected by demo (no stop): only its price reaches the paper market, 46.46 % of margin, under 50.
    assert run.settled(run.webhook("buy EURUSD volume=0.1 price=1.094")["id"])["status"] == "rejected"
    said = wait(browser, lambda d: d.find_element(By.ID, "stop-out").text, "the stop-out said")
    assert "the broker closed position 1001 for want of margin at a margin level of 46.46%, net -5400.00 USD" in said
    assert "Alerts are still taken" in said
    assert "No open positions." in _overview(browser)
    assert run.interrupt() == 0


def test_a_script_that_stops_loading_shows_in_the_open_overview_at_once(user, browser):
    """A script saved from the trader's own editor that does not load made the engine "degraded", the
    Health panel's "Scripts that do not load" and the last errors say it: the open overview said "ok"
    and "none" until some alert or fill came, a reload being no event it read again on."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    log_in(browser, f"http://127.0.0.1:{run.port}", config.values["server"]["api_token"])
    wait(browser, lambda d: "Scripts that do not load\nnone" in _overview(d), "the Health panel")
    live(browser)

    (user.home / "bot" / "scripts" / "broken.lua").write_text("function on_alert(a)\n  this is not lua\nend\n")
    wait(browser, lambda d: "Scripts that do not load\nbroken.lua" in _overview(d), "the file said in the Health panel")
    assert "Status\ndegraded" in _overview(browser)
    assert run.interrupt() == 0


def _status(driver, alert_id: int) -> str | None:
    """The status cell of alert ``alert_id``'s row in the alerts' table, None while it is not drawn."""
    rows = cells(driver, f'#alerts-table tr[data-id="{alert_id}"]')
    return rows[0][4] if rows else None


def test_an_alert_failed_for_a_lost_answer_shows_done_in_the_open_alerts_once_its_order_is_settled(user, browser,
                                                                                                     tmp_path):
    """The Settler settled the entry and its alert (done) without a word: the open page showed the
    alert failed and its order not known until a reload."""
    terminal, config = losing_mt5_user(user, tmp_path)
    run = user.start("run", config=config, cwd="bot")
    terminal.script("order_send", "crash_late")
    lost = run.settled(run.webhook("buy EURUSD volume=0.1 sl=1.07 id=walk-lost")["id"])
    assert lost["status"] == "failed" and lost["orders"][0]["status"] == "unknown", lost["outcome"]
    base = f"http://127.0.0.1:{run.port}"
    log_in(browser, base, config.values["server"]["api_token"])
    browser.get(f"{base}/#/alerts/{lost['id']}")
    wait(browser, lambda d: _status(d, lost["id"]) == "failed", "the failed alert's row")
    wait(browser, lambda d: '"unknown": true' in d.find_element(By.ID, "alert-detail").text, "its detail, not known")
    live(browser)
    browser.execute_script("window.notReloaded = true")   # gone if the page were loaded again

    assert terminal.deliver_late() == [10009]                           # it arrives after all
    wait(browser, lambda d: _status(d, lost["id"]) == "done", "the row done, without a reload")
    (position,) = terminal.positions()
    ticket = f'"ticket": {position["ticket"]}'
    detail = wait(browser, lambda d: ticket in (t := d.find_element(By.ID, "alert-detail").text) and t,
                  "the detail with the order's ticket")
    assert f"Alert {lost['id']}\ndone\n" in detail and '"unknown"' not in detail, detail
    assert browser.execute_script("return window.notReloaded") is True
    assert run.interrupt() == 0


def test_a_pending_entry_whose_answer_was_lost_shows_in_the_open_overview_once_it_is_settled(user, browser, tmp_path):
    """Placed late, a pending entry has no fill to refresh the overview: it showed no pending order
    and the alert failed until some other event came."""
    terminal, config = losing_mt5_user(user, tmp_path)
    run = user.start("run", config=config, cwd="bot")
    terminal.script("order_send", "crash_late")
    lost = run.settled(run.webhook("buylimit EURUSD volume=0.1 price=1.07 sl=1.06 id=walk-lost")["id"])
    assert lost["status"] == "failed", lost["outcome"]
    log_in(browser, f"http://127.0.0.1:{run.port}", config.values["server"]["api_token"])
    wait(browser, lambda d: "Failed\n1" in _overview(d) and "No pending orders." in _overview(d), "the failed alert")
    live(browser)

    assert terminal.deliver_late() == [10008]                           # placed after all
    (placed,) = terminal.orders()
    wait(browser, lambda d: d.find_elements(By.ID, f"cancel-{placed['ticket']}"), "the pending order, without a reload")
    wait(browser, lambda d: "Failed\n0" in _overview(d), "no alert failed")
    assert run.interrupt() == 0


def test_an_alert_that_came_while_the_stream_was_cut_shows_once_it_opens_again(user, browser):
    """The browser opens the stream again by itself after a drop, but what happened meanwhile was
    told to no one: the open alerts lacked the alerts of the drop (and the settles) until a reload."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    with Cutter(run.port) as network:
        base = f"http://127.0.0.1:{network.port}"
        log_in(browser, base, config.values["server"]["api_token"])
        browser.get(f"{base}/#/alerts")
        wait(browser, lambda d: d.find_element(By.ID, "alerts-table").text == "No alerts.", "the empty alerts")
        live(browser)
        browser.execute_script("window.notReloaded = true")   # gone if the page were loaded again

        network.cut()
        wait(browser, lambda d: d.find_element(By.ID, "live").get_attribute("data-state") == "reconnecting",
             "the stream cut")
        sent = run.settled(run.webhook("buy EURUSD volume=0.1 price=1.1 sl=1.09")["id"])   # TradingView's way in
        assert sent["status"] == "done", sent
        network.mend()
        wait(browser, lambda d: _status(d, sent["id"]) == "done", "the alert of the drop, once the stream is back")
        assert browser.execute_script("return window.notReloaded") is True
    assert run.interrupt() == 0
