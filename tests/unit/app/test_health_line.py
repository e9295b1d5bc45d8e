"""The first line of `moonhook status` (engine/app/overview.py ``health_line``): /health in words."""

from __future__ import annotations

from engine.app.overview import health_line, health_words


def test_a_stop_out_and_the_brokers_warnings_are_said_in_words():
    health = {"status": "degraded", "broker_warnings": ["a netting account", "Algo Trading is off in the terminal"],
              "paused": True, "last_stop_out": {"time": 1796524292.0, "tickets": [7, 8], "net": -412.5,
                                                "currency": "USD", "margin_level": 48.0, "equity": 90.0,
                                                "margin": 187.5}}
    assert health_line(health) == ("status=degraded  broker_warnings=a netting account; Algo Trading is off in the "
                                   "terminal  paused=yes  last_stop_out=2026-12-06 02:31:32 UTC, net -412.50 USD")


def test_the_dashboard_s_health_panel_says_the_same_values_under_labels_in_words():
    health = {"status": "ok", "uptime_s": 3725.4, "load_errors": {}, "broker_connected": False,
              "plugins": {"loaded": 2, "enabled": 1}}
    assert health_words(health) == [["Status", "ok"], ["Running for", "1h 2m"], ["Scripts that do not load", "none"],
                                    ["Broker connected", "no"], ["Plugins", "2 loaded, 1 enabled"]]
