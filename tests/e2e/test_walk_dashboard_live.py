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
