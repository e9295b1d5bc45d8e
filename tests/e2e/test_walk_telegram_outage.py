"""Telegram down, refusing, and moonhook restarted meanwhile, walked as a trader who relies on Telegram for
every fill: `moonhook run` with a bot whose Bot API (the stand-in, tests/support/botapi.py) refuses
connections, answers 5xx or 429, withholds an answer, or refuses a message or a chat for good.
Every fill is told once, in order, when Telegram answers again, a restart in the outage included; one whose
answer was lost, or answered 5xx (it may have arrived), is told again marked so; a refusal for good is logged
once, shown in /health, `moonhook status` and the dashboard's overview, and holds up nothing behind it; a
command is obeyed once across restarts, and one older than telegram.command_max_age (120 s) is not run at the
start."""

from __future__ import annotations

import time

from support.botapi_thread import telegram_table, threaded_bot_api
from support.browser import browser, log_in, texts as shown_in, wait  # noqa: F401 (browser: a fixture)
from support.e2e_support import init, until
from support.telegram_support import notices

TOKEN = "5150:AAH-outage-SECRET_part"
ADMIN, MISSING = 4242, 4343
ENTRY = '{"secret": "SECRET", "action": "buy", "symbol": "EURUSD", "volume": VOLUME, "price": 1.1, "sl": 1.09}'
RESENT = "(sent again: an earlier try may have arrived)"


def configured(user, api, chats=(ADMIN,)):
    config, _ = init(user, "bot")
    config.append(telegram_table(api.url, TOKEN, ADMIN, chats=chats))
    return config


def trade(run, volume: str) -> None:
    sent = run.webhook(ENTRY.replace("VOLUME", volume))
    assert run.settled(sent["id"])["status"] == "done"


def told(api, chat=ADMIN) -> list[str]:
    """The chat's notices as shown, apart (the courier joins those queued together)."""
    return notices(api.texts(TOKEN, chat))


def fills(texts: list[str]) -> list[str]:
    return [t for t in texts if "opened buy" in t]


def told_all(api, volumes, what: str) -> list[str]:
    return until(lambda: told(api), lambda texts: all(any(f"buy {v} EURUSD" in t for t in texts) for v in volumes),
                 what)


def test_an_outage_across_a_restart_loses_no_fill_notice_and_tells_each_once_in_order(user):
    with threaded_bot_api({TOKEN: "moonhook_bot"}) as api:
        config = configured(user, api)
        api.call(api.server.stop)                      # Telegram refuses connections
        run = user.start("run", config=config, cwd="bot")
        trade(run, "0.1")
        trade(run, "0.2")
        assert run.interrupt() == 0                    # Ctrl-C in the outage

        run = user.start("run", config=config, cwd="bot")
        trade(run, "0.3")
        api.call(api.server.fail, 502)                 # back, but answering 502 at first
        api.wait(api.server.start)
        until(lambda: api.call(lambda: [r.status for r in api.server.calls("sendMessage", TOKEN)]),
              lambda statuses: 502 in statuses, "a send answered 502")
        api.call(api.server.recover)
        told_all(api, ("0.1", "0.2", "0.3"), "the fills told once Telegram answers")
        assert run.interrupt() == 0

        run = user.start("run", config=config, cwd="bot")
        trade(run, "0.4")   # told after whatever else this run sends: a chat's notices go in order
        texts = fills(told_all(api, ("0.4",), "the fill after the last restart"))
        assert [t.split(" EURUSD")[0].rsplit(" ", 1)[1] for t in texts] == ["0.1", "0.2", "0.3", "0.4"], texts
        # Each told once; those whose send was answered 502 are marked (a 502 may come after it arrived).
        assert RESENT not in texts[-1], texts
        assert run.interrupt() == 0


def test_a_notice_whose_answer_was_lost_at_a_ctrl_c_is_told_again_marked_as_a_repeat(user):
    with threaded_bot_api({TOKEN: "moonhook_bot"}) as api:
        config = configured(user, api)
        run = user.start("run", config=config, cwd="bot")
        api.call(api.server.lose_answers)              # the message arrives; its answer never comes back
        trade(run, "0.1")
        told_all(api, ("0.1",), "the fill's message at Telegram")
        assert run.interrupt() == 0
        api.call(api.server.release)

        run = user.start("run", config=config, cwd="bot")
        trade(run, "0.2")
        texts = fills(told_all(api, ("0.2",), "the fill after the restart"))
        first, *again = [t for t in texts if "buy 0.1 EURUSD" in t]
        assert RESENT not in first and [t.startswith(RESENT) for t in again] == [True], texts
        assert run.interrupt() == 0


def test_a_long_outage_is_shown_in_health_status_and_the_dashboard_until_telegram_answers(user, browser):
    # Only the log and a metric said that Telegram had been unreachable since the morning, with the fills
    # piling up unsent: now /health, `moonhook status` and the dashboard's last errors say so, as facts
    # (since when, how many messages wait, the last error), without changing what "ok" means.
    with threaded_bot_api({TOKEN: "moonhook_bot"}) as api:
        config = configured(user, api)
        api.call(api.server.stop)                      # Telegram refuses connections
        run = user.start("run", config=config, cwd="bot")
        trade(run, "0.1")
        health = until(lambda: run.get("/health"), lambda h: any(r["messages"] >= 1 for r in h["telegram_unreachable"]),
                       "the outage in /health")
        (down,) = health["telegram_unreachable"]
        assert down["bot"] == "5150" and "unreachable" in down["error"] and down["since"] <= time.time(), down
        assert health["status"] == "ok"               # a fact shown, not a degraded engine: the owner's call
        errors = [e["message"] for e in run.get("/api/overview")["errors"] if e["kind"] == "telegram"]
        assert any(m.startswith("Telegram unreachable for bot 5150 since ") and " waiting (" in m
                   for m in errors), errors
        status = user.moonhook("status", cwd="bot")
        assert "telegram_unreachable=bot 5150 since " in status.stdout, status.stdout
        log_in(browser, f"http://127.0.0.1:{run.port}", config.values["server"]["api_token"])
        wait(browser, lambda d: [t for t in shown_in(d, "#overview ul.errors li")
                                 if "Telegram unreachable for bot" in t], "the outage among the dashboard's last errors")

        api.wait(api.server.start)                     # Telegram answers again
        told_all(api, ("0.1",), "the fill told once Telegram answers")
        until(lambda: run.get("/health")["telegram_unreachable"], lambda rows: rows == [], "the outage over")
        secret = TOKEN.split(":", 1)[1]
        assert secret not in str(health) + str(errors) + status.stdout
        assert run.interrupt() == 0


def test_a_send_that_times_out_is_sent_again_marked_as_a_repeat(user):
    # Telegram took the message and never answered: after the client's timeout (10 s) moonhook cannot
    # know whether it arrived, and the repeat says so.
    with threaded_bot_api({TOKEN: "moonhook_bot"}) as api:
        config = configured(user, api)
        run = user.start("run", config=config, cwd="bot")
        api.call(api.server.lose_answers)
        trade(run, "0.1")
        until(lambda: api.call(lambda: len(api.server.calls("sendMessage", TOKEN))), lambda n: n >= 2,
              "the send tried again after its timeout", timeout=60)
        api.call(api.server.release)
        texts = until(lambda: told(api), lambda texts: sum("buy 0.1 EURUSD" in t for t in texts) >= 2, "the repeat")
        first, *again = [t for t in fills(texts) if "buy 0.1 EURUSD" in t]
        assert RESENT not in first and again and all(t.startswith(RESENT) for t in again), texts
        assert run.interrupt() == 0


def test_a_send_answered_502_after_it_arrived_is_sent_again_marked_as_a_repeat(user):
    # Telegram's gateway answers 502 with a Bot API error in JSON, sometimes after the message went out:
    # the retry cannot know whether it arrived, and says so.
    with threaded_bot_api({TOKEN: "moonhook_bot"}) as api:
        config = configured(user, api)
        run = user.start("run", config=config, cwd="bot")
        api.call(lambda: api.server.fail(502, delivered=True))
        trade(run, "0.1")
        until(lambda: api.call(lambda: [r.status for r in api.server.calls("sendMessage", TOKEN)]),
              lambda statuses: 502 in statuses, "a send delivered and answered 502")
        api.call(api.server.recover)
        texts = until(lambda: told(api), lambda texts: sum("buy 0.1 EURUSD" in t for t in texts) >= 2, "the retry")
        first, *again = [t for t in fills(texts) if "buy 0.1 EURUSD" in t]
        assert RESENT not in first and again and all(t.startswith(RESENT) for t in again), texts
        assert run.interrupt() == 0


def test_a_429_is_waited_out_for_its_retry_after_and_not_hammered(user):
    with threaded_bot_api({TOKEN: "moonhook_bot"}) as api:
        config = configured(user, api)
        run = user.start("run", config=config, cwd="bot")
        ends = api.call(api.server.flood, 3)
        trade(run, "0.1")
        told_all(api, ("0.1",), "the fill told after the 429")
        sends = api.call(lambda: api.server.calls("sendMessage", TOKEN))
        assert [r.status for r in sends[:2]] == [429, 200] and 429 not in [r.status for r in sends[2:]], sends
        assert all(r.at >= ends for r in sends[1:]), (sends, ends)   # the retry came once retry_after had passed
        assert run.interrupt() == 0


def test_a_commands_answer_outlasts_a_flood_of_429s_within_command_max_age(user):
    # Telegram may answer 429 again and again, each time asking to come back in a second: the answer to
    # /pause was dropped after the third, silently, and the admin never learnt the engine was paused.
    with threaded_bot_api({TOKEN: "moonhook_bot"}) as api:
        config = configured(user, api, chats=(f'{{ id = {ADMIN}, events = ["trades"] }}',))   # no notice: the
        run = user.start("run", config=config, cwd="bot")                                  # 429s are the answer's
        api.call(lambda: api.server.flood(3600, retry_after=1))
        api.call(lambda: api.server.push_message(TOKEN, ADMIN, "/pause"))
        until(lambda: api.call(lambda: api.server.rate_limited(TOKEN)), lambda n: n >= 4, "four 429s in a row")
        assert run.get("/api/plugins")["pause"]["paused"] is True
        api.call(api.server.recover)
        until(lambda: api.texts(TOKEN, ADMIN),
              lambda texts: any("Paused" in t for t in texts), "the answer to /pause, once Telegram takes it")
        assert run.interrupt() == 0


def test_a_message_or_chat_refused_for_good_holds_nothing_up_is_logged_once_and_shown_to_the_trader(user, browser):
    with threaded_bot_api({TOKEN: "moonhook_bot"}, missing={MISSING}) as api:
        config = configured(user, api, chats=(ADMIN, MISSING))
        api.call(api.server.refuse, "buy 0.2 EURUSD", "Bad Request: can't parse entities: unsupported start tag")
        run = user.start("run", config=config, cwd="bot")
        for volume in ("0.1", "0.2", "0.3"):
            trade(run, volume)
        texts = fills(told_all(api, ("0.1", "0.3"), "the fills around the refused one"))
        assert not any("buy 0.2 EURUSD" in t for t in texts), texts

        def refused(health) -> dict:
            return {r["chat"]: r for r in health.get("telegram_refused", [])}
        # the fills, and whatever else is told meanwhile (the monitor's "alert took" on a loaded machine)
        health = until(lambda: run.get("/health"), lambda h: refused(h).get(str(MISSING), {}).get("messages", 0) >= 3
                       and str(ADMIN) in refused(h), "the refusals in /health")
        assert "chat not found" in refused(health)[str(MISSING)]["error"]
        assert "can't parse entities" in refused(health)[str(ADMIN)]["error"]
        assert refused(health)[str(ADMIN)]["messages"] == 1, health
        overview = run.get("/api/overview")
        shown = [e for e in overview["errors"] if e["kind"] == "telegram"]
        assert any("chat not found" in e["message"] for e in shown), overview["errors"]
        status = user.moonhook("status", cwd="bot")
        assert "chat not found" in status.stdout, status.stdout
        log_in(browser, f"http://127.0.0.1:{run.port}", config.values["server"]["api_token"])
        errors = wait(browser, lambda d: [t for t in shown_in(d, "#overview ul.errors li") if "Telegram refused" in t],
                      "the refusals among the dashboard's last errors")
        assert any(f"for chat {MISSING} for good" in t and "chat not found" in t for t in errors), errors
        page = browser.find_element("id", "overview").text
        assert run.interrupt() == 0
        log = run.text()
        assert log.count("chat not found") == 1, log  # once a chat and reason, not once a message
        assert log.count("can't parse entities") == 1, log
        secret = TOKEN.split(":", 1)[1]
        assert secret not in log + str(health) + str(overview) + status.stdout + status.stderr + page


def test_commands_sent_while_down_run_once_if_recent_never_if_older_than_command_max_age(user):
    with threaded_bot_api({TOKEN: "moonhook_bot"}) as api:
        config = configured(user, api)
        api.call(lambda: api.server.push_message(TOKEN, ADMIN, "/pause", date=int(time.time()) - 600))
        run = user.start("run", config=config, cwd="bot")
        until(lambda: api.texts(TOKEN, ADMIN),
              lambda texts: any("Ignored /pause: sent 10 min ago" in t for t in texts), "the stale /pause refused")
        assert run.get("/api/plugins")["pause"]["paused"] is False
        assert run.interrupt() == 0

        api.call(lambda: api.server.push_message(TOKEN, ADMIN, "/pause"))   # sent while down, a moment ago
        run = user.start("run", config=config, cwd="bot")
        until(lambda: run.get("/api/plugins")["pause"]["paused"], bool, "the recent /pause obeyed at the start")
        api.call(lambda: api.server.push_message(TOKEN, ADMIN, "/resume"))
        until(lambda: run.get("/api/plugins")["pause"]["paused"], lambda paused: not paused, "resumed")
        assert run.interrupt() == 0

        run = user.start("run", config=config, cwd="bot")
        api.call(lambda: api.server.push_message(TOKEN, ADMIN, "/status"))
        until(lambda: api.texts(TOKEN, ADMIN),
              lambda texts: sum("running" in t for t in texts) >= 1, "the answer to /status after the restart")
        assert run.get("/api/plugins")["pause"]["paused"] is False   # the /pause before it not obeyed again
        assert run.interrupt() == 0


def test_what_is_told_as_moonhook_stops_is_sent_before_it_exits_and_once(user):
    # An alert in flight at Ctrl-C is finished by the stop, and its fill told then. Told the same way
    # every time: a plugin's notify.send from its on_unload, which runs as moonhook stops.
    with threaded_bot_api({TOKEN: "moonhook_bot"}) as api:
        config = configured(user, api)
        (user.home / "bot" / "scripts" / "farewell.lua").write_text(
            'function on_unload() notify.send("farewell: moonhook stops") end\n', encoding="utf-8")
        run = user.start("run", config=config, cwd="bot")
        until(lambda: [p["name"] for p in run.get("/api/plugins")["plugins"]], lambda names: "farewell" in names,
              "the plugin loaded")
        trade(run, "0.1")
        told_all(api, ("0.1",), "the fill told")
        assert run.interrupt() == 0
        assert sum("farewell: moonhook stops" in t for t in told(api)) == 1, told(api)

        run = user.start("run", config=config, cwd="bot")
        trade(run, "0.2")   # told after anything this run sends again
        told_all(api, ("0.2",), "the fill after the restart")
        assert sum("farewell: moonhook stops" in t for t in told(api)) == 1, told(api)
        assert run.interrupt() == 0


def test_the_repeats_folded_when_moonhook_stops_are_told_not_dropped(user):
    # A plugin failing on every alert is told once, its repeats folded into a summary at the end of
    # telegram.throttle_seconds (60 s). Stopped before then, the summary was never told, at no start.
    with threaded_bot_api({TOKEN: "moonhook_bot"}) as api:
        config = configured(user, api)
        (user.home / "bot" / "scripts" / "flaky.lua").write_text(
            'function on_alert(a) error("no quote for " .. a.symbol) end\n', encoding="utf-8")
        run = user.start("run", config=config, cwd="bot")
        trade(run, "0.1")
        until(lambda: told(api), lambda texts: any("no quote for EURUSD" in t for t in texts), "the first failure")
        trade(run, "0.2")
        trade(run, "0.3")
        assert run.interrupt() == 0
        failures = [t for t in told(api) if "no quote for EURUSD" in t]
        assert len(failures) == 2 and "(2 more like this" in failures[1], failures

        run = user.start("run", config=config, cwd="bot")
        trade(run, "0.4")   # a new run's first failure is told at once, nothing told again before it
        texts = until(lambda: told(api), lambda texts: sum("no quote for EURUSD" in t for t in texts) == 3,
                      "the failure after the restart")
        assert "more like this" not in [t for t in texts if "no quote for EURUSD" in t][2], texts
        assert run.interrupt() == 0
