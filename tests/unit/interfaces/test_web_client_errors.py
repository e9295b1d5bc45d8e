"""Client errors that used to give a 5xx (TradingView repeats a 5xx three times): each is a 400
naming the field, and nothing is journaled. Over real HTTP, against a real engine."""

from __future__ import annotations

import json
from urllib.parse import quote

import trio

from support.engine_support import running
from support.web_support import AUTH, SECRET, serving

HEAD = '{"secret": "%s", "symbol": "EURUSD", "action": "buy", "volume": 0.1' % SECRET


async def test_bodies_that_once_gave_5xx_are_400_naming_the_field_and_leave_no_record(tmp_path):
    bodies = {
        "surrogate before the secret": ('{"note": "\\ud800", ' + HEAD[1:] + "}", "note"),
        "surrogate in a known field": (HEAD + ', "comment": "a\\udfffb"}', "comment"),
        "huge price": (HEAD + ', "price": 1' + "0" * 400 + "}", "price"),
        "deep nesting": (HEAD + ', "meta": ' + "[" * 40 + "]" * 40 + "}", "meta"),
        "NaN in an unknown field": (HEAD + ', "meta": {"x": NaN}}', "meta.x"),
        "Infinity in an unknown field": (HEAD + ', "meta": [1, -Infinity]}', "meta[1]"),
        "huge integer in an unknown field": (HEAD + ', "n": 1' + "0" * 30 + "}", "n"),
    }
    async with running(tmp_path) as engine, serving(engine) as client:
        answers = {name: await client.post("/webhook", content=body.encode()) for name, (body, _) in bodies.items()}
        text = await client.post(f"/webhook/{SECRET}", content=b'buy EURUSD volume=0.1 id="x\\ud800"')
        health = await client.get("/health")
        listed = await client.get("/api/alerts", headers=AUTH)
        rows = engine.journal.recent(50)
    for name, (_, field) in bodies.items():
        answer = answers[name]
        assert answer.status_code == 400, (name, answer.status_code, answer.text)
        assert answer.json()["error"].startswith(field + ":"), (name, answer.json())
    assert text.status_code == 400 and text.json()["error"].startswith("id:"), text.text
    assert health.json()["status"] == "ok"
    assert rows == [] and json.loads(listed.text)["alerts"] == []


async def test_an_unreadable_body_without_a_path_secret_is_refused_as_unauthenticated(tmp_path):
    async with running(tmp_path) as engine, serving(engine) as client:
        answer = await client.post("/webhook", content=b'{"secret": "' + SECRET.encode() + b'", "x": ')
    assert answer.status_code == 401 and answer.json()["error"].startswith("the body looks like JSON but is not valid")
    assert "no secret can be read from it" in answer.json()["error"]


async def test_a_request_target_without_a_path_is_a_400_not_a_traceback(tmp_path, caplog):
    # `GET ?x HTTP/1.1` reaches the application with an empty path: Quart indexed path[0], and a
    # stranger's one line gave a 500 and a traceback in the log ("Error in ASGI Framework"), each time.
    async with running(tmp_path) as engine, serving(engine) as client:
        port = client.base_url.port
        answers = []
        for target in (b"?x=1", b"http://127.0.0.1?x=1", b"?"):
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            async with stream:
                await stream.send_all(b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                answer = b""
                while chunk := await stream.receive_some(65536):
                    answer += chunk
            answers.append(answer)
        health = await client.get("/health")
    for answer in answers:
        assert answer.startswith(b"HTTP/1.1 400"), answer
        assert b"the request target must be a path" in answer, answer
    assert health.json()["status"] == "ok"
    assert "Traceback" not in caplog.text and "Error in ASGI" not in caplog.text, caplog.text


async def _exchange(port: int, request: bytes) -> bytes:
    """``request`` sent on a connection of its own; what came back until the server closed it."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(request)
        answer = b""
        while chunk := await stream.receive_some(65536):
            answer += chunk
    return answer


UPGRADE = (b"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           b"Sec-WebSocket-Version: 13\r\n\r\n")


async def test_a_strangers_odd_headers_are_refused_without_a_traceback(tmp_path, caplog):
    # An Origin urlsplit cannot read (`http://[::1`) made the login a 500 with a traceback; a
    # WebSocket upgrade at a path without a route (the webhook's, Telegram's, any) made Quart's 404
    # handler read the request outside its context: a 500, and the path (the webhook's secret) logged.
    async with running(tmp_path) as engine, serving(engine) as client:
        port = client.base_url.port
        login = await _exchange(port, b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://[::1\r\n"
                                      b"Content-Type: application/json\r\nContent-Length: 15\r\nConnection: close\r\n\r\n"
                                      b'{"token": "no"}')
        sockets = [await _exchange(port, b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + UPGRADE)
                   for path in (b"/webhook/" + quote(SECRET).encode(), b"/telegram/1", b"/nothing", b"/api/plugins")]
        health = await client.get("/health")
    assert login.startswith(b"HTTP/1.1 403") and b"Origin" in login, login
    for answer in sockets:
        assert answer.startswith(b"HTTP/1.1 403"), answer
    assert health.json()["status"] == "ok"
    assert "Traceback" not in caplog.text and SECRET not in caplog.text, caplog.text
