"""A command's answer, sent while it is still news: within ``telegram.command_max_age`` of the
command, the age past which the command itself would not be obeyed. Within that time a 429 is
waited out for the ``retry_after`` Telegram names (the bot's sends all wait: its limits are
shared with the courier) and an outage or a server error backs off and tries again, as the
courier does for notices; an answer that may have arrived all the same (its answer lost, a 5xx)
is sent again marked so. Past that time, or refused for good, it is dropped, and the log says so:
never silently (``/close``'s "closed EURUSD" is the news of what was done).

``Answers`` sends them off the command path, in order per chat: a command is obeyed when it
arrives, never behind an earlier command's answer still waiting out a 429 (which made a /pause
sent behind it older than ``command_max_age``, and refused).
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import replace
from typing import Callable

import trio

from engine.adapters.notify.backoff import Backoff
from engine.adapters.notify.bot import Bot, RetryAfter, TelegramError
from engine.adapters.notify.courier import RESENT
from engine.interfaces.telegram.reply import Reply
from engine.interfaces.telegram.updates import send_reply

log = logging.getLogger("moonhook.telegram")


async def send_answer(bot: Bot, reply: Reply, deadline: float) -> bool:
    """Sends ``reply`` through ``bot`` by ``deadline`` (``trio.current_time()``'s clock), trying
    again as the module says; True once Telegram took it, False when it was dropped (logged).
    Raises nothing of Telegram's; a first try is made even past the deadline. Cancelled (moonhook
    stops) after a failed try, it says in the log that the answer is dropped."""
    backoff, error = Backoff(), None
    try:
        while True:
            await bot.limits.acquire(reply.chat_id)
            try:
                await send_reply(bot.client, reply)
                return True
            except RetryAfter as e:
                bot.limits.pause(e.seconds)
                wait, error = e.seconds, e
            except TelegramError as e:
                if e.permanent:
                    log.warning("could not answer chat %s: %s", reply.chat_id, e)
                    return False
                wait, error = backoff.next(), e
                if e.maybe_done and reply.edit_message_id is None and reply.text and not reply.text.startswith(RESENT):
                    reply = replace(reply, text=RESENT + reply.text)   # an edit made twice shows once: not marked
            reply = replace(reply, callback_query_id=None)   # the press answered, or too late to be
            if trio.current_time() + wait > deadline:
                _dropped(reply, f"not taken within telegram.command_max_age of its command ({error})")
                return False
            if not isinstance(error, RetryAfter):   # a 429's wait is the bot's pause, waited in acquire
                await trio.sleep(wait)
    except trio.Cancelled:
        if error is not None:
            _dropped(reply, f"moonhook stops, and Telegram has not taken it ({error})")
        raise


Settled = Callable[[bool], None]


class Answers:
    """One bot's answers, each sent by ``send_answer`` within its own deadline, in order per chat,
    in tasks of ``nursery`` (the hub's): ``put`` returns at once."""

    def __init__(self, bot: Bot, nursery: trio.Nursery):
        self._bot, self._nursery = bot, nursery
        self._chats: dict[int | str, deque[tuple[Reply, float, Settled | None]]] = {}
        self._idle = trio.Event()
        self._idle.set()

    async def sent(self) -> None:
        """Returns once no answer waits (those queued sent or dropped): a stop lets them go first."""
        await self._idle.wait()

    def put(self, reply: Reply, deadline: float, settled: Settled | None = None) -> None:
        """Queues ``reply`` behind its chat's earlier answers; raises nothing. ``settled(True)`` is called once
        Telegram has taken it, ``settled(False)`` once it is dropped while moonhook runs (refused, too late, a
        bug of ours: logged), never when moonhook stops first (cancelled); what it raises is logged."""
        waiting = self._chats.get(reply.chat_id)
        if waiting is not None:
            waiting.append((reply, deadline, settled))
            return
        self._chats[reply.chat_id] = deque([(reply, deadline, settled)])
        if self._idle.is_set():
            self._idle = trio.Event()
        self._nursery.start_soon(self._send, reply.chat_id)

    async def _send(self, chat_id: int | str) -> None:
        waiting = self._chats[chat_id]
        try:
            while waiting:
                reply, deadline, settled = waiting[0]
                try:
                    taken = await send_answer(self._bot, reply, deadline)
                except Exception:   # a bug of ours: logged, and the chat's next answers still go
                    log.exception("could not answer chat %s", chat_id)
                    taken = False
                waiting.popleft()
                if settled is not None:
                    try:
                        settled(taken)
                    except Exception:
                        log.exception("chat %s: what follows an answer failed", chat_id)
        except trio.Cancelled:   # the one being tried says so itself
            for reply, _, _ in list(waiting)[1:]:
                _dropped(reply, "moonhook stops, and it was not sent yet")
            raise
        finally:
            del self._chats[chat_id]
            if not self._chats:
                self._idle.set()


def _dropped(reply: Reply, why: str) -> None:
    log.warning("could not answer chat %s: %s: the answer is dropped: %.200s", reply.chat_id, why,
                reply.text.replace("\n", " / "))
