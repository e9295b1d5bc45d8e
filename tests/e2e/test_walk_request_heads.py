"""A stranger's oversized request head, walked against `moonhook run`: docs/security.md says a head
over 16 KB is answered `431`. Hypercorn's limit (h11's) held only while the head was incomplete, so a
head sent in one piece, as any client sends one, was read whole up to what one read takes (64 KB) and
served: 40 KB of headers got `200`. Each connection may hold that much; the cap now holds whatever the
pieces the head arrives in."""

from __future__ import annotations

import socket

from support.e2e_support import init
from support.waits import HANG


def _head_of_answer(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data and (chunk := sock.recv(65536)):
        data += chunk
    return data.partition(b"\r\n\r\n")[0]


def _ask(port: int, filler: int, path: bytes = b"/health") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=HANG) as sock:
        sock.sendall(b"GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: %s\r\n\r\n" % (path, b"a" * filler))
        return _head_of_answer(sock)


def test_a_request_head_over_16_kb_is_refused_431_however_it_arrives(user):
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    assert _ask(run.port, 15_000).startswith(b"HTTP/1.1 200 ")        # under the limit: served
    for filler in (17_000, 40_000, 70_000):
        refused = _ask(run.port, filler)
        assert refused.startswith(b"HTTP/1.1 431 "), (filler, refused)
        assert b"\r\nconnection: close" in refused.lower(), refused
    secret = config.values["server"]["secret"].encode()
    assert _ask(run.port, 20_000, b"/webhook/" + secret).startswith(b"HTTP/1.1 431 ")   # before any route
    assert run.get("/api/alerts")["alerts"] == []
    assert run.webhook("buy EURUSD volume=0.01 price=1.1 sl=1.09 id=after")["status"] == "accepted"
    assert run.interrupt() == 0
