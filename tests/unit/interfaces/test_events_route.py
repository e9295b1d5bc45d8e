"""``GET /api/events`` over real HTTP (docs/dashboard.md, "Events"): a real engine's events as
Server-Sent Events, the keepalive comment, the stream outliving Quart's response timeout, and a
client that goes away ending its subscription. Every wait is for a line or a condition;
HANG only bounds a hang."""

from __future__ import annotations

import json
from contextlib import asynccontextmanager

import httpx
import trio

from engine.app import Operations
from engine.interfaces.web import create_app, events, serve

from support.engine_support import running
from support.web_support import AUTH, BUY, SECRET, SERVER, TOKEN

HANG = 10.0


@asynccontextmanager
async def serving(engine, response_timeout: float | None = None):
    """The engine's app on Hypercorn, port 0, with a client; Quart's RESPONSE_TIMEOUT shortened
    when given."""
    shutdown = trio.Event()
    app = create_app(Operations(engine), SERVER)
    if response_timeout is not None:
        app.config["RESPONSE_TIMEOUT"] = response_timeout
    async with trio.open_nursery() as nursery:
        port = await nursery.start(serve, app, SERVER, shutdown)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=HANG) as client:
                yield client
        finally:
            shutdown.set()


class Lines:
    """The stream's lines, read one at a time."""

    def __init__(self, answer: httpx.Response):
        self._lines = answer.aiter_lines()

    async def next(self) -> str:
        with trio.fail_after(HANG):
            return await self._lines.__anext__()

    async def until(self, wanted: str) -> list[str]:
        """The lines up to and including ``wanted``."""
        seen = []
        while not seen or seen[-1] != wanted:
            seen.append(await self.next())
        return seen

    async def event(self, kind: str) -> tuple[str, dict]:
        """The id line and the data of the next event of ``kind``."""
        while True:
            line = await self.next()
            if line.startswith("id: "):
                data = await self.next()
                assert data.startswith("data: "), data
                event = json.loads(data[len("data: "):])
                if event["kind"] == kind:
                    return line, event


async def until(condition, what: str) -> None:
    with trio.fail_after(HANG):
        while not condition():
            await trio.sleep(0.01)
    assert condition(), what


async def test_an_alert_posted_to_the_webhook_shows_up_on_the_stream(tmp_path):
    async with running(tmp_path) as engine, serving(engine) as client:
        async with client.stream("GET", "/api/events", headers=AUTH) as answer:
            lines = Lines(answer)
            assert await lines.next() == ": subscribed"  # from here on, nothing is missed
            posted = await client.post(f"/webhook/{SECRET}", content=BUY)
            id_line, received = await lines.event("alert.received")
            _, finished = await lines.event("alert.finished")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/event-stream"
    assert answer.headers["cache-control"] == "no-cache"
    assert received["id"] == posted.json()["id"] and received["symbol"] == "EURUSD"
    assert id_line == f"id: {received['seq']}"
    assert finished["id"] == received["id"] and finished["seq"] > received["seq"]


async def test_quiet_streams_get_a_keepalive_and_outlive_the_response_timeout(tmp_path, monkeypatch):
    monkeypatch.setattr(events, "KEEPALIVE", 0.05)
    # Quart ends an answer after RESPONSE_TIMEOUT (60 s by default): shortened here to less than
    # the keepalives read below, the stream must not be cut by it.
    async with running(tmp_path) as engine, serving(engine, response_timeout=0.05) as client:
        async with client.stream("GET", "/api/events", headers=AUTH) as answer:
            lines = Lines(answer)
            assert await lines.next() == ": subscribed"
            for _ in range(4):
                assert await lines.until(": keepalive")
            await client.post(f"/webhook/{SECRET}", content=BUY)
            _, received = await lines.event("alert.received")
    assert received["symbol"] == "EURUSD"


async def test_a_client_that_goes_away_ends_its_subscription(tmp_path):
    async with running(tmp_path) as engine, serving(engine) as client:
        for _ in range(3):
            async with client.stream("GET", "/api/events", headers=AUTH) as answer:
                assert await Lines(answer).next() == ": subscribed"
                assert engine.events.subscribers == 1
            # Closing the stream closes its connection (httpx does not reuse an unread one).
            await until(lambda: engine.events.subscribers == 0, "the subscription ended")


async def test_the_stream_takes_the_token_or_the_session_and_nothing_else(tmp_path):
    async with running(tmp_path) as engine, serving(engine) as client:
        anonymous = await client.get("/api/events")
        login = await client.post("/login", json={"token": TOKEN})
        assert login.status_code == 204  # the client keeps the cookie from here
        async with client.stream("GET", "/api/events") as answer:
            first = await Lines(answer).next()
    assert anonymous.status_code == 401 and engine.events.subscribers == 0
    assert answer.status_code == 200 and first == ": subscribed"
