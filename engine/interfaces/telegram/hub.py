"""Telegram for one engine: the bots, the courier that delivers the outbox through them, and
the admin commands they receive, by long polling or, with ``telegram.webhook_url``, by
Telegram calling the engine's web server.

Everything runs in the hub's own nursery, inside the engine's; ``stop`` sends what is due (the
fills the engine's stop told last) and the commands' answers waiting, lets the sends in flight
finish so that what Telegram accepted is marked, then cancels the rest (all within its timeout:
what is left of the outbox goes at the next start). A command the last run stopped while
obeying, or after obeying it but before Telegram took its answers, is told to its chat at the start, in
words that say which (in_hand.py). Such a command is crossed off once the last of its answers is taken
(or at once, with none), or dropped while moonhook runs (refused for good, or not taken within
``command_max_age``): the log says so, and nothing more is told of it, at the next start either (it
did not stop).
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import httpx
import trio
from quart import Blueprint

from engine.adapters.storage.in_hand import CommandsInHand, Cut, InHand
from engine.adapters.storage.offsets import SeenUpdates, UpdateOffsets
from engine.app.operations import Operations
from engine.interfaces.telegram.commands import Commands
from engine.interfaces.telegram.reply import Reply
from engine.interfaces.telegram.menu import MENU
from engine.domain.config.telegram import TelegramConfig
from engine.adapters.notify.courier import Courier
from engine.adapters.notify.bot import Bot, TelegramError, escape
from engine.interfaces.telegram.access import Access
from engine.interfaces.telegram.answer import Answers, Settled
from engine.interfaces.telegram import in_hand
from engine.interfaces.telegram.webhook import telegram_blueprint
from engine.interfaces.telegram.updates import ALLOWED_UPDATES, poll_updates

log = logging.getLogger("moonhook.telegram")


class TelegramHub:
    """A ``Service`` of ``open_engine``: made from ``[telegram]``, started with the engine's
    operations facade and HTTP client, stopped after the engine's alerts are drained."""

    def __init__(self, config: TelegramConfig):
        self.config = config
        self.bots: dict[str, Bot] = {}
        self._scope = trio.CancelScope()
        self._answers: dict[str, Answers] = {}

    async def run(self, ops: Operations, http: httpx.AsyncClient,
                  task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Delivers and listens until ``stop``; started once the courier has queued what was due."""
        config, database = self.config, ops.database  # the hub's own tables: deliveries, offsets
        self.bots = {b.id: Bot(b, http, config.api_url) for b in config.bots}
        self.courier = Courier(config, database, self.bots.values())
        self.commands = Commands(ops, config.admins, command_chats=config.command_chats,
                                 max_age=config.command_max_age, clock=ops.clock,
                                 secrets=(config.webhook_secret, *(b.token for b in config.bots)))
        self._offsets = UpdateOffsets(database)
        self._seen = SeenUpdates(database)
        self._in_hand = CommandsInHand(database)
        secrets = (*ops.secrets, config.webhook_secret or "", *(b.token for b in config.bots))  # never kept
        self._note = partial(in_hand.noted, access=Access(config.admins, config.command_chats), secrets=secrets)
        ops.deliver(self.courier.poke, self.alarm, self.courier.health)
        with self._scope:
            try:
                async with trio.open_nursery() as nursery:
                    self._answers = {bot.id: Answers(bot, nursery) for bot in self.bots.values()}
                    self._tell_cut()
                    await nursery.start(self.courier.run)
                    for bot in self.bots.values():
                        if config.admins:
                            nursery.start_soon(self._set_menu, bot)
                        if self.config.webhook_url:
                            nursery.start_soon(self._set_webhook, bot)
                        else:
                            nursery.start_soon(partial(poll_updates, bot.client, self._offsets, bot.id,
                                                       partial(self._handle, bot), deaf=self.alarm, note=self._note),
                                               name=f"telegram {bot.id} updates")
                    task_status.started()
            finally:
                self._answers = {}   # the nursery is closed: an alarm now is only logged

    def routes(self) -> list[Blueprint]:
        """The web server's route for Telegram's updates, with ``telegram.webhook_url``."""
        if not self.config.webhook_url:
            return []
        return [telegram_blueprint(self.dispatch, self.config.webhook_secret or "")]

    async def stop(self, timeout: float = 2.0) -> None:
        """Sends what is due and the commands' answers waiting, within ``timeout``, then cancels the rest."""
        with trio.move_on_after(timeout):
            await self.courier.stop(timeout)
            for answers in self._answers.values():
                await answers.sent()
        self._scope.cancel()

    async def dispatch(self, bot_id: str, update: dict[str, Any]) -> bool:
        """An update Telegram posted to the webhook; False if no configured bot has this id. One
        posted again (its answer slow or lost, a restart between) is not handled again, nor is one
        without an update id. Raises what storing its id raises: then it is not handled."""
        bot = self.bots.get(bot_id)
        if bot is None:
            return False
        update_id = update.get("update_id")
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            return True
        noted = self._note(update)
        if not await self._seen.first_time(bot.id, update_id, noted):
            log.info("telegram %s: update %d posted again, handled already: ignored", bot.client.name, update_id)
            return True
        await self._handle(bot, update, noted)
        return True

    async def alarm(self, text: str) -> None:
        """Queues ``text`` for every chat that wants "admin" events, bypassing the outbox: for what
        must be told when the database cannot be written (a full disk), or when no command can be
        received (a webhook held). Sent as answers are (``Answers``: off the caller's path, the
        poll's for a webhook held, in order per chat), tried for up to ``command_max_age``: what
        is not sent by then is logged. Returns at once; once the hub has stopped, only logs it."""
        deadline = trio.current_time() + self.config.command_max_age
        for bot in self.bots.values():
            answers = self._answers.get(bot.id)
            if answers is None:
                log.warning("telegram %s: stopped; not told: %s", bot.client.name, text)
                continue
            for chat in bot.config.chats:
                if "admin" in chat.events:
                    answers.put(Reply(chat.id, escape(text, "HTML")), deadline)

    async def _handle(self, bot: Bot, update: dict[str, Any], noted: InHand | None) -> None:
        """Obeys ``update`` and queues its answers (answer.Answers: the next command is not held
        behind them), each sent within ``command_max_age`` of the command (from its date, when it
        has one: a button press has not). ``noted``: the command written down as in hand with the
        update's offset (or id), None if none was."""
        deadline = trio.current_time() + self.commands.answer_time(update)
        try:
            replies = await self.commands.handle(update, await bot.username())
        except Exception:   # failed, not cut (logged by the caller): no longer in hand
            if noted is not None:
                await self._obeyed(bot, update["update_id"], 0)
            raise
        # not when cancelled (a stop): left in hand, told as cut at the next start
        settled = None if noted is None else await self._obeyed(bot, update["update_id"], len(replies))
        for reply in replies:
            self._answers[bot.id].put(reply, deadline, settled)

    async def _obeyed(self, bot: Bot, update_id: int, answers: int) -> Settled | None:
        """The command in hand of ``update_id`` obeyed: with no ``answers``, deleted; else marked obeyed
        (before they are queued: one sent is never of a command still marked as being obeyed), and
        deleted by the ``Settled`` returned once the last of them is taken, or dropped (the module
        says why). A failure to write is logged (it is then told at the next start)."""
        name = bot.client.name
        try:
            if not answers:
                await self._in_hand.done(bot.id, update_id)
                return None
            await self._in_hand.obeyed(bot.id, update_id)
        except Exception:
            log.exception("telegram %s: update %s obeyed, but could not be marked so", name, update_id)
            if not answers:
                return None
        left = answers

        def settled(_taken: bool) -> None:
            nonlocal left
            left -= 1
            if left:
                return
            try:
                self._in_hand.forget(bot.id, update_id)
            except Exception:   # told at the next start
                log.exception("telegram %s: update %s answered, but could not be crossed off", name, update_id)

        return settled

    def _tell_cut(self) -> None:
        """Tells each command the last run stopped while obeying, or before its answers were taken
        (in_hand.py); a failure to read them is logged, and they are told at the next start."""
        try:
            cuts = self._in_hand.cut()
        except Exception:
            log.exception("telegram: the commands the last run stopped while obeying could not be read")
            return
        for cut in cuts:
            self._tell(cut)

    def _tell(self, cut: Cut) -> None:
        """Tells the chat of ``cut``, a command the last run stopped while obeying, or before its answers
        were taken; it is deleted from those in hand once Telegram has taken the word (in_hand.py)."""
        answers = self._answers.get(cut.bot)
        if answers is None:
            log.warning("telegram: bot %s is gone: not told of %s cut while obeyed", cut.bot, cut.command.command)
            return
        when, after = ("after obeying", ", before Telegram took its answer") if cut.obeyed else ("while obeying", "")
        log.warning("telegram: moonhook stopped %s %s from chat %s%s: telling it", when, cut.command.command,
                    cut.command.chat, after)

        def told(_sent: Any) -> None:
            try:
                self._in_hand.forget(cut.bot, cut.update_id)
            except Exception:   # told again at the next start
                log.exception("telegram: chat %s told of a command cut, not marked so", cut.command.chat)

        word = in_hand.unanswered(cut.command) if cut.obeyed else in_hand.notice(cut.command)
        reply = Reply(in_hand.chat_id(cut.command.chat), word, on_sent=told)
        answers.put(reply, trio.current_time() + self.config.command_max_age)

    async def _set_menu(self, bot: Bot) -> None:
        """The commands Telegram's apps offer when an admin types "/" in their private chat with
        the bot (a stranger is offered none); without it they still work."""
        commands = [{"command": c, "description": d} for c, d in MENU]
        for admin in self.config.admins:
            try:
                await bot.client.call("setMyCommands", commands=commands, scope={"type": "chat", "chat_id": admin})
            except TelegramError as e:
                log.warning("telegram %s: could not set the command menu for %s: %s", bot.client.name, admin, e)

    async def _set_webhook(self, bot: Bot) -> None:
        url = f"{self.config.webhook_url}/telegram/{bot.id}"
        try:
            await bot.client.call("setWebhook", url=url, secret_token=self.config.webhook_secret,
                                  allowed_updates=ALLOWED_UPDATES)
            log.info("telegram %s: updates arrive at %s", bot.client.name, url)
        except TelegramError as e:
            log.error("telegram %s: could not set the webhook to %s: %s", bot.client.name, url, e)
