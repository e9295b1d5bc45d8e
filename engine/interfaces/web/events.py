"""``GET /api/events``: the engine's events as Server-Sent Events (docs/dashboard.md, "Events").

The stream opens with a ``: subscribed`` comment once the subscription is in place (what a
client waits for before it may count on seeing what happens next), then sends each event as
``id: <seq>`` and ``data: <json>``, and a ``: keepalive`` comment after KEEPALIVE seconds of
quiet so that proxies keep the connection open. A client that goes away cancels the route
(quart-trio does on ``http.disconnect``), which ends the subscription; the hub's close (the
server stopping) ends the stream. While open, the stream's connection is exempt from
Hypercorn's read timeout (capacity.streaming): its client never sends.
"""

from __future__ import annotations

import json
from typing import Any, AsyncIterator, Callable

import trio
from quart import Blueprint, Response, request

from engine.app.operations import Operations
from engine.domain.config import ServerConfig
from engine.interfaces.web import capacity, params
from engine.interfaces.web.auth import refuse, session_check

KEEPALIVE = 15.0  # seconds of quiet before a comment line; a module constant so tests shorten it
OPENED = b": subscribed\n\n"
KEEPALIVE_LINE = b": keepalive\n\n"
BATCH = 0.02  # seconds the events that follow one are gathered for, to be written with it


def frame(event: dict[str, Any]) -> bytes:
    """One event as an SSE message: its seq as the id, its JSON on one data line."""
    return f"id: {event['seq']}\ndata: {json.dumps(event, separators=(',', ':'))}\n\n".encode()


async def stream(ops: Operations, scope: dict[str, Any], authorized: Callable[[], bool] = lambda: True,
                 ) -> AsyncIterator[bytes]:
    """The SSE body: the events of a subscription held until the generator is closed or
    cancelled (the ``with`` ends it either way), the hub closes it, or ``authorized()`` no
    longer holds when it has something to send (the dashboard's session logged out or expired:
    its events stop with it); ``scope``: the request's ASGI scope, whose connection is kept from
    the read timeout meanwhile. Nothing at all once the hub is closed (the server stopping): an
    empty body."""
    with capacity.streaming(scope), ops.subscribe() as events:
        if events.closed:
            return
        yield OPENED
        while True:
            event = None
            # Only the wait is under the timeout, never the yield (a yield inside a cancel
            # scope would let the consumer's code run under it).
            with trio.move_on_after(KEEPALIVE):
                try:
                    event = await events.__anext__()  # the hub's wait is cancel-safe: nothing is lost
                except StopAsyncIteration:  # the hub closed the subscription
                    return
            if not authorized():
                return
            if event is None:
                yield KEEPALIVE_LINE
                continue
            # The rest of what happens now (an alert's order, fill and finish come within
            # milliseconds) goes in the same write: one send for them all, not one each.
            await trio.sleep(BATCH)
            if not authorized():
                return
            yield b"".join(frame(e) for e in (event, *events.drain()))


def events_blueprint(ops: Operations, server: ServerConfig) -> Blueprint:
    bp = Blueprint("events", __name__, url_prefix="/api")

    @bp.before_request
    async def authorize():
        refused = refuse(server)
        return refused if refused is not None else params.only({})  # no parameter: no replay from one

    @bp.get("/events")
    async def events():
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        if request.method == "HEAD":   # a GET's head, no stream: one ran unseen and held the connection for good
            return Response(b"", status=200, content_type="text/event-stream", headers=headers)
        body = stream(ops, request.scope, session_check(server))  # ends with the session that opened it
        answer = Response(body, status=200, content_type="text/event-stream", headers=headers)
        answer.timeout = None  # Quart's RESPONSE_TIMEOUT (60 s) would end the stream
        return answer

    return bp
