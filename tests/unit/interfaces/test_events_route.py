"""``GET /api/events`` over real HTTP (docs/dashboard.md, "Events"): a real engine's events as
Server-Sent Events, the keepalive comment, the stream outliving Quart's response timeout and
Hypercorn's read timeout (while a silent stranger's connection is still dropped), a client that
goes away ending its subscription, and the hub's close ending the stream. Every wait is for a
line or a condition; HANG only bounds a hang."""

from __future__ import annotations

import importlib
import json
from contextlib import asynccontextmanager

import httpx
import trio

from engine.app import Operations
from engine.interfaces.web import capacity, create_app, events, serve

from support.engine_support import running
from support.waits import HANG
from support.web_support import AUTH, BUY, SECRET, SERVER, TOKEN

serve_module = importlib.import_module("engine.interfaces.web.serve")  # the package's `serve` is the function


@asynccontextmanager
async def serving(engine, response_timeout: float | None = None, body_timeout: float | None = None):
    """The engine's app on Hypercorn, port 0, with a client; Quart's RESPONSE_TIMEOUT and
    BODY_TIMEOUT changed when given."""
    shutdown = trio.Event()
    app = create_app(Operations(engine), SERVER)
    if response_timeout is not None:
        app.config["RESPONSE_TIMEOUT"] = response_timeout
    if body_timeout is not None:
        app.config["BODY_TIMEOUT"] = body_timeout
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

    async def rest(self) -> list[str]:
        """The lines to the end of the body (raises if it ends in a reset, not a clean end)."""
        with trio.fail_after(HANG):
            return [line async for line in self._lines]

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
            await until(lambda: capacity.streams_open() == 0, "the read-timeout exemption ended")


async def test_the_stream_takes_the_token_or_the_session_and_nothing_else(tmp_path):
    async with running(tmp_path) as engine, serving(engine) as client:
        anonymous = await client.get("/api/events")
        login = await client.post("/login", json={"token": TOKEN})
        assert login.status_code == 204  # the client keeps the cookie from here
        async with client.stream("GET", "/api/events") as answer:
            first = await Lines(answer).next()
    assert anonymous.status_code == 401 and engine.events.subscribers == 0
    assert answer.status_code == 200 and first == ": subscribed"


async def test_a_session_s_stream_ends_when_it_logs_out_and_a_token_s_goes_on(tmp_path):
    """POST /logout ends the session at once: the stream it opened must not go on telling its
    alerts and orders to a browser logged out (another tab, a shared computer)."""
    async with running(tmp_path) as engine, serving(engine) as client:
        await client.post("/login", json={"token": TOKEN})
        name = f"moonhook_session_{client.base_url.port}"
        sid = client.cookies[name]
        client.cookies.clear()
        cookie = {"Cookie": f"{name}={sid}"}
        csrf = (await client.get("/api/session", headers=cookie)).json()["csrf"]
        async with client.stream("GET", "/api/events", headers=cookie) as session_stream, \
                client.stream("GET", "/api/events", headers=AUTH) as token_stream:
            by_session, by_token = Lines(session_stream), Lines(token_stream)
            assert await by_session.next() == await by_token.next() == ": subscribed"
            assert (await client.post("/logout", headers={**cookie, "X-CSRF-Token": csrf})).status_code == 204
            await client.post(f"/webhook/{SECRET}", content=BUY)
            _, received = await by_token.event("alert.received")
            after = await by_session.rest()
    assert received["symbol"] == "EURUSD"
    assert [line for line in after if line] == [], after  # the body ended cleanly, nothing of the alert in it


async def test_an_open_stream_outlives_the_read_timeout_and_a_stalled_request_does_not(tmp_path, monkeypatch):
    # Hypercorn drops a connection whose peer sent nothing for read_timeout; an SSE client never
    # sends. Each keepalive comes at least KEEPALIVE after the last, so 15 of them span three
    # read timeouts at least. The keep-alive and body timers are lengthened so that only the
    # read timeout can close the stalled request below.
    monkeypatch.setattr(serve_module, "READ_TIMEOUT", 0.5)
    monkeypatch.setattr(serve_module, "KEEP_ALIVE_TIMEOUT", 600.0)
    monkeypatch.setattr(events, "KEEPALIVE", 0.1)
    async with running(tmp_path) as engine, serving(engine, body_timeout=600.0) as client:
        async with client.stream("GET", "/api/events", headers=AUTH) as answer:
            lines = Lines(answer)
            assert await lines.next() == ": subscribed"
            assert capacity.streams_open() == 1
            for _ in range(15):
                await lines.until(": keepalive")
            posted = await client.post(f"/webhook/{SECRET}", content=BUY)
            _, received = await lines.event("alert.received")
            assert received["id"] == posted.json()["id"]
            # Meanwhile a request whose body never comes: the guard still holds for it.
            stalled = await trio.open_tcp_stream("127.0.0.1", client.base_url.port)
            await stalled.send_all(b"POST /api/pause HTTP/1.1\r\nHost: x\r\nAuthorization: " + AUTH["Authorization"].encode()
                                   + b"\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n{")
            with trio.fail_after(HANG):
                while await stalled.receive_some(1024):  # until the server closes it
                    pass
            await stalled.aclose()


async def test_the_hubs_close_ends_open_streams_and_new_ones_are_empty(tmp_path):
    async with running(tmp_path) as engine, serving(engine) as client:
        async with client.stream("GET", "/api/events", headers=AUTH) as answer:
            lines = Lines(answer)
            assert await lines.next() == ": subscribed"
            Operations(engine).end_streams()  # what `moonhook run` does once shutdown is set
            rest = await lines.rest()
        late = await client.get("/api/events", headers=AUTH)
    assert not any(rest) and engine.events.subscribers == 0  # the blank line ending ": subscribed"
    assert late.status_code == 200 and late.text == ""
