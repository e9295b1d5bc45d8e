"""The dashboard's Trades page as a trader reads it: the real `moonhook run` on paper with a
commission, a real headless Chromium (tests/support/browser.py). What the page says a trade
and a plugin made is what it brought to the account: the same net the API, the overview and
Telegram's /trades give, never the gross profit before the broker's costs.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from selenium.webdriver.common.by import By

from support.browser import browser, cells, log_in, texts, wait  # noqa: F401 (browser: a fixture)
from support.e2e_support import init


def test_the_trades_page_shows_what_each_trade_and_plugin_made_after_the_commission(user, browser):
    """A trade won 10.00 before a commission of 7 a lot each way (14.00): it lost 4.00. The
    page once showed +10.00 for it and for its plugin (the API's gross ``profit``), while the
    equity curve beside it fell: a plugin that loses money read as one that makes it."""
    config, _ = init(user, "bot")
    config.replace("commission_per_lot = 0.0", "commission_per_lot = 7.0")
    run = user.start("run", config=config, cwd="bot")
    base = f"http://127.0.0.1:{run.port}"
    opened = run.webhook("buy EURUSD volume=1 price=1.1 sl=1.09")
    assert run.settled(opened["id"])["status"] == "done"
    closed = run.webhook("close EURUSD price=1.1001")
    assert run.settled(closed["id"])["status"] == "done"
    (trade,) = run.get("/api/trades")["trades"]
    assert (trade["profit"], trade["commission"], trade["net"]) == (10.0, -14.0, -4.0), trade

    log_in(browser, base, config.values["server"]["api_token"])
    browser.get(f"{base}/#/trades")
    headings = wait(browser, lambda d: texts(d, "#trades section:last-child th"), "the closed trades' headings")
    (row,) = wait(browser, lambda d: cells(d, "#trades section:last-child tbody tr"), "the closed trade")
    shown = dict(zip(headings, row))
    assert (shown["Profit"], shown["Costs"], shown["Net"]) == ("10.00", "-14.00", "-4.00"), shown
    (bars,) = texts(browser, "#trades svg[aria-label='net by plugin']")
    assert "-4.00" in bars and "10.00" not in bars, bars
    assert run.interrupt() == 0


YEAR = 150_000  # positions: a busy year of paper trades, 300,000 deals and as many curve points as closes
BOTTOM = 5_000.0  # the year's lowest balance: one trade lost half the account and the next won it back

# Each read of the trades as the page's fetch sees it ({start, end} in ms), and the most in flight at once.
COUNT_READS = """
window.reads = []; window.inFlight = 0; window.mostInFlight = 0;
const fetchOf = window.fetch;
window.fetch = async (path, init) => {
  if (!String(path).startsWith("/api/trades")) return fetchOf(path, init);
  const read = {start: performance.now()};
  window.reads.push(read);
  window.mostInFlight = Math.max(window.mostInFlight, ++window.inFlight);
  try { return await fetchOf(path, init); } finally { window.inFlight--; read.end = performance.now(); }
};
"""


def _a_year_before(database: Path, positions: int) -> None:
    """The journal's one closed trade copied ``positions`` times over the year before it, at no
    profit, but the one in the middle lost 5,000.00 and the next won it back: a bottom one point
    of the curve wide."""
    with closing(sqlite3.connect(database)) as db, db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(paper_deals)")]
        deals = [dict(zip(columns, row)) for row in db.execute("SELECT * FROM paper_deals ORDER BY deal")]
        first = deals[0]["time"]
        rows = [{**d, "deal": -(2 * p + i + 1), "position": -(p + 1), "order_ticket": None, "commission": 0.0,
                 "time": first - 365 * 86_400 + 200 * p + i,
                 "profit": {positions // 2: -BOTTOM, positions // 2 + 1: BOTTOM}.get(p, 0.0) if i else 0.0}
                for p in range(positions) for i, d in enumerate(deals)]
        db.executemany(f"INSERT INTO paper_deals VALUES ({', '.join('?' * len(columns))})",
                       [[r[c] for c in columns] for r in rows])


def test_a_years_trades_page_shows_the_latest_trades_and_the_curves_bottom(user, browser):
    """A year of paper trades once sent the page all 150,000 points of the curve (8.8 MB), and
    the chart's Math.max(...points) threw: the page said "Maximum call stack size exceeded" and
    showed neither the trades nor the chart. The curve now comes thinned, its bottom kept. Fills
    while the page is open bring one read at a time, the next after three times what the last
    took: back to back, reads of seconds each held the engine all along, and alerts waited."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    for alert in ("buy EURUSD volume=1 price=1.1 sl=1.09", "close EURUSD price=1.1001"):
        assert run.settled(run.webhook(alert)["id"])["status"] == "done"
    assert run.interrupt() == 0
    _a_year_before(user.home / "bot" / "data" / "moonhook.db", YEAR)
    run = user.start("run", config=config, cwd="bot")
    base = f"http://127.0.0.1:{run.port}"
    view = run.get("/api/trades")
    assert (view["closed"], len(view["trades"]), view["equity_points"]) == (YEAR + 1, 100, YEAR + 2)
    assert min(p["balance"] for p in view["equity"]) == BOTTOM and len(view["equity"]) <= 2_000

    log_in(browser, base, config.values["server"]["api_token"])
    browser.execute_script(COUNT_READS)
    browser.execute_script("location.hash = '#/trades'")
    rows = wait(browser, lambda d: cells(d, "#trades section:last-child tbody tr"), "the closed trades")
    assert len(rows) == 100 and "Maximum call stack" not in browser.find_element(By.ID, "trades").text
    assert browser.find_element(By.ID, "trades-latest").text == f"The latest 100 of {YEAR + 1} closed trades."
    (curve,) = texts(browser, "#trades svg[aria-label='equity curve']")
    assert f"{BOTTOM:.2f}" in curve, curve  # the chart's lowest value: the year's bottom

    for n, volume in enumerate((1, 1, 2), 2):  # fills while the page is open; the last trade's volume tells it apart
        for alert in (f"buy EURUSD volume={volume} price=1.{n} sl=1.09", f"close EURUSD price=1.{n}001"):
            assert run.settled(run.webhook(alert)["id"])["status"] == "done"
    wait(browser, lambda d: d.execute_script("return window.reads.length") >= 2, "a read after the fills")
    top = wait(browser, lambda d: (row := cells(d, "#trades section:last-child tbody tr")[0])[3] == "2.00" and row,
               "the last fill's trade on top")
    assert top[2] == "buy" and run.get("/api/trades")["closed"] == YEAR + 4
    reads = browser.execute_script("return window.reads")
    assert browser.execute_script("return window.mostInFlight") == 1
    for before, after in zip(reads, reads[1:]):  # ms; the page paces by Date.now(), coarser than performance.now()
        assert after["start"] - before["end"] >= 3 * (before["end"] - before["start"]) - 10, reads
    assert run.interrupt() == 0
