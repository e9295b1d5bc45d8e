"""A local stand-in for Telegram's Bot API server, for tests: real HTTP (h11 on trio sockets) on 127.0.0.1.

``async with bot_api_server({"123:ABC": "bot_one"}) as server:`` serves ``{server.url}/bot{TOKEN}/{method}`` in
the caller's Trio run (its own nursery; no threads). ``server.stop()`` refuses connections at once and cuts open
requests; ``await server.start()`` serves again on the same port, which the stand-in holds meanwhile
(``support/ports.py``: no other process can take it during the outage). Records and pending updates survive.

Reproduced: POST with a JSON or form body, or GET query parameters; method names in any case; answers
``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N, "description": ...}`` with HTTP status N;
401 "Unauthorized" (unknown token), 404 "Not Found" (unknown method). ``getMe``. ``sendMessage``: text of 1..4096
characters after entity parsing, counted as Telegram counts them, in UTF-16 code units (an emoji outside the BMP
is 2), ``parse_mode`` MarkdownV2 / HTML / Markdown, 403 for the ``blocked`` chats, a
Message object back; to a group in ``migrated`` ({group id: supergroup id}: a group upgraded to a supergroup)
400 "Bad Request: group chat was upgraded to a supergroup chat" with ``parameters.migrate_to_chat_id``, the
supergroup's id, where the message is to be sent instead. ``editMessageText`` (with the real "not found" / "not modified" 400s),
``answerCallbackQuery``. ``getUpdates`` long polling: ``offset`` (positive confirms the earlier
updates, negative keeps the last -offset; one more than 10 past the id the next update gets is "in the future",
and the answer comes from the head of the queue, confirming nothing, as telegram-bot-api's TQueue does), ``limit``,
``timeout``, ``allowed_updates`` (remembered between calls); ``renumber`` numbers the next updates anew, as
Telegram does after a week without any;
a newer getUpdates terminates the pending one, which gets 409 "Conflict: terminated by other getUpdates request;
..." (the real server's behaviour, by its wording and users' reports). Flood limits per token, token buckets on
trio's clock (real time under the default clock): overall (``per_second``), per chat (``chat_burst`` refilled at
``chat_per_second``), per group (negative chat id, ``group_per_minute``). Over a limit: 429 "Too Many Requests:
retry after N", ``parameters.retry_after`` N (whole seconds, >= 1); the bot's sends to any chat then get 429 until
those N seconds have passed.

Simplified or not reproduced: MarkdownV2 knows ``*bold*``, ``_italic_``, ``__underline__``, ``~strike~``,
``||spoiler||`` and code (inline or ``` blocks, whose content needs no escaping); every other reserved character
``_*[]()~`>#+-=|{}.!`` must be escaped, so links, mentions and quotes are refused, and nesting is not checked.
HTML: only stray '<', unknown and unbalanced tags are refused. Legacy Markdown is not checked. ``setWebhook`` / ``deleteWebhook`` and ``setMyCommands`` are recorded (``webhook(token)``; getUpdates then
answers 409) but the server never calls the URL. No media or other methods; only sendMessage is rate limited; the limits
are the folklore numbers (Telegram publishes none); only the ``missing`` chats are "not found"; a client that drops a
long poll is not noticed (its poll simply ends at its timeout or when a newer poll terminates it).

For tests: ``messages(token, chat)``, ``shown(token, chat)`` (edits applied), ``calls(method, token)``, ``requests``
(each with its parameters, a held one's too), ``rate_limited(token)``, ``edits``, ``answered``;
``push_message`` / ``push_edit`` (a user's edit of their message) / ``push_callback`` queue updates;
``hang()`` / ``release()`` hold sendMessage unanswered;
``fail(status)`` / ``recover()`` answer every request with a 5xx (``delivered=True``: each sendMessage
carried out first); ``lose_answers()`` takes each sendMessage (recorded:
the message arrived) and withholds its answer until ``release()`` or the connection is cut; ``flood(seconds)`` gives
every bot's sends 429 with that retry_after (or a shorter one: ``retry_after``; ``recover()`` ends it);
``refuse(fragment, description)`` refuses for good (400) every sendMessage whose text holds ``fragment``.
"""

from __future__ import annotations

import html
import json
import math
import re
import socket
import time
import zlib
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, AsyncIterator
from urllib.parse import parse_qsl, unquote

import h11
import trio

from support.ports import held_socket

RESERVED = "_*[]()~`>#+-=|{}.!"
MARKERS = {"||": "Spoiler", "__": "Underline", "*": "Bold", "_": "Italic", "~": "Strikethrough"}
HTML_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "code", "pre",
             "blockquote", "tg-emoji"}
PARSE_MODES = {"markdownv2": "MarkdownV2", "html": "HTML", "markdown": "Markdown"}
CONFLICT = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
NOT_MODIFIED = ("Bad Request: message is not modified: specified new message content and reply markup are exactly "
                "the same as a current content and reply markup of the message")


class ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code, self.payload = code, {"ok": False, "error_code": code, "description": description}
        if retry_after is not None:
            self.payload["parameters"] = {"retry_after": retry_after}


def _unparsable(text: str, at: int | None, message: str) -> ApiError:
    where = "" if at is None else f" at byte offset {len(text[:at].encode())}"
    return ApiError(400, f"Bad Request: can't parse entities: {message}{where}")


# an escaped character | a code span or ``` block (content needs no escaping) | a formatting marker | a reserved char
MARKDOWN_V2 = re.compile(r"\\(.)|(```|`)((?:\\.|(?!\2).)*)\2|(\|\||__|[*_~])|([\\%s])" % re.escape(RESERVED), re.S)


def markdown_v2_plain(text: str) -> str:
    """The text a MarkdownV2 message shows; raises ApiError(400) where Telegram would refuse to parse it."""
    out, opened, i = [], {}, 0
    for m in MARKDOWN_V2.finditer(text):
        out.append(text[i:m.start()])
        i = m.end()
        escaped, fence, code, marker, reserved = m.groups()
        if reserved:
            raise _unparsable(text, None, f"Character '{reserved}' is reserved and must be escaped with the "
                                          "preceding '\\'")
        if marker and opened.pop(marker, None) is None:
            opened[marker] = m.start()
        elif not marker:
            out.append(escaped if fence is None else re.sub(r"\\(.)", r"\1", code))
    if opened:
        marker, at = min(opened.items(), key=lambda item: item[1])
        raise _unparsable(text, at, f"Can't find end of {MARKERS[marker]} entity")
    return "".join(out) + text[i:]


def html_plain(text: str) -> str:
    """The text an HTML message shows; raises ApiError(400) for a stray '<', an unknown or unbalanced tag."""
    stack = []
    for m in re.finditer(r"<(/?)([\w-]*)[^<>]*>|<", text):
        tag = (m[2] or "").lower()
        if tag not in HTML_TAGS:
            raise _unparsable(text, m.start(), f'Unsupported {"end" if m[1] else "start"} tag "{tag}"')
        if not m[1]:
            stack.append(tag)
        elif not stack or stack.pop() != tag:
            raise _unparsable(text, m.start(), f'Unmatched end tag "{tag}"')
    if stack:
        raise _unparsable(text, None, f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return html.unescape(re.sub(r"<[^>]*>", "", text))


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
class _Bot:
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


def _int(params: dict, name: str, default: int) -> int:
    try:
        return default if params.get(name) in (None, "") else int(params[name])
    except (TypeError, ValueError):
        raise ApiError(400, f'Bad Request: field "{name}" must be of type Integer') from None


def _chat_id(value: Any) -> int | str:
    if value is None or value == "":
        raise ApiError(400, "Bad Request: chat_id is empty")
    if isinstance(value, int) or re.fullmatch(r"-?\d+", str(value)):
        return int(value)
    if str(value).startswith("@"):
        return str(value)
    raise ApiError(400, "Bad Request: chat not found")


def _chat(chat_id: int | str) -> dict:
    kind = ("channel" if isinstance(chat_id, str) else "private" if chat_id > 0
            else "supergroup" if chat_id <= -1_000_000_000_000 else "group")
    return {"id": chat_id, "type": kind}


def _jsonish(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) and value[:1] in ("[", "{") else value


class BotApiServer:
    def __init__(self, nursery: trio.Nursery, tokens: dict[str, str], *, blocked=(), missing=(), migrated=None,
                 per_second: float | None = 30,
                 chat_burst: float | None = 3, chat_per_second: float = 1.0,
                 group_per_minute: float | None = 20) -> None:
        self._nursery, self.port, self.blocked, self.missing = nursery, 0, set(blocked), set(missing)
        self.migrated: dict[int, int] = dict(migrated or {})
        self.chat_burst, self.chat_per_second, self.group_per_minute = chat_burst, chat_per_second, group_per_minute
        self._bots = {t: _Bot(t, name, per_second and Bucket(per_second, per_second)) for t, name in tokens.items()}
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
        self._scope, self._serving, self._sockets = trio.CancelScope(), False, set()
        self._listener: trio.socket.SocketType | None = None   # bound at the first start, held until close_port
        self._stopped = trio.Event()
        self._stopped.set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

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
                   "chat": _chat(chat_id), "date": int(time.time()) if date is None else date, "text": text}
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
            "message_id": message_id or 0, "chat": _chat(chat_id), "date": int(time.time()), "text": ""}
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
        message = {"message_id": sent.message_id, "from": self._bots[sent.token].user(), "chat": _chat(sent.chat_id),
                   "date": int(time.time()), "text": parse(sent.text)}
        if edited:
            message["edit_date"] = int(time.time())
        if isinstance(sent.reply_markup, dict) and "inline_keyboard" in sent.reply_markup:
            message["reply_markup"] = sent.reply_markup
        return message

    # -- Bot API methods -----------------------------------------------------------------------------------------
    @staticmethod
    def _text(params: dict) -> tuple[str, str | None]:
        text, mode = str(params.get("text") or ""), params.get("parse_mode") or None
        if mode is not None and str(mode).lower() not in PARSE_MODES:
            raise ApiError(400, "Bad Request: unsupported parse_mode")
        mode = mode and PARSE_MODES[str(mode).lower()]
        plain = {"MarkdownV2": markdown_v2_plain, "HTML": html_plain}.get(mode or "", str)(text)
        if not plain.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(plain.encode("utf-16-le")) // 2 > 4096:  # Telegram counts UTF-16 code units
            raise ApiError(400, "Bad Request: message is too long")
        return text, mode

    def _throttle(self, bot: _Bot, chat_id: Any) -> None:
        now = trio.current_time()
        wait = bot.penalty_until - now
        if wait <= 0:
            buckets = [bot.overall] if bot.overall else []
            if self.chat_burst:
                buckets.append(bot.chats.setdefault(chat_id, Bucket(self.chat_burst, self.chat_per_second)))
            if self.group_per_minute and isinstance(chat_id, int) and chat_id < 0:
                group = Bucket(self.group_per_minute, self.group_per_minute / 60)
                buckets.append(bot.groups.setdefault(chat_id, group))
            wait = max([b.wait(now) for b in buckets], default=0.0)
            if wait <= 0:
                for b in buckets:
                    b.tokens -= 1
                return
            bot.penalty_until = now + max(1, math.ceil(wait))
        bot.throttled += 1
        retry = self._flood_retry or max(1, math.ceil(wait))
        raise ApiError(429, f"Too Many Requests: retry after {retry}", retry_after=retry)

    async def _send_message(self, bot: _Bot, params: dict) -> dict:
        if self._release is not None and not self._losing:
            await self._release.wait()
        chat_id = _chat_id(params.get("chat_id"))
        text, mode = self._text(params)
        if chat_id in self.missing:
            raise ApiError(400, "Bad Request: chat not found")
        if refused := next((d for f, d in self._refused.items() if f in text), None):
            raise ApiError(400, refused)
        if chat_id in self.migrated:
            error = ApiError(400, "Bad Request: group chat was upgraded to a supergroup chat")
            error.payload["parameters"] = {"migrate_to_chat_id": self.migrated[chat_id]}
            raise error
        if chat_id in self.blocked:
            raise ApiError(403, "Forbidden: bot was kicked from the group chat" if isinstance(chat_id, int)
                           and chat_id < 0 else "Forbidden: bot was blocked by the user")
        self._throttle(bot, chat_id)
        quiet = str(params.get("disable_notification")) in ("True", "true", "1")
        sent = Sent(bot.token, chat_id, text, mode, trio.current_time(), self._next_id(bot.token, chat_id),
                    _jsonish(params.get("reply_markup")), quiet)
        self.sent.append(sent)
        self._latest[bot.token, chat_id, sent.message_id] = sent
        if self._losing and self._release is not None:
            await self._release.wait()
        return self._message(sent)

    async def _edit_message_text(self, bot: _Bot, params: dict) -> dict:
        key = (bot.token, _chat_id(params.get("chat_id")), _int(params, "message_id", 0))
        text, mode = self._text(params)
        old, markup = self._latest.get(key), _jsonish(params.get("reply_markup"))
        if old is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if (text, mode, markup) == (old.text, old.parse_mode, old.reply_markup):
            raise ApiError(400, NOT_MODIFIED)
        self._latest[key] = new = Sent(*key[:2], text, mode, trio.current_time(), key[2], markup)
        self.edits.append(new)
        return self._message(new, edited=True)

    async def _answer_callback_query(self, bot: _Bot, params: dict) -> bool:
        if str(params.get("callback_query_id")) not in self._queries:
            raise ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        self.answered.append(dict(params))
        return True

    async def _get_updates(self, bot: _Bot, params: dict) -> list:
        if bot.webhook is not None:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook "
                                "to delete the webhook first")
        offset, limit, timeout = _int(params, "offset", 0), _int(params, "limit", 100), _int(params, "timeout", 0)
        if "allowed_updates" in params:
            bot.allowed = _jsonish(params["allowed_updates"]) or None
        if bot.poll is not None:
            bot.poll.set()  # the pending request is the one terminated
        me = bot.poll = trio.Event()
        bot.notify()
        deadline = trio.current_time() + max(0, timeout)
        try:
            while not me.is_set():
                if offset > bot.next_update_id + 10:   # "in the future": answered from the head, none confirmed
                    pass
                elif offset:
                    bot.updates = [u for u in bot.updates if u["update_id"] >= offset] if offset > 0 \
                        else bot.updates[offset:]
                ready = [u for u in bot.updates if bot.allowed is None or set(u) & set(bot.allowed)]
                if ready or trio.current_time() >= deadline:
                    return ready[:min(limit, 100) if limit > 0 else 100]
                with trio.move_on_at(deadline):
                    await bot.changed.wait()
            raise ApiError(409, CONFLICT)
        finally:
            if bot.poll is me:
                bot.poll = None

    async def _set_webhook(self, bot: _Bot, params: dict) -> bool:
        """Recorded only: this server never calls the URL (a test posts the updates itself)."""
        if not str(params.get("url", "")).startswith("https://"):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        bot.webhook = dict(params)
        return True

    async def _delete_webhook(self, bot: _Bot, params: dict) -> bool:
        bot.webhook = None
        return True

    async def _set_my_commands(self, bot: _Bot, params: dict) -> bool:
        """Checked as the Bot API checks it: 1 to 100 commands, each 1-32 of a-z, 0-9 and _,
        with a description of 1 to 256 characters."""
        commands = params.get("commands")
        if isinstance(commands, str):  # form-encoded: a JSON-serialized array
            commands = json.loads(commands)
        if not isinstance(commands, list) or not 1 <= len(commands) <= 100:
            raise ApiError(400, "Bad Request: commands must be a non-empty array")
        for c in commands:
            if not (isinstance(c, dict) and isinstance(c.get("command"), str)
                    and re.fullmatch(r"[a-z0-9_]{1,32}", c["command"])):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not (isinstance(c.get("description"), str) and 1 <= len(c["description"]) <= 256):
                raise ApiError(400, "Bad Request: command description must be 1-256 characters")
        scope = params.get("scope") or {"type": "default"}
        if isinstance(scope, str):
            scope = json.loads(scope)
        if scope.get("type") not in ("default", "chat") or (scope["type"] == "chat" and "chat_id" not in scope):
            raise ApiError(400, "Bad Request: unsupported scope")
        key = "default" if scope["type"] == "default" else f"chat:{scope['chat_id']}"
        bot.commands[key] = [(c["command"], c["description"]) for c in commands]
        return True

    def commands(self, token: str, scope: str = "default") -> list | None:
        """The bot's menu of commands in ``scope`` ("default", or "chat:ID"), (command,
        description) pairs, once setMyCommands set it."""
        return self._bots[token].commands.get(scope)

    def webhook(self, token: str) -> dict | None:
        """The parameters of the bot's setWebhook, while a webhook is set."""
        return self._bots[token].webhook

    async def _get_me(self, bot: _Bot, params: dict) -> dict:
        return bot.user()

    # -- HTTP ----------------------------------------------------------------------------------------------------
    async def _answer(self, request: h11.Request, body: bytes) -> tuple[int, dict]:
        path, _, query = request.target.decode("latin-1").partition("?")
        if not (match := re.fullmatch(r"/bot([^/]+)/(\w+)", path)):
            return 404, ApiError(404, "Not Found").payload
        record = Request(unquote(match[1]), match[2], trio.current_time())
        self.requests.append(record)
        try:
            if self._failing and not (self._failing_delivered and record.method.lower() == "sendmessage"):
                raise self._failure()
            if (bot := self._bots.get(record.token)) is None:
                raise ApiError(401, "Unauthorized")
            handler = {"getme": self._get_me, "sendmessage": self._send_message, "getupdates": self._get_updates,
                       "editmessagetext": self._edit_message_text,
                       "answercallbackquery": self._answer_callback_query, "setwebhook": self._set_webhook,
                       "deletewebhook": self._delete_webhook,
                       "setmycommands": self._set_my_commands}.get(record.method.lower())
            if handler is None:
                raise ApiError(404, "Not Found")
            params = dict(parse_qsl(query))
            kind = dict(request.headers).get(b"content-type", b"")
            if body and kind.startswith(b"application/json"):
                try:
                    params.update(json.loads(body))
                except (ValueError, TypeError):
                    raise ApiError(400, "Bad Request: can't parse JSON object") from None
            elif body and kind.startswith(b"application/x-www-form-urlencoded"):
                params.update(parse_qsl(body.decode()))
            record.params = params
            status, payload = 200, {"ok": True, "result": await handler(bot, params)}
            if self._failing:   # delivered, and answered as failed all the same
                raise self._failure()
        except ApiError as error:
            status, payload = error.code, error.payload
        record.status = status
        return status, payload

    def _failure(self) -> ApiError:
        return ApiError(self._failing, next((s.phrase for s in HTTPStatus if s == self._failing), "Server Error"))

    async def _connection(self, stream: trio.SocketStream) -> None:
        conn = h11.Connection(h11.SERVER)
        self._sockets.add(stream.socket)

        async def next_event():
            while (event := conn.next_event()) is h11.NEED_DATA:
                conn.receive_data(await stream.receive_some(65536))
            return event

        try:
            while isinstance(request := await next_event(), h11.Request):
                body = b""
                while isinstance(part := await next_event(), h11.Data):
                    body += part.data
                status, payload = await self._answer(request, body)
                data = json.dumps(payload).encode()
                headers = [("content-type", "application/json"), ("content-length", str(len(data)))]
                for event in (h11.Response(status_code=status, headers=headers), h11.Data(data), h11.EndOfMessage()):
                    await stream.send_all(conn.send(event))
                if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                    break
                conn.start_next_cycle()
        except (trio.BrokenResourceError, trio.ClosedResourceError, h11.ProtocolError):
            pass
        finally:
            self._sockets.discard(stream.socket)
            await stream.aclose()

    async def _serve(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        self._stopped = trio.Event()
        try:
            with self._scope:
                if self._listener is None:
                    self._listener = trio.socket.from_stdlib_socket(held_socket())
                    self.port = self._listener.getsockname()[1]
                self._listener.listen(128)
                task_status.started()
                try:
                    await self._accept(trio.SocketListener(self._listener))
                except* trio.ClosedResourceError:
                    pass  # stop() closed the listener under an accept that was already under way
        finally:
            self._stopped.set()

    async def _accept(self, listener: trio.SocketListener) -> None:
        """Takes connections until cancelled; not ``trio.serve_listeners``, which closes its listeners."""
        async with trio.open_nursery() as connections:
            while True:
                connections.start_soon(self._connection, await listener.accept())

    async def start(self) -> None:
        """Serves (again) on ``self.port``; the first start picks a free port."""
        if self._serving:
            raise RuntimeError("the Bot API stand-in is already serving")
        await self._stopped.wait()  # the previous run has let go of the port
        self._scope, self._serving = trio.CancelScope(), True
        try:
            await self._nursery.start(self._serve)
        except BaseException:
            self._serving = False
            raise

    def stop(self) -> None:
        """Stops serving now: the port refuses connections, open requests are cut. Records are kept,
        and the port: a ``start`` serves on it again."""
        self._serving = False
        self._scope.cancel()   # first: the accept waiting on the listener is cancelled, never failed
        if self._listener is not None:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)   # no longer listening; still bound
            except OSError:   # not listening yet (a start that failed)
                pass
        for sock in list(self._sockets):
            sock.close()
        self._sockets.clear()

    def close_port(self) -> None:
        """Lets the port go, for good (the stand-in's end)."""
        if self._listener is not None:
            self._listener.close()


@asynccontextmanager
async def bot_api_server(tokens: dict[str, str], **options: Any) -> AsyncIterator[BotApiServer]:
    """A ``BotApiServer`` for ``tokens`` ({token: bot username}) serving on 127.0.0.1, on a free port it holds."""
    async with trio.open_nursery() as nursery:
        server = BotApiServer(nursery, tokens, **options)
        await server.start()
        try:
            yield server
        finally:
            server.stop()
            server.close_port()
