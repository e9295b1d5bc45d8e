"""``POST /telegram/<bot_id>``: Telegram's updates, when a webhook is set instead of polling.

Telegram echoes the webhook's secret token in ``X-Telegram-Bot-Api-Secret-Token``; a call
without it, or with another, is refused (401) before its body is read, and the secret is
never logged. A body that is not a JSON object is a 400, an unknown bot a 404; anything else
is handed to ``dispatch`` and answered 200 once it has been obeyed, its answers queued (Telegram
sends the next update only then, and sends this one again after an error, or when the answer was slow or lost:
``dispatch`` knows it by its id then, and does not obey it twice). A command cut while obeyed (moonhook killed)
is thus not obeyed again: its id is stored with it as in hand, and its chat told at the next start (in_hand.py).
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable

from quart import Blueprint, request

from engine.interfaces.web.params import BadParameter, json_body
from engine.interfaces.web.tokens import same

log = logging.getLogger("moonhook.web")

HEADER = "X-Telegram-Bot-Api-Secret-Token"

Dispatch = Callable[[str, dict[str, Any]], Awaitable[bool]]


def telegram_blueprint(dispatch: Dispatch, secret: str) -> Blueprint:
    """``dispatch(bot_id, update)`` handles one update and returns False for a bot it does not
    know. With an empty ``secret`` every call is refused."""
    bp = Blueprint("telegram", __name__)

    @bp.post("/telegram/<bot_id>")
    async def update(bot_id: str):
        if not same(request.headers.get(HEADER), secret):
            log.warning("telegram webhook for bot %r from %s refused: missing or wrong secret token",
                        bot_id[:32], request.remote_addr or "?")
            return {"ok": False, "error": f"missing or wrong {HEADER}"}, 401
        try:
            body = await json_body()
        except BadParameter:
            body = None
        if not isinstance(body, dict):
            return {"ok": False, "error": "the body must be a JSON object (a Telegram update)"}, 400
        if not await dispatch(bot_id, body):
            return {"ok": False, "error": f"no bot {bot_id[:32]} here"}, 404
        return {"ok": True}

    return bp
