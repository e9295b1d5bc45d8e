"""The dashboard's long lists as a trader pages through them: the real `moonhook run` over a
journal of thousands of alerts and trades, a real headless Chromium (tests/support/browser.py).
Each answer holds one page; the older rows are a click away, never out of reach.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from selenium.webdriver.common.by import By

from support.browser import browser, cells, click, console_errors, log_in, texts, wait  # noqa: F401 (a fixture)
from support.e2e_support import init

ALERTS = 5_000
TRADES = 1_000


def _copied(database: Path, alerts: int, positions: int) -> None:
    """The journal's first alert copied until there are ``alerts``, a second apart after it, and
    its one closed paper trade copied ``positions`` times over the days before it."""
    with closing(sqlite3.connect(database)) as db, db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(alerts)")]
        first = dict(zip(columns, db.execute("SELECT * FROM alerts ORDER BY id LIMIT 1").fetchone()))
        last = db.execute("SELECT max(id) FROM alerts").fetchone()[0]
        db.executemany(f"INSERT INTO alerts VALUES ({', '.join('?' * len(columns))})",
                       [[{**first, "id": last + n, "received_at": first["received_at"] + n,
                          "content_hash": f"copy-{n}", "source_id": None}[c] for c in columns]
                        for n in range(1, alerts - last + 1)])
        columns = [row[1] for row in db.execute("PRAGMA table_info(paper_deals)")]
        deals = [dict(zip(columns, row)) for row in db.execute("SELECT * FROM paper_deals ORDER BY deal")]
        rows = [{**d, "deal": -(2 * p + i + 1), "position": -(p + 1), "order_ticket": None,
                 "time": deals[0]["time"] - 86_400 + 60 * p + i} for p in range(positions) for i, d in enumerate(deals)]
        db.executemany(f"INSERT INTO paper_deals VALUES ({', '.join('?' * len(columns))})",
                       [[r[c] for c in columns] for r in rows])


def _ids(browser) -> list[int]:
    return [int(i) for i in browser.execute_script(
        "return [...document.querySelectorAll('#alerts-table tbody tr')].map((r) => r.dataset.id)")]


def test_thousands_of_alerts_and_trades_are_read_a_page_at_a_time_and_each_older_page_is_reached(user, browser):
    """Of 5,000 alerts the page showed the latest 100 and nothing said there were more, nor
    reached them; the Trades page said "The latest 100 of 1001" and no click reached the 901
    others. Each now has Older and back, one page an answer."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    for alert in ("buy EURUSD volume=1 price=1.1 sl=1.09", "close EURUSD price=1.1001"):
        assert run.settled(run.webhook(alert)["id"])["status"] == "done"
    assert run.interrupt() == 0
    _copied(user.home / "bot" / "data" / "moonhook.db", ALERTS, TRADES)
    run = user.start("run", config=config, cwd="bot")
    base = f"http://127.0.0.1:{run.port}"
    log_in(browser, base, config.values["server"]["api_token"])
    console_errors(browser)   # drained: the page's errors are read from here on

    browser.get(f"{base}/#/alerts")
    wait(browser, lambda d: len(_ids(d)) == 100, "the latest 100 alerts")
    assert _ids(browser) == list(range(ALERTS, ALERTS - 100, -1))
    click(browser, "#alerts-older", "Older alerts")
    wait(browser, lambda d: _ids(d) == list(range(ALERTS - 100, ALERTS - 200, -1)), "the next 100, older")
    new = run.webhook("buy EURUSD volume=0.1 price=1.2 sl=1.19")["id"]   # live: not put among the older ones
    run.settled(new)
    click(browser, "#alerts-newest", "the newest alerts")
    wait(browser, lambda d: _ids(d)[:2] == [new, ALERTS], "the newest page, the new alert on top")

    browser.get(f"{base}/#/trades")
    said = wait(browser, lambda d: d.find_elements(By.ID, "trades-latest"), "the trades counted")[0].text
    assert said == f"The latest 100 of {TRADES + 1} closed trades.", said
    rows = lambda d: cells(d, "#trades section:last-child tbody tr")   # noqa: E731
    latest = lambda d: d.find_element(By.ID, "trades-latest").text   # noqa: E731
    last = run.get("/api/trades")["trades"][-1]
    page = run.get(f"/api/trades?before={last['closed_at']!r}:{last['position']}")["trades"]
    # Double-clicked: the page passed was kept twice, and Newer came back to this one.
    older = wait(browser, lambda d: d.find_element(By.ID, "trades-older"), "Older trades")
    browser.execute_script("arguments[0].click(); arguments[0].click();", older)
    wait(browser, lambda d: latest(d) == f"Closed trades 101 to 200 of {TRADES + 1}.", "the second page")
    second = rows(browser)
    assert len(second) == 100 == len(page)
    assert second[0][0] == browser.execute_script("return new Date(arguments[0] * 1000).toLocaleString()",
                                                  page[0]["closed_at"])
    # A trade closes while the second page is shown: the page reads again (a fill), and holds the same
    # trades, those closed newer than it (by an offset, the first page's last trades came onto it).
    for alert in ("buy EURUSD volume=2 price=1.1 sl=1.09", "close EURUSD price=1.1002"):
        assert run.settled(run.webhook(alert)["id"])["status"] == "done"
    closed = run.get("/api/trades?limit=1")["closed"]   # 2 more: the alert above opened a position too
    assert closed == TRADES + 3
    wait(browser, lambda d: latest(d) == f"Closed trades 103 to 202 of {closed}.", "the second page read again")
    assert rows(browser) == second
    click(browser, "#trades-newer", "Newer trades")
    wait(browser, lambda d: latest(d).startswith("The latest 100"), "the first page")
    assert rows(browser)[0][3] == "2.00"   # the trade closed meanwhile, on top
    assert console_errors(browser) == []
    assert run.interrupt() == 0
