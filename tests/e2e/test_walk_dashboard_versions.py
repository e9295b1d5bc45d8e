"""Which version of a script decided, as the dashboard shows it: the real `moonhook run` of a
fresh `moonhook init`, its real watcher, a real headless Chromium (tests/support/browser.py).
A trader who saves a script mid-session reads on each alert which version decided it, and on the
Plugins page the version serving now, live."""

from __future__ import annotations

from selenium.webdriver.common.by import By

from support.browser import (browser, cells, console_errors, live, log_in, open_script,  # noqa: F401
                             save_script, texts, wait)
from support.e2e_support import init, shadow_user, until

LIVE = "function on_alert(a) end\n"
NEXT = "function on_alert(a) if a.volume == 0.4 then return false, 'next says no' end end\n"


def _serving(run) -> str:
    (demo,) = run.get("/api/plugins")["plugins"]
    return demo["version"]


def _demo_row(browser) -> dict[str, str] | None:
    """The Plugins page's row of demo, by its column names; None until drawn."""
    headers, rows = texts(browser, "#plugins th"), cells(browser, "#plugins tbody tr")
    return dict(zip(headers, rows[0])) if rows else None


def _versions(browser, base: str, alert_id: int) -> dict[str, str]:
    """What the alert's detail says decided it: plugin -> version, once it shows."""
    browser.get(f"{base}/#/alerts/{alert_id}")

    def said(d):
        if f"Alert {alert_id}" not in d.find_element(By.ID, "alert-detail").text:
            return None   # "Loading…", or the detail of the page before
        pairs = texts(d, "#alert-versions dt, #alert-versions dd")
        return dict(zip(pairs[::2], pairs[1::2])) or None
    return wait(browser, said, f"the versions that decided alert {alert_id}")


def test_the_alerts_and_the_plugins_page_name_the_version_that_decided_and_the_one_serving(user, browser):
    """The alert's detail said what demo decided, never which version of it: after a save mid-session
    the trader could not tell which alerts the old and the new version decided. The Plugins page said
    no version either, and a save that did not load "failed", as it says a file nothing serves."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    base = f"http://127.0.0.1:{run.port}"
    script = user.home / "bot" / "scripts" / "demo.lua"
    log_in(browser, base, config.values["server"]["api_token"])
    browser.get(f"{base}/#/plugins")
    live(browser)
    old = _serving(run)
    assert wait(browser, lambda d: (_demo_row(d) or {}).get("Version"), "demo's version") == old

    first = run.settled(run.webhook("buy EURUSD volume=0.1 price=1.1 sl=1.09")["id"])
    script.write_text(script.read_text(encoding="utf-8") + "\n-- reviewed\n", encoding="utf-8")
    new = until(lambda: _serving(run), lambda v: v != old, "the save loaded")
    # the open page follows the reload, as it follows a switch
    wait(browser, lambda d: (_demo_row(d) or {}).get("Version") == new, "the new version on the Plugins page")
    second = run.settled(run.webhook("buy EURUSD volume=0.2 price=1.1 sl=1.09")["id"])
    assert (first["status"], second["status"]) == ("done", "done"), (first, second)
    assert (first["outcome"]["versions"], second["outcome"]["versions"]) == ({"demo": old}, {"demo": new})

    assert _versions(browser, base, first["id"]) == {"demo": old}
    assert _versions(browser, base, second["id"]) == {"demo": new}

    # A save that does not load: the version before serves on, and the page says so.
    browser.get(f"{base}/#/plugins")
    live(browser)
    script.write_text("function on_alert(a)\n", encoding="utf-8")   # no `end`
    row = wait(browser, lambda d: (r := _demo_row(d)) and r["State"] != "active" and r, "the failed save shown")
    assert (row["State"], row["Version"]) == ("save failed: the version before serves", new), row
    assert "demo.lua:2: error: " in row["Last error"], row
    assert console_errors(browser) == []
    assert run.interrupt() == 0


def test_a_save_from_the_editor_names_the_version_serving_after_it(user, browser):
    """The editor said "Saved and loaded." and nothing of the version the alerts would name from then
    on; a save that did not load, nothing of the version that goes on serving."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    base = f"http://127.0.0.1:{run.port}"
    log_in(browser, base, config.values["server"]["api_token"])
    original = open_script(browser, base)

    saved = save_script(browser, original + "\n-- reviewed\n")
    new = _serving(run)
    assert f"Saved and loaded. Version {new} serves." in saved, saved
    broken = save_script(browser, original + "\nthis is not lua\n")
    assert f"demo goes on serving its version from before this save. Version {new} serves." in broken, broken
    assert _serving(run) == new
    assert run.interrupt() == 0


def test_the_shadows_decision_names_its_scripts_versions_beside_the_live_ones(user, browser):
    """The detail's "Shadow: the next version" said what the next version decided, not which version
    it was: a script saved in the shadow's folder left the trader guessing which one the alert met."""
    config = shadow_user(user, LIVE, NEXT)
    run = user.start("run", config=config, cwd="bot")
    alert = run.settled(run.webhook("buy EURUSD volume=0.1 price=1.1 sl=1.09")["id"])
    until(lambda: run.get("/api/shadow"), lambda v: v["alerts"] == 1, "the shadow's run of the alert")
    live_version = _serving(run)
    (next_version,) = [p["version"] for p in run.get("/api/shadow")["plugins"]]
    assert live_version != next_version
    log_in(browser, f"http://127.0.0.1:{run.port}", config.values["server"]["api_token"])
    assert _versions(browser, f"http://127.0.0.1:{run.port}", alert["id"]) == {"gate": live_version}
    pairs = wait(browser, lambda d: texts(d, "#alert-shadow-versions dt, #alert-shadow-versions dd"),
                 "the shadow scripts' versions")
    assert dict(zip(pairs[::2], pairs[1::2])) == {"gate": next_version}
    assert run.interrupt() == 0
