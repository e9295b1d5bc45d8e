"""What an update holds, read without trusting it: the command and its argument, ids and dates
of the right types, and who sent it as a log line may show it (a stranger's text cannot
forge log lines)."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from engine.domain.logtext import one_line
from engine.interfaces.telegram.tables import cut


def command_of(text: str, me: str | None) -> tuple[str | None, str]:
    """("close", "EURUSD") from "/close EURUSD", or from "/close@my_bot EURUSD" when ``me`` (the
    bot's username, from getMe) is "my_bot", in any case, as Telegram compares usernames.
    (None, "") for what is not a command, and for a command addressed to another bot: in a group
    where this bot sees every message, "/pause@other_bot" is not for it. With ``me`` None (not
    known yet) no command with an @suffix is taken, as it may be another bot's."""
    words = text.split(None, 1)
    if not words or not words[0].startswith("/"):
        return None, ""
    name, at, to = words[0][1:].partition("@")
    if at and (me is None or to.lower() != me.lower()):
        return None, ""
    name = name.lower()
    if not name.replace("_", "").isalnum():
        return None, ""
    return name, " ".join(words[1].split()) if len(words) > 1 else ""


# How Telegram marks a forward: forward_origin (Bot API 7.0), and the fields it replaced.
_FORWARD_KEYS = ("forward_origin", "forward_date", "forward_from", "forward_from_chat", "forward_sender_name",
                 "is_automatic_forward")


def forwarded(message: dict) -> bool:
    """Whether ``message`` is a forward: words someone else wrote, or the sender wrote at another time,
    dated by Telegram when forwarded (so neither too old to run nor older than a question)."""
    return any(message.get(key) not in (None, False) for key in _FORWARD_KEYS)


def as_dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_date(value: Any) -> bool:  # a date: NaN, inf and absurd numbers are not
    return (is_int(value) or isinstance(value, float)) and abs(value) < 1e13


def is_id(value: Any) -> bool:
    return is_int(value) or (isinstance(value, str) and 0 < len(value) <= 64)


def who(user: Any, sender_chat: Any = None) -> str:
    """Who sent it, for the log: "user 42 @name", or the chat it was sent on behalf of."""
    if sender_chat is not None:
        return f"on behalf of chat {loggable(str(as_dict(sender_chat).get('id')))}"
    user = as_dict(user)
    uid, handle = user.get("id"), user.get("username")
    named = f"user {uid}" if is_int(uid) else "unknown user"
    return named + (" (a bot)" if user.get("is_bot") is True else "") + (
        f" @{loggable(handle)}" if isinstance(handle, str) else "")


def loggable(text: str) -> str:
    """One line of at most 64 characters, the unprintable ones escaped (``logtext.one_line``): what a stranger
    typed cannot forge log lines, nor move a terminal's cursor to write over them."""
    return cut(one_line(" ".join(text.split()), keep=""), 64)


class Seen:
    """The messages handled lately (512 of them): ``seen(chat, message_id, bot)`` is True for one handled
    already, the same one come through a second bot of ours in a supergroup, whose message ids all its
    members share. A private chat's (and a basic group's) are the bot's own count: the same id through
    another bot is another message. ``edit``: an edit's date (each edit of a message is its own)."""

    SIZE = 512

    def __init__(self) -> None:
        self._seen: OrderedDict[tuple, None] = OrderedDict()

    def __call__(self, chat: dict, message_id: Any, bot: str | None, edit: int | None = None) -> bool:
        if not is_int(message_id):
            return False
        key = (str(chat.get("id")), message_id, None if chat.get("type") in ("supergroup", "channel") else bot, edit)
        if key in self._seen:
            return True
        self._seen[key] = None
        while len(self._seen) > self.SIZE:
            self._seen.popitem(last=False)
        return False
