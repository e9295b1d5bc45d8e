"""HTTP/1.1 only: a connection carries one request at a time, so the connection caps
(``capacity.py``) bound the requests in flight too (docs/security.md, "Resources and files").

Hypercorn also serves HTTP/2 over plain HTTP (h2c), to a client that opens with HTTP/2's preface
or asks for it with ``Upgrade: h2c``, with up to ``h2_max_concurrent_streams`` (100) requests in
flight a connection: one address's ``server.max_connections_per_ip`` connections held 12,672
requests where HTTP/1.1 holds 128. None of moonhook's callers needs it: TradingView, Telegram,
browsers (which speak HTTP/2 over TLS only) and reverse proxies (nginx; Caddy unless told
``versions h2c``) speak HTTP/1.1 to it. Hypercorn has no setting to turn it off: ``install``
puts ``HTTP11Protocol`` in the place of its HTTP/1.1 protocol once per process, and a server
whose ``Config`` says ``h2c = False`` (``serve.hypercorn_config``) answers the preface ``505``
and closes the connection, and ignores ``Upgrade: h2c``, as HTTP/1.1 allows, answering in HTTP/1.1.

It also answers ``431`` to a request head over ``h11_max_incomplete_size`` (16 KB) and closes the
connection: h11 holds that limit only while the head is incomplete, so a head sent in one piece was
read whole up to what one read takes (64 KB) and served.
"""

from __future__ import annotations

import json

import h11
import hypercorn.protocol
from hypercorn.events import Closed
from hypercorn.protocol.h11 import H11Protocol

REASON = b"HTTP Version Not Supported"
REFUSAL = json.dumps({"error": "HTTP/2 is not served here: speak HTTP/1.1"}).encode()


class _Refused(Exception):
    """The connection was answered 505 and closed: nothing more is read of it."""


class HTTP11Protocol(H11Protocol):
    """Hypercorn's HTTP/1.1 protocol, which hands a connection over to HTTP/2 only when its
    server's ``Config`` allows it (``h2c``, True when unset: Hypercorn's own behaviour)."""

    async def _handle_events(self) -> None:
        try:
            await super()._handle_events()
        except _Refused:
            pass

    async def _check_protocol(self, event: h11.Request) -> None:
        if _head_size(event) > self.config.h11_max_incomplete_size:
            await self._send_error_response(431)
            await self.send(Closed())
            raise _Refused  # no stream is made for it, nothing of its body read
        if getattr(self.config, "h2c", True):
            return await super()._check_protocol(event)
        if event.method == b"PRI" and event.target == b"*" and event.http_version == b"2.0":
            headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(REFUSAL)),
                       (b"connection", b"close"), *self.config.response_headers("h11")]
            await self._send_h11_event(h11.Response(status_code=505, headers=headers, reason=REASON))
            await self._send_h11_event(h11.Data(data=REFUSAL))
            await self._send_h11_event(h11.EndOfMessage())
            await self.send(Closed())
            raise _Refused  # no stream is made for it
        # Upgrade: h2c is not taken up: the request goes on in HTTP/1.1


def _head_size(event: h11.Request) -> int:
    """The bytes of the request head as sent (its request line, its header lines, the blank line)."""
    line = len(event.method) + len(event.target) + len(b" HTTP/") + len(event.http_version) + 2
    return line + sum(len(name) + 2 + len(value) + 2 for name, value in event.headers.raw_items()) + 2


def install() -> None:
    """Makes Hypercorn build ``HTTP11Protocol`` for each new connection (idempotent)."""
    if hypercorn.protocol.H11Protocol is not HTTP11Protocol:
        hypercorn.protocol.H11Protocol = HTTP11Protocol
