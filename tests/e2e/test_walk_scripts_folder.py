"""The live scripts folder moved away while `moonhook run` runs, and moved back, walked as a trader
meets it: the live plugins serve on (a folder renamed must not stop live trading), and the trader
is told loudly that saves there are not seen (the log's WARNING naming the folder, the
administrators' Telegram notice, /health degraded and `moonhook status`); moved back, that is
told too, and a save there goes live again (docs/operations.md, "The scripts folder")."""

from __future__ import annotations

from support.botapi_thread import telegram_table, threaded_bot_api
from support.e2e_support import init, outcome, until
from support.telegram_support import notices

TOKEN = "5150:AAH-folder-SECRET_part"
ADMIN = 4242
GATE = "function on_alert(a) return {volume = 0.2} end\n"
SAVED = "function on_alert(a) return {volume = 0.3} end\n"
ALERT = "buy EURUSD volume=0.1 price=1.0850 sl=1.0800 id={}"


def told(api) -> list[str]:
    return notices(api.texts(TOKEN, ADMIN))


def volume(run, alert: str) -> float:
    sent = run.webhook(ALERT.format(alert))["id"]
    assert run.settled(sent)["status"] == "done"
    return run.get("/api/positions")["positions"][-1]["volume"]


def test_the_scripts_folder_moved_away_is_told_loudly_its_plugins_serve_on_and_back_saves_are_seen(user):
    with threaded_bot_api({TOKEN: "moonhook_bot"}) as api:
        config, _ = init(user, "bot")
        bot = user.home / "bot"
        (bot / "scripts" / "demo.lua").unlink()
        (bot / "scripts" / "gate.lua").write_text(GATE, encoding="utf-8")
        config.append(telegram_table(api.url, TOKEN, ADMIN))
        run = user.start("run", config=config, cwd="bot")
        assert volume(run, "before") == 0.2
        assert run.get("/health")["scripts_unwatched"] is None
        first = version(run)

        (bot / "scripts").rename(bot / "scripts-old")
        until(run.text, lambda t: "WARNING" in t and "scripts was deleted or moved: saves there are not seen until "
              "it is back" in t, "the folder told gone in the log")
        health = until(lambda: run.get("/health"), lambda h: h["scripts_unwatched"] is not None, "/health told")
        assert health["status"] == "degraded" and "saves there are not seen" in health["scripts_unwatched"], health
        assert [p["name"] for p in run.get("/api/plugins")["plugins"]] == ["gate"]   # unloaded: no
        assert volume(run, "while-gone") == 0.2                                      # still serving
        until(lambda: told(api), lambda texts: any("was deleted or moved: its plugins serve on" in t for t in texts),
              "the administrators told")
        status = user.moonhook("status", cwd="bot")
        assert status.returncode == 1, outcome(status)
        assert "scripts_unwatched=" in status.stdout and "saves there are not seen" in status.stdout, outcome(status)

        (bot / "scripts-old" / "gate.lua").write_text(SAVED, encoding="utf-8")   # unseen: not in scripts/
        (bot / "scripts-old").rename(bot / "scripts")
        until(lambda: run.get("/health"), lambda h: h["scripts_unwatched"] is None, "the folder back in /health")
        assert "scripts is back: saves there are seen again" in run.text()
        until(lambda: told(api), lambda texts: any("is back: saves there are seen again" in t for t in texts),
              "the administrators told it is back")
        until(lambda: version(run), lambda v: v != first, "the save made while away looked at")
        assert volume(run, "back") == 0.3
        saved = version(run)
        (bot / "scripts" / "gate.lua").write_text(GATE, encoding="utf-8")   # a save there: seen again
        until(lambda: version(run), lambda v: v != saved, "a save seen again")
        assert volume(run, "saved") == 0.2
        assert run.interrupt() == 0


def version(run) -> str:
    return run.get("/api/plugins")["plugins"][0]["version"]
