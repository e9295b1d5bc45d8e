"""`moonhook run` on MetaTrader 5, stopped and started again: by a power cut (SIGKILL to the
engine and its workers at once) while the terminal has executed an order whose answer has not
come back, and by Ctrl-C while the market goes on. Every alert answered is traded, no order
reaches the terminal twice, and each deal reaches the plugins and the trades chat once."""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import closing

from support.clock_shift import at_midday, utc_day
from support.e2e_support import mt5_user, until
from support.mt5_standin import POSITION_TYPE_BUY, Terminal
from support.paths import ROOT


def trades_chat(run) -> list[str]:
    """What the trades chat was told by this run (the log carries each message)."""
    return [line.split("[trades] ", 1)[1] for line in run.text().splitlines() if "[trades] " in line]


def _stored(user, plugin: str, key: str):
    """A plugin's stored value as the journal keeps it (its codec's JSON), None if absent."""
    with closing(sqlite3.connect(user.home / "bot" / "data" / "moonhook.db")) as db:
        row = db.execute("SELECT value FROM store WHERE plugin = ? AND key = ?", [plugin, key]).fetchone()
    return None if row is None else json.loads(row[0])


def _untold(user) -> int:
    """How many of the broker's events the engine has booked and not yet told (storage/untold.py)."""
    with closing(sqlite3.connect(user.home / "bot" / "data" / "moonhook.db")) as db:
        return db.execute("SELECT count(*) FROM untold_events").fetchone()[0]


def _store_keys(user, plugin: str) -> list[str]:
    with closing(sqlite3.connect(user.home / "bot" / "data" / "moonhook.db")) as db:
        return [k for (k,) in db.execute("SELECT key FROM store WHERE plugin = ?", [plugin])]


def _cut_while_the_terminal_holds_an_answer(run, terminal) -> None:
    until(lambda: terminal.hung("order_send"), bool, "the order executed, its answer held")
    run.kill()  # SIGKILL to the process group: no status written, no worker left


def test_an_entry_executed_when_the_power_went_is_found_not_sent_again(user, tmp_path):
    terminal = Terminal(tmp_path / "terminal.db")
    config = mt5_user(user, tmp_path / "terminal.db")
    run = user.start("run", config=config, cwd="bot")
    terminal.script("order_send", "hang_after")
    eur = run.webhook("buy EURUSD volume=0.1 sl=1.07 id=cut-eur")
    _cut_while_the_terminal_holds_an_answer(run, terminal)
    assert terminal.sent() == 1

    again = user.start("run", config=config, cwd="bot")
    gbp = again.webhook("sell GBPUSD volume=0.2 sl=1.30 id=cut-gbp")  # the market goes on
    row, after = again.settled(eur["id"]), again.settled(gbp["id"])
    assert row["status"] == "done" and row["outcome"]["orders"][0]["ok"], row
    (position,) = [p for p in terminal.positions() if p["symbol"] == "EURUSD"]
    assert row["outcome"]["orders"][0]["ticket"] == position["ticket"] and position["volume"] == 0.1
    assert after["status"] == "done" and terminal.sent() == 2, (after, terminal.sent())
    assert again.interrupt() == 0  # what it read is told before it stops
    assert [m.split(" @")[0] for m in trades_chat(again)] == ["opened buy 0.1 EURUSD", "opened sell 0.2 GBPUSD"]


def test_alerts_behind_the_one_cut_are_traded_once_after_the_restart(user, tmp_path):
    """Three alerts answered before the cut: the first done, the second executed with its answer
    lost, the third journaled and never sent. After the restart each is in the terminal once."""
    terminal = Terminal(tmp_path / "terminal.db")
    config = mt5_user(user, tmp_path / "terminal.db")
    run = user.start("run", config=config, cwd="bot")
    first = run.settled(run.webhook("buy EURUSD volume=0.1 sl=1.07 id=burst-1")["id"])
    assert first["status"] == "done"
    terminal.script("order_send", "hang_after")
    second = run.webhook("buy EURUSD volume=0.2 sl=1.07 id=burst-2")
    until(lambda: terminal.hung("order_send"), bool, "the second order executed, its answer held")
    third = run.webhook("buy EURUSD volume=0.3 sl=1.07 id=burst-3")  # behind it in EURUSD's lane
    _cut_while_the_terminal_holds_an_answer(run, terminal)
    assert terminal.sent() == 2

    again = user.start("run", config=config, cwd="bot")
    rows = [again.settled(a["id"]) for a in (second, third)]
    assert [r["status"] for r in rows] == ["done", "done"], rows
    assert terminal.sent() == 3
    volumes = sorted(p["volume"] for p in terminal.positions() if p["type"] == POSITION_TYPE_BUY)
    assert volumes == [0.1, 0.2, 0.3]
    assert again.interrupt() == 0
    assert [m.split(" @")[0] for m in trades_chat(again)] == ["opened buy 0.2 EURUSD", "opened buy 0.3 EURUSD"]


def test_a_part_exit_cut_between_its_closes_closes_the_rest_and_no_more(user, tmp_path):
    """`closelong EURUSD volume=0.15` over two positions of 0.1: the first closed whole, then 0.05
    of the second. The power goes when the first close has executed: after the restart the second
    close is sent and the first is not sent again (0.05 left, not 0.1 less)."""
    terminal = Terminal(tmp_path / "terminal.db")
    config = mt5_user(user, tmp_path / "terminal.db")
    run = user.start("run", config=config, cwd="bot")
    for n in (1, 2):
        assert run.settled(run.webhook(f"buy EURUSD volume=0.1 sl=1.07 id=part-{n}")["id"])["status"] == "done"
    older, newer = sorted(terminal.positions(), key=lambda p: p["ticket"])
    # A settled alert's fill may still wait its turn to be told: cut then, it is told at the restart.
    until(lambda: _untold(user), lambda n: n == 0, "the entries' fills told")
    terminal.script("order_send", "hang_after")
    exit_ = run.webhook("closelong EURUSD volume=0.15 id=part-exit")
    _cut_while_the_terminal_holds_an_answer(run, terminal)
    assert [p["ticket"] for p in terminal.positions()] == [newer["ticket"]]  # the first close executed

    again = user.start("run", config=config, cwd="bot")
    row = again.settled(exit_["id"])
    assert row["status"] == "done", row
    (left,) = terminal.positions()
    assert (left["ticket"], left["volume"]) == (newer["ticket"], 0.05), left
    assert terminal.sent() == 4  # two entries, two closes
    assert again.interrupt() == 0
    whole, part = trades_chat(again)  # the entries were read before the cut, and are not told again
    assert whole.startswith(f"position {older['ticket']} buy 0.1 EURUSD closed by close"), whole
    assert part.startswith(f"position {newer['ticket']} EURUSD: 0.05 closed by close"), part
    assert "0.05 left open" in part, part


def test_a_reversal_cut_after_its_close_opens_the_new_side_once(user, tmp_path):
    """`buy ... position=long` over a short: the short is closed, then the long opened. The power
    goes when the close has executed: after the restart the long is opened, once, and nothing
    else is closed."""
    terminal = Terminal(tmp_path / "terminal.db")
    config = mt5_user(user, tmp_path / "terminal.db")
    run = user.start("run", config=config, cwd="bot")
    assert run.settled(run.webhook("sell EURUSD volume=0.1 sl=1.09 id=rev-short")["id"])["status"] == "done"
    terminal.script("order_send", "hang_after")
    flip = run.webhook("buy EURUSD volume=0.2 sl=1.07 position=long id=rev-long")
    _cut_while_the_terminal_holds_an_answer(run, terminal)
    assert terminal.positions() == []  # the short closed; the long not yet sent

    (short,) = [o for o in terminal.history_orders() if o["type"] == 1]
    again = user.start("run", config=config, cwd="bot")
    row = again.settled(flip["id"])
    assert row["status"] == "done", row
    (long_,) = terminal.positions()
    assert (long_["type"], long_["volume"]) == (POSITION_TYPE_BUY, 0.2)
    assert terminal.sent() == 3  # the short, its close, the long
    close, entry = row["outcome"]["orders"]  # the journal still says what the alert did before the cut
    assert (close["kind"], close["ok"], close["closed"]) == ("close", True, [short["ticket"]]), close
    assert (entry["kind"], entry["ticket"]) == ("market", long_["ticket"]), entry
    assert again.interrupt() == 0


def test_a_stop_hit_while_moonhook_was_stopped_counts_once_in_the_daily_loss_limit(user, tmp_path, monkeypatch):
    """examples/strategies/daily_loss_limit.lua sums on_close's profits in its store. A stop hit
    while moonhook is stopped reaches on_close at the next start (its plugins loaded by then), and
    at no start after: the day has lost 21, over a limit of 19.96 (0.2 % of the balance), not 42."""
    at_midday(user, monkeypatch, utc_day)  # the strategy's day: the UTC date
    terminal = Terminal(tmp_path / "terminal.db")
    config = mt5_user(user, tmp_path / "terminal.db")
    example = (ROOT / "examples" / "strategies" / "daily_loss_limit.lua").read_text()
    (user.home / "bot" / "scripts" / "daily_loss_limit.lua").write_text(
        example.replace("max_loss_pct = 3.0", "max_loss_pct = 0.2"))
    run = user.start("run", config=config, cwd="bot")
    entry = run.settled(run.webhook("buy EURUSD volume=0.1 sl=1.0781 id=day-1")["id"])
    assert entry["status"] == "done" and entry["outcome"]["orders"][0]["price"] == 1.0801, entry
    assert run.interrupt() == 0
    terminal.set_price("EURUSD", 1.0780, 1.0781)  # the stop is hit while moonhook is stopped
    (loss,) = [d for d in terminal.deals() if d["entry"] == 1]
    assert loss["profit"] == -21.0

    day = f"pnl:{time.strftime('%Y-%m-%d', time.gmtime(time.time()))}"
    for n in (2, 3):
        again = user.start("run", config=config, cwd="bot")
        until(lambda: _stored(user, "daily_loss_limit", day), bool, "on_close counting the stop")
        row = again.settled(again.webhook(f"buy EURUSD volume=0.1 sl=1.0761 id=day-{n}")["id"])
        assert row["status"] == "rejected", row
        (limit,) = [p for p in row["outcome"]["plugins"] if p["plugin"] == "daily_loss_limit"]
        assert "daily loss limit: 21.00 lost today, limit 19.96" in str(limit), limit
        assert again.interrupt() == 0  # the events it read are told before it stops: a repeat would show
        assert _stored(user, "daily_loss_limit", day) == ["v", [-21.0]]
    assert terminal.sent() == 1


HOOKS_TOLD = """
function on_fill(f) log.info("heard on_fill " .. f.symbol .. " " .. f.entry .. " " .. f.reason) end
function on_cancel(o) log.info("heard on_cancel " .. o.symbol .. " " .. o.reason) end
"""


def test_a_pending_order_filled_and_one_expired_while_stopped_reach_on_fill_and_on_cancel_once(user, tmp_path):
    terminal = Terminal(tmp_path / "terminal.db")
    config = mt5_user(user, tmp_path / "terminal.db")
    (user.home / "bot" / "scripts" / "listener.lua").write_text(HOOKS_TOLD)
    run = user.start("run", config=config, cwd="bot")
    for body in ("buylimit EURUSD volume=0.1 price=1.0750 sl=1.0700 id=wait-fill",
                 "selllimit GBPUSD volume=0.1 price=1.2800 sl=1.2900 expiry=60 id=wait-expiry"):
        assert run.settled(run.webhook(body)["id"])["status"] == "done"
    assert len(terminal.orders()) == 2
    assert run.interrupt() == 0
    terminal.set_price("EURUSD", 1.0749, 1.0750)  # the buy limit fills
    terminal.set_time(time.time() + 120)         # the sell limit's minute passes
    assert terminal.orders() == [] and [p["symbol"] for p in terminal.positions()] == ["EURUSD"]

    heard = []
    for _ in range(2):
        again = user.start("run", config=config, cwd="bot")  # what it found is queued before it listens
        assert again.interrupt() == 0  # and told before it stops
        heard.append([line.split("heard ", 1)[1] for line in again.text().splitlines() if "heard " in line])
    assert heard == [["on_fill EURUSD in pending", "on_cancel GBPUSD expired"], []], heard


def test_take_profits_cut_after_its_first_part_closes_no_second_part(user, tmp_path):
    """examples/strategies/take_profits.lua closes half at TP1 on its timer. The power goes when
    that close has executed, before the strategy noted it: after the restart it sees the position
    already halved, takes no second half, and moves the stop to the entry."""
    terminal = Terminal(tmp_path / "terminal.db")
    config = mt5_user(user, tmp_path / "terminal.db")
    example = (ROOT / "examples" / "strategies" / "take_profits.lua").read_text()
    (user.home / "bot" / "scripts" / "take_profits.lua").write_text(example.replace('every = "2s"', 'every = "1s"'))
    run = user.start("run", config=config, cwd="bot")
    entry = run.settled(run.webhook('{"secret": "SECRET", "symbol": "EURUSD", "action": "buy", "volume": 0.2, '
                                    '"sl": 1.07, "tp1": 1.0820, "tp": 1.0900, "id": "tp-entry"}')["id"])
    assert entry["status"] == "done" and entry["outcome"]["orders"][0]["price"] == 1.0801, entry
    until(lambda: _store_keys(user, "take_profits"), lambda keys: any(k.startswith("steps:") for k in keys),
          "the strategy's plan for the position")
    terminal.script("order_send", "hang_after")
    terminal.set_price("EURUSD", 1.0825, 1.0826)  # past TP1
    _cut_while_the_terminal_holds_an_answer(run, terminal)
    (half,) = terminal.positions()
    assert half["volume"] == 0.1

    again = user.start("run", config=config, cwd="bot")
    positions = until(terminal.positions, lambda ps: len(ps) != 1 or ps[0]["sl"] == 1.0801, "the stop at the entry")
    assert len(positions) == 1, ("the second half was closed too", positions)
    (moved,) = positions
    assert (moved["ticket"], moved["volume"], moved["sl"]) == (half["ticket"], 0.1, 1.0801), moved
    assert terminal.sent() == 3  # the entry, half of it closed, the stop moved: no second half
    assert again.interrupt() == 0
    assert "already at 0.1 lots" in again.text()


def test_two_projects_on_one_account_never_touch_each_others_positions(user, tmp_path):
    """Two `moonhook init` projects (forex/ and indices/, say) trading one MetaTrader account:
    each engine numbers its plugins' orders with magic numbers the other does not use, so a
    `closeall` of one closes its own positions only, and neither tells the other's deals."""
    terminal = Terminal(tmp_path / "terminal.db")
    first = user.start("run", config=mt5_user(user, tmp_path / "terminal.db", "first"), cwd="first")
    second = user.start("run", config=mt5_user(user, tmp_path / "terminal.db", "second"), cwd="second")
    assert first.settled(first.webhook("buy EURUSD volume=0.1 sl=1.07 id=one")["id"])["status"] == "done"
    assert second.settled(second.webhook("buy EURUSD volume=0.2 sl=1.07 id=one")["id"])["status"] == "done"
    magics = {p["volume"]: p["magic"] for p in terminal.positions()}
    assert magics[0.1] != magics[0.2], magics

    closed = first.settled(first.webhook("closeall id=two")["id"])
    assert closed["status"] == "done", closed
    assert [p["volume"] for p in terminal.positions()] == [0.2]
    (theirs,) = first.get("/api/positions")["positions"]
    assert theirs["external"] and theirs["plugin"] is None
    assert first.interrupt() == 0 and second.interrupt() == 0  # each tells what it read before it stops
    assert [m.split(" @")[0] for m in trades_chat(first)][:1] == ["opened buy 0.1 EURUSD"]
    assert not [m for m in trades_chat(first) if "0.2 EURUSD" in m], trades_chat(first)
    assert not [m for m in trades_chat(second) if "0.1 EURUSD" in m], trades_chat(second)
