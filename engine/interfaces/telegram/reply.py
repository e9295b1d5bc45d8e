"""One answer to an admin's update: a message to send, or the edit of one, and the button press it answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(frozen=True)
class Reply:
    """One answer. ``text`` is HTML ("" when only the button press is answered); with
    ``edit_message_id`` it replaces that message's text (and its buttons) instead of being
    sent; ``callback_query_id`` is a button press to answer with ``callback_text``.
    ``on_sent``, when set, is given Telegram's answer (the Message) once the text is sent."""

    chat_id: int | str
    text: str
    reply_markup: dict | None = None
    edit_message_id: int | None = None
    callback_query_id: str | None = None
    callback_text: str | None = None
    on_sent: Callable[[Any], None] | None = field(default=None, compare=False, repr=False)
