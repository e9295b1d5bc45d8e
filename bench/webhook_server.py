"""A server process for the webhook benchmark: ``bare`` (a quart-trio endpoint that answers
``{"ok": true}``, the yardstick) or ``moonhook`` (the engine with 10 plugins behind its
webhook). Both are served by ``engine.web.serve``. Prints the port, serves until SIGTERM."""

from __future__ import annotations

import logging
import signal
import sys
import tempfile
from contextlib import AsyncExitStack
from functools import partial
from pathlib import Path

import trio
from quart_trio import QuartTrio

from engine.config import EngineConfig, ServerConfig
from engine.pipeline import open_engine
from engine.web import create_app, serve

from .engine_bench import _write_plugins

SECRET = "bench-secret"
TOKEN = "bench-token"


def bare_app() -> QuartTrio:
    app = QuartTrio("bare")

    @app.post("/webhook/<secret>")
    async def webhook(secret: str):
        return {"ok": True}

    return app


async def main(mode: str) -> None:
    server = ServerConfig(host="127.0.0.1", port=0, secret=SECRET, api_token=TOKEN)
    shutdown = trio.Event()
    with tempfile.TemporaryDirectory() as tmp, trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async with AsyncExitStack() as stack:
            if mode == "bare":
                app = bare_app()
            else:
                scripts = Path(tmp) / "scripts"
                _write_plugins(scripts, 10, 10)
                engine = await stack.enter_async_context(
                    open_engine(EngineConfig(scripts=scripts, data=Path(tmp) / "data")))
                app = create_app(engine, server)
            nursery = await stack.enter_async_context(trio.open_nursery())
            port = await nursery.start(partial(serve, app, server, shutdown=shutdown))
            print(port, flush=True)
            async for _ in signals:
                shutdown.set()
                break


if __name__ == "__main__":
    logging.disable(logging.INFO)  # one line per alert would measure the terminal
    trio.run(main, sys.argv[1])
