"""Telegram figures (issue 6): sustained delivery through 1 and 3 bots, against the local Bot
API stand-in of the tests (tests/support/botapi.py) holding Telegram's folklore limits (30 messages a
second per bot, 1 a second per chat with bursts of 3); and the alert path's latency while
Telegram hangs, beside the same without Telegram.

Delivery: each bot serves 40 chats that all want trades; two trade messages a second go to
the outbox, more than 40 chats can take at one message a second each, so each chat's lane
always has something waiting and the bots' overall limit is what binds. Counted: messages
Telegram accepted per second, after the first 3 s (the bursts), and the 429s meanwhile.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import httpx
import trio

from engine.domain.config.telegram import BotConfig, ChatConfig, TelegramConfig
from engine.adapters.notify.courier import Courier
from engine.adapters.notify.bot import Bot
from engine.adapters.storage import Database, Outbox

from .engine_bench import bench_submit_to_broker
from .stats import pick

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from support.botapi import bot_api_server  # noqa: E402  (the tests' stand-in, on purpose)

CHATS = 40
WARMUP = 3.0
PER_SECOND = 2  # trade messages written to the outbox


def _tokens(bots: int) -> list[str]:
    return [f"{700 + n}:bench-token-{n}" for n in range(bots)]


def _telegram(tokens: list[str], url: str) -> TelegramConfig:
    return TelegramConfig(api_url=url, bots=tuple(
        BotConfig(t, tuple(ChatConfig(1000 * (b + 1) + c) for c in range(CHATS))) for b, t in enumerate(tokens)))


async def bench_delivery(bots: int, seconds: float = 12.0, warmup: float = WARMUP) -> dict:
    tokens = _tokens(bots)
    with tempfile.TemporaryDirectory() as tmp:
        database = Database(Path(tmp) / "db.sqlite")
        outbox = Outbox(database)
        async with bot_api_server({t: f"bench{n}" for n, t in enumerate(tokens)}) as server, \
                httpx.AsyncClient(limits=httpx.Limits(max_connections=200, max_keepalive_connections=200)) as http, \
                trio.open_nursery() as nursery:
            telegram = _telegram(tokens, server.url)
            courier = Courier(telegram, database, [Bot(b, http, server.url) for b in telegram.bots])
            await nursery.start(courier.run)
            start = trio.current_time()
            n = 0
            while trio.current_time() - start < seconds:
                n += 1
                outbox.add("trades", f"opened buy 0.01 EURUSD @ 1.1{n:04d} (bench)")
                courier.poke()
                await trio.sleep(1 / PER_SECOND)
            end = trio.current_time()
            steady = [m for m in server.sent if m.at >= start + warmup]
            refused = [r for r in server.calls("sendMessage") if r.status == 429 and r.at >= start + warmup]
            await courier.stop(1.0)
            nursery.cancel_scope.cancel()
        database.close()
    rate = len(steady) / (end - start - warmup)
    return {"messages_per_s": round(rate, 1), "per_bot": round(rate / bots, 1), "rate_limited_steady": len(refused),
            "limit_share": round(rate / (30 * bots), 3)}


async def bench_latency_while_hanging(alerts: int = 200, rounds: int = 3) -> dict:
    """The 10-plugin submit-to-broker median with Telegram hanging (every sendMessage held
    unanswered) and without Telegram, alternated in one run."""
    token = "900:bench-hang"
    without, hanging = [], []
    async with bot_api_server({token: "hang"}) as server:
        server.hang()
        telegram = TelegramConfig(api_url=server.url, bots=(BotConfig(token, (ChatConfig(1), ChatConfig(2))),))
        for n in range(rounds):
            for hang in ((False, True) if n % 2 == 0 else (True, False)):  # neither always goes first
                settings = {"telegram": telegram} if hang else {}
                median = (await bench_submit_to_broker(10, 10, alerts, 1, **settings))["latency_ms"]["median"]
                (hanging if hang else without).append(median)
        held = len(server.calls("sendMessage"))
        server.release()
    if not held:  # else "hanging" measured an engine without Telegram: the ratio would mean nothing
        raise RuntimeError("no sendMessage was held: the engine under test did not run Telegram")
    med = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
    return {"without_ms": med(without), "hanging_ms": med(hanging), "ratio": round(med(hanging) / med(without), 3),
            "rounds": rounds, "sends_held": held}


async def run_all(size: str = "full") -> dict:
    seconds, warmup, alerts, rounds = pick(size, (12.0, WARMUP, 200, 3), (6.0, WARMUP, 100, 1), (1.5, 0.5, 5, 1))
    one = await bench_delivery(1, seconds, warmup)
    three = await bench_delivery(3, seconds, warmup)
    latency = await bench_latency_while_hanging(alerts, rounds)
    return {
        "telegram_1_bot_msgs": one["messages_per_s"], "telegram_1_bot_429": one["rate_limited_steady"],
        "telegram_3_bots_msgs": three["messages_per_s"], "telegram_3_bots_429": three["rate_limited_steady"],
        "telegram_3_over_1": round(three["messages_per_s"] / one["messages_per_s"], 2),
        "telegram_hang_without_ms": latency["without_ms"], "telegram_hang_ms": latency["hanging_ms"],
        "telegram_hang_ratio": latency["ratio"], "telegram_hang_sends_held": latency["sends_held"],
    }
