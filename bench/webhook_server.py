"""A server process for the webhook benchmarks: ``bare`` (a quart-trio endpoint that answers
``{"ok": true}``, the yardstick), ``raw`` (a plain ASGI endpoint ahead of Quart that reads the
body and answers ``{"ok":true}`` at once: the HTTP server's own floor), ``moonhook`` (the
engine with 10 plugins behind its webhook), ``plugins:N:C`` (N plugins, C of them concerned
with EURUSD), ``paused`` (10 plugins, the engine paused: each alert journaled and answered
``accepted``, not processed) or ``dashboard:N`` (``moonhook`` with N alerts already in its
journal, for the dashboard's bench). All are served by ``engine.web.serve``. Prints the port, serves
until SIGTERM.

The engine's servers also answer ``GET /bench/fills``: for each alert id, ``time.monotonic()``
when the paper broker returned its first executed order. The monotonic clock is the
system's, so the load generator, in another process, times each alert from its POST.
``GET /bench/calls``: for each alert id, ``[receipt, call]``: when the server's application
was handed the webhook's request (Hypercorn has read its head; stamped by an ASGI wrapper
around the app, keyed by the id in its answer) and when the broker's ``execute`` was entered
for its first order. ``GET /bench/refused``: how many connections the connection cap closed at
their accept (engine/interfaces/web/capacity.py's warning, counted here and not printed)."""

from __future__ import annotations

import json
import logging
import signal
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from functools import partial
from pathlib import Path

import trio

from engine.domain.alerts import parse_body
from engine.domain.config import EngineConfig, ServerConfig
from engine.app import Operations, open_engine
from engine.interfaces.web import App, create_app, serve

from .engine_bench import BENCH_PAPER, _write_plugins, alert_body

SECRET = "bench-secret-0123456789"
TOKEN = "bench-token-0123456789"


def bare_app() -> App:
    """The yardstick: one route on moonhook's Quart app class (QuartTrio with its responses
    shielded, engine/web/connection.py), nothing behind it."""
    app = App("bare")

    @app.post("/webhook/<secret>")
    async def webhook(secret: str):
        return {"ok": True}

    return app


def raw_app() -> App:
    """The HTTP server's floor: a plain ASGI endpoint on ``/webhook/...`` ahead of Quart (its
    middleware point, as the engine's own webhook is), that reads the request's body and
    answers ``{"ok":true}`` at once; anything else (the lifespan) goes to the Quart app."""
    app = App("raw")
    inner = app.asgi_app
    headers = [(b"content-type", b"application/json"), (b"content-length", b"11")]

    async def raw(scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith("/webhook"):
            return await inner(scope, receive, send)
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b'{"ok":true}'})
    app.asgi_app = raw
    return app


def _stamp_receipts(app: App) -> dict[int, float]:
    """Wraps the app's ASGI callable (Quart's middleware point, outside the webhook's): the
    time each webhook request reached it, keyed by the alert id of its 200 answer."""
    receipts: dict[int, float] = {}
    inner = app.asgi_app

    async def stamped(scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith("/webhook"):
            return await inner(scope, receive, send)
        received = time.monotonic()
        status = 0

        async def watch(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and status == 200:
                alert_id = json.loads(message.get("body", b"") or b"{}").get("id")
                if isinstance(alert_id, int):
                    receipts[alert_id] = received
            await send(message)
        await inner(scope, receive, watch)
    app.asgi_app = stamped
    return receipts


def _stamp_fills(app: App, engine) -> None:
    fills: dict[int, float] = {}
    calls: dict[int, float] = {}
    receipts = _stamp_receipts(app)
    execute = engine.broker.execute

    async def stamped(request):
        if request.alert_id is not None and request.alert_id not in calls:
            calls[request.alert_id] = time.monotonic()
        result = await execute(request)
        if result.ok and request.alert_id is not None:
            fills.setdefault(request.alert_id, time.monotonic())
        return result
    engine.broker.execute = stamped

    @app.get("/bench/fills")
    async def get_fills():
        return {str(k): v for k, v in fills.items()}

    @app.get("/bench/calls")
    async def get_calls():
        return {str(k): [receipts[k], v] for k, v in calls.items() if k in receipts}


class _Refusals(logging.Filter):
    """Counts the connection cap's refusals (one warning each), and keeps them off stderr."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.getMessage().startswith("connection refused"):
            self.count += 1
            return False
        return True


def _count_refusals(app: App) -> None:
    refusals = _Refusals()
    logging.getLogger("moonhook.web").addFilter(refusals)

    @app.get("/bench/refused")
    async def get_refused():
        return {"refused": refusals.count}


def _prefill(engine, count: int) -> None:
    """``count`` alerts journaled as done, one a second up to now, in one transaction."""
    now = time.time()
    with engine.journal.transaction() as db:
        for n in range(count):
            alert = parse_body(alert_body(n, "history-"), engine.symbols)
            engine.journal.insert(db, alert, now=now - (count - n), status="done")


async def main(mode: str) -> None:
    server = ServerConfig(host="127.0.0.1", port=0, secret=SECRET, api_token=TOKEN)
    shutdown = trio.Event()
    with tempfile.TemporaryDirectory() as tmp, trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async with AsyncExitStack() as stack:
            if mode == "bare":
                app = bare_app()
            elif mode == "raw":
                app = raw_app()
            else:
                total, concerned = ((10, 10) if mode in ("moonhook", "paused") or mode.startswith("dashboard:")
                                    else map(int, mode.split(":")[1:]))
                scripts = Path(tmp) / "scripts"
                _write_plugins(scripts, total, concerned)
                engine = await stack.enter_async_context(
                    open_engine(EngineConfig(scripts=scripts, data=Path(tmp) / "data", dedup_window=0,
                                             paper=BENCH_PAPER)))
                if mode.startswith("dashboard:"):
                    _prefill(engine, int(mode.split(":")[1]))
                if mode == "paused":
                    quiet = logging.root.manager.disable  # the pause's warning is expected here
                    logging.disable(logging.WARNING)
                    try:
                        engine.pause(by="bench", reason="the webhook and journal alone")
                    finally:
                        logging.disable(quiet)
                app = create_app(Operations(engine), server)
                _stamp_fills(app, engine)
                _count_refusals(app)
            nursery = await stack.enter_async_context(trio.open_nursery())
            port = await nursery.start(partial(serve, app, server, shutdown=shutdown))
            print(port, flush=True)
            async for _ in signals:
                shutdown.set()
                break


if __name__ == "__main__":
    logging.disable(logging.INFO)  # one line per alert would measure the terminal
    trio.run(main, sys.argv[1])
