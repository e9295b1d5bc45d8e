"""The dashboard's overview kept true while it is open: what another admin does meanwhile (a
cancel or a close from a phone, through the API or Telegram) shows without a reload."""

from __future__ import annotations

from selenium.webdriver.common.by import By

from support.browser import browser, log_in, wait  # noqa: F401 (browser: a fixture)
from support.e2e_support import init


def _overview(driver) -> str:
    return driver.find_element(By.ID, "overview").text


def test_an_order_cancelled_elsewhere_leaves_the_open_overview_at_once(user, browser):
    """A cancel is an order placed (no fill, no alert): the overview showed the order as still
    pending, and today's orders one short, until some alert or fill came."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    (placed,) = run.settled(run.webhook("buylimit EURUSD volume=0.1 price=1.05 sl=1.04")["id"])["outcome"]["orders"]
    log_in(browser, f"http://127.0.0.1:{run.port}", config.values["server"]["api_token"])
    wait(browser, lambda d: d.find_elements(By.ID, f"cancel-{placed['ticket']}"), "the pending order")
    wait(browser, lambda d: d.find_element(By.ID, "live").get_attribute("data-state") == "live", "the live stream")

    cancelled = run.client.post(f"/api/orders/{placed['ticket']}/cancel")   # another admin, elsewhere
    assert cancelled.status_code == 200 and cancelled.json()["ok"], cancelled.text
    wait(browser, lambda d: "No pending orders." in _overview(d), "the cancelled order gone from the overview")
    assert "orders\n2" in _overview(browser)   # the entry and its cancel, as /api/overview counts them
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
    wait(browser, lambda d: d.find_element(By.ID, "live").get_attribute("data-state") == "live", "the live stream")

    # Rejected by demo (no stop): only its price reaches the paper market, 46.46 % of margin, under 50.
    assert run.settled(run.webhook("buy EURUSD volume=0.1 price=1.094")["id"])["status"] == "rejected"
    said = wait(browser, lambda d: d.find_element(By.ID, "stop-out").text, "the stop-out said")
    assert "the broker closed position 1001 for want of margin at a margin level of 46.46%, net -5400.00 USD" in said
    assert "Alerts are still taken" in said
    assert "No open positions." in _overview(browser)
    assert run.interrupt() == 0
