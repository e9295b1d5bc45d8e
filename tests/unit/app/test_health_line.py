"""The first line of `moonhook status` (engine/app/overview.py ``health_line``): /health in words."""

from __future__ import annotations

from engine.adapters.notify.courier import Courier
from engine.app.operations import Operations
from engine.app.overview import HEALTH_LABELS, health_line, last_errors, words
from engine.domain.config.telegram import TelegramConfig
from support.engine_support import running


def test_a_stop_out_and_the_brokers_warnings_are_said_in_words():
    health = {"status": "degraded", "broker_warnings": ["a netting account", "Algo Trading is off in the terminal"],
              "paused": True, "last_stop_out": {"time": 1796524292.0, "tickets": [7, 8], "net": -412.5,
                                                "currency": "USD", "margin_level": 48.0, "equity": 90.0,
                                                "margin": 187.5}}
    assert health_line(health) == ("status=degraded  broker_warnings=a netting account; Algo Trading is off in the "
                                   "terminal  paused=yes  last_stop_out=2026-12-06 02:31:32 UTC, net -412.50 USD")


def test_the_chats_telegram_refuses_are_said_in_words():
    health = {"status": "ok", "telegram_refused": [
        {"bot": "5150", "chat": "4343", "messages": 3, "at": 1796524292.0,
         "error": "sendMessage: Bad Request: chat not found"},
        {"bot": "5150", "chat": "4242", "messages": 1, "at": 1796524200.0, "error": "sendMessage: Forbidden: bot was "
                                                                                  "blocked by the user"}]}
    assert health_line(health) == ("status=ok  telegram_refused=3 messages for chat 4343 for good (sendMessage: Bad "
                                   "Request: chat not found); 1 message for chat 4242 for good (sendMessage: "
                                   "Forbidden: bot was blocked by the user)")
    assert health_line({"telegram_refused": []}) == "telegram_refused=none"


def test_a_bot_telegram_has_not_answered_since_a_while_is_said_in_words_and_among_the_last_errors():
    down = {"bot": "5150", "since": 1796524292.0, "messages": 3,
            "error": "sendMessage: Telegram unreachable (ConnectError: [Errno 111] Connection refused)"}
    health = {"status": "ok", "telegram_unreachable": [down], "telegram_refused": []}
    assert health_line(health) == ("status=ok  telegram_unreachable=bot 5150 since 2026-12-06 02:31:32 UTC, 3 "
                                   "messages waiting (sendMessage: Telegram unreachable (ConnectError: [Errno 111] "
                                   "Connection refused))  telegram_refused=none")
    assert last_errors([], {}, [], telegram=health) == [
        {"kind": "telegram", "at": 1796524292.0, "plugin": None, "file": None, "line": None,
         "message": "Telegram unreachable for bot 5150 since 2026-12-06 02:31:32 UTC, 3 messages waiting "
                    "(sendMessage: Telegram unreachable (ConnectError: [Errno 111] Connection refused))"}]


def test_the_dashboard_s_panels_say_the_same_values_under_labels_in_words():
    view = {"health": {"status": "ok", "uptime_s": 3725.4, "load_errors": {}, "broker_connected": False,
                       "plugins": {"loaded": 2, "enabled": 1}},
            "broker": {"name": "paper", "connected": True, "state": "connected"},
            "account": {"balance": 10000.0, "equity": 9998.4, "currency": "USD"},
            "today": {"alerts": 1204, "refused_orders": 0, "trades_closed": 3, "net": -4.0},
            "limits": {"max_order_volume": 0.5, "max_open_positions": None, "min_equity": 91000.0,
                       "max_spread_pips": {"EURUSD": 3.0, "XAUUSD": 40.0}, "trading_day": "UTC"}}
    said = words(view)
    assert said["health"] == [["Status", "ok"], ["Running for", "1h 2m"], ["Scripts that do not load", "none"],
                              ["Broker connected", "no"], ["Plugins", "2 loaded, 1 enabled"]]
    assert said["broker"] == [["Broker", "paper"], ["Connected", "yes"], ["State", "connected"]]
    assert said["account"] == [["Balance", "10,000.00"], ["Equity", "9,998.40"], ["Currency", "USD"]]
    assert said["today"] == [["Alerts", "1,204"], ["Orders refused", "0"], ["Trades closed", "3"],
                             ["Net of those", "-4.00"]]
    assert said["limits"] == [["Lots an order, at most", "0.5"], ["Open positions, at most", "none"],
                              ["Equity, at least", "91,000.00"], ["Spread, at most (pips)", "EURUSD 3, XAUUSD 40"],
                              ["Trading day", "UTC"]]
    assert words({**view, "account": {"error": "unavailable (BrokerError)"}})["account"] == [
        ["Account", "unavailable (BrokerError)"]]


def test_the_health_panel_says_who_paused_and_why():
    # It said "Paused: yes", where /status, the API and the Plugins page say who paused and why.
    view = {"health": {"paused": True}, "broker": {}, "account": {}, "today": {}, "limits": {}}
    assert words(view, {"by": "telegram:@ann", "reason": "NFP at 14:30"})["health"] == [
        ["Paused", "yes, by telegram:@ann: NFP at 14:30"]]
    assert words(view, {"by": "api", "reason": None})["health"] == [["Paused", "yes, by api"]]
    assert words({**view, "health": {"paused": False}}, {"by": "api"})["health"] == [["Paused", "no"]]


def test_every_field_of_health_has_a_label_in_words_on_the_dashboard():
    # shadow_load_errors and telegram_refused came with two other changes than the Health panel's
    # labels: the panel named them from their JSON keys ("Shadow load errors", "Telegram refused").
    health = {"load_errors": {}, "shadow_load_errors": {"next.lua": "next.lua:2: syntax error"},
              "telegram_refused": [{"bot": "5150", "chat": "4343", "messages": 3, "at": 1796524292.0,
                                    "error": "sendMessage: Bad Request: chat not found"}]}
    said = words({"health": health, "broker": {}, "account": {}, "today": {}, "limits": {}})["health"]
    assert said == [["Scripts that do not load", "none"], ["Shadow scripts that do not load", "next.lua"],
                    ["Telegram refused for good", "3 messages for chat 4343 for good (sendMessage: Bad Request: "
                                                  "chat not found)"]]


async def test_each_field_the_engine_s_health_has_is_labelled_for_the_dashboard(tmp_path):
    # A field added to /health without a label showed its JSON key, capitalised, in the Health panel.
    async def alarm(text: str) -> None:
        pass

    async with running(tmp_path) as engine:
        ops = Operations(engine)
        courier = Courier(TelegramConfig(), engine.database, ())
        ops.deliver(courier.poke, alarm, courier.health)   # as the Telegram hub wires it: its fields in health
        assert {"telegram_refused", "telegram_unreachable"} <= set(ops.health())
        assert sorted(set(ops.health()) - set(HEALTH_LABELS)) == []
