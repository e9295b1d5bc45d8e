"""The word to an admin whose command moonhook stopped while obeying, or before Telegram took its answer.

A command is obeyed at most once: the offset past its update (the webhook: its id) is stored before
it is handled, so a command cut while obeyed is not obeyed again at the next start, and a ``/close``
is never done twice. Stored with it, in the same transaction, is the command "in hand"
(storage/in_hand.py), marked obeyed once obeyed (before its answers are queued) and deleted once Telegram
has taken the last of its answers (at once with none, or when it raised). One still in hand at a start,
not marked, was cut, and its chat is told so (``notice``): it may or may not have been done, and where to
look. One marked was done, but its answer may never have reached the chat (a kill, or a stop whose timeout
passed, while it waited on Telegram): its chat is told it was done, and where to look (``unanswered``),
never to send it again. An answer dropped while moonhook runs (refused for good, or not taken within
``command_max_age``: logged) crosses its command off all the same, and nothing more is told: moonhook did
not stop, and the next start, perhaps days later, would say that it had. The row is deleted once Telegram
has taken that word, not before: a stop before then tells it again at the next start, and so does a
kill between Telegram taking it and the delete (told at least once, perhaps twice; never obeyed twice).

What is written down is the command as the log shows it (``noted``): ``/check``'s alert, which may
hold the webhook's secret, only as its length; the secrets known (the webhook's, the API token, the
bots' tokens) written ``***``; 64 characters at most. Only an admin's command in a chat where
commands are taken is noted: a stranger is never told.
"""

from __future__ import annotations

import time
from typing import Any, Iterable

from engine.adapters.storage.in_hand import InHand
from engine.domain.alerts import without_secrets
from engine.interfaces.telegram.access import ALLOWED, Access
from engine.interfaces.telegram.commands import UNLOGGED
from engine.interfaces.telegram.message import as_dict, forwarded, is_date, is_id, loggable
from engine.interfaces.telegram.resume import RUN
from engine.interfaces.telegram.tables import escape

# The buttons that act (the question's Cancel does nothing), as they read.
BUTTONS = {"close": "Confirm close", "cancel": "Confirm cancel", "disable": "Confirm disable", "resume": "Resume",
           RUN: "Resume and run them"}
# Where each command's effect shows.
_LOOK = {"close": "/positions shows what is open", "cancel": "/orders shows what is pending",
         "pause": "/status shows whether moonhook is paused", "resume": "/status shows whether moonhook is paused",
         "enable": "/plugins shows which are on", "disable": "/plugins shows which are on"}


def noted(update: Any, access: Access, secrets: Iterable[str]) -> InHand | None:
    """What to write down of ``update`` while it is obeyed: an admin's command (a message starting
    with "/") or press of a button that acts, in a chat where commands are taken; None for anything
    else (strangers, plain text, forwards, a button that does nothing). Raises nothing."""
    if not isinstance(update, dict):
        return None
    if "message" in update:
        message = as_dict(update.get("message"))
        chat, text = as_dict(message.get("chat")), message.get("text")
        if not isinstance(text, str) or not text.startswith("/") or forwarded(message):
            return None
        verdict, user = access.check(chat, message.get("from"), message.get("sender_chat"))
        name, arg = (text.split(None, 1) + [""])[:2]
        said = (f"{name} ({len(arg.strip())} characters)" if name[1:].partition("@")[0].lower() in UNLOGGED
                else without_secrets(text.strip(), tuple(secrets)))
        date = message.get("date")
        received = float(date) if is_date(date) else time.time()
    else:
        query = as_dict(update.get("callback_query"))
        message, data = as_dict(query.get("message")), query.get("data")
        chat = as_dict(message.get("chat"))
        if not isinstance(data, str) or data.partition(":")[0] not in BUTTONS:
            return None
        verdict, user = access.check(chat, query.get("from"))
        said, received = f"the button {BUTTONS[data.partition(':')[0]]}", time.time()
    if verdict != ALLOWED or not is_id(chat.get("id")):
        return None
    return InHand(str(chat["id"]), None if user is None else str(user), loggable(said), received)


def notice(command: InHand, now: float | None = None) -> str:
    """The word to the command's chat (HTML): cut while obeyed, when it was received, where to look."""
    received, look, button = _facts(command, now)
    again = "send the command again" if button else "send it again"
    return (f"⚠ moonhook stopped while obeying <code>{escape(command.command)}</code> (received {received}); it "
            f"may or may not have been done: {look}; {again} if needed.")


def unanswered(command: InHand, now: float | None = None) -> str:
    """The word to the chat of a command obeyed to its end whose answer Telegram had not taken when moonhook
    stopped (HTML): done, not to be sent again; when it was received, where to look."""
    received, look, _ = _facts(command, now)
    return (f"ℹ moonhook finished <code>{escape(command.command)}</code> (received {received}), then stopped "
            f"before its answer was confirmed sent: {look}.")


def _facts(command: InHand, now: float | None) -> tuple[str, str, bool]:
    """When ``command`` was received (the time alone on the day of ``now``), where its effect shows, and
    whether it was a button."""
    now = time.time() if now is None else now
    day = time.gmtime(command.received_at)[:3] == time.gmtime(now)[:3]
    received = time.strftime("%H:%M:%S UTC" if day else "%Y-%m-%d %H:%M:%S UTC", time.gmtime(command.received_at))
    button = command.command.startswith("the button ")
    name = (next((n for n in ("close", "cancel", "disable", "resume") if n in command.command.lower()), "")
            if button else (command.command[1:].split(None, 1) or [""])[0].partition("@")[0].lower())
    return received, _LOOK.get(name, "/status shows moonhook's state"), button


def chat_id(chat: str) -> int | str:
    """A chat's id as stored (text) as Telegram takes it: a number, or a @username."""
    return int(chat) if chat.lstrip("-").isdigit() else chat
