"""A keep-alive client refused before its body, walked against `moonhook run`: a stranger's POST with a
wrong token or a wrong webhook secret is answered before its body is read, and Hypercorn then closes the
connection. The answer says so (``Connection: close``); it did not, and a client that sent its next request
on the connection (httpx, a reverse proxy's pool) met a closed socket, the request unanswered. The head is sent
alone, the body after the answer, as a slow network delivers them: what made the loss depend on timing."""

from __future__ import annotations

import socket

from support.e2e_support import init
from support.waits import HANG


def _answer(sock: socket.socket) -> bytes:
    """One answer with a Content-Length, read whole."""
    data = b""
    while b"\r\n\r\n" not in data or len(data) < _length(data):
        chunk = sock.recv(65536)
        assert chunk, f"closed mid-answer: {data!r}"
        data += chunk
    return data


def _length(data: bytes) -> int:
    head = data.partition(b"\r\n\r\n")[0]
    sizes = [int(line.split(b":")[1]) for line in head.split(b"\r\n")[1:]
             if line.lower().startswith(b"content-length:")]
    return len(head) + 4 + sizes[0]


def test_a_refusal_before_the_body_tells_a_keep_alive_client_to_reconnect(user):
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    for head in (b"POST /api/pause HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer wrong-token-wrong-token\r\n",
                 b"POST /webhook/wrong-secret-wrong-secret HTTP/1.1\r\nHost: 127.0.0.1\r\n"):
        with socket.create_connection(("127.0.0.1", run.port), timeout=HANG) as sock:
            sock.sendall(head + b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n")
            answer = _answer(sock)
            assert answer.startswith(b"HTTP/1.1 401"), answer
            assert b"\r\nconnection: close\r\n" in answer.partition(b"\r\n\r\n")[0].lower() + b"\r\n", answer
    # The trader's own requests on one keep-alive connection go on being answered.
    assert run.get("/api/overview")
