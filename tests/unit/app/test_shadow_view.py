"""The line `moonhook status` prints for shadow mode, from /api/shadow's JSON (engine/app/shadow.py)."""

from __future__ import annotations

from engine.app.shadow import line, view


def plugins(loaded: int, failed: int = 0) -> list[dict]:
    return [{"name": f"p{i}", "loaded": True} for i in range(loaded)] + [{"name": None, "file": f"f{i}.lua", "loaded": False} for i in range(failed)]


def test_off_prints_nothing():
    assert line({"scripts": None, "plugins": [], "alerts": 0, "differ": 0}) is None


def test_the_folder_plugins_counts_and_latest():
    view = {"scripts": "/home/me/bot/scripts-next", "plugins": plugins(3), "alerts": 120, "differ": 4,
            "latest_differing": 118, "behind": 0}
    assert line(view) == "shadow: scripts-next, 3 plugins, 120 alerts, 4 differ (latest #118)"


def test_one_plugin_a_failed_file_none_differing_and_some_to_catch_up():
    view = {"scripts": "scripts-next/", "plugins": plugins(1, failed=1), "alerts": 7, "differ": 0,
            "latest_differing": None, "behind": 2}
    # It read "1 plugin (1 not loaded)": one of the one, where one loaded and one more did not.
    assert line(view) == "shadow: scripts-next, 1 plugin loaded, 1 not loaded: f0.lua, 7 alerts, 0 differ, 2 to catch up"


def test_alerts_held_while_paused():
    view = {"scripts": "scripts-next", "plugins": plugins(1), "alerts": 7, "differ": 0, "behind": 0, "held": 3}
    assert line(view) == "shadow: scripts-next, 1 plugin, 7 alerts, 0 differ, 3 held while paused"


def test_one_alert_that_differs_is_said_in_the_singular():
    # It said "1 alerts, 1 differ".
    view = {"scripts": "scripts-next", "plugins": plugins(1), "alerts": 1, "differ": 1, "latest_differing": 1}
    assert line(view) == "shadow: scripts-next, 1 plugin, 1 alert, 1 differs (latest #1)"


def test_a_folder_gone_while_running_is_said():
    view = {"scripts": "scripts-next", "missing": True, "plugins": [], "alerts": 7, "differ": 2, "latest_differing": 7}
    assert line(view) == ("shadow: scripts-next (folder missing: its scripts are unloaded until it is back), "
                          "0 plugins, 7 alerts, 2 differ (latest #7)")


def test_plugins_not_loaded_and_switched_off_by_the_breaker():
    view = {"scripts": "scripts-next", "alerts": 9, "differ": 5, "latest_differing": 9,
            "plugins": [{"name": "a", "loaded": True, "state": "disabled"}, {"name": "b", "loaded": True,
                        "state": "active"}, {"name": None, "file": "c.lua", "loaded": False, "state": "failed"}]}
    assert line(view) == ("shadow: scripts-next, 2 plugins loaded (1 switched off), 1 not loaded: c.lua, 9 alerts, "
                          "5 differ (latest #9)")


async def test_every_alert_the_view_counts_has_its_orders_in_the_account_it_shows():
    # /api/shadow read the account, then the counts: an alert the shadow finished in between was counted
    # without its orders (2 alerts and 1 position, seen in CI, each alert opening one). The shadow here
    # finishes its next alert as the view reads the account's pending orders.
    held = {"positions": 1, "pending": 1, "alerts": 1}

    class Broker:
        async def account(self):
            return {"balance": 10000, "equity": 10000, "currency": "USD"}

        async def positions(self):
            return [{}] * held["positions"]

        async def orders(self):
            pending = [{}] * held["pending"]
            held.update(positions=held["positions"] + 1, pending=held["pending"] + 1, alerts=held["alerts"] + 1)
            return pending

    class Records:
        def counts(self):
            return {"alerts": held["alerts"], "differ": 0, "latest_differing": None, "held": 0}

        def differing(self, limit, before):
            return []

    class Shadow:
        folder, missing, behind, broker, records = "scripts-next", False, 0, Broker(), Records()

        def plugin_rows(self):
            return []

    shown = await view(Shadow(), 10)
    assert shown["account"]["positions"] >= shown["alerts"], shown
