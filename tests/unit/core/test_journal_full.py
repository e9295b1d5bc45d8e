"""A journal that cannot write (here SQLite's own SQLITE_FULL, by capping the journal
connection's pages: what a full disk gives): webhooks answer 500 and acknowledge nothing,
/health says degraded, the log tells once, and a script's store.set fails instead of
keeping an effect the journal never recorded."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import trio

from engine.adapters.storage import AlertJournal, Database
from engine.domain.config.telegram import BotConfig, ChatConfig, TelegramConfig

from support.botapi import bot_api_server, html_plain
from support.engine_support import running
from support.waits import HANG
from support.web_support import AUTH, SECRET, SERVER, serving

BIG = "x" * 30_000  # needs new pages: refused once the journal may not grow
ROOMY = replace(SERVER, max_body=65536)


def cap_journal(engine, pages: int | None) -> None:
    """Caps the journal's file at ``pages`` (SQLite keeps it at least its current size; None: at its
    current size)."""
    with engine.journal.transaction() as db:
        current = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {current if pages is None else pages}")


def alert(n: int, note: str = "") -> bytes:
    return json.dumps({"symbol": "EURUSD", "action": "buy", "volume": 0.1, "price": 1.1, "id": f"a{n}",
                       "note": note}).encode()


async def test_a_full_journal_answers_500_degrades_health_and_is_told_once(tmp_path, caplog):
    async with running(tmp_path) as engine, serving(engine, ROOMY) as client:
        cap_journal(engine, 1)
        with trio.fail_after(HANG):  # bounds a hang: a write that failed this way once stopped the writer
            failed = [await client.post(f"/webhook/{SECRET}", content=alert(n, BIG)) for n in range(3)]
        health = (await client.get("/health", headers=AUTH)).json()
        anonymous = (await client.get("/health")).json()
        told = [r.getMessage() for r in caplog.records if "the journal cannot write" in r.getMessage()]
        cap_journal(engine, 1_000_000)
        again = await client.post(f"/webhook/{SECRET}", content=alert(9, BIG))
        healthy = (await client.get("/health", headers=AUTH)).json()
        rows = engine.journal.recent(10)
    assert [r.status_code for r in failed] == [500, 500, 500]
    assert health["status"] == "degraded" and "full" in health["journal"], health
    assert anonymous == {"status": "degraded"}
    assert len(told) == 1  # once, not per alert
    assert again.status_code == 200 and healthy["journal"] == "ok" and healthy["status"] == "ok"
    assert [r["alert"]["id"] for r in rows] == ["a9"]  # nothing acknowledged was lost, nothing half-kept


async def test_store_set_returns_once_durable_and_keeps_nothing_when_the_journal_cannot_write(tmp_path):
    script = """
    plugin = {name = "keeper", symbols = "*"}
    function on_alert(a)
      local ok, err = pcall(store.set, "big", string.rep("x", 30000))
      store.set("outcome", ok and "kept" or tostring(err))
      return false, "no orders"
    end
    """
    async with running(tmp_path, {"keeper": script}) as engine, serving(engine) as client:
        cap_journal(engine, None)
        accepted = (await client.post(f"/webhook/{SECRET}", content=alert(1))).json()
        with trio.fail_after(HANG):
            await engine.drain()
        outcome = engine.store.get("keeper", "outcome")
        big = engine.store.get("keeper", "big")
    assert accepted["status"] == "accepted"
    assert big is None
    assert outcome.startswith("store.set: ") and "full" in outcome, outcome


@pytest.mark.parametrize("parse_mode", ["HTML", "MarkdownV2"])
async def test_the_administrators_are_told_on_telegram_without_the_outbox(tmp_path, parse_mode):
    """The outbox lives in the journal's file, so the alarm goes to Telegram directly: once, to
    the chats that want admin events, not to the others; as written, whatever the chats' parse
    mode (the alarm goes as a command's answer, in HTML: MarkdownV2's escapes showed as typed)."""
    token, admin, watcher = "5150:journal-bot-SECRET", 42, 43
    chats = (ChatConfig(admin), ChatConfig(watcher, frozenset({"trades"})))
    config = TelegramConfig(bots=(BotConfig(token, chats),), admins=(admin,), parse_mode=parse_mode)
    async with bot_api_server({token: "moonhook_bot"}) as server, \
            running(tmp_path, telegram=replace(config, api_url=server.url)) as engine, \
            serving(engine, ROOMY) as client:
        cap_journal(engine, 1)
        with trio.fail_after(HANG):  # bounds a hang only
            for n in range(3):
                assert (await client.post(f"/webhook/{SECRET}", content=alert(n, BIG))).status_code == 500
            while not server.messages(token, admin):
                await trio.sleep(0.02)
        told = [html_plain(m.text) for m in server.messages(token, admin)]
        await engine.drain()
        cap_journal(engine, 1_000_000)
    assert len(told) == 1 and "the journal cannot write (" in told[0] and "full" in told[0] and "\\" not in told[0]
    assert server.messages(token, watcher) == []


async def test_a_journal_file_deleted_under_the_engine_is_written_back_and_acknowledges_nothing_more(tmp_path):
    """SQLite does not tell, in WAL mode, that its file was deleted: every commit went on into
    the deleted file, answered 200 and lost for good at the stop."""
    data = tmp_path / "data"
    async with running(tmp_path) as engine, serving(engine) as client:
        first = await client.post(f"/webhook/{SECRET}", content=alert(1))
        await engine.drain()
        for name in ("moonhook.db", "moonhook.db-wal", "moonhook.db-shm"):
            (data / name).unlink()
        with trio.fail_after(HANG):  # bounds a hang only
            refused = await client.post(f"/webhook/{SECRET}", content=alert(2))
        health = (await client.get("/health", headers=AUTH)).json()
    assert first.status_code == 200 and refused.status_code == 500
    assert health["status"] == "degraded" and "deleted" in health["journal"], health
    journal = AlertJournal(Database(data / "moonhook.db"))  # the file written back, read after the stop
    assert [(r["alert"]["id"], r["status"]) for r in journal.recent(10)] == [("a1", "done")]
