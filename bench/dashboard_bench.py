"""The dashboard (issue 21) in a real headless Chromium, against the bench's moonhook server
with 10 plugins and 10,000 alerts already in its journal (``dashboard:N``, webhook_server.py).

- usable: a fresh load of a page (after logging in once), from the navigation's start to its
  data on screen (the overview's panels; the alerts table's rows), by a MutationObserver the
  browser runs from the document's start (``Page.addScriptToEvaluateOnNewDocument``);
- transfer: the bytes a fresh load of each page took (Resource Timing's transferSize of the
  document and every file and API answer, the cache off);
- event: an alert posted to the webhook until its row is on the open alerts page (the bench's
  ``time.time()`` before the POST, the page's ``Date.now()`` when the row appears: one clock);
- cost: CPU per alert of the server and its workers at 100 alerts/s, with the alerts page open
  and live, and with the browser on a blank page, alternated on one server.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import httpx
import trio

from .scaling_bench import _cpu, _processes
from .stats import percentile, pick
from .webhook_bench import Server, steady
from .webhook_server import TOKEN

PAGES = {"overview": "#overview .panel", "alerts": "#alerts-table tbody tr", "plugins": "#view .panel",
         "editor": "#view .CodeMirror", "trades": "#view .panel"}
OPEN_SCRIPT = "#view a[href='#/editor']"  # the editor's first file: its page is usable once one is open
# Run from the document's start: when the page's data first shows, and each alert row's arrival.
WATCH = """
window.__usable = null; window.__rows = {};
new MutationObserver(() => {
  const sel = window.__selector;
  if (sel && window.__usable === null && document.querySelector(sel)) window.__usable = performance.now();
  for (const tr of document.querySelectorAll('#alerts-table tr[data-id]')) {
    if (!(tr.dataset.id in window.__rows)) window.__rows[tr.dataset.id] = Date.now();
  }
}).observe(document, {childList: true, subtree: true});
"""


def _driver(profile: Path):
    from tests.support.browser import chromium  # the tests' browser, with this machine's flags
    driver = chromium(profile)
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": WATCH})
    return driver


def _wait(driver, script: str, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while (value := driver.execute_script(script)) in (None, False):
        if time.monotonic() > deadline:
            raise RuntimeError(f"dashboard bench: {what} not after {timeout:g} s")
        time.sleep(0.01)
    return value


def _login(driver, base: str) -> None:
    driver.get(f"{base}/#/login")
    _wait(driver, "return document.getElementById('token')", "the login form")
    driver.find_element("id", "token").send_keys(TOKEN)
    driver.find_element("id", "login-button").click()
    _wait(driver, "return !document.getElementById('nav').hidden", "the logged-in page")


def _load(driver, base: str, page: str) -> tuple[float, int]:
    """A fresh load of ``page``: ms until its data shows, and the bytes it transferred."""
    driver.get("about:blank")
    driver.get(f"{base}/?{time.monotonic_ns()}#/{page}")  # a new document every time
    driver.execute_script(f"window.__selector = {PAGES[page]!r}")
    if page == "editor":
        _wait(driver, f"return document.querySelector({OPEN_SCRIPT!r})", "the editor's files").click()
    usable = _wait(driver, f"return window.__usable ?? (document.querySelector({PAGES[page]!r}) && performance.now())",
                   f"the {page} page's data")
    size = driver.execute_script(
        "return performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))"
        ".reduce((n, e) => n + (e.transferSize || 0), 0)")
    return usable, size


def _event_ms(driver, base: str, client: httpx.Client, server: Server, n: int) -> float:
    sent = time.time()
    answer = client.post(server.url, content=f"buy EURUSD volume=0.01 price=1.1 sl=1.09 id=dash-{n}")
    alert_id = str(answer.json()["id"])
    seen = _wait(driver, f"return window.__rows[{alert_id!r}]", f"alert {alert_id}'s row")
    return seen - sent * 1000


def _cpu_per_alert(server: Server, seconds: float) -> float:
    processes = _processes(server.process.pid)
    before = _cpu(processes)
    sent = trio.run(steady, server.url, 100.0, seconds, None)
    time.sleep(0.4)
    return 1000 * (_cpu(processes) - before) / len(sent)


def bench_dashboard(alerts: int, loads: int, events: int, rounds: int, seconds: float) -> dict:
    server = Server(f"dashboard:{alerts}")
    base = f"http://127.0.0.1:{server.port}"
    usable: dict[str, list[float]] = {p: [] for p in PAGES}
    sizes: dict[str, int] = {}
    try:  # the server is stopped even when no browser starts (left running, it held the caller's pipe)
        with tempfile.TemporaryDirectory() as tmp, httpx.Client(timeout=30) as client:
            driver = _driver(Path(tmp))
            try:
                _login(driver, base)
                for _ in range(loads):
                    for page in PAGES:
                        ms, size = _load(driver, base, page)
                        usable[page].append(ms)
                        sizes[page] = max(sizes.get(page, 0), size)
                _load(driver, base, "alerts")
                latencies = [_event_ms(driver, base, client, server, n) for n in range(events)]
                closed, opened = [], []
                for _ in range(rounds):  # alternated on one server
                    driver.get("about:blank")
                    closed.append(_cpu_per_alert(server, seconds))
                    _load(driver, base, "alerts")
                    opened.append(_cpu_per_alert(server, seconds))
            finally:
                driver.quit()
    finally:
        server.stop()
    return {"usable": usable, "sizes": sizes, "events": latencies, "closed": closed, "opened": opened}


def run_all(size: str = "full") -> dict:
    alerts, loads, events, rounds, seconds = pick(size, (10_000, 5, 30, 5, 6.0), (10_000, 2, 10, 1, 4.0),
                                                  (200, 1, 2, 1, 0.5))
    f = bench_dashboard(alerts, loads, events, rounds, seconds)

    def row(values: list[float]) -> dict:
        return {"median": round(statistics.median(values), 1), "p99": round(percentile(values, 0.99), 1),
                "min": round(min(values), 1), "max": round(max(values), 1), "runs": len(values)}

    closed, opened = statistics.median(f["closed"]), statistics.median(f["opened"])
    return {
        "dash_alerts_in_journal": alerts,
        "dash_usable_overview_ms": row(f["usable"]["overview"]),
        "dash_usable_alerts_ms": row(f["usable"]["alerts"]),
        "dash_usable_slowest_ms": round(max(statistics.median(v) for v in f["usable"].values()), 1),
        "dash_usable_ms_by_page": {p: round(statistics.median(v), 1) for p, v in f["usable"].items()},
        "dash_transfer_kb": round(max(f["sizes"].values()) / 1024, 1),
        "dash_transfer_kb_by_page": {p: round(b / 1024, 1) for p, b in f["sizes"].items()},
        "dash_event_ms": row(f["events"]),
        "dash_cpu_closed_ms": round(closed, 3),
        "dash_cpu_open_ms": round(opened, 3),
        "dash_cpu_open_ratio": round(opened / closed, 3),
        "dash_cpu_closed_ms_runs": [round(x, 3) for x in f["closed"]],
        "dash_cpu_open_ms_runs": [round(x, 3) for x in f["opened"]],
    }


if __name__ == "__main__":
    import json
    import sys
    print(json.dumps(run_all(sys.argv[1] if len(sys.argv) > 1 else "quick"), indent=1))
