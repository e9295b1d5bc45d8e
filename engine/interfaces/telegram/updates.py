"""One bot's updates by long polling (``getUpdates``), and sending a command's replies.

The offset past each update is stored before the update is handled, so a command is obeyed
at most once, even if the engine dies while obeying it (it is then not obeyed at all, or only
in part: the safe side for ``/close``); stored with it, the command in hand (``note``), which
the admin is told of at the next start should it not have been obeyed to its end (in_hand.py).
An update below the offset asked for is new all the same: asking
confirms every update below the offset, and Telegram answers one below it only when it has
numbered its updates anew (from a random id, after a week without any; or the Bot API server is
another), the offset then being "in the future" of its queue. Telegram's errors never end the loop: a
429 waits the seconds it names, anything else backs off exponentially with jitter (1 s to 60 s; up to 5 min for a
revoked token, 401, or
no bot at ``api_url``, 404) and starts again at 1 s after a success.
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable

import trio

from engine.adapters.storage.in_hand import InHand
from engine.adapters.storage.offsets import UpdateOffsets
from engine.adapters.notify.backoff import Backoff
from engine.interfaces.telegram.reply import Reply
from engine.adapters.notify.bot import BotClient, RetryAfter, TelegramError

log = logging.getLogger("moonhook.telegram")

ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]   # edits: answered, not obeyed
WEBHOOK_HELD = ("no command reaches this moonhook: Telegram holds a webhook for the bot (set by a run with "
                "telegram.webhook_url, or by another moonhook using this bot). Set telegram.webhook_url again, or, "
                "if no moonhook uses the webhook, delete it (the Bot API's deleteWebhook) and commands come here")
_REVOKED_BACKOFF = 300.0


async def poll_updates(bot: BotClient, offsets: UpdateOffsets, bot_id: str,
                       handle: Callable[[dict, InHand | None], Awaitable[None]], *, timeout: int = 25,
                       backoff: float = 1.0, max_backoff: float = 60.0,
                       deaf: Callable[[str], Awaitable[None]] | None = None,
                       note: Callable[[dict], InHand | None] = lambda update: None,
                       task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
    """Polls ``bot`` forever (until cancelled) and awaits ``handle(update, noted)`` for each update,
    one at a time, in order; an exception in ``handle`` is logged and the loop goes on.
    ``bot_id`` names the bot in ``offsets``. ``backoff``/``max_backoff``: the first and the
    longest wait after a failure. ``deaf``: told once when Telegram holds a webhook for the bot
    (set by an earlier run with ``webhook_url``, or by another moonhook serving it: not deleted,
    which would take that one's commands), so no command is received. ``note(update)``: the command
    to store as in hand with the offset past it (None: none), handed to ``handle`` as ``noted`` (which
    crosses it off). Reports started at once, having read the stored offset, before the first call: updates
    sent from then on are received."""
    offset = offsets.get(bot_id)
    failures, conflict, retry = 0, False, Backoff(backoff, max_backoff)
    task_status.started()
    while True:
        try:
            updates = await _get_updates(bot, offset, timeout)
        except RetryAfter as e:
            log.warning("%s: getUpdates: Telegram asks to wait %g s", bot.name, e.seconds)
            await trio.sleep(max(1.0, e.seconds))
            continue
        except TelegramError as e:
            failures += 1
            if e.code == 409:  # another poller, or a webhook is set
                if not conflict:
                    log.warning("%s: %s (is another moonhook polling this bot, or a webhook set?)", bot.name, e)
                    if deaf is not None and "webhook" in str(e).lower():
                        await deaf(WEBHOOK_HELD)
                conflict = True
            elif e.setup is not None:   # 401, 404: the token revoked, or no bot at api_url with it
                (log.error if failures == 1 else log.info)("%s: %s: %s; trying again later", bot.name, e, e.setup)
                retry.cap = max(max_backoff, _REVOKED_BACKOFF)
            else:
                (log.warning if failures == 1 else log.info)("%s: %s; trying again", bot.name, e)
            await trio.sleep(retry.next())
            continue
        if not isinstance(updates, list):
            failures += 1
            log.warning("%s: getUpdates answered a %s, not a list; trying again", bot.name, type(updates).__name__)
            await trio.sleep(retry.next())
            continue
        if failures:
            log.info("%s: getUpdates answers again", bot.name)
        failures, conflict = 0, False
        retry.reset()
        retry.cap = max_backoff
        for update in updates:
            update_id = update.get("update_id") if isinstance(update, dict) else None
            if not isinstance(update_id, int) or isinstance(update_id, bool):
                continue
            if offset and update_id < offset:   # not confirmed by the offset: new, numbered anew
                log.warning("%s: update %d is below the offset %d: Telegram numbered its updates anew (none for a "
                            "week, or another Bot API server); taken as new", bot.name, update_id, offset)
            noted = note(update)
            try:
                await offsets.store(bot_id, update_id + 1, noted)
            except Exception:  # not stored: not handled either, it comes again
                log.exception("%s: update %d: its offset could not be stored; asking again", bot.name, update_id)
                await trio.sleep(retry.first)
                break
            offset = update_id + 1
            try:
                await handle(update, noted)
            except Exception:
                log.exception("%s: update %d could not be handled", bot.name, update_id)


async def _get_updates(bot: BotClient, offset: int | None, timeout: int) -> Any:
    # the HTTP timeout is longer than the poll's, or every quiet poll would fail
    return await bot.call("getUpdates", http_timeout=timeout + 15.0, timeout=int(timeout), offset=offset,
                          allowed_updates=ALLOWED_UPDATES)


async def send_reply(bot: BotClient, reply: Reply) -> None:
    """Sends one of ``Commands.handle``'s replies (HTML): answers the button press, then edits
    the message named or sends a new one, and hands Telegram's answer (the Message, with the
    date Telegram gave it) to ``reply.on_sent``. Raises TelegramError; a press too old to
    answer is only logged, and the text still goes."""
    if reply.callback_query_id is not None:
        try:
            await bot.call("answerCallbackQuery", callback_query_id=reply.callback_query_id,
                           text=reply.callback_text)
        except RetryAfter:
            raise
        except TelegramError as e:
            log.info("%s: %s", bot.name, e)
    if not reply.text:
        return
    if reply.edit_message_id is not None:
        sent = await bot.call("editMessageText", chat_id=reply.chat_id, message_id=reply.edit_message_id,
                              text=reply.text, parse_mode="HTML", reply_markup=reply.reply_markup)
    else:
        sent = await bot.send_message(reply.chat_id, reply.text, parse_mode="HTML", reply_markup=reply.reply_markup)
    if reply.on_sent is not None:
        reply.on_sent(sent)
