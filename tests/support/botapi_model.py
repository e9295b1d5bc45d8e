"""The Bot API stand-in's state (support/botapi.py serves it over HTTP): the bots, the messages and requests it
recorded, the updates it queues, and the switches a test turns (an outage, a flood, a refusal).

``BotApiRecords`` holds it all; ``BotApiMethods`` (botapi_methods.py) answers the Bot API's methods on it. The
records (``messages``, ``shown``, ``calls``, ``requests``, ``edits``, ``answered``), the pushes (``push_message``,
``push_edit``, ``push_callback``, ``renumber``) and the switches (``hang``/``release``, ``lose_answers``,
``flood``, ``refuse``, ``fail``/``recover``) are described in botapi.py's docstring. A parameter of the wrong
type raises ``ApiError(400)`` as Telegram answers it.
"""

from __future__ import annotations

import json
import re
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

import trio

from support.botapi_text import ApiError, html_plain, markdown_v2_plain


@dataclass
class Bucket:
    """A token bucket: ``capacity`` tokens, refilled at ``rate`` per second; starts full."""
    capacity: float
    rate: float
    tokens: float = -1.0
    stamp: float = 0.0

    def wait(self, now: float) -> float:
        """Seconds until a token is available (0: one is)."""
        refilled = self.capacity if self.tokens < 0 else self.tokens + (now - self.stamp) * self.rate
        self.tokens, self.stamp = min(self.capacity, refilled), now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


@dataclass(frozen=True)
class Sent:
    """A message the server accepted, as the client sent it."""
    token: str
    chat_id: int | str
    text: str
    parse_mode: str | None
    at: float  # trio.current_time() when received
    message_id: int
    reply_markup: Any = None
    disable_notification: bool = False


@dataclass
class Request:
    token: str
    method: str
    at: float
    status: int | None = None  # None while unanswered
    params: dict = field(default_factory=dict)  # as sent, once read (a sendMessage held by hang(): its text)


@dataclass
class Bot:
    token: str
    username: str
    overall: Bucket | None
    chats: dict = field(default_factory=dict)
    groups: dict = field(default_factory=dict)
    penalty_until: float = 0.0
    throttled: int = 0
    updates: list = field(default_factory=list)
    next_update_id: int = 1
    allowed: list | None = None
    poll: trio.Event | None = None  # set when the pending getUpdates is terminated
    webhook: dict | None = None     # setWebhook's parameters, while one is set
    commands: dict = field(default_factory=dict)  # setMyCommands' lists by scope ("default", "chat:ID")
    changed: trio.Event = field(default_factory=trio.Event)

    def notify(self) -> None:
        self.changed.set()
        self.changed = trio.Event()

    def user(self) -> dict:
        head = self.token.split(":")[0]
        uid = int(head) if head.isdigit() else zlib.crc32(self.token.encode())
        return {"id": uid, "is_bot": True, "first_name": self.username, "username": self.username}


def int_param(params: dict, name: str, default: int) -> int:
    try:
        return default if params.get(name) in (None, "") else int(params[name])
    except (TypeError, ValueError):
        raise ApiError(400, f'Bad Request: field "{name}" must be of type Integer') from None


def chat_id_param(value: Any) -> int | str:
    if value is None or value == "":
        raise ApiError(400, "Bad Request: chat_id is empty")
    if isinstance(value, int) or re.fullmatch(r"-?\d+", str(value)):
        return int(value)
    if str(value).startswith("@"):
        return str(value)
    raise ApiError(400, "Bad Request: chat not found")


def chat_object(chat_id: int | str) -> dict:
    kind = ("channel" if isinstance(chat_id, str) else "private" if chat_id > 0
            else "supergroup" if chat_id <= -1_000_000_000_000 else "group")
    return {"id": chat_id, "type": kind}


def jsonish(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) and value[:1] in ("[", "{") else value


class BotApiRecords:
    """What the stand-in knows and recorded, and the switches that change its answers; no HTTP."""

    def __init__(self, tokens: dict[str, str], *, blocked=(), missing=(), migrated=None,
                 per_second: float | None = 30,
                 chat_burst: float | None = 3, chat_per_second: float = 1.0,
                 group_per_minute: float | None = 20) -> None:
        self.blocked, self.missing = set(blocked), set(missing)
        self.migrated: dict[int, int] = dict(migrated or {})
        self.chat_burst, self.chat_per_second, self.group_per_minute = chat_burst, chat_per_second, group_per_minute
        self._bots = {t: Bot(t, name, per_second and Bucket(per_second, per_second)) for t, name in tokens.items()}
        self.sent: list[Sent] = []
        self.edits: list[Sent] = []
        self.requests: list[Request] = []
        self.answered: list[dict] = []  # the parameters of each accepted answerCallbackQuery
        self._latest: dict[tuple, Sent] = {}  # (token, chat_id, message_id) -> the message as now shown
        self._ids: dict[tuple, int] = {}
        self._queries: set[str] = set()
        self._release: trio.Event | None = None
        self._losing = False
        self._refused: dict[str, str] = {}
        self._failing: int | None = None
        self._failing_delivered = False
        self._flood_retry: int | None = None

    # -- switches and records for tests --------------------------------------------------------------------------
    def hang(self) -> None:
        """sendMessage requests are accepted but not answered (nor recorded) until ``release()``."""
        self._release = self._release or trio.Event()

    def release(self) -> None:
        if self._release is not None:
            self._release.set()
        self._release, self._losing = None, False

    def lose_answers(self) -> None:
        """sendMessage is carried out (recorded: the message arrived) but not answered until ``release()``: the
        answer is lost if the client gives up or the connection is cut first."""
        self._losing, self._release = True, self._release or trio.Event()

    def flood(self, seconds: int, retry_after: int | None = None) -> float:
        """The bot's sends get 429 (retry_after: the seconds left, or ``retry_after``: asked to come back too
        soon, as Telegram may) for ``seconds`` from now, or until ``recover()``; returns when it ends
        (trio.current_time(), as ``Sent.at`` and ``Request.at``)."""
        until = trio.current_time() + seconds
        self._flood_retry = retry_after
        for bot in self._bots.values():
            bot.penalty_until = max(bot.penalty_until, until)
        return until

    def refuse(self, fragment: str, description: str = "Bad Request: can't parse entities") -> None:
        """Every sendMessage whose text holds ``fragment`` is refused for good: 400 ``description``."""
        self._refused[fragment] = description

    def fail(self, status: int = 500, *, delivered: bool = False) -> None:
        """Every request is answered with this (5xx) status, a Bot API error in JSON, until ``recover()``.
        ``delivered``: each sendMessage is carried out first (recorded: the message arrived), as Telegram
        sometimes does before its gateway answers 502."""
        self._failing, self._failing_delivered = status, delivered

    def recover(self) -> None:
        """Answers again as usual: ends ``fail`` and ``flood``."""
        self._failing, self._failing_delivered, self._flood_retry = None, False, None
        for bot in self._bots.values():
            bot.penalty_until = 0.0

    def messages(self, token: str | None = None, chat: int | str | None = None) -> list[Sent]:
        return [m for m in self.sent if token in (None, m.token) and chat in (None, m.chat_id)]

    def shown(self, token: str, chat: int | str) -> list[Sent]:
        """The chat's messages from the bot as they show now (edits applied), oldest first."""
        return [m for (t, c, _), m in self._latest.items() if (t, c) == (token, chat)]

    def calls(self, method: str | None = None, token: str | None = None) -> list[Request]:
        return [r for r in self.requests if method in (None, r.method) and token in (None, r.token)]

    def rate_limited(self, token: str) -> int:
        """How many 429 answers this bot was given."""
        return self._bots[token].throttled

    def push_message(self, token: str, chat_id: int, text: str, *, user_id: int | None = None,
                     username: str | None = None, date: int | None = None) -> dict:
        """Queues a text message from a user to the bot, for getUpdates; returns the update. ``date``
        (default: now) dates it, as a message sent earlier or later would be."""
        message = {"message_id": self._next_id(token, chat_id), "from": self._user(chat_id, user_id, username),
                   "chat": chat_object(chat_id), "date": int(time.time()) if date is None else date, "text": text}
        if command := re.match(r"/\w+(@\w+)?", text):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": command.end()}]
        return self._push(token, "message", message)

    def push_edit(self, token: str, update: dict, text: str) -> dict:
        """Queues the edit of ``update``'s message (``push_message``'s) to ``text``: an ``edited_message``, its
        id and date the message's, dated by ``edit_date`` (getUpdates gives it only if ``allowed_updates`` asks)."""
        message = {**update["message"], "text": text, "edit_date": int(time.time())}
        message.pop("entities", None)
        if command := re.match(r"/\w+(@\w+)?", text):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": command.end()}]
        return self._push(token, "edited_message", message)

    def push_callback(self, token: str, chat_id: int, data: str, *, user_id: int | None = None,
                      message_id: int | None = None, username: str | None = None) -> dict:
        """Queues a button press on the bot's message ``message_id`` (default: its latest in the chat)."""
        shown = [m for (t, c, i), m in self._latest.items() if (t, c) == (token, chat_id) and message_id in (None, i)]
        message = self._message(shown[-1]) if shown else {
            "message_id": message_id or 0, "chat": chat_object(chat_id), "date": int(time.time()), "text": ""}
        query_id = f"{zlib.crc32(token.encode())}{len(self._queries) + 1:06d}"
        self._queries.add(query_id)
        query = {"id": query_id, "from": self._user(chat_id, user_id, username), "message": message,
                 "chat_instance": str(chat_id), "data": data}
        return self._push(token, "callback_query", query)

    def renumber(self, token: str, first: int) -> None:
        """A week without updates: Telegram has dropped what it held, and numbers the next updates from ``first``
        (at random, says the Bot API's Update.update_id), perhaps below the offsets asked for before."""
        bot = self._bots[token]
        bot.updates, bot.next_update_id = [], first

    def _push(self, token: str, kind: str, payload: dict) -> dict:
        bot = self._bots[token]
        update = {"update_id": bot.next_update_id, kind: payload}
        bot.next_update_id += 1
        bot.updates.append(update)
        bot.notify()
        return update

    @staticmethod
    def _user(chat_id: Any, user_id: int | None, username: str | None) -> dict:
        uid = user_id if user_id is not None else chat_id if isinstance(chat_id, int) and chat_id > 0 else 1
        return {"id": uid, "is_bot": False, "first_name": username or f"user{uid}",
                **({"username": username} if username else {})}

    def _next_id(self, token: str, chat_id: Any) -> int:
        self._ids[token, chat_id] = self._ids.get((token, chat_id), 0) + 1
        return self._ids[token, chat_id]

    def _message(self, sent: Sent, edited: bool = False) -> dict:
        parse = {"MarkdownV2": markdown_v2_plain, "HTML": html_plain}.get(sent.parse_mode or "", str)
        message = {"message_id": sent.message_id, "from": self._bots[sent.token].user(),
                   "chat": chat_object(sent.chat_id),
                   "date": int(time.time()), "text": parse(sent.text)}
        if edited:
            message["edit_date"] = int(time.time())
        if isinstance(sent.reply_markup, dict) and "inline_keyboard" in sent.reply_markup:
            message["reply_markup"] = sent.reply_markup
        return message

    def commands(self, token: str, scope: str = "default") -> list | None:
        """The bot's menu of commands in ``scope`` ("default", or "chat:ID"), (command,
        description) pairs, once setMyCommands set it."""
        return self._bots[token].commands.get(scope)

    def webhook(self, token: str) -> dict | None:
        """The parameters of the bot's setWebhook, while a webhook is set."""
        return self._bots[token].webhook
