"""The Bot API's methods as the stand-in answers them (support/botapi.py serves them over HTTP): sendMessage,
editMessageText, answerCallbackQuery, getUpdates (long polling), setWebhook, deleteWebhook, setMyCommands, getMe.

Each ``_method(bot, params)`` returns the answer's ``result`` or raises ``ApiError`` with Telegram's code and
description; sendMessage is rate limited (token buckets on trio's clock). What is reproduced, and what is not, is
in botapi.py's docstring.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Awaitable, Callable

import trio

from support.botapi_model import Bot, BotApiRecords, Bucket, Sent, chat_id_param, int_param, jsonish
from support.botapi_text import CONFLICT, NOT_MODIFIED, PARSE_MODES, ApiError, html_plain, markdown_v2_plain


class BotApiMethods(BotApiRecords):
    """The Bot API's methods answered on the recorded state."""

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

    def _throttle(self, bot: Bot, chat_id: Any) -> None:
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

    async def _send_message(self, bot: Bot, params: dict) -> dict:
        if self._release is not None and not self._losing:
            await self._release.wait()
        chat_id = chat_id_param(params.get("chat_id"))
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
                    jsonish(params.get("reply_markup")), quiet)
        self.sent.append(sent)
        self._latest[bot.token, chat_id, sent.message_id] = sent
        if self._losing and self._release is not None:
            await self._release.wait()
        return self._message(sent)

    async def _edit_message_text(self, bot: Bot, params: dict) -> dict:
        key = (bot.token, chat_id_param(params.get("chat_id")), int_param(params, "message_id", 0))
        text, mode = self._text(params)
        old, markup = self._latest.get(key), jsonish(params.get("reply_markup"))
        if old is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if (text, mode, markup) == (old.text, old.parse_mode, old.reply_markup):
            raise ApiError(400, NOT_MODIFIED)
        self._latest[key] = new = Sent(*key[:2], text, mode, trio.current_time(), key[2], markup)
        self.edits.append(new)
        return self._message(new, edited=True)

    async def _answer_callback_query(self, bot: Bot, params: dict) -> bool:
        if str(params.get("callback_query_id")) not in self._queries:
            raise ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        self.answered.append(dict(params))
        return True

    async def _get_updates(self, bot: Bot, params: dict) -> list:
        if bot.webhook is not None:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook "
                                "to delete the webhook first")
        offset, limit = int_param(params, "offset", 0), int_param(params, "limit", 100)
        timeout = int_param(params, "timeout", 0)
        if "allowed_updates" in params:
            bot.allowed = jsonish(params["allowed_updates"]) or None
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

    async def _set_webhook(self, bot: Bot, params: dict) -> bool:
        """Recorded only: this server never calls the URL (a test posts the updates itself)."""
        if not str(params.get("url", "")).startswith("https://"):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        bot.webhook = dict(params)
        return True

    async def _delete_webhook(self, bot: Bot, params: dict) -> bool:
        bot.webhook = None
        return True

    async def _set_my_commands(self, bot: Bot, params: dict) -> bool:
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

    async def _get_me(self, bot: Bot, params: dict) -> dict:
        return bot.user()

    def _handler(self, method: str) -> Callable[[Bot, dict], Awaitable[Any]] | None:
        """The method's handler (its name in any case, as Telegram takes it); None for an unknown method."""
        return {"getme": self._get_me, "sendmessage": self._send_message, "getupdates": self._get_updates,
                "editmessagetext": self._edit_message_text,
                "answercallbackquery": self._answer_callback_query, "setwebhook": self._set_webhook,
                "deletewebhook": self._delete_webhook,
                "setmycommands": self._set_my_commands}.get(method.lower())
