"""Builders for the Telegram command tests: a settable wall clock, and the updates a person sends
in a chat (their private chat by default, or a group), shaped as Telegram sends them; and the
notices a chat was shown, read apart from the courier's folds (``notices``)."""

from __future__ import annotations

import itertools
import time
from typing import Iterable

from engine.adapters.notify.courier import SEPARATOR
from engine.interfaces.telegram.commands import Commands, Reply

from support.botapi import html_plain

ADMIN, STRANGER = 4242, 777
ME = "moonhook_bot"             # the bot's username, as getMe answers it
GROUP = -1001234567890          # a supergroup's chat id: negative, as Telegram's are
_MESSAGE_IDS = itertools.count(100)   # shared: two people in one group never send the same message id


def notices(texts: Iterable[str]) -> list[str]:
    """Each notice in a chat's messages ``texts`` (as shown: ``html_plain``), apart. The courier folds
    the notices queued together into one Telegram message, joined by ``SEPARATOR``, and which ones
    are queued together depends on how fast the machine runs: a count of messages, a message's index
    or a whole message compared would pass or fail with the load. Command answers are never folded."""
    return [notice for text in texts for notice in text.split(SEPARATOR)]


class Clock:
    """Wall time that a test moves by hand (``clock.now += 5``). It starts well behind the machine's
    clock, as a loaded machine's would be by the time the test reads it: a test that mixes the two
    fails on every run, not only when the machine is slow."""

    def __init__(self) -> None:
        self.now = time.time() - 100

    def __call__(self) -> float:
        return self.now


class Chat:
    """The updates one person (``user_id``; default: the chat's id, their private chat) sends in one
    chat, message ids and dates rising as Telegram's do."""

    def __init__(self, clock: Clock, chat_id: int | str = ADMIN, user: str = "trader",
                 user_id: int | None = None) -> None:
        self.clock, self.chat_id, self.user, self.queries = clock, chat_id, user, 0
        self.user_id = user_id if user_id is not None else chat_id if isinstance(chat_id, int) and chat_id > 0 else 1
        self.kind = "private" if chat_id == self.user_id else "supergroup"

    def say(self, text: str, age: float = 0.0, message_id: int | None = None) -> dict:
        """A message sent ``age`` seconds ago (its date is whole seconds, as Telegram's)."""
        number = next(_MESSAGE_IDS)
        return {"update_id": number, "message": {
            "message_id": message_id or number, "date": int(self.clock() - age), "text": text,
            "chat": {"id": self.chat_id, "type": self.kind},
            "from": {"id": self.user_id, "is_bot": False, "username": self.user}}}

    def press(self, reply: Reply, button: int = 0, message_id: int = 55) -> dict:
        """A press of the reply's button ``button``, counted over its rows (0: Confirm, 1: Cancel)."""
        self.queries += 1
        data = [b for row in reply.reply_markup["inline_keyboard"] for b in row][button]["callback_data"]
        return {"update_id": 10_000 + next(_MESSAGE_IDS), "callback_query": {
            "id": f"q{self.user_id}-{self.queries}", "data": data,
            "from": {"id": self.user_id, "is_bot": False, "username": self.user},
            "message": {"message_id": message_id, "date": int(self.clock()), "text": "Close?",
                        "chat": {"id": self.chat_id, "type": self.kind}}}}


async def ask(commands: Commands, update: dict, bot_username: str | None = ME) -> Reply:
    """The one reply to ``update`` (the answer, when the edit of the question it settled follows it), come
    through the bot ``bot_username``, checked to be what the Bot API accepts (its HTML, its length), and taken by Telegram now (``on_sent`` is given the
    message Telegram would answer, dated by the clock the test gave ``commands``: Telegram's, as
    the updates' dates are; by the machine's, a question asked late on a loaded machine came
    after the repeat sent "2 s later" by the test's clock, and was not confirmed by it)."""
    replies = await commands.handle(update, bot_username)
    # a question settled: the answer, then the edits that take the buttons off it and off its twins (a double tap)
    assert len(replies) == 1 or all(r.edit_message_id for r in replies[1:]), replies
    for reply in replies:
        shown = html_plain(reply.text or "x")  # raises where Telegram would refuse the HTML
        assert len(shown.encode("utf-16-le")) // 2 <= 4096, f"Telegram refuses it as too long: {shown[:80]}…"
    if replies[0].on_sent is not None:
        replies[0].on_sent({"message_id": 55, "date": int(commands._clock()), "text": replies[0].text})
    return replies[0]
