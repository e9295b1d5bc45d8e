"""``POST /webhook`` and ``POST /webhook/<secret>``: TradingView's alerts in.

In order: the client's address (403), the secret in the path (401), the body's size (413),
the secret in a JSON body (401), the alert itself (400). Only an alert that parses is
journaled; the ``secret`` field is taken out of the body before it is parsed, so it never
reaches the journal, and the secret is never logged.

The webhook is the hot path, so it is a plain ASGI endpoint in front of the Quart app
(``app.asgi_app``, Quart's middleware point) rather than a Quart route: Quart's request
context, routing and response objects cost about 0.3 ms an alert, a third of Hypercorn's
own cost per request (bench/NOTES.md). Every other path goes on to Quart.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Awaitable, Callable, Sequence

import trio

from engine.app.operations import Operations
from engine.domain.alerts import AlertError, read_body
from engine.domain.config import ServerConfig
from engine.interfaces.web.clients import Gate
from engine.interfaces.web.refusals import Refusals
from engine.interfaces.web.tokens import same

log = logging.getLogger("moonhook.web")

ASGIApp = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Awaitable[None]]

BODY_TIMEOUT = 5.0  # seconds a client gets to send its body; TradingView gives up on an answer after about 3
_MISSING_SECRET = "missing secret: put it in the path (/webhook/<secret>) or in a 'secret' field"


class Refused(Exception):
    """A webhook answered with an error: ``status``, and a message for the caller and the log."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message
        self.known = False  # sent with the right secret: the trader's, each logged (a stranger's are summed)


def pop_secret(value: Any) -> str | None:
    """Takes the ``secret`` field, its name in any case and spaced as every field's (``"Secret "``), out of a
    JSON object body (as ``read_body`` gave it) and returns it: None when there is none, "" when
    it is not a string or is given twice (``"secret"`` and ``"SECRET"``: neither is believed)."""
    if not isinstance(value, dict):
        return None
    given = [value.pop(key) for key in [k for k in value if isinstance(k, str) and k.strip().lower() == "secret"]]
    if not given:
        return None
    return given[0] if len(given) == 1 and isinstance(given[0], str) else ""


def _split_path(path: str) -> tuple[bool, str | None]:
    """Whether ``path`` is the webhook's, and the secret it carries (None for ``/webhook``)."""
    if path == "/webhook":
        return True, None
    if path.startswith("/webhook/") and len(path) > len("/webhook/"):
        return True, path[len("/webhook/"):]
    return False, None


class Webhook:
    """The ASGI application answering the webhook's paths and passing the rest to ``app``."""

    def __init__(self, ops: Operations, server: ServerConfig, gate: Gate, app: ASGIApp, refusals: Refusals):
        self._ops = ops
        self._server = server
        self._gate = gate
        self._app = app
        self._refusals = refusals

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return await self._app(scope, receive, send)
        ours, path_secret = _split_path(scope["path"])
        if not ours:
            return await self._app(scope, receive, send)
        if scope["method"] != "POST":
            # its body, if any, left unread: the connection is closed after the answer
            return await json_answer(send, 405, {"error": "the webhook takes POST only"},
                                     [(b"allow", b"POST"), (b"connection", b"close")])
        headers = scope["headers"]
        peer = scope.get("client")
        client = self._gate.client(peer[0] if peer else None,
                                   [v.decode("latin-1") for k, v in headers if k == b"x-forwarded-for"])
        ended = False  # the body read to its end

        async def reading() -> dict:
            nonlocal ended
            message = await receive()
            ended = message["type"] != "http.request" or not message.get("more_body")
            return message
        try:
            answer = await _receive(self._ops, self._server, self._gate, client, path_secret,
                                    _content_length(headers), reading)
        except Refused as e:
            line = f"webhook from {client or '?'} refused ({e.status}): {e.message}"
            fields = {"client": str(client), "outcome": "refused", "status": e.status, "reason": e.message}
            if e.known:
                log.warning("%s", line, extra={"fields": fields})
            else:
                self._refusals.request(f"webhook ({e.status})", client, line, fields)
            # A refused body may be left unread: close the connection rather than read it, and say
            # so (a keep-alive client would send its next request on it and meet a closed socket).
            extra = [(b"connection", b"close")] if not ended else []
            return await json_answer(send, e.status, {"error": e.message}, extra)
        except Exception as e:
            log.error("POST /webhook%s failed: %s", "/***" if path_secret is not None else "",
                      type(e).__name__, exc_info=(type(e), e, e.__traceback__))
            return await json_answer(send, 500, {"error": "internal error; see the server's log"})
        await json_answer(send, 200, answer)


def _content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for k, v in headers:
        if k == b"content-length":
            try:
                return int(v)
            except ValueError:
                raise Refused(400, "the Content-Length header is not a number") from None
    return None


async def _read_body(receive: Callable, limit: int) -> bytes:
    """The request's body; Refused(413) once it passes ``limit`` bytes, without reading on."""
    parts: list[bytes] = []
    size = 0
    with trio.move_on_after(BODY_TIMEOUT):
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise Refused(400, "the client went away before sending the whole body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise Refused(413, f"the body is larger than {limit} bytes")
            parts.append(chunk)
            if not message.get("more_body"):
                return parts[0] if len(parts) == 1 else b"".join(parts)
    raise Refused(408, f"the body did not arrive within {BODY_TIMEOUT:.0f} s")


async def json_answer(send: Callable, status: int, payload: dict,
                      headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
    """``payload`` as the JSON answer of an ASGI request, without Quart (the webhook's, the host gate's)."""
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode("ascii")), *headers]})
    await send({"type": "http.response.body", "body": body})


async def _receive(ops: Operations, server: ServerConfig, gate: Gate, client, path_secret: str | None,
                   content_length: int | None, receive: Callable) -> dict:
    if not gate.allows(client):
        raise Refused(403, f"address {client or '?'} is not allowed")
    if not server.secret:
        raise Refused(401, "no webhook secret is configured on this server: every webhook is refused")
    if path_secret is not None and not same(path_secret, server.secret):
        slash = path_secret.endswith("/")   # a URL pasted with one: no typo in the secret to look for
        raise Refused(401, "wrong secret" + (": the path ends with '/', which the URL /webhook/<secret> does not"
                                             if slash else ""))
    alert = await _read_alert(ops, server, path_secret, content_length, receive)
    recorded = await ops.submit(alert)
    command = alert.action.value if alert.action else "-"
    if recorded.duplicate:
        outcome = {"status": "duplicate", "id": recorded.id, "duplicate_of": recorded.duplicate_of}
        line = f"duplicate of {recorded.duplicate_of}"
        if recorded.other_content:
            outcome["note"] = (f"not executed: its id is alert {recorded.duplicate_of}'s, with other content; "
                               "give each alert an id of its own")
            line += " by its id, with other content"
    else:
        outcome = {"status": "accepted", "id": recorded.id}
        line = "accepted" + (" (paused: journaled, not executed)" if ops.paused else "")
    log.info("webhook alert %d %s %s: %s", recorded.id, alert.symbol or "-", command, line,
             extra={"fields": {"alert": recorded.id, "symbol": alert.symbol or "-", "command": command,
                               "outcome": outcome["status"], "client": str(client)}})
    return outcome


async def _read_alert(ops: Operations, server: ServerConfig, path_secret: str | None, content_length: int | None,
                      receive: Callable):
    """The alert of a request whose path secret, if any, is right. Refused as ``_receive`` says;
    ``known`` once the secret is shown right (in the path, or the body's), as the trader's."""
    known = path_secret is not None
    try:
        if content_length is not None and content_length > server.max_body:
            raise Refused(413, f"the body is larger than {server.max_body} bytes")
        body = await _read_body(receive, server.max_body)
        try:
            value = read_body(body)
        except AlertError as e:
            if path_secret is None:  # unreadable, so unauthenticated; why, as a typo in a JSON message's comma
                # sent with its secret was told "missing secret", and TradingView sends such a message as text
                raise Refused(401, f"{e}: no secret can be read from it; put it in the path (/webhook/<secret>) "
                                   "or in a 'secret' field of a JSON message") from None
            raise Refused(400, str(e)) from None
        body_secret = pop_secret(value)
        if path_secret is None:
            if body_secret is None:
                raise Refused(401, _MISSING_SECRET)
            if not same(body_secret, server.secret):
                raise Refused(401, "wrong secret")
            known = True
        try:
            return ops.parse(value)
        except AlertError as e:
            raise Refused(400, str(e)) from None
        except (ValueError, TypeError) as e:
            raise Refused(400, f"cannot read the alert: {type(e).__name__}") from None
    except Refused as e:
        e.known = known
        raise
