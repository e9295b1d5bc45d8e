"""Replay tells what live would have done: a live engine on the paper broker trades a stream of
alerts (entries, reversals, part and whole closes, pending orders and cancels, stop changes,
trends, risk-sized entries, through the example guards and sizer), then ``replay`` runs the
same scripts over its journal. The account, the open positions and the pending orders must
come out the same. The streams are drawn from fixed seeds (the same every run); their stops
sit far from the prices, as replay without bars simulates no stop."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
import trio

from engine.app.replay import read_alerts
from engine.app.replay.runner import replay
from engine.domain.config import EngineConfig
from engine.domain.config.paper import PaperConfig

from support.engine_support import process, running
from support.paths import ROOT
from support.waits import HANG

GUARDS = ("one_position", "daily_loss_limit", "trend_filter", "fixed_fractional")
PAPER = PaperConfig(spread_points=10, commission_per_lot=7.0)
COMMANDS = ("buy", "sell", "buy", "sell", "closelong", "closeshort", "close", "closeall", "buylimit", "selllimit",
            "buystop", "sellstop", "cancel", "reverse", "part", "newsltp", "trend", "sized")


def stream(seed: int, n: int = 30) -> list[str]:
    """``n`` alerts on two symbols whose prices walk up to 60 pips an alert."""
    rng = random.Random(seed)
    prices = {"EURUSD": 1.08, "GBPUSD": 1.27}
    out = []
    for i in range(n):
        symbol = rng.choice(sorted(prices))
        p = prices[symbol] = round(prices[symbol] + rng.randint(-60, 60) * 0.0001, 5)
        command, volume, side = rng.choice(COMMANDS), rng.choice([0.01, 0.05, 0.13, 0.2, 1.0]), rng.choice(["buy", "sell"])
        far = round(p - 0.05, 5) if side == "buy" else round(p + 0.05, 5)
        body = {
            "buy": f"buy {symbol} volume={volume} price={p}", "sell": f"sell {symbol} volume={volume} price={p}",
            "closelong": f"closelong {symbol} price={p}", "closeshort": f"closeshort {symbol} price={p}",
            "close": f"close {symbol} price={p}", "closeall": f"closeall price={p}",
            "buylimit": f"buylimit {symbol} volume={volume} price={round(p - 0.001, 5)}",
            "selllimit": f"selllimit {symbol} volume={volume} price={round(p + 0.001, 5)}",
            "buystop": f"buystop {symbol} volume={volume} price={round(p + 0.001, 5)}",
            "sellstop": f"sellstop {symbol} volume={volume} price={round(p - 0.001, 5)}",
            "cancel": f"cancel {symbol} price={p}",
            "reverse": f"{side} {symbol} volume={volume} price={p} position={'long' if side == 'buy' else 'short'}",
            "part": f"close{'long' if side == 'buy' else 'short'} {symbol} volume={volume} price={p}",
            "newsltp": f"newsltp {symbol} sl={round(p - 0.05, 5)} tp={round(p + 0.05, 5)} price={p}",
            "trend": f"trend {symbol} H4 {rng.choice(['up', 'down', 'flat'])}",
            "sized": f"{side} {symbol} sl={far} price={p}" if rng.random() < 0.5 else
                     f"{side} {symbol} risk={rng.choice([0.5, 1, 2])} sl={far} price={p}",
        }[command]
        out.append(f"{body} id=a{i}")
    return out


@pytest.mark.parametrize("seed", range(12))
async def test_replaying_a_live_journal_ends_with_the_live_account(tmp_path, seed):
    scripts = {name: (ROOT / "examples" / "strategies" / f"{name}.lua").read_text() for name in GUARDS}
    async with running(tmp_path, scripts, paper=PAPER) as engine:
        statuses = [(await process(engine, body))["status"] for body in stream(seed)]
        account = await engine.broker.account()
        positions = sorted((p["symbol"], p["side"], p["volume"], p["price_open"], p["sl"], p["tp"])
                           for p in await engine.broker.positions())
        orders = sorted((o["symbol"], o["side"], o["type"], o["volume"], o["price"]) for o in await engine.broker.orders())
    assert "done" in statuses and "rejected" in statuses   # the stream trades, and the guards refuse some

    alerts = read_alerts(tmp_path / "data" / "moonhook.db").items
    out = await replay(replace(EngineConfig(), paper=PAPER), tmp_path / "scripts", alerts)
    # Replay reports an opening deal's commission with the trade that first closes the position;
    # live takes it from the balance at the opening, as MetaTrader does.
    balance = PAPER.balance + sum(t.profit + t.commission for t in out.trades) + sum(
        o.position.commission for o in out.open)
    assert round(balance, 2) == account["balance"]
    assert sorted((o.position.symbol, o.position.side, o.position.volume, o.position.price_open, o.position.sl,
                   o.position.tp) for o in out.open) == positions
    assert sorted((o.symbol, o.side, o.type, o.volume, o.price) for o in out.waiting) == orders


# A plugin's own entry, its answer given as the alert's rejection.
OWN_ENTRY = """
function on_alert(a)
  if a.comment == 'own' then
    local r = orders.market{symbol = a.symbol, side = 'sell', volume = 0.01}
    return false, tostring(r.error)
  end
end"""


async def test_an_entry_refused_on_a_wide_spread_is_refused_in_replay_as_live_refused_it(tmp_path):
    # Live waits for the spread to narrow (until the alert expires, for one with a short ttl); a
    # plugin's entry does not wait. [paper]'s spread never narrows: replay refuses them without
    # waiting, and must say what the journal says, as the trader compares the two.
    limits = dict(max_spread_pips={"*": 0.5}, max_spread_wait=2)
    bodies = ["buy EURUSD volume=0.1 price=1.1 ttl=1", "buy EURUSD volume=0.1 price=1.1 id=b",
              "buy EURUSD volume=0.1 price=1.1 comment=own"]
    async with running(tmp_path, {"own": OWN_ENTRY}, paper=PAPER, **limits) as engine:
        rows = [await process(engine, body) for body in bodies]
    live = [(r["status"], r["outcome"]["orders"][0]["error"] if r["status"] == "failed"
             else r["outcome"]["plugins"][0]["reason"]) for r in rows]
    assert [why.split(", at most 0.5")[1] for _, why in live] == [
        ", after waiting for it to narrow until its alert expired (ttl, 1 s)", ", after waiting 2 s for it to narrow",
        "; a plugin's entry does not wait for it to narrow"]

    alerts = read_alerts(tmp_path / "data" / "moonhook.db").items
    out = await replay(replace(EngineConfig(), paper=PAPER, **limits), tmp_path / "scripts", alerts)
    replayed = [(u.status, u.reason) for u in out.unexecuted] + [
        ("rejected", d.detail) for d in out.decisions if d.result == "rejected"]
    assert replayed == live


# Tells the comments of the open positions and pending orders, as a rejection's reason.
COMMENTS = """
function on_alert(a)
  if a.comment ~= 'tell' then return end
  local said = {}
  for _, p in ipairs(positions.list()) do said[#said + 1] = 'position ' .. tostring(p.comment) end
  for _, o in ipairs(orders.list()) do said[#said + 1] = 'order ' .. tostring(o.comment) end
  return false, table.concat(said, ', ')
end"""


async def test_scripts_read_the_comments_of_positions_and_orders_in_replay_as_live(tmp_path):
    # A script that tells its positions apart by their comment (a scalp from a swing) must find
    # the same comments in replay as on the paper broker, or it manages other positions.
    bodies = ["buy EURUSD volume=0.1 price=1.1 comment=scalp", "trend GBPUSD H4 up price=1.21",
              "buylimit GBPUSD volume=0.1 price=1.2 comment=swing", "buylimit EURUSD volume=0.1 price=1.05 comment=dip",
              "trend GBPUSD H4 up price=1.19",   # the limit's price comes: its position keeps its comment
              "buy EURUSD volume=0.1 price=1.1 comment=tell"]
    async with running(tmp_path, {"comments": COMMENTS}, paper=PAPER) as engine:
        rows = [await process(engine, body) for body in bodies]
    live = rows[-1]["outcome"]["plugins"][0]["reason"]
    assert live == "position scalp, position swing, order dip"

    alerts = read_alerts(tmp_path / "data" / "moonhook.db").items
    out = await replay(replace(EngineConfig(), paper=PAPER), tmp_path / "scripts", alerts)
    assert [d.detail for d in out.decisions if d.result == "rejected"] == [live]


async def test_a_pending_order_expires_in_replay_when_live_it_expired_a_price_or_not(tmp_path):
    # The paper broker removes a pending order when its expiry comes, whether or not a price of its
    # symbol comes: it no longer counts in max_open_positions, and a later cancel finds nothing.
    bodies = ["trend GBPUSD H4 up price=1.21", "buylimit GBPUSD volume=0.1 price=1.2 expiry=1"]
    async with running(tmp_path, {}, paper=PAPER, max_open_positions=1) as engine:
        rows = [await process(engine, body) for body in bodies]
        with trio.fail_after(HANG):   # bounds a hang
            while await engine.broker.orders():
                await trio.sleep(0.05)
        rows += [await process(engine, body) for body in ("buy EURUSD volume=0.1 price=1.1", "cancel GBPUSD")]
        positions = [(p["symbol"], p["volume"]) for p in await engine.broker.positions()]
    assert [r["status"] for r in rows] == ["done"] * 4 and positions == [("EURUSD", 0.1)]

    alerts = read_alerts(tmp_path / "data" / "moonhook.db").items
    out = await replay(replace(EngineConfig(), paper=PAPER, max_open_positions=1), tmp_path / "scripts", alerts)
    assert out.unexecuted == [] and out.waiting == []
    assert [(o.position.symbol, o.position.volume) for o in out.open] == positions
    assert [(o.symbol, o.side) for o in out.orders] == [("GBPUSD", "buy limit"), ("EURUSD", "buy")]
    assert [p.what for p in out.problems] == [
        "pending order 1001 buy limit 0.1 GBPUSD @ 1.2 expired (engine): its expiry came, 1 s after it was placed"]
