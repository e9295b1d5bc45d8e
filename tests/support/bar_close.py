"""A busy trader's setup for the bar-close walk (tests/e2e/test_walk_bar_close.py): the ten example
strategies and three scripts of one's own placing orders from ``on_alert``, ``on_fill`` and
``on_timer``, the account's limits set, a shadow folder, Telegram; and the burst of alerts a bar's
close brings on ten symbols: entries, closes, reversals, a strategy's partial closes, stop moves,
repeats of one id and malformed messages. Everything is drawn from one seeded generator.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import trio

from support.paths import ROOT

SYMBOLS = {"EURUSD": 1.1, "GBPUSD": 1.27, "AUDUSD": 0.66, "NZDUSD": 0.6, "USDCHF": 0.88, "USDCAD": 1.36,
           "USDJPY": 150.0, "EURJPY": 162.0, "GBPJPY": 190.0, "XAUUSD": 2000.0}
# [paper]: GBPJPY's spread, 10 pips, is over max_spread_pips: its market entries wait, then are refused.
WIDE = "spreads = { GBPJPY = 100 }"

# The account's limits (the walk tightens them to TIGHTER mid-burst), and the examples set so that
# they trade on any day at any hour (the walk may run on a weekend).
LIMITS, TIGHTER = (8, 40), (5, 30)  # max_open_positions, max_entries_per_hour
SETTINGS = """
max_open_positions = 8
max_entries_per_hour = 40
max_spread_pips = { "*" = 5 }
max_spread_wait = 0.6
max_daily_loss_pct = 40
[plugins.session_window.params]
start = "00:00"
stop = "24:00"
weekdays_only = false
[plugins.flat_for_weekend.params]
weekday = "Monday"
at = "00:00"
until_weekday = "Monday"
until_at = "00:00"
[plugins.daily_loss_limit.params]
max_loss_pct = 50
[plugins.trailing_stop.params]
distance_pips = 30
start_pips = 2
[plugins.breakeven.params]
trigger_pips = 5
"""

OWN = {
    "fromalert.lua": """-- A pending buy limit under the market beside an entry asking for it: an order from on_alert.
plugin = {symbols = {"EURUSD", "GBPUSD"}, priority = 90}
function on_alert(a)
  if a.side ~= "buy" or a.extra == nil then return end
  local q = market.price(a.symbol)
  if q == nil then return end
  orders.pending{symbol = a.symbol, side = "buy", type = "limit", price = q.bid - 0.01, volume = 0.01,
                 sl = q.bid - 0.02, comment = "fromalert"}
end
""",
    "onfill.lua": """-- An AUDUSD entry after each USDJPY entry fills: an order from on_fill.
plugin = {priority = 95}
function on_fill(f)
  if f.entry ~= "in" or f.symbol ~= "USDJPY" then return end
  local q = market.price("AUDUSD")
  if q == nil then return end
  orders.market{symbol = "AUDUSD", side = "buy", volume = 0.01, sl = q.bid - 0.005, comment = "onfill"}
end
""",
    "ontimer.lua": """-- An NZDUSD short every second, twelve in all: orders from on_timer.
plugin = {every = "1s", priority = 96}
function on_timer()
  local n = store.get("n") or 0
  local q = market.price("NZDUSD")
  if n >= 12 or q == nil then return end
  store.set("n", n + 1)
  orders.market{symbol = "NZDUSD", side = "sell", volume = 0.01, sl = q.ask + 0.005, comment = "ontimer"}
end
""",
}

SHADOW = {"shadowonly.lua": """-- The shadow's own: another entry beside each entry, on the shadow's paper broker only.
plugin = {priority = 50}
function on_alert(a)
  if a.side == nil then return end
  local q = market.price(a.symbol)
  if q == nil then return end
  orders.market{symbol = a.symbol, side = a.side, volume = 0.01, comment = "shadowonly"}
end
"""}


def scripts(home: Path) -> None:
    """The ten examples and the three scripts of one's own into ``home/scripts``; the shadow's
    into ``home/scripts-next``."""
    for example in sorted((ROOT / "examples" / "strategies").glob("*.lua")):
        shutil.copy(example, home / "scripts" / example.name)
    for folder, files in (("scripts", OWN), ("scripts-next", SHADOW)):
        (home / folder).mkdir(exist_ok=True)
        for name, text in files.items():
            (home / folder / name).write_text(text, encoding="utf-8")


def _pip(symbol: str) -> float:
    return 0.0001 if SYMBOLS[symbol] < 10 else 0.01  # the JPY pairs' and gold's is 0.01


def burst(seed: int, count: int, first: int = 0) -> list[dict[str, Any] | str]:
    """``count`` alerts, JSON objects (the secret filled in when sent) or malformed text; ids from ``first``."""
    rng, sent, out = random.Random(seed), [], []
    for n in range(first, first + count):
        symbol = rng.choice(list(SYMBOLS))
        price = round(SYMBOLS[symbol] * (1 + rng.uniform(-0.0004, 0.0004)), 5 if SYMBOLS[symbol] < 10 else 3)
        away = 60 * _pip(symbol)
        roll = rng.random()
        if roll < 0.05 and sent:  # a repeat of an earlier alert's id: as it was (TradingView's retry), or not
            again = rng.choice(sent)
            out.append(again if rng.random() < 0.5 else {**again, "comment": "other content"})
            continue
        if roll < 0.08:
            out.append(rng.choice(['{"secret": "SECRET", "action": "buy", "symbol": "EURUSD", "volume": -1}',
                                   '{"secret": "SECRET", "action": "fly", "symbol": "EURUSD"}', "{not json"]))
            continue
        alert: dict[str, Any] = {"symbol": symbol, "price": price, "id": f"bc{n}"}
        side = rng.choice(["buy", "sell"])
        sign = -1 if side == "buy" else 1
        if roll < 0.50:
            alert.update(action=side, volume=rng.choice([0.01, 0.02, 0.03]), sl=round(price + sign * away, 5))
            if rng.random() < 0.15:
                alert["tp1"] = round(price - sign * away / 3, 5)
            if side == "buy" and rng.random() < 0.3:
                alert["extra"] = True
        elif roll < 0.56:
            alert.update(action=side, volume=0.01)  # no stop: demo refuses it
        elif roll < 0.66:
            alert.update(action=rng.choice(["closelong", "closeshort", "close"]))
        elif roll < 0.76:  # a strategy's reversal: the other side closed, 1000 units opened
            alert.update(action=side, units=2000, position="long" if side == "buy" else "short",
                         position_size=1000, sl=round(price + sign * away, 5))
        elif roll < 0.86:  # a strategy's partial exit: part of the long (or short) taken off
            alert.update(action=side, units=1000, position="short" if side == "buy" else "long",
                         position_size=1000)
        else:  # a stop and target for the longs, or a target alone (the stop stays)
            alert.update(action="newsltp", tp=round(price + 2 * away, 5))
            if rng.random() < 0.5:
                alert["sl"] = round(price - away, 5)
        sent.append(alert)
        out.append(alert)
    return out


def body(alert: dict[str, Any] | str, secret: str) -> bytes:
    if isinstance(alert, str):
        return alert.replace("SECRET", secret).encode()
    return json.dumps({"secret": secret, **alert}).encode()


async def post(port: int, content: bytes) -> tuple[int, dict | None]:
    """One alert on a connection of its own: the status and JSON answer, or (0, None) when the
    connection broke before an answer (the engine killed under it); a body cut off after a
    status line is kept as ``unreadable``."""
    try:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        async with stream:
            await stream.send_all(b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                  b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(content), content))
            answer = b""
            while chunk := await stream.receive_some(65536):
                answer += chunk
    except (OSError, trio.BrokenResourceError):
        return 0, None
    head, _, rest = answer.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 "):
        return 0, None
    status = int(head.split()[1])
    try:
        return status, json.loads(rest)
    except ValueError:
        return status, {"unreadable": (head + b"|" + rest).decode(errors="replace")}
