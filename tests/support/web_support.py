"""Helpers for web tests: the real Hypercorn server on 127.0.0.1 port 0, a real httpx client."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator

import httpx
import trio

from engine.app import Operations
from engine.domain.config import ServerConfig
from engine.interfaces.web import create_app, serve

from support.e2e_support import IDLE_CONNECTIONS
from support.engine_support import HUBS
from support.waits import HANG

SECRET = "s3cr3t-webhook-Ω"
TOKEN = "api-token-123"
SERVER = ServerConfig(host="127.0.0.1", port=0, secret=SECRET, api_token=TOKEN, max_body=4096)
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BUY = '{"symbol": "EURUSD", "action": "buy", "volume": 0.1, "price": 1.1}'


@asynccontextmanager
async def serving(engine, server: ServerConfig = SERVER, sessions=None) -> AsyncIterator[httpx.AsyncClient]:
    """Serves ``engine`` with ``server`` (and its Telegram hub's routes, as `moonhook run`
    does) and yields a client whose base URL is the server. ``sessions``: the dashboard's
    session store to use (a test's, with its own clock)."""
    shutdown = trio.Event()
    hub = HUBS.get(engine)
    app = create_app(Operations(engine), server, hub.routes() if hub else (), sessions=sessions)
    async with trio.open_nursery() as nursery:
        port = await nursery.start(serve, app, server, shutdown)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=HANG,
                                         limits=IDLE_CONNECTIONS) as client:
                yield client
        finally:
            shutdown.set()


def with_secret(body: str, secret: str = SECRET) -> str:
    """A JSON object body with a ``secret`` field added."""
    return body.rstrip()[:-1].rstrip() + f', "secret": "{secret}"}}'
