"""``POST /webhook`` and ``POST /webhook/<secret>``: TradingView's alerts in.

In order: the client's address (403), the secret in the path (401), the body's size (413),
the secret in a JSON body (401), the alert itself (400). Only an alert that parses is
journaled; the ``secret`` field is taken out of the body before it is parsed, so it never
reaches the journal, and the secret is never logged.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from quart import Blueprint, request
from werkzeug.exceptions import RequestEntityTooLarge

from ..alerts import AlertError, parse_body
from ..config import ServerConfig
from .clients import Gate
from .tokens import same

log = logging.getLogger("moonhook.web")


class Refused(Exception):
    """A webhook answered with an error: ``status``, and a message for the caller and the log."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def split_secret(body: bytes) -> tuple[str | None, bytes]:
    """The ``secret`` field of a JSON object body, and the body re-serialised without it
    (the body unchanged when it is not a JSON object with a secret)."""
    try:
        text = body.decode("utf-8").strip().lstrip("\ufeff")
    except UnicodeDecodeError:
        return None, body
    if not text.startswith("{"):
        return None, body
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        return None, body
    if not isinstance(obj, dict) or "secret" not in obj:
        return None, body
    secret = obj.pop("secret")
    return (secret if isinstance(secret, str) else ""), json.dumps(obj, ensure_ascii=False).encode("utf-8")


def webhook_blueprint(engine: Any, server: ServerConfig, gate: Gate) -> Blueprint:
    bp = Blueprint("webhook", __name__)

    async def receive(path_secret: str | None):
        client = gate.client(request.remote_addr, request.headers.getlist("X-Forwarded-For"))
        try:
            answer = await _receive(engine, server, gate, client, path_secret)
        except Refused as e:
            log.warning("webhook from %s refused (%d): %s", client or "?", e.status, e.message,
                        extra={"fields": {"client": str(client), "outcome": "refused", "status": e.status,
                                          "reason": e.message}})
            # A refused body may be left unread: close the connection rather than read it.
            headers = {"Connection": "close"} if e.status == 413 else {}
            return {"error": e.message}, e.status, headers
        return answer, 200

    @bp.post("/webhook")
    async def webhook():
        return await receive(None)

    @bp.post("/webhook/<path:secret>")
    async def webhook_with_secret(secret: str):
        return await receive(secret)

    return bp


async def _receive(engine: Any, server: ServerConfig, gate: Gate, client, path_secret: str | None) -> dict:
    if not gate.allows(client):
        raise Refused(403, f"address {client or '?'} is not allowed")
    if not server.secret:
        raise Refused(401, "no webhook secret is configured on this server: every webhook is refused")
    if path_secret is not None and not same(path_secret, server.secret):
        raise Refused(401, "wrong secret")
    if request.content_length is not None and request.content_length > server.max_body:
        raise Refused(413, f"the body is larger than {server.max_body} bytes")
    try:
        body = await request.get_data(cache=False)
    except RequestEntityTooLarge:
        raise Refused(413, f"the body is larger than {server.max_body} bytes") from None
    if len(body) > server.max_body:
        raise Refused(413, f"the body is larger than {server.max_body} bytes")
    body_secret, body = split_secret(body)
    if path_secret is None:
        if body_secret is None:
            raise Refused(401, "missing secret: put it in the path (/webhook/<secret>) or in a 'secret' field")
        if not same(body_secret, server.secret):
            raise Refused(401, "wrong secret")
    try:
        alert = parse_body(body, engine.symbols)
    except AlertError as e:
        raise Refused(400, str(e)) from None
    except RecursionError:
        raise Refused(400, "the body is nested too deeply") from None
    except (ValueError, TypeError) as e:
        raise Refused(400, f"cannot read the alert: {type(e).__name__}") from None
    recorded = await engine.submit(alert)
    command = alert.action.value if alert.action else "-"
    if recorded.duplicate:
        outcome = {"status": "duplicate", "id": recorded.id, "duplicate_of": recorded.duplicate_of}
        line = f"duplicate of {recorded.duplicate_of}"
    else:
        outcome = {"status": "accepted", "id": recorded.id}
        line = "accepted" + (" (paused: journaled, not executed)" if engine.paused else "")
    log.info("webhook alert %d %s %s: %s", recorded.id, alert.symbol or "-", command, line,
             extra={"fields": {"alert": recorded.id, "symbol": alert.symbol or "-", "command": command,
                               "outcome": outcome["status"], "client": str(client)}})
    return outcome
