"""``server.max_body`` over real HTTP on every method: a request declaring a body over it is a 413
before any route looks at it (a GET, a HEAD or a DELETE was answered 200, its body never read),
as nginx's client_max_body_size does; a body within it on a GET is ignored, the connection closed."""

from __future__ import annotations

import trio

from support.engine_support import running
from support.waits import HANG
from support.web_support import AUTH, SERVER, serving

OVER = b"x" * (SERVER.max_body + 1)
SAID = f"the body is larger than {SERVER.max_body} bytes (server.max_body)"


async def test_a_declared_body_over_max_body_is_a_413_on_every_method_and_route(tmp_path):
    async with running(tmp_path) as engine, serving(engine) as client:
        answers = {
            "GET /health": await client.request("GET", "/health", content=OVER),
            "GET /api/plugins": await client.request("GET", "/api/plugins", content=OVER, headers=AUTH),
            "GET /api/plugins, no token": await client.request("GET", "/api/plugins", content=OVER),
            "DELETE /api/scripts/demo.lua": await client.request("DELETE", "/api/scripts/demo.lua",
                                                                 content=OVER, headers=AUTH),
            "GET /nowhere": await client.request("GET", "/nowhere", content=OVER),
        }
        head = await client.request("HEAD", "/health", content=OVER)
        within = await client.request("GET", "/health", content=b"x" * SERVER.max_body)
        stream = await trio.open_tcp_stream("127.0.0.1", client.base_url.port)
        # a gigabyte declared: answered at once, the connection closed, nothing waited for
        await stream.send_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000000\r\n\r\n")
        data = b""
        with trio.fail_after(HANG):
            while chunk := await stream.receive_some(65536):
                data += chunk
    for name, answer in answers.items():
        assert (answer.status_code, answer.json()) == (413, {"error": SAID}), (name, answer.text)
        assert answer.headers["connection"] == "close", name
    assert head.status_code == 413 and head.content == b""
    assert within.status_code == 200 and within.headers["connection"] == "close"  # its body ignored
    assert data.startswith(b"HTTP/1.1 413") and SAID.encode() in data, data

