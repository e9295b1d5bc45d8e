"""The outbox delivered to Telegram by the courier: a real SQLite file, real HTTP to the local
Bot API stand-in (tests/support/botapi.py), each bot within its limits, nothing lost, nothing twice."""

import logging
import time
from contextlib import asynccontextmanager

import httpx
import trio

from engine.domain.config.telegram import BotConfig, ChatConfig, TelegramConfig
from engine.adapters.notify.courier import RESENT, Courier
from engine.adapters.notify.limits import Limits
from engine.adapters.notify.bot import Bot
from engine.adapters.storage import Database, Outbox
from engine.adapters.storage.deliveries import Deliveries

from support.botapi import bot_api_server, html_plain, markdown_v2_plain
from support.telegram_support import notices
from support.waits import until

ONE, TWO = "111:first-bot-SECRET", "222:second-bot-SECRET"
FAST = Limits(per_second=30, per_chat=50, chat_burst=5)  # chats as fast as the stand-in below lets them


def config(*bots: BotConfig, **options) -> TelegramConfig:
    return TelegramConfig(bots=bots, **options)


@asynccontextmanager
async def courier(db_path, telegram: TelegramConfig, url: str, limits: Limits = FAST, timeout: float = 10.0):
    """A running courier on the database at ``db_path``, its bots talking to ``url``."""
    database = Database(db_path)
    try:
        async with httpx.AsyncClient() as http, trio.open_nursery() as nursery:
            bots = [Bot(b, http, url, limits, timeout) for b in telegram.bots]
            c = Courier(telegram, database, bots)
            c.outbox = Outbox(database)
            await nursery.start(c.run)
            yield c
            await c.stop(2.0)
            nursery.cancel_scope.cancel()
    finally:
        database.close()


def tell(c: Courier, *texts: str, kind: str = "trades") -> None:
    c.outbox.add_many([(kind, text, None) for text in texts])
    c.poke()


def shown(server, token: str, chat: int) -> list[str]:
    return [html_plain(m.text) for m in server.messages(token, chat)]


def table(path, sql: str) -> list[tuple]:
    database = Database(path)
    try:
        return database.db.execute(sql).fetchall()
    finally:
        database.close()


async def test_each_message_goes_to_the_chats_that_want_its_kind_through_their_bot(tmp_path):
    telegram = config(BotConfig(ONE, (ChatConfig(1), ChatConfig(-1002, frozenset({"errors"})))),
                      BotConfig(TWO, (ChatConfig(3, frozenset({"trades", "plugin"})),)))
    async with bot_api_server({ONE: "one", TWO: "two"}) as server, \
            courier(tmp_path / "db.sqlite", telegram, server.url) as c:
        tell(c, "opened buy 0.1 EURUSD <at> 1.1 & more")
        tell(c, "plugin risk: on_alert skipped: boom", kind="errors")
        tell(c, "reload of x.lua failed", kind="admin")
        await until(lambda: table(tmp_path / "db.sqlite", "SELECT count(sent_at) FROM telegram_deliveries") == [(5,)])
        # One more for each chat: the outbox is routed in order and a chat's messages go out
        # in order, so anything more of the first three would be out before these.
        tell(c, "last error", kind="errors")   # chats 1 and -1002
        tell(c, "last trade")                  # chats 1 and 3
        await until(lambda: table(tmp_path / "db.sqlite", "SELECT count(sent_at) FROM telegram_deliveries") == [(9,)])

        def told(token: str, chat: int) -> list[str]:  # several may share a message
            return notices(shown(server, token, chat))

        # chat 1 wants everything: the three, in order, each once
        assert told(ONE, 1) == ["opened buy 0.1 EURUSD <at> 1.1 & more", "plugin risk: on_alert skipped: boom",
                                "reload of x.lua failed", "last error", "last trade"]
        assert told(ONE, -1002) == ["plugin risk: on_alert skipped: boom", "last error"]
        assert told(TWO, 3) == ["opened buy 0.1 EURUSD <at> 1.1 & more", "last trade"]
        assert server.messages(TWO, 1) == [] and server.messages(ONE, 3) == []  # one chat, one bot
        assert all(m.parse_mode == "HTML" for m in server.sent)
    # the outbox is routed, and every delivery marked sent
    assert table(tmp_path / "db.sqlite", "SELECT count(*) FROM outbox WHERE sent_at IS NULL") == [(0,)]
    assert table(tmp_path / "db.sqlite", "SELECT count(*), count(sent_at) FROM telegram_deliveries") == [(9, 9)]


async def test_several_bots_and_chats_stay_within_every_limit(tmp_path):
    # Each message is too long to share a Telegram message with another, so each is a send.
    bots = [BotConfig(token, tuple(ChatConfig(c) for c in chats)) for token, chats in ((ONE, (1, 2, 3)),
                                                                                      (TWO, (4, -1005)))]
    big = "x" * 2500
    async with bot_api_server({ONE: "one", TWO: "two"}, per_second=30, chat_burst=5, chat_per_second=50,
                              group_per_minute=600) as server, \
            courier(tmp_path / "db.sqlite", config(*bots), server.url,
                    Limits(per_second=30, per_chat=40, chat_burst=2, group_per_minute=600)) as c:
        tell(c, *[f"{n} {big}" for n in range(40)])
        await until(lambda: len(server.sent) == 5 * 40)
        assert server.rate_limited(ONE) == server.rate_limited(TWO) == 0
        for token, chat in ((ONE, 1), (ONE, 2), (ONE, 3), (TWO, 4), (TWO, -1005)):
            assert [t.split()[0] for t in shown(server, token, chat)] == [str(n) for n in range(40)]  # in order, once
        # the overall rate of one bot: 120 messages at 30/s take at least (120 - 30) / 30 s
        at = [m.at for m in server.messages(ONE)]
        assert max(at) - min(at) >= (120 - 30) / 30 * 0.95


async def test_a_429_pauses_the_bot_for_retry_after_and_nothing_is_lost(tmp_path):
    # The stand-in is stricter than our limits: Telegram says no, the courier waits and goes on.
    async with bot_api_server({ONE: "one"}, per_second=4, chat_burst=100, chat_per_second=100) as server, \
            courier(tmp_path / "db.sqlite", config(BotConfig(ONE, (ChatConfig(1), ChatConfig(2)))), server.url,
                    Limits(per_second=100, per_chat=100, chat_burst=100)) as c:
        tell(c, *[f"{n} {'y' * 3000}" for n in range(8)])
        await until(lambda: len(server.sent) == 16)
        assert server.rate_limited(ONE) >= 1
        for chat in (1, 2):
            assert [t.split()[0] for t in shown(server, ONE, chat)] == [str(n) for n in range(8)]
        refused = [r.at for r in server.calls("sendMessage", ONE) if r.status == 429]
        after = [r.at for r in server.calls("sendMessage", ONE) if r.status == 200 and r.at > refused[0]]
        assert after and min(after) - refused[0] >= 0.95  # retry_after is at least 1 s


async def test_an_outage_then_delivery_once_and_what_piled_up_goes_together(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="moonhook.telegram")
    telegram = config(BotConfig(ONE, (ChatConfig(1),)))
    path = tmp_path / "db.sqlite"
    async with bot_api_server({ONE: "one"}) as server, courier(path, telegram, server.url) as c:
        tell(c, "before")
        # Stopped once the courier has the answer: stopped while the answer is on its way, the
        # message is rightly sent again with a note (test_a_lost_answer_is_sent_again_saying_so).
        await until(lambda: table(path, "SELECT count(sent_at) FROM telegram_deliveries") == [(1,)])
        server.stop()
        tell(c, *[f"during {n}" for n in range(6)])
        # the courier tries, fails to connect, backs off
        await until(lambda: any("chat 1 tries again" in r.getMessage() for r in caplog.records))
        await server.start()
        await until(lambda: len(server.sent) >= 2)
        tell(c, "after")  # out after anything more of the pile (a chat's messages go in order)
        await until(lambda: shown(server, ONE, 1)[-1:] == ["after"])
        texts = shown(server, ONE, 1)
        assert texts == ["before", "\n\n".join(f"during {n}" for n in range(6)), "after"]  # one message, in order
        assert not any(RESENT.strip() in t for t in texts)  # a refused connection sent nothing


async def test_messages_queued_while_down_are_sent_once_after_a_restart(tmp_path):
    telegram = config(BotConfig(ONE, (ChatConfig(1),)))
    path = tmp_path / "db.sqlite"
    async with bot_api_server({ONE: "one"}) as server:
        async with courier(path, telegram, server.url) as c:
            tell(c, "sent before the stop")
            # Stopped once the courier has Telegram's answer and marked the message sent: stopped
            # between the server's taking it and its answer's arrival, the answer would be lost
            # and the message rightly sent again, saying so (see test_a_lost_answer_is_sent_again_saying_so).
            await until(lambda: table(path, "SELECT count(sent_at) FROM telegram_deliveries") == [(1,)])
            assert len(server.sent) == 1
            server.stop()
            tell(c, "queued 1", "queued 2")
            await until(lambda: table(path, "SELECT count(*) FROM telegram_deliveries") == [(3,)])
        await server.start()
        async with courier(path, telegram, server.url) as c:  # the restart
            await until(lambda: len(server.sent) == 2)
            tell(c, "after the restart")  # out after anything sent again (a chat's messages go in order)
            await until(lambda: table(path, "SELECT count(*), count(sent_at) FROM telegram_deliveries") == [(4, 4)])
        assert shown(server, ONE, 1) == ["sent before the stop", "queued 1\n\nqueued 2", "after the restart"]
    assert table(path, "SELECT count(*) FROM telegram_deliveries WHERE sent_at IS NULL") == [(0,)]


async def test_a_chat_that_blocked_the_bot_is_given_up_and_the_others_go_on(tmp_path):
    telegram = config(BotConfig(ONE, (ChatConfig(1), ChatConfig(13))))
    async with bot_api_server({ONE: "one"}, blocked=(13,)) as server, \
            courier(tmp_path / "db.sqlite", telegram, server.url) as c:
        tell(c, "hello")
        await until(lambda: len(server.sent) == 1)
        await until(lambda: table(tmp_path / "db.sqlite", "SELECT count(failed_at) FROM telegram_deliveries") == [(1,)])
        tell(c, "again")
        # Each chat's lane goes at its own pace: chat 1's second message may be out before 13's is tried.
        await until(lambda: len(server.sent) == 2)
        await until(lambda: table(tmp_path / "db.sqlite", "SELECT count(failed_at) FROM telegram_deliveries") == [(2,)])
        assert len(server.calls("sendMessage", ONE)) == 4  # 13 tried once per message, never again
    (error,), = table(tmp_path / "db.sqlite", "SELECT last_error FROM telegram_deliveries WHERE chat = '13' LIMIT 1")
    assert "blocked" in error and "SECRET" not in error


async def test_a_lost_answer_is_sent_again_saying_so(tmp_path):
    telegram = config(BotConfig(ONE, (ChatConfig(1),)))
    async with bot_api_server({ONE: "one"}) as server, \
            courier(tmp_path / "db.sqlite", telegram, server.url, timeout=0.3) as c:
        server.hang()
        tell(c, "opened buy 1 EURUSD")
        # Its answer lost: the try counted (it was uncertain from the moment it left).
        await until(lambda: table(tmp_path / "db.sqlite", "SELECT uncertain, attempts FROM telegram_deliveries")
                    == [(1, 1)])
        server.release()
        await until(lambda: any(t.startswith(RESENT.strip()) for t in shown(server, ONE, 1)))
        assert shown(server, ONE, 1)[-1] == RESENT + "opened buy 1 EURUSD"


async def test_a_message_in_flight_at_a_stop_is_sent_again_after_it_saying_so(tmp_path):
    # The engine stopped (or was killed) while Telegram held the request: it may have arrived,
    # so the restart's send of it says so, as for a lost answer.
    telegram = config(BotConfig(ONE, (ChatConfig(1),)))
    path = tmp_path / "db.sqlite"
    async with bot_api_server({ONE: "one"}) as server:
        server.hang()
        async with courier(path, telegram, server.url) as c:
            tell(c, "opened buy 1 EURUSD")
            await until(lambda: len(server.calls("sendMessage", ONE)) == 1)
        async with courier(path, telegram, server.url):  # the restart
            await until(lambda: len(server.calls("sendMessage", ONE)) == 2)
            server.release()
            await until(lambda: table(path, "SELECT count(sent_at) FROM telegram_deliveries") == [(1,)])
        # Both held requests are answered at the release, in either order.
        assert sorted(shown(server, ONE, 1)) == sorted(["opened buy 1 EURUSD", RESENT + "opened buy 1 EURUSD"])


async def test_a_late_message_says_when_it_happened_dated_if_not_today_and_markdown_is_escaped(tmp_path):
    telegram = config(BotConfig(ONE, (ChatConfig(1),)), parse_mode="MarkdownV2")
    async with bot_api_server({ONE: "one"}) as server:
        database = Database(tmp_path / "db.sqlite")
        Outbox(database).add("trades", "closed 1.5 EURUSD (tp) -> +12.50!")
        database.db.execute("UPDATE outbox SET created_at = 0")  # 1970-01-01 00:00:00 UTC
        database.close()
        async with courier(tmp_path / "db.sqlite", telegram, server.url):
            await until(lambda: len(server.sent) == 1)
        (message,) = server.messages(ONE, 1)
        assert message.parse_mode == "MarkdownV2"
        assert markdown_v2_plain(message.text) == "(at 1970-01-01 00:00:00 UTC) closed 1.5 EURUSD (tp) -> +12.50!"


async def test_what_piled_up_is_joined_within_4096_utf16_units_and_nothing_is_refused(tmp_path, caplog):
    # Telegram counts its 4096 in UTF-16 code units: each emoji below is 2. Counted in
    # characters, the pile would be joined into one message Telegram refuses as too long.
    caplog.set_level(logging.WARNING, logger="moonhook.telegram")
    telegram = config(BotConfig(ONE, (ChatConfig(1),)))
    path = tmp_path / "db.sqlite"
    pile = [f"grid: level {i} filled " + "🟢" * 60 for i in range(40)]
    pile.insert(20, "closed sell 2.0 XAUUSD -1830.40 (sl)")
    async with bot_api_server({ONE: "one"}) as server, courier(path, telegram, server.url) as c:
        server.stop()  # an outage: the messages pile up
        tell(c, *pile, kind="plugin")
        await until(lambda: any("chat 1 tries again" in r.getMessage() for r in caplog.records))
        await server.start()
        await until(lambda: table(path, "SELECT count(sent_at), count(failed_at) FROM telegram_deliveries") == [(41, 0)])
        assert all(r.status == 200 for r in server.calls("sendMessage", ONE))  # none too long
        texts = shown(server, ONE, 1)
        assert 1 < len(texts) < 41 and "\n\n".join(texts) == "\n\n".join(pile)  # joined, in order, all there


async def test_a_joined_send_refused_for_good_goes_one_at_a_time_and_only_the_refused_one_fails(
        tmp_path, caplog, monkeypatch):
    # Telegram refuses one message for good (whatever its reason): joined with others, the
    # whole send is refused. Each then goes alone: only the refused one fails, not the trade.
    import support.botapi as botapi
    text = botapi.BotApiServer._text

    def refusing(params):
        if "REFUSED" in str(params.get("text")):
            raise botapi.ApiError(400, "Bad Request: can't parse entities: stand-in refusal")
        return text(params)

    monkeypatch.setattr(botapi.BotApiServer, "_text", staticmethod(refusing))
    caplog.set_level(logging.WARNING, logger="moonhook.telegram")
    telegram = config(BotConfig(ONE, (ChatConfig(1),)))
    path = tmp_path / "db.sqlite"
    async with bot_api_server({ONE: "one"}) as server, courier(path, telegram, server.url) as c:
        server.stop()
        tell(c, "grid level 1 filled", "REFUSED", "closed sell 2.0 XAUUSD -1830.40 (sl)")
        await until(lambda: any("chat 1 tries again" in r.getMessage() for r in caplog.records))
        await server.start()
        await until(lambda: table(path, "SELECT count(*) FROM telegram_deliveries "
                                        "WHERE sent_at IS NULL AND failed_at IS NULL") == [(0,)])
        tell(c, "after")
        await until(lambda: shown(server, ONE, 1)[-1:] == ["after"])
        assert shown(server, ONE, 1) == ["grid level 1 filled", "closed sell 2.0 XAUUSD -1830.40 (sl)", "after"]
    assert table(path, "SELECT text FROM telegram_deliveries WHERE failed_at IS NOT NULL") == [("REFUSED",)]


async def test_a_group_upgraded_to_a_supergroup_gets_its_messages_at_the_new_id(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="moonhook.telegram")
    old, new = -4001, -1001000004001
    telegram = config(BotConfig(ONE, (ChatConfig(old),)))
    path = tmp_path / "db.sqlite"
    async with bot_api_server({ONE: "one"}, migrated={old: new}) as server, courier(path, telegram, server.url) as c:
        tell(c, "opened buy 1.0 XAUUSD at 2350.1")
        await until(lambda: table(path, "SELECT count(sent_at) FROM telegram_deliveries") == [(1,)])
        tell(c, "closed XAUUSD -1200.00")
        await until(lambda: table(path, "SELECT count(sent_at) FROM telegram_deliveries") == [(2,)])
        assert shown(server, ONE, new) == ["opened buy 1.0 XAUUSD at 2350.1", "closed XAUUSD -1200.00"]
        assert len(server.calls("sendMessage", ONE)) == 3  # the old id tried once, for the rest of the run
    assert table(path, "SELECT count(failed_at) FROM telegram_deliveries") == [(0,)]
    told = [r for r in caplog.records if r.levelno == logging.ERROR and "supergroup" in r.getMessage()]
    assert len(told) == 1 and str(new) in told[0].getMessage() and "moonhook.toml" in told[0].getMessage()


async def test_a_message_in_parts_stopped_between_them_is_sent_again_saying_so(tmp_path):
    telegram = config(BotConfig(ONE, (ChatConfig(1),)))  # HTML: each "<" escaped to "&lt;"
    path = tmp_path / "db.sqlite"
    text = "daily report: " + " ".join(f"<{i}>" for i in range(900))  # several Telegram messages
    slow = Limits(per_second=30, per_chat=0.01, chat_burst=1)          # part 2 waits 100 s: stopped before
    async with bot_api_server({ONE: "one"}) as server:
        async with courier(path, telegram, server.url, slow) as c:
            tell(c, text, kind="plugin")
            await until(lambda: len(server.sent) == 1)
        assert table(path, "SELECT sent_at, failed_at, uncertain FROM telegram_deliveries") == [(None, None, 1)]
        async with courier(path, telegram, server.url) as c:  # the restart
            await until(lambda: table(path, "SELECT count(sent_at) FROM telegram_deliveries") == [(1,)])
        first, *again = shown(server, ONE, 1)
        assert first.startswith("daily report: <0>") and len(again) > 1
        assert again[0].startswith(RESENT + "daily report: <0>")
        assert "".join(again) == RESENT + text


def test_the_deliveries_due_are_counted_in_their_index_not_among_all_ever_made(tmp_path):
    # Counted at every scrape of /metrics; a year of messages to several chats is many rows.
    database = Database(tmp_path / "db.sqlite")
    Outbox(database).add_many([("trades", f"m{n}", None) for n in range(3)])
    deliveries = Deliveries(database)
    (sent, failed, due), _ = deliveries.route(lambda kind: [("1", "10")])
    deliveries.mark_sent([sent.id])
    deliveries.mark_failed([failed.id], "blocked")
    statements: list[str] = []
    database.db.conn.set_trace_callback(statements.append)
    assert deliveries.due_count() == 1
    database.db.conn.set_trace_callback(None)
    (plan,) = [row[-1] for sql in statements for row in database.db.execute(f"EXPLAIN QUERY PLAN {sql}")]
    assert plan == "SCAN telegram_deliveries USING INDEX telegram_deliveries_due"
    database.close()


async def test_a_chat_refusing_every_message_is_logged_once_and_counted_for_health_across_a_restart(
        tmp_path, caplog):
    # A chat id that is wrong refuses every message: one line in the log, with the reason, not
    # one a message; the count and the reason are kept for /health, a restart included.
    caplog.set_level(logging.WARNING, logger="moonhook.telegram")
    telegram = config(BotConfig(ONE, (ChatConfig(1), ChatConfig(13))))
    path = tmp_path / "db.sqlite"
    failed = "SELECT count(failed_at) FROM telegram_deliveries"
    async with bot_api_server({ONE: "one"}, blocked=(13,)) as server, courier(path, telegram, server.url) as c:
        for n, text in enumerate(("one", "two", "three"), 1):
            tell(c, text)   # one at a time: never joined, each refused on its own
            await until(lambda: table(path, failed) == [(n,)])
        (row,) = c.refusals.view()
        blocked = "sendMessage: Forbidden: bot was blocked by the user"
        assert (row["chat"], row["messages"], row["error"]) == ("13", 3, blocked)
    lines = [r.getMessage() for r in caplog.records if "13" in r.getMessage()]
    assert len(lines) == 1 and "blocked by the user" in lines[0] and "SECRET" not in lines[0], lines
    async with bot_api_server({ONE: "one"}, blocked=(13,)) as server, courier(path, telegram, server.url) as c:
        assert [(r["chat"], r["messages"]) for r in c.refusals.view()] == [("13", 3)]


def test_the_refused_deliveries_are_read_in_their_index_not_among_all_ever_made(tmp_path):
    # Read at each start of the courier, for /health (migration 23).
    database = Database(tmp_path / "db.sqlite")
    Outbox(database).add_many([("trades", f"m{n}", None) for n in range(3)])
    deliveries = Deliveries(database)
    (sent, first, last), _ = deliveries.route(lambda kind: [("1", "10")])
    deliveries.mark_sent([sent.id])
    deliveries.mark_failed([first.id], "sendMessage: Bad Request: chat not found")
    blocked = "sendMessage: Forbidden: bot was blocked by the user"
    deliveries.mark_failed([last.id], blocked)
    statements: list[str] = []
    database.db.conn.set_trace_callback(statements.append)
    (row,) = deliveries.refused(0.0)
    database.db.conn.set_trace_callback(None)
    assert (row["chat"], row["messages"], row["error"]) == ("10", 2, blocked)
    plans = [r[-1] for sql in statements for r in database.db.execute(f"EXPLAIN QUERY PLAN {sql}")]
    assert any("USING INDEX telegram_deliveries_failed" in p for p in plans), plans
    database.close()


async def test_what_is_written_as_the_engine_stops_is_sent_before_the_stop_returns(tmp_path):
    # The engine's stop finishes the alerts in flight and writes their fills to the outbox, then
    # stops the courier: those fills go out then, not at the next start, hours later perhaps.
    telegram = config(BotConfig(ONE, (ChatConfig(1), ChatConfig(2))))
    path = tmp_path / "db.sqlite"
    async with bot_api_server({ONE: "one"}) as server:
        async with courier(path, telegram, server.url) as c:
            tell(c, "opened buy 1 EURUSD (as the stop drained it)")
            await c.stop(10.0)
            said = ["opened buy 1 EURUSD (as the stop drained it)"]
            assert [shown(server, ONE, chat) for chat in (1, 2)] == [said, said]
        assert table(path, "SELECT count(sent_at) FROM telegram_deliveries") == [(2,)]


async def test_a_stop_in_an_outage_keeps_what_is_due_for_the_next_start(tmp_path):
    telegram = config(BotConfig(ONE, (ChatConfig(1),)))
    path = tmp_path / "db.sqlite"
    async with bot_api_server({ONE: "one"}) as server:
        server.stop()
        async with courier(path, telegram, server.url) as c:
            tell(c, "opened buy 1 EURUSD")
            await c.stop(0.5)   # gives up sending after that
        await server.start()
        async with courier(path, telegram, server.url):
            await until(lambda: shown(server, ONE, 1) == ["opened buy 1 EURUSD"])


async def test_health_shows_a_bot_whose_sends_fail_since_when_and_what_waits_until_telegram_answers(tmp_path):
    async with bot_api_server({ONE: "one"}) as server:
        async with courier(tmp_path / "db.sqlite", config(BotConfig(ONE, (ChatConfig(1),))), server.url) as c:
            assert c.health() == {"telegram_refused": [], "telegram_unreachable": []}
            server.stop()
            before = time.time()
            tell(c, "fill one", "fill two")
            await until(lambda: c.health()["telegram_unreachable"])
            (down,) = c.health()["telegram_unreachable"]
            assert (down["bot"], down["messages"]) == ("111", 2) and before <= down["since"] <= time.time(), down
            assert down["error"].startswith("sendMessage: Telegram unreachable (ConnectError"), down
            await server.start()
            await until(lambda: c.health()["telegram_unreachable"] == [])
            await until(lambda: notices(shown(server, ONE, 1)) == ["fill one", "fill two"])

            server.flood(3600, retry_after=1)      # a 429 is Telegram answering: not an outage
            tell(c, "fill three")
            await until(lambda: server.rate_limited(ONE) >= 2)
            assert c.health()["telegram_unreachable"] == []
            server.recover()
