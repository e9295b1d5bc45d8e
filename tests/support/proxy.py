"""An HTTP proxy set in the environment, as a company's network sets one (``HTTP_PROXY``): it keeps what
reaches it (the request line names the URL, ``/webhook/<secret>`` or a bot's token too, and the headers the
bearer token) and answers 502. For the tests that hold moonhook's calls to this machine off it."""

from __future__ import annotations

import socketserver
import threading
from contextlib import contextmanager
from typing import Iterator


class _Proxy(socketserver.ThreadingTCPServer):
    daemon_threads = True

    def __init__(self) -> None:
        self.heard: list[bytes] = []
        super().__init__(("127.0.0.1", 0), _Heard)


class _Heard(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.server.heard.append(self.request.recv(65536))
        self.request.sendall(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")


@contextmanager
def proxy_in(env: dict[str, str]) -> Iterator[list[bytes]]:
    """A recording proxy set in ``env`` (a ``User``'s) for every scheme, with no ``NO_PROXY``; yields what it
    heard, a list filled as requests reach it."""
    with _Proxy() as proxy:
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        address = f"http://127.0.0.1:{proxy.server_address[1]}"
        for name in [k for k in env if k.lower() == "no_proxy"]:
            del env[name]
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
            env[name] = env[name.lower()] = address
        try:
            yield proxy.heard
        finally:
            proxy.shutdown()
