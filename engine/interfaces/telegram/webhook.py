"""``POST /telegram/<bot_id>``: Telegram's updates, when a webhook is set instead of polling.

Telegram echoes the webhook's secret token in ``X-Telegram-Bot-Api-Secret-Token``; a call
without it, with another, or with two, is refused (401) before its body is read, told in the
log as the web server's other refusals are (``refusals.py``), and the secret is never logged.
A body that is not a JSON object is a 400, an unknown bot a 404; anything else is handed to
``dispatch`` and answered 200 once it has been obeyed, its answers queued (Telegram sends the
next update only then, and sends this one again after an error, or when the answer was slow or
lost: ``dispatch`` knows it by its id then, and does not obey it twice). A command cut while
obeyed (moonhook killed) is thus not obeyed again: its id is stored with it as in hand, and its
chat told at the next start (in_hand.py).
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from quart import Blueprint, current_app, request

from engine.interfaces.web.params import BadParameter, json_body
from engine.interfaces.web.refusals import refusals_of
from engine.interfaces.web.tokens import same

HEADER = "X-Telegram-Bot-Api-Secret-Token"

Dispatch = Callable[[str, dict[str, Any]], Awaitable[bool]]


def telegram_blueprint(dispatch: Dispatch, secret: str) -> Blueprint:
    """``dispatch(bot_id, update)`` handles one update and returns False for a bot it does not
    know. With an empty ``secret`` every call is refused."""
    bp = Blueprint("telegram", __name__)

    @bp.post("/telegram/<bot_id>")
    async def update(bot_id: str):
        given = request.headers.getlist(HEADER)   # two: which one counted would hang on their order
        if len(given) != 1 or not same(given[0], secret):
            refusals_of(current_app).request(
                "telegram webhook", request.remote_addr,
                f"telegram webhook for bot {bot_id[:32]!r} from {request.remote_addr or '?'} refused: "
                "missing, repeated or wrong secret token")
            return {"ok": False, "error": f"missing, repeated or wrong {HEADER}"}, 401
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
