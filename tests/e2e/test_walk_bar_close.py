"""A busy bar's close, everything at once, as a trader's setup lives it: `moonhook run` on the paper
broker with the ten example strategies and three scripts of one's own placing orders from their
hooks, the account's limits set, a shadow folder and Telegram (failing, then hanging, for part of
the run); a burst of alerts on ten symbols over many connections while the dashboard's API is
read, a script and moonhook.toml are saved, the engine is paused and resumed with the missed
alerts, and killed (SIGKILL) mid-burst and started again. Then the journal, the order ledger, the
paper books and the Telegram deliveries are read back for what must hold whatever the timing
(support/bar_close_checks.py)."""

from __future__ import annotations

import os
import signal

import httpx
import trio

from support.bar_close import LIMITS, SETTINGS, TIGHTER, WIDE, body, burst, post, scripts
from support.bar_close_checks import FINAL, Books, check_all
from support.botapi_thread import telegram_table, threaded_bot_api
from support.e2e_support import IDLE_CONNECTIONS, init, until

TOKEN = "5150:walk-bot-SECRET-part"
ADMIN = 4242
FIRST, SECOND = 260, 160   # alerts before the kill, and after the restart
AT_ONCE = 40               # connections open at once
PLUGINS = 14               # the ten examples, three of one's own, and init's demo


def _setup(user, api):
    config, _ = init(user, "bot")
    scripts(user.home / "bot")
    engine, rest = SETTINGS.split("[plugins", 1)
    config.replace('trading_day = "UTC"', 'trading_day = "UTC"' + engine.rstrip())
    config.replace("# spreads = { EURUSD = 8 }", WIDE)
    config.append(f"[plugins{rest}\n[shadow]\nscripts = \"scripts-next\"\n"
                  + telegram_table(api.url, TOKEN, ADMIN, more='throttle_seconds = 1\n'))
    return config


async def _first_half(run, config, api, alerts, answers) -> None:
    """The first alerts while Telegram fails then hangs, a script and moonhook.toml are saved, and
    the engine is paused and resumed with the missed alerts; SIGKILLed with alerts in flight."""
    secret, home = config.values["server"]["secret"], config.path.parent
    limiter, killed = trio.CapacityLimiter(AT_ONCE), trio.Event()
    answered = 0

    async def one(n: int) -> None:
        nonlocal answered
        async with limiter:
            if not killed.is_set():
                answers[n] = await post(run.port, body(alerts[n], secret))
                answered += 1

    async def after(count: int) -> None:  # once that many alerts were answered (or cut off)
        while answered < count:
            await trio.sleep(0.01)

    async def api_call(path: str, **kw) -> None:
        answer = await trio.to_thread.run_sync(lambda: run.client.post(path, **kw))
        assert answer.status_code == 200, (path, answer.status_code, answer.text)

    async def telegram(switch, *args) -> None:
        await trio.to_thread.run_sync(api.call, switch, *args)

    async def meanwhile() -> None:
        await telegram(api.server.fail, 500)
        await after(50)
        saved = home / "scripts" / "ontimer.lua"
        saved.write_text(saved.read_text().replace("twelve in all", "twelve in all, saved"))
        await after(90)
        text = config.path.read_text()  # both limits in one save
        for key, was, now in zip(("max_open_positions", "max_entries_per_hour"), LIMITS, TIGHTER):
            text = text.replace(f"\n{key} = {was}\n", f"\n{key} = {now}\n")
        config.path.write_text(text)
        await after(110)
        await telegram(api.server.recover)
        await after(130)
        await api_call("/api/pause")
        await after(170)
        await api_call("/api/resume", json={"execute_missed": True})
        await after(190)
        await telegram(api.server.hang)   # released after the restart: the sends held meanwhile arrive then
        await after(230)
        os.killpg(run.process.pid, signal.SIGKILL)
        killed.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(meanwhile)
        for n in range(len(alerts)):
            nursery.start_soon(one, n)


async def _second_half(run, config, alerts, answers, start: int) -> None:
    """The rest of the alerts, the dashboard's API read all along."""
    secret = config.values["server"]["secret"]
    limiter, over = trio.CapacityLimiter(AT_ONCE), trio.Event()

    async def one(n: int) -> None:
        async with limiter:
            answers[n] = await post(run.port, body(alerts[n], secret))

    async def dashboard() -> None:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{run.port}", headers=run.client.headers,
                                     timeout=20, limits=IDLE_CONNECTIONS) as client:
            while not over.is_set():
                for path in ("/api/overview", "/api/trades", "/api/alerts?plugin=onfill", "/api/alerts?plugin=demo"):
                    answer = await client.get(path)
                    assert answer.status_code == 200, (path, answer.status_code, answer.text)

    async with trio.open_nursery() as outer:
        outer.start_soon(dashboard)
        async with trio.open_nursery() as nursery:
            for n in range(start, len(alerts)):
                nursery.start_soon(one, n)
        over.set()


def test_a_busy_bar_close_keeps_every_invariant(user):
    with threaded_bot_api({TOKEN: "moonhook_bot"}) as api:
        config = _setup(user, api)
        run = user.start("run", config=config, cwd="bot")
        until(lambda: run.get("/api/plugins")["plugins"], lambda ps: len(ps) == PLUGINS
              and all(p["state"] == "active" for p in ps), "every plugin loaded")
        alerts, answers = burst(7, FIRST + SECOND), {}
        trio.run(_first_half, run, config, api, alerts[:FIRST], answers)
        run.process.wait(timeout=30)
        run = user.start("run", config=config, cwd="bot")
        trio.run(_second_half, run, config, alerts, answers, FIRST)
        api.call(api.server.release)
        # An answer the kill cut after its head (200 sent, not its body) is looked up by the alert's id.
        accepted = {a["id"] for status, a in answers.values() if status == 200 and "id" in a}
        until(lambda: {r["id"]: r["status"] for r in run.get("/api/alerts?limit=500")["alerts"]},
              lambda s: all(s.get(i) in FINAL for i in accepted), "every accepted alert processed")
        books = Books(config.path.parent / "data")
        until(books.undelivered, lambda n: n == 0, "every Telegram message delivered")
        assert run.interrupt() == 0
        books = Books(config.path.parent / "data")
        (saved,) = books.rows("SELECT created_at FROM outbox WHERE text LIKE 'moonhook.toml saved; in force now: %'")
        messages = api.call(lambda: [m.text for m in api.server.messages(TOKEN, ADMIN)])
    check_all(books, answers, alerts, [r.text() for r in user.runs], messages, saved[0], LIMITS, TIGHTER)
