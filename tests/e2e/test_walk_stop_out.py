"""An account used to its margin, as a trader runs it: the price falls through MetaTrader 5's
stop-out level (`[paper] stop_out_pct`, 50 by default). `moonhook run` on paper closes the position
there, its loss booked, and the price coming back does not bring the money back; `moonhook replay`
reports the positions closed there, reason `stop_out`, their losses in the figures, the same bytes
twice. Without it both left them open with the equity far below zero, as no broker would."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing

from engine.domain.times import when

from support.botapi_thread import telegram_table, threaded_bot_api
from support.e2e_support import init, outcome, told, until
from support.telegram_support import notices

T0 = 1715558400  # 2024-05-13 00:00 UTC
HOUR = 3600
# Bars are bids: hour, open, high, low, close. Bar 2 falls from 1.0995 to 1.085.
BARS = [(0, 1.0980, 1.0985, 1.0975, 1.0980), (1, 1.0980, 1.1005, 1.0978, 1.1000),
        (2, 1.0995, 1.0998, 1.0850, 1.0860), (3, 1.0860, 1.0870, 1.0855, 1.0865)]
ALERTS = [(0.5, "buy EURUSD volume=4 price=1.098"),   # 2,196.00 of margin at 1:200
          (1.5, "buy EURUSD volume=5 price=1.1"),      # 2,750.00 more
          (3.5, "buy EURUSD volume=0.1 price=1.0865 comment=report")]
# Keeps each on_close's reason and ticket, and says them in its rejection of the alert commented "report".
RECORDER = """plugin = {}
seen = {}
function on_close(e) seen[#seen + 1] = e.reason .. " " .. e.ticket end
function on_alert(a)
  if a.comment == "report" then return false, "closed: " .. table.concat(seen, ", ") end
end
"""
TOKEN = "5150:walk-bot-SECRET-part"
ADMIN = 4242
ARGS = ("replay", "--scripts", "scripts", "--alerts", "alerts.jsonl", "--prices", "FX_EURUSD, 60.csv")


def _inputs(home) -> None:
    (home / "scripts").mkdir()
    (home / "scripts" / "recorder.lua").write_text(RECORDER)
    (home / "moonhook.toml").write_text("[paper]\nleverage = 200\n")
    (home / "alerts.jsonl").write_text("".join(json.dumps({"time": T0 + round(h * HOUR), "body": body}) + "\n"
                                               for h, body in ALERTS))
    (home / "FX_EURUSD, 60.csv").write_text("time,open,high,low,close\n" + "".join(
        f"{T0 + h * HOUR},{o:.5f},{hi:.5f},{lo:.5f},{c:.5f}\n" for h, o, hi, lo, c in BARS))


def test_a_replay_stops_the_account_out_as_metatrader_5_would_and_says_so(user):
    _inputs(user.home)
    done = user.moonhook(*ARGS, "--json")
    assert done.returncode == 0, outcome(done)
    r = json.loads(done.stdout)
    # Equity 900,000 x bid - 979,200 with both open: below 50 % of 4,946.00 at 1.09074, where the
    # 5 lots (losing most) close, -4,630.00; the 4 lots alone below 50 % of 2,196.00 at 1.08731, -4,276.00.
    trades = [(t["volume"], t["open_price"], t["close_price"], t["reason"], t["profit"]) for t in r["closed_trades"]]
    assert trades == [(5.0, 1.1, 1.09074, "stop_out", -4630.0), (4.0, 1.098, 1.08731, "stop_out", -4276.0)]
    assert (r["trades"], r["profit"], r["open_positions"]) == (2, -8906.0, [])
    assert r["equity"][-1] == [T0 + 2 * HOUR, 1094.0]
    assert r["plugins"]["recorder"]["rejections"] == [{"reason": "closed: stop_out 1002, stop_out 1001", "count": 1}]
    assert user.moonhook(*ARGS, "--json").stdout == done.stdout   # byte for byte
    summary = user.moonhook(*ARGS)
    assert summary.returncode == 0, outcome(summary)
    assert ("stopped out    2 positions, net -8,906.00 (the margin level below [paper] stop_out_pct)"
            in summary.stdout), summary.stdout
    assert user.moonhook(*ARGS).stdout == summary.stdout


def test_moonhook_run_on_paper_stops_the_account_out_and_the_loss_stays(user):
    config, printed = init(user, "bot")
    run = user.start(*told(printed, "Start the engine:"), config=config)
    entry = run.webhook("buy EURUSD volume=9 price=1.1 sl=1.0")   # 9,900.00 of margin on 10,000 USD
    assert run.settled(entry["id"])["status"] == "done"

    def price(bid: str) -> None:
        """An alert the demo strategy rejects (no stop): only its price reaches the paper market."""
        assert run.settled(run.webhook(f"buy EURUSD volume=0.1 price={bid}")["id"])["status"] == "rejected"

    price("1.095")   # equity 5,500.00 of 9,900.00: 55.56 %, still open
    assert len(run.get("/api/positions")["positions"]) == 1
    price("1.094")   # 4,600.00: 46.46 %, below 50 %: closed at the bid, -5,400.00
    price("1.1")     # and the price back where it was
    assert run.get("/api/positions")["positions"] == []
    account = run.get("/api/account")["account"]
    assert (account["balance"], account["equity"]) == (4600.0, 4600.0)
    (trade,) = run.get("/api/trades")["trades"]
    assert (trade["volume"], trade["price_open"], trade["price_close"], trade["net"]) == (9.0, 1.1, 1.094, -5400.0)


def _stop_outs(texts: list[str]) -> list[str]:
    """The STOP-OUT notices among the chat's ``texts``, each apart: the alert refused just before may
    share the stop-out's Telegram message (``notices``)."""
    return [m for m in notices(texts) if m.startswith("STOP-OUT")]


def _stopped_out_with_telegram(user, api, fold: bool = False):
    """`moonhook run` on paper with the admin's bot on ``api``: 9 lots bought at 1.1 (9,900.00 of
    margin on 10,000 USD), then a price of 1.094 stops it out. The config and the run.

    ``fold``: the stop-out and the notices just before it go in one Telegram message, as on a busy
    machine. The entry's notice is held in flight at the stand-in until the stop-out's is queued
    behind it: the courier queues a notice as it routes it, in the step that commits its delivery."""
    config, _ = init(user, "bot")
    config.append(telegram_table(api.url, TOKEN, ADMIN))
    run = user.start("run", config=config, cwd="bot")
    if fold:
        api.call(api.server.hang)
    entry = run.webhook("buy EURUSD volume=9 price=1.1 sl=1.0")
    assert run.settled(entry["id"])["status"] == "done"
    if fold:
        until(lambda: api.call(lambda: [r for r in api.server.calls("sendMessage", TOKEN) if r.status is None]),
              bool, "the entry's notice held in flight")
    below = run.webhook("buy EURUSD volume=0.1 price=1.094")   # rejected by demo (no stop): only its price counts
    assert run.settled(below["id"])["status"] == "rejected"
    if fold:
        until(lambda: _deliveries(user, "STOP-OUT%"), bool, "the stop-out's notice queued for the admin")
        api.call(api.server.release)
    return config, run


def _deliveries(user, like: str) -> list[str]:
    """The texts of the Telegram deliveries made of the notices ``like`` (SQL), from the journal's file."""
    with closing(sqlite3.connect(user.home / "bot" / "data" / "moonhook.db")) as db:
        return [text for (text,) in db.execute("SELECT text FROM telegram_deliveries WHERE text LIKE ?", [like])]


def test_moonhook_run_tells_the_admins_of_a_stop_out_in_telegram_once(user):
    """The stop-out reached only the trades chat, a "closed by stop_out" line like any close: the
    admins heard nothing of the account running out of margin. Now one admin message says it, with
    the margin level and equity paper says, and that alerts go on; /status and /health show it.
    Folded with the notices before it into one Telegram message, as a busy machine may send it."""
    with threaded_bot_api({TOKEN: "moonhook_bot"}) as api:
        def said() -> list[str]:   # the admin's chat as it shows now, oldest first
            return api.texts(TOKEN, ADMIN, shown=True)

        config, run = _stopped_out_with_telegram(user, api, fold=True)
        texts = until(said, lambda texts: any("STOP-OUT" in t for t in texts), "the stop-out told to the admin")
        assert [t for t in texts if "STOP-OUT" in t and not t.startswith("STOP-OUT")], texts  # the fold
        (stop_out,) = _stop_outs(texts)
        # 4,600.00 of equity on 9,900.00 of margin: 46.46 %, under paper's 50.
        assert stop_out == (
            "STOP-OUT: the broker closed 1 position of moonhook's: the account's margin level fell below its "
            "stop-out level. Net -5,400.00 USD in all.\n"
            "position 1001 buy 9 EURUSD closed @ 1.094: net -5,400.00 (engine), at a margin level of 46.46% "
            "(equity 4,600.00, margin 9,900.00)\n"
            "moonhook goes on taking alerts, on the margin left: /pause holds them (its exits too) until /resume.")
        health = run.get("/health")["last_stop_out"]
        assert (health["tickets"], health["net"], health["margin_level"], health["equity"]) == (
            [1001], -5400.0, 46.46, 4600.0)
        api.call(lambda: api.server.push_message(TOKEN, ADMIN, "/status"))
        status = until(said, lambda texts: any("⚠ stopout" in t for t in texts), "the stop-out in /status")
        assert any("⚠ stopout 1 closed, net -5,400.00 (46.46%)" in t for t in status), status
        assert run.settled(run.webhook("buy EURUSD volume=0.1 price=1.094 sl=1.09")["id"])["status"] == "done"
        assert len(_stop_outs(said())) == 1


def test_the_last_stop_out_is_shown_after_moonhook_run_is_restarted_and_told_once(user):
    """/health, the overview and /status showed the last stop-out only until a restart: it was
    kept in memory. Now the journal keeps it, and the admins are still told of it once."""
    with threaded_bot_api({TOKEN: "moonhook_bot"}) as api:
        def said() -> list[str]:
            return api.texts(TOKEN, ADMIN, shown=True)

        config, run = _stopped_out_with_telegram(user, api)
        until(lambda: run.get("/health")["last_stop_out"], bool, "the stop-out in /health")
        until(said, lambda texts: any("STOP-OUT" in t for t in texts), "the stop-out told to the admin")
        before = run.get("/health")["last_stop_out"]
        assert run.interrupt() == 0, run.text()

        again = user.start("run", config=config, cwd="bot")
        assert again.get("/health")["last_stop_out"] == before
        assert again.get("/api/overview")["health"]["last_stop_out"] == before
        api.call(lambda: api.server.push_message(TOKEN, ADMIN, "/status"))
        status = until(said, lambda texts: any("⚠ stopout" in t for t in texts), "the stop-out in /status")
        assert any(f"⚠ stopout 1 closed, net -5,400.00 (46.46%)\n          {when(before['time'])}" in t
                   for t in status), status
        assert len(_stop_outs(said())) == 1
