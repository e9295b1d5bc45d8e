"""A thin Telegram Bot API client over httpx (which runs natively on Trio), and the text rules
of ``sendMessage``: at most 4096 UTF-16 code units (as Telegram counts: an emoji outside the
Basic Multilingual Plane is 2), MarkdownV2 and HTML each escaped their own way.

The bot's token is part of every URL; it never appears in an error this module raises.
"""

from __future__ import annotations

import html
import logging
import re
from typing import Any

import httpx
import trio

from engine.domain.config.telegram import DEFAULT_API, BotConfig
from engine.adapters.notify.limits import BotLimits, Limits

MAX_TEXT = 4096
ME_RETRY = 60.0    # seconds between getMe tries while the bot's username is unknown
# A 404 from the Bot API: the request named no bot it serves (api_url with /bot, a token it cannot read)
NOT_FOUND = ("no bot answers at telegram.api_url with the bot's token: telegram.api_url is the server alone "
             "(https://api.telegram.org, without /bot), the token as @BotFather gave it (123456:ABC-DEF...)")

log = logging.getLogger("moonhook.telegram")

_MARKDOWN_V2 = re.compile(r"([_*\[\]()~`>#+\-=|{}.!\\])")
_TOKEN_IN_URL = re.compile(r"/bot(\d+):[^/\s\"']+")


class _ScrubTokens(logging.Filter):
    """httpx logs every request's URL at INFO, and a bot's URLs hold its token."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if "/bot" in text:
            record.msg, record.args = _TOKEN_IN_URL.sub(r"/bot\1:***", text), ()
        return True


logging.getLogger("httpx").addFilter(_ScrubTokens())


class TelegramError(Exception):
    """Telegram answered no (``code`` is its error_code), or could not be reached (code None).
    ``maybe_done``: the request may have been carried out all the same (its answer was lost).
    ``migrate_to``: the group was upgraded to a supergroup, which has this chat id now."""

    def __init__(self, message: str, code: int | None = None, maybe_done: bool = False,
                 migrate_to: int | None = None):
        super().__init__(message)
        self.code = code
        self.maybe_done = maybe_done
        self.migrate_to = migrate_to

    @property
    def permanent(self) -> bool:
        """Trying again will not help this message: a bad request, a chat that blocked the bot or is gone
        (a group that moved to a supergroup is not: it is reached at its new id). A 404 is not the
        message's: no bot answered (``setup``)."""
        return self.code in (400, 403) and self.migrate_to is None

    @property
    def setup(self) -> str | None:
        """What to fix in moonhook.toml when no call of the bot can work until it is fixed (a 401, a 404),
        whatever the message: None otherwise."""
        return {401: "the bot's token was revoked or is wrong", 404: NOT_FOUND}.get(self.code)  # type: ignore[arg-type]


class RetryAfter(TelegramError):
    """429: this bot sends nothing more for ``seconds``."""

    def __init__(self, message: str, seconds: float):
        super().__init__(message, 429)
        self.seconds = seconds


class BotClient:
    """One bot: ``await bot.call("sendMessage", chat_id=..., text=...)`` returns the result."""

    def __init__(self, http: httpx.AsyncClient, token: str, api_url: str = DEFAULT_API, timeout: float = 10.0):
        """``timeout``: how long a call may take, unless the call says otherwise."""
        self._http = http
        self.timeout = timeout
        self._token = token
        self._base = f"{api_url.rstrip('/')}/bot{token}/"

    @property
    def name(self) -> str:
        """The bot as logs may show it: its numeric id, never the secret part of the token."""
        return "bot " + self._token.split(":", 1)[0][:16]

    async def call(self, method: str, http_timeout: float | None = None, **params: Any) -> Any:
        """Calls ``method``; raises RetryAfter on 429, TelegramError on any other refusal or
        when Telegram cannot be reached (``maybe_done`` when the request left: a timeout, a 5xx)."""
        try:
            r = await self._http.post(self._base + method, json={k: v for k, v in params.items() if v is not None},
                                      timeout=http_timeout if http_timeout is not None else self.timeout)
        except httpx.HTTPError as e:
            # a request that never connected was not carried out; any other may have been
            sent = not isinstance(e, (httpx.ConnectError, httpx.ConnectTimeout))
            raise TelegramError(self._scrub(f"{method}: Telegram unreachable ({type(e).__name__}: {e})"),
                                maybe_done=sent) from None
        try:
            answer = r.json()
        except ValueError:
            raise TelegramError(f"{method}: HTTP {r.status_code} without a Bot API answer", r.status_code,
                                maybe_done=r.status_code >= 500) from None
        if isinstance(answer, dict) and answer.get("ok") is True:
            return answer.get("result")
        answer = answer if isinstance(answer, dict) else {}
        code = answer.get("error_code", r.status_code)
        description = self._scrub(str(answer.get("description", f"HTTP {r.status_code}")))[:300]
        if code == 429:
            retry = (answer.get("parameters") or {}).get("retry_after", 1)
            raise RetryAfter(f"{method}: {description}", float(retry) if isinstance(retry, (int, float)) else 1.0)
        migrate_to = (answer.get("parameters") or {}).get("migrate_to_chat_id")
        # A 5xx, in JSON or not, may come from a gateway after the request was carried out
        failed_late = r.status_code >= 500 or (isinstance(code, int) and code >= 500)
        raise TelegramError(f"{method}: {description}", code, maybe_done=failed_late,
                            migrate_to=migrate_to if isinstance(migrate_to, int) and migrate_to else None)

    async def send_message(self, chat_id: int | str, text: str, parse_mode: str | None = None,
                           reply_markup: dict[str, Any] | None = None) -> dict[str, Any]:
        return await self.call("sendMessage", chat_id=chat_id, text=text, parse_mode=parse_mode,
                               reply_markup=reply_markup)

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "***")


def escape(text: str, parse_mode: str | None) -> str:
    """``text`` shown as typed under ``parse_mode`` (None: plain, nothing to escape)."""
    if parse_mode == "MarkdownV2":
        return _MARKDOWN_V2.sub(r"\\\1", text)
    if parse_mode == "HTML":
        return html.escape(text, quote=False)
    if parse_mode is None:
        return text
    raise ValueError(f"parse_mode: expected MarkdownV2, HTML or none, got {parse_mode!r}")


def text_length(text: str) -> int:
    """``text``'s length as Telegram counts it against its limits: in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _fitting(text: str, limit: int) -> int:
    """How many of ``text``'s first characters fit in ``limit`` UTF-16 code units."""
    units = 0
    for i, ch in enumerate(text):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > limit:
            return i
    return len(text)


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """``text`` in parts of at most ``limit`` UTF-16 code units, cut at a line break where
    there is one in the second half of a part, else at a space, else anywhere (never inside a
    character)."""
    parts: list[str] = []
    while text_length(text) > limit:
        end = max(1, _fitting(text, limit))
        window = text[:end]
        half = max(1, end // 2)  # a cut at 0 would not progress
        cut = window.rfind("\n")
        if cut < half:
            cut = window.rfind(" ")
        if cut < half:
            cut = end
        parts.append(text[:cut])
        text = text[cut:].lstrip("\n") if text[cut:cut + 1] == "\n" else text[cut:]
    if text or not parts:
        parts.append(text)
    return parts


def message_parts(text: str, parse_mode: str | None = None, limit: int = MAX_TEXT) -> list[str]:
    """``text`` escaped for ``parse_mode`` in parts that each fit a message: the plain text is
    cut first (an escape is never cut in two), then any part whose escaping outgrew the limit
    is cut again, smaller."""
    return _parts(text, parse_mode, limit, limit)


def _parts(text: str, parse_mode: str | None, limit: int, size: int) -> list[str]:
    out: list[str] = []
    for part in split_text(text, size):
        escaped = escape(part, parse_mode)
        if text_length(escaped) <= limit:
            out.append(escaped)
        else:
            out.extend(_parts(part, parse_mode, limit, max(1, size // 2)))
    return out


class Bot:
    """A configured bot: its client and its sending limits (shared by every chat it serves)."""

    def __init__(self, config: BotConfig, http: httpx.AsyncClient, api_url: str, limits: Limits = Limits(),
                 timeout: float = 10.0):
        self.config = config
        self.id = config.id
        self.client = BotClient(http, config.token, api_url, timeout)
        self.limits = BotLimits(limits)
        self._username: str | None = None
        self._me_failed: float | None = None   # trio.current_time() of the last failed getMe

    async def username(self) -> str | None:
        """This bot's username, from getMe at the first call, then kept; None while it is not
        known (a command addressed to a bot is then not taken: it may be another's). A failed
        getMe is logged once (without the token) and tried again no sooner than ``ME_RETRY``
        seconds later, so an outage does not add a getMe to every update. Raises nothing."""
        if self._username is not None:
            return self._username
        now = trio.current_time()
        if self._me_failed is not None and now - self._me_failed < ME_RETRY:
            return None
        try:
            me = await self.client.call("getMe")
            name = me.get("username") if isinstance(me, dict) else None
            if not isinstance(name, str) or not name:
                raise TelegramError("getMe: the answer names no username")
        except TelegramError as e:
            (log.warning if self._me_failed is None else log.debug)(
                "%s: its username is unknown (%s): commands addressed to a bot (/pause@name) are ignored "
                "until it is known; commands without @name work", self.client.name, e)
            self._me_failed = now
            return None
        self._username = name
        log.info("%s is @%s: commands addressed to it, or to no bot, are taken", self.client.name, name)
        return name
