"""A body that does not arrive in time is waited for once: BODY_TIMEOUT, then a 408. Quart's
routes gave it that long twice (the 408, then the read every answer makes of a body left unread),
so a stranger trickling a body to /login held the connection 10 s, not the 5 s documented.
Through the app's ASGI interface on Trio's virtual clock: no wall-clock wait, no timing assert."""

from __future__ import annotations

import trio

from engine.domain.config import ServerConfig
from engine.interfaces.web import create_app
from engine.interfaces.web.webhook import BODY_TIMEOUT

SERVER = ServerConfig(host="127.0.0.1", port=0, secret="s" * 16, api_token="t" * 16)


def _scope(path: str) -> dict:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
            "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"), (b"content-length", b"100"),
                        (b"authorization", b"Bearer " + b"t" * 16)],
            "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8080), "extensions": {}}


async def _answered_after(path: str) -> tuple[int, float]:
    """The status of a POST to ``path`` whose body stops after its first bytes, and the virtual
    seconds until its answer began."""
    app = create_app(None, SERVER)
    first = [{"type": "http.request", "body": b'{"tok', "more_body": True}]
    started: list[tuple[int, float]] = []

    async def receive() -> dict:
        if first:
            return first.pop()
        await trio.sleep_forever()

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            started.append((message["status"], trio.current_time()))

    begun = trio.current_time()
    await app(_scope(path), receive, send)
    status, at = started[0]
    return status, at - begun


async def test_a_trickled_body_is_answered_408_after_one_body_timeout(autojump_clock):
    for path in ("/login", "/api/resume"):  # a stranger's, and the API's (read before the engine is asked)
        status, after = await _answered_after(path)
        assert (status, after) == (408, BODY_TIMEOUT), path
