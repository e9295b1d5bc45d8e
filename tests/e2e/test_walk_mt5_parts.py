"""A user on MetaTrader 5 (the stand-in terminal) whose entry the market fills in part: GBPUSD takes IOC only, and
its book holds 0.3 lots at a time. The alert's answer, its outcome and the trades chat (Telegram's servers are the
Bot API stand-in) say how much was filled of how much was asked."""

from __future__ import annotations

from support.botapi_thread import telegram_table, threaded_bot_api
from support.e2e_support import mt5_user, until
from support.mt5_standin import Terminal
from support.telegram_support import notices

TOKEN = "5150:walk-bot-SECRET-part"
ADMIN = 4242


def test_an_entry_filled_in_part_is_told_with_what_was_asked(user, tmp_path):
    terminal = Terminal(tmp_path / "terminal.db")
    terminal.set_symbol("GBPUSD", liquidity=0.3)
    with threaded_bot_api({TOKEN: "moonhook_bot"}) as api:
        config = mt5_user(user, tmp_path / "terminal.db")
        config.append(telegram_table(api.url, TOKEN, ADMIN))
        run = user.start("run", config=config, cwd="bot")
        row = run.settled(run.webhook("buy GBPUSD volume=0.5 sl=1.25 id=thin-entry")["id"])
        assert row["status"] == "done" and row["outcome"]["orders"][0]["volume"] == 0.3, row
        part = "filled in part, 0.3 of 0.5 lots asked; the market filled no more"   # the outcome says so too
        assert row["outcome"]["orders"][0]["asked"] == 0.5 and row["outcome"]["orders"][0]["part"] == part, row
        assert [o["part"] for o in row["orders"]] == [part] and row["words"]["parts"] == [f"engine: buy GBPUSD {part}"]
        assert [p["volume"] for p in terminal.positions()] == [0.3]
        whole = run.settled(run.webhook("buy EURUSD volume=0.2 sl=1.05 id=deep-entry")["id"])
        # The list says it as the detail does: it read as a whole fill of 0.3 lots there.
        listed = {a["id"]: a for a in run.get("/api/alerts?symbol=GBPUSD")["alerts"] + run.get("/api/alerts")["alerts"]}
        assert listed[row["id"]]["outcome"]["orders"] == row["outcome"]["orders"], listed[row["id"]]
        assert not {"asked", "part"} & set(listed[whole["id"]]["outcome"]["orders"][0]), listed[whole["id"]]
        assert "orders" not in listed[row["id"]] and "words" not in listed[row["id"]], listed[row["id"]]

        def said() -> list[str]:
            return notices(api.texts(TOKEN, ADMIN, shown=True))
        told = until(said, lambda texts: any(t.startswith("opened buy 0.3 GBPUSD") for t in texts), "the fill told")
        (fill,) = [t for t in told if t.startswith("opened buy 0.3 GBPUSD")]
        assert fill.startswith("opened buy 0.3 GBPUSD @ ") and fill.endswith(
            ": filled in part, 0.3 of 0.5 lots asked; the market filled no more"), told
        assert run.interrupt() == 0
