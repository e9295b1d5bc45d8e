"""Keep-alive connections through the Quart routes: every request answered, idle ones closed.

quart-trio cancels a request's tasks when Hypercorn hands it ``http.disconnect``, which Hypercorn
does from inside the app's last ``send``: without engine/web/connection.py's shield that cancel
cut off Hypercorn's recycling of the connection (see the module's docstring).
"""

from __future__ import annotations

import importlib
from dataclasses import replace

import trio

from support.engine_support import running
from engine.interfaces.web import webhook
from support.waits import HANG
from support.web_support import AUTH, SECRET, SERVER, serving


async def _http_exchange(stream: trio.SocketStream, request: bytes) -> bytes:
    """Sends ``request`` and reads until one whole response with a Content-Length is in."""
    await stream.send_all(request)
    data = b""
    while b"\r\n\r\n" not in data or len(data) < _response_length(data):
        chunk = await stream.receive_some(65536)
        assert chunk, f"the server closed the connection mid-response: {data!r}"
        data += chunk
    return data


def _response_length(data: bytes) -> int:
    head, _, _ = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(head) + 4 + int(value)
    return len(data) + 1


async def _until_closed(stream: trio.SocketStream) -> bytes:
    """Reads until the server closes the connection; everything read."""
    data = b""
    while chunk := await stream.receive_some(65536):
        data += chunk
    return data


async def test_an_answer_before_the_body_ends_does_not_strand_the_connection(tmp_path):
    """The hang made deterministic: a wrong token is refused before the body is read, so the answer
    goes while the body is still arriving. Hypercorn must then close the connection (it cannot be reused);
    before the shield it neither closed it nor answered the next request on it."""
    async with running(tmp_path) as engine, serving(engine) as probe:
        stream = await trio.open_tcp_stream("127.0.0.1", probe.base_url.port)
        head = (b"POST /api/pause HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer wrong"
                + b"\r\nContent-Type: application/json\r\nContent-Length: 4\r\n\r\n")
        with trio.fail_after(HANG):
            first = await _http_exchange(stream, head + b"{}")
            assert first.startswith(b"HTTP/1.1 401"), first
            await stream.send_all(b"  ")  # the rest of the body
            try:
                await stream.send_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                rest = await _until_closed(stream)
            except trio.BrokenResourceError:
                rest = b""  # closed before our write: just as good
        await stream.aclose()
    # Either the connection was closed (Hypercorn's choice) or the next request was answered.
    assert rest == b"" or rest.startswith(b"HTTP/1.1 200"), rest


async def test_an_idle_keep_alive_connection_is_closed_after_a_quart_route(tmp_path, monkeypatch):
    """Hypercorn restarts the idle timer when a response is done; the disconnect's cancel used to
    cut that off, so a connection that had been through Quart stayed open for ever."""
    serve_module = importlib.import_module("engine.interfaces.web.serve")  # engine.web.serve is also the function
    original = serve_module.hypercorn_config

    def short_keep_alive(server):
        config = original(server)
        config.keep_alive_timeout = 0.2
        return config
    monkeypatch.setattr(serve_module, "hypercorn_config", short_keep_alive)
    async with running(tmp_path) as engine, serving(engine, replace(SERVER)) as probe:
        stream = await trio.open_tcp_stream("127.0.0.1", probe.base_url.port)
        with trio.fail_after(HANG):
            answer = await _http_exchange(stream, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert answer.startswith(b"HTTP/1.1 200"), answer
            assert await _until_closed(stream) == b""  # closed by the server's idle timer
        await stream.aclose()


async def _strangers(port: int) -> list[trio.SocketStream]:
    """300 connections that send nothing, a head sent by halves, a body that stops half-way."""
    idle = [await trio.open_tcp_stream("127.0.0.1", port) for _ in range(300)]
    half_head = await trio.open_tcp_stream("127.0.0.1", port)
    await half_head.send_all(b"POST /webhook HTTP/1.1\r\nHost: x\r\n")
    half_body = await trio.open_tcp_stream("127.0.0.1", port)
    await half_body.send_all(b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"secret\": ")
    return [*idle, half_head, half_body]


async def test_hundreds_of_idle_strangers_do_not_hold_up_alerts(tmp_path, monkeypatch):
    """The strangers' timers set beyond the hang bound: an alert held up behind them would wait for
    their sockets to go, which they do not, and fail the bound. No time is measured, so a loaded
    machine answering slowly is not taken for a held-up alert."""
    serve_module = importlib.import_module("engine.interfaces.web.serve")
    for module, timer in ((serve_module, "KEEP_ALIVE_TIMEOUT"), (serve_module, "READ_TIMEOUT"),
                          (webhook, "BODY_TIMEOUT")):
        monkeypatch.setattr(module, timer, 10 * HANG)
    async with running(tmp_path) as engine, serving(engine, replace(SERVER, max_body=65536)) as client:
        strangers = await _strangers(client.base_url.port)
        with trio.fail_after(HANG):
            for n in range(10):
                answer = await client.post(f"/webhook/{SECRET}", content=f"buy EURUSD volume=0.1 price=1.1 id=i{n}")
                assert answer.status_code == 200 and answer.json()["status"] == "accepted", answer.text
        for stream in strangers:
            await stream.aclose()


async def test_hundreds_of_idle_strangers_are_dropped_each_within_its_timer(tmp_path):
    """The server drops each stranger on its own within its timer (the keep-alive timer for a
    missing head, BODY_TIMEOUT for a missing body; it was 60 s)."""
    serve_module = importlib.import_module("engine.interfaces.web.serve")
    async with running(tmp_path) as engine, serving(engine, replace(SERVER, max_body=65536)) as client:
        *idle, half_head, half_body = await _strangers(client.base_url.port)
        bound = max(serve_module.KEEP_ALIVE_TIMEOUT, webhook.BODY_TIMEOUT) + HANG
        with trio.fail_after(bound):  # each is closed by the server, not by us
            for stream in idle:
                assert await _until_closed(stream) == b""
            cut = await _until_closed(half_head)  # Hypercorn may say 408 first, or just close
            assert cut == b"" or cut.startswith(b"HTTP/1.1 408"), cut
            assert (await _until_closed(half_body)).startswith(b"HTTP/1.1 408")
        for stream in idle + [half_head, half_body]:
            await stream.aclose()


async def test_a_connection_past_the_cap_waits_for_room_then_is_closed_unread(tmp_path, monkeypatch):
    """A connection past the cap waits, unread, for one to close (a bar-close burst: each
    connection is an alert), and is closed without a word if none does within QUEUE_SECONDS."""
    serve_module = importlib.import_module("engine.interfaces.web.serve")
    capacity = importlib.import_module("engine.interfaces.web.capacity")
    monkeypatch.setattr(serve_module, "KEEP_ALIVE_TIMEOUT", 60.0)  # the strangers stay as long as they like
    monkeypatch.setattr(capacity, "QUEUE_SECONDS", 0.2)
    configs = _kept_configs(monkeypatch)
    async with running(tmp_path) as engine, serving(engine, replace(SERVER, max_connections=4)) as client:
        port = client.base_url.port
        strangers = [await trio.open_tcp_stream("127.0.0.1", port) for _ in range(4)]
        with trio.fail_after(HANG):
            for stranger in strangers:  # each one served: all four hold their places
                answer = await _http_exchange(stranger, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                assert answer.startswith(b"HTTP/1.1 200"), answer
            extra = await trio.open_tcp_stream("127.0.0.1", port)
            assert await _until_closed(extra) == b""  # no room came: closed by the server, unread
        monkeypatch.setattr(capacity, "QUEUE_SECONDS", 60.0)
        with trio.fail_after(HANG):
            waiting = await trio.open_tcp_stream("127.0.0.1", port)
            await waiting.send_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            while configs[0].connection_limiter.statistics().tasks_waiting != 1:
                await trio.sleep(0.01)  # accepted, and waiting for room
            leaving = strangers.pop()
            bye = await _http_exchange(leaving, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            assert bye.startswith(b"HTTP/1.1 200") and await _until_closed(leaving) == b""
            answer = await _until_closed(waiting)  # its request, read once room came, answered
        assert answer.startswith(b"HTTP/1.1 200"), answer
        for stream in [*strangers, leaving, extra, waiting]:
            await stream.aclose()


def test_the_listen_backlog_holds_a_bar_close_burst():
    # Hypercorn's default of 100 overflowed when 500 alerts came at once: each dropped
    # connection was retried by its client a second later (bench/NOTES.md, the burst).
    serve_module = importlib.import_module("engine.interfaces.web.serve")
    assert serve_module.hypercorn_config(SERVER).backlog >= 1000


async def test_one_address_past_its_limit_waits_then_is_closed_but_proxies_and_tradingview_are_not_held(
        tmp_path, monkeypatch):
    """server.max_connections_per_ip: past two connections from 127.0.0.4, the others are closed
    unread once no room comes; a trusted proxy (127.0.0.2), an allowed sender (127.0.0.3) and 127.0.0.1 are held
    only to max_connections. Each address's count is forgotten once its connections are gone."""
    serve_module = importlib.import_module("engine.interfaces.web.serve")
    capacity = importlib.import_module("engine.interfaces.web.capacity")
    monkeypatch.setattr(serve_module, "KEEP_ALIVE_TIMEOUT", 60.0)  # the connections stay as long as they like
    monkeypatch.setattr(capacity, "QUEUE_SECONDS", 0.2)
    configs = _kept_configs(monkeypatch)
    server = replace(SERVER, max_connections_per_ip=2, trusted_proxies=("127.0.0.2",), allow_ips=("127.0.0.3",))
    health = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    async with running(tmp_path) as engine, serving(engine, server) as client:
        port = client.base_url.port
        opened: dict[str, list[trio.SocketStream]] = {}
        for source in ("127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"):
            opened[source] = [await trio.open_tcp_stream("127.0.0.1", port, local_address=source) for _ in range(4)]
        with trio.fail_after(HANG):
            for source in ("127.0.0.1", "127.0.0.2", "127.0.0.3"):
                for stream in opened[source]:
                    assert (await _http_exchange(stream, health)).startswith(b"HTTP/1.1 200"), source
            answers = []
            for stream in opened["127.0.0.4"]:
                await stream.send_all(health)
                answers.append(await _first_bytes(stream))
        assert sorted(a[:12] for a in answers) == [b"", b"", b"HTTP/1.1 200", b"HTTP/1.1 200"], answers
        assert (await client.get("/health")).status_code == 200
        for streams in opened.values():
            for stream in streams:
                await stream.aclose()
        with trio.fail_after(HANG):
            while configs[0].address_limit.addresses():
                await trio.sleep(0.01)  # the server notices the closes


async def test_a_keep_alive_connection_its_client_closes_frees_its_place_at_once(tmp_path, monkeypatch):
    """Hypercorn noticed the close but went on waiting for its idle timer (5 s) before letting the
    connection go: a client that closes its connections and opens new ones counted the closed ones
    against server.max_connections meanwhile."""
    serve_module = importlib.import_module("engine.interfaces.web.serve")
    monkeypatch.setattr(serve_module, "KEEP_ALIVE_TIMEOUT", 60.0)  # the timer would let it go only after a minute
    configs = _kept_configs(monkeypatch)
    async with running(tmp_path) as engine, serving(engine) as client:
        stream = await trio.open_tcp_stream("127.0.0.1", client.base_url.port)
        with trio.fail_after(HANG):
            answer = await _http_exchange(stream, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert answer.startswith(b"HTTP/1.1 200"), answer
            connection, = configs[0].connection_limiter.statistics().borrowers
            while connection.idle_task._handle is None:  # Hypercorn's: its idle timer started, the answer done
                await trio.sleep(0.01)
            await stream.aclose()
            while configs[0].connection_limiter.statistics().borrowed_tokens:
                await trio.sleep(0.01)  # the server lets the connection go


def _kept_configs(monkeypatch) -> list:
    """The Hypercorn configs that serve() makes from now on, kept for the test to look at their limiters."""
    serve_module = importlib.import_module("engine.interfaces.web.serve")
    configs = []
    make_config = serve_module.hypercorn_config
    monkeypatch.setattr(serve_module, "hypercorn_config",
                        lambda server: configs.append(make_config(server)) or configs[-1])
    return configs


async def _first_bytes(stream: trio.SocketStream) -> bytes:
    """What the server sends first; b"" when it closes the connection without a word."""
    try:
        return await stream.receive_some(65536)
    except trio.BrokenResourceError:  # reset: closed with our request unread
        return b""


def _head(answer: bytes) -> list[bytes]:
    return answer.partition(b"\r\n\r\n")[0].lower().split(b"\r\n")


async def test_an_answer_before_the_body_ends_says_the_connection_closes(tmp_path):
    """Hypercorn closes a connection whose request's body was not read to its end; unless the
    answer says so (``Connection: close``), a keep-alive client sends its next request on it and
    meets a closed socket (httpx: "Server disconnected without sending a response", a POST not
    retried). Refused before the body: a wrong bearer token (Quart), a wrong webhook secret in the
    path, another method than POST on the webhook and a name not in server.hosts (ahead of Quart)."""
    async with running(tmp_path) as engine, serving(engine) as probe:
        for request in (b"POST /api/pause HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer wrong\r\n",
                        b"POST /webhook/wrong-secret-wrong HTTP/1.1\r\nHost: 127.0.0.1\r\n",
                        b"PUT /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\n",
                        b"POST /api/pause HTTP/1.1\r\nHost: evil.example\r\n" + b"Authorization: Bearer wrong\r\n"):
            stream = await trio.open_tcp_stream("127.0.0.1", probe.base_url.port)
            with trio.fail_after(HANG):
                # The head alone: the body never arrives before the answer.
                answer = await _http_exchange(stream, request + b"Content-Length: 4\r\n\r\n")
                assert answer.split(b" ")[1] in (b"401", b"403", b"405"), answer
                assert b"connection: close" in _head(answer), answer
                assert await _until_closed(stream) == b""
            await stream.aclose()


async def test_an_answer_after_the_whole_body_keeps_the_connection(tmp_path):
    """A refusal whose body had all arrived leaves the connection open for the next request."""
    async with running(tmp_path) as engine, serving(engine) as probe:
        stream = await trio.open_tcp_stream("127.0.0.1", probe.base_url.port)
        with trio.fail_after(HANG):
            for _ in range(2):
                answer = await _http_exchange(stream, b"POST /api/pause HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                              + b"Authorization: Bearer " + AUTH["Authorization"][7:].encode()
                                              + b"\r\nContent-Length: 2\r\n\r\n{}")
                assert answer.startswith(b"HTTP/1.1 200"), answer
                assert b"connection: close" not in _head(answer), answer
        await stream.aclose()
