"""The courier: takes messages from the outbox to the Telegram chats that want them.

Each outbox message is routed once into one delivery per chat (``storage/deliveries.py``).
Each chat then has a lane: its deliveries go out in order, through the one bot that serves
the chat, within that bot's limits. What piled up in a chat (after an outage, say) goes out
together, several to a message, so a chat's one message a second still catches up.

Nothing here is on an alert's path: the engine only ever appends to the outbox. A message
is marked sent once Telegram accepts it, so a restart sends only what was not; if an answer
was lost (a timeout after the request left), or a message in several parts was stopped
between parts, the message is sent again, saying so.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Iterable

import trio

from engine.adapters.storage import Database
from engine.adapters.storage.deliveries import Deliveries, Delivery
from engine.adapters.notify.backoff import Backoff
from engine.adapters.notify.refusals import KEPT, Refusals
from engine.domain.config.telegram import KINDS, TelegramConfig
from engine.domain.words import counted
from engine.adapters.notify.bot import (MAX_TEXT, Bot, RetryAfter, TelegramError, escape, message_parts,
                                        text_length)

log = logging.getLogger("moonhook.telegram")

LATE = 30.0          # a message sent this many seconds after the event says when it happened
POLL = 1.0           # the outbox is read at least this often, woken or not
SEPARATOR = "\n\n"
RESENT = "(sent again: an earlier try may have arrived)\n"


class _Lane:
    __slots__ = ("bot", "chat", "target", "queue", "wake", "sent_parts", "alone", "failing")

    def __init__(self, bot: Bot, chat: str):
        self.bot, self.chat = bot, chat
        self.target = chat   # where its messages go: the chat's new id, once its group became a supergroup
        self.queue: deque[Delivery] = deque()
        self.wake = trio.Event()
        self.sent_parts = 0  # of the first delivery, when it needs several messages
        self.alone = 0       # how many of the next deliveries go one to a message (a joined send was refused)
        self.failing: tuple[float, str] | None = None   # since when (Unix time) its sends fail, and the last error


class Courier:
    def __init__(self, config: TelegramConfig, database: Database, bots: Iterable[Bot]):
        self.config = config
        self._database = database
        self._deliveries = Deliveries(database)
        self._lanes: dict[tuple[str, str], _Lane] = {}
        self._routes: dict[str, list[tuple[str, str]]] = {kind: [] for kind in KINDS}
        for bot in bots:
            for chat in bot.config.chats:
                self._lanes[bot.id, chat.key] = _Lane(bot, chat.key)
                for kind in chat.events:
                    self._routes[kind].append((bot.id, chat.key))
        self.refusals = Refusals()
        self._poke = trio.Event()
        self._progress = trio.Event()   # set (and replaced) each time a lane is done with a batch
        self._closing = False
        self._sending = 0
        self._idle = trio.Event()
        self._idle.set()

    def health(self) -> dict[str, list[dict]]:
        """The fields ``/health`` shows of Telegram: ``telegram_refused`` (``Refusals.view``) and
        ``telegram_unreachable``: each bot whose sends fail now, none taken since the first failure
        (unreachable, a 5xx, a revoked token; not a 429 or a refusal: Telegram answers those):
        {bot, since (Unix time), messages (waiting in its failing chats), error (the longest failing
        chat's last)}, the longest first."""
        down: dict[str, dict] = {}
        for lane in self._lanes.values():
            if lane.failing is not None:
                since, error = lane.failing
                row = down.setdefault(lane.bot.id, {"bot": lane.bot.id, "since": since, "messages": 0, "error": error})
                row["messages"] += len(lane.queue)
                if since < row["since"]:
                    row["since"], row["error"] = since, error
        return {"telegram_refused": self.refusals.view(),
                "telegram_unreachable": sorted(down.values(), key=lambda r: r["since"])}

    def poke(self) -> None:
        """The outbox has new messages: route them now rather than at the next poll."""
        self._poke.set()

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Sends until cancelled (see ``stop``); started once what was due at the last stop is queued."""
        due = self._deliveries.due({bot for bot, _ in self._lanes})
        self.refusals.load(self._deliveries.refused(time.time() - KEPT))
        stranded = 0
        for delivery in due:
            stranded += not self._queue(delivery)
        if stranded:
            log.warning("%d Telegram messages are for chats no longer configured; kept, not sent", stranded)
        async with trio.open_nursery() as nursery:
            for lane in self._lanes.values():
                nursery.start_soon(self._lane, lane, name=f"telegram {lane.bot.id} -> {lane.chat}")
            task_status.started()
            await self._route_forever()

    async def stop(self, timeout: float) -> None:
        """Sends what is due, the messages the engine's stop wrote last included (the fills of the
        alerts it finished), then no new sends; returns once the sends in flight are answered, so
        that what Telegram accepted is marked and is not sent again at the next start. All within
        ``timeout``: what is left (Telegram down) is sent at the next start."""
        with trio.move_on_after(timeout):
            if not self._closing:
                await self._flushed()
            self._close()
            await self._idle.wait()
        self._close()

    def _close(self) -> None:
        self._closing = True
        for lane in self._lanes.values():
            lane.wake.set()

    async def _flushed(self) -> None:
        """Returns once the outbox is routed and every chat's queue is sent (or refused for good)."""
        while True:
            await self._database.writable()
            try:
                new, routed = self._deliveries.route(self._routes.__getitem__)
            except Exception:
                log.exception("could not route the outbox to Telegram at the stop; the rest waits for the next start")
                return
            for delivery in new:
                self._queue(delivery)
            if not any(lane.queue for lane in self._lanes.values()):
                return
            if not routed:
                await self._progress.wait()

    # -- routing ----------------------------------------------------------------------------

    async def _route_forever(self) -> None:
        while not self._closing:
            await self._database.writable()
            try:
                new, routed = self._deliveries.route(self._routes.__getitem__)
            except Exception:
                log.exception("could not route the outbox to Telegram; trying again")
                new, routed = [], 0
            for delivery in new:
                self._queue(delivery)
            if routed:
                continue  # there may be more
            with trio.move_on_after(POLL):
                await self._poke.wait()
            self._poke = trio.Event()

    def _queue(self, delivery: Delivery) -> bool:
        lane = self._lanes.get((delivery.bot, delivery.chat))
        if lane is None:
            return False
        lane.queue.append(delivery)
        lane.wake.set()
        return True

    # -- sending ----------------------------------------------------------------------------

    async def _lane(self, lane: _Lane) -> None:
        backoff = Backoff()
        while True:
            while not lane.queue and not self._closing:
                await lane.wake.wait()
                lane.wake = trio.Event()
            if self._closing:
                return
            batch, parts, apart = self._batch(lane), [""], False
            while lane.sent_parts < len(parts):
                if lane.sent_parts == 0:  # again at each try: a late message says when it happened
                    parts = message_parts(SEPARATOR.join(self._text(d) for d in batch), self.config.parse_mode)
                await lane.bot.limits.acquire(lane.target)
                if self._closing:
                    return
                fresh = [d for d in batch if not d.uncertain]
                if fresh:  # it may arrive while in flight: sent again after a stop or a crash, it says so
                    await self._mark(self._deliveries.mark_in_flight, fresh)
                error = await self._send(lane, parts[lane.sent_parts])
                if error is None or error.permanent or error.migrate_to is not None or isinstance(error, RetryAfter):
                    lane.failing = None   # Telegram answers
                if error is not None and fresh and not error.maybe_done:  # answered: none of it arrived
                    await self._mark(self._deliveries.mark_not_sent, fresh)
                if error is None:
                    lane.sent_parts += 1
                    backoff.reset()
                    if lane.sent_parts < len(parts) and not all(d.uncertain for d in batch):
                        # Part of it is out: what is sent again (after a stop, say) says so.
                        for d in batch:
                            d.uncertain = True
                        await self._mark(self._deliveries.mark_partly_sent, batch)
                    continue
                if error.migrate_to is not None and str(error.migrate_to) != lane.target:
                    log.error("Telegram: the group %s of %s was upgraded to a supergroup, now chat %s; its "
                              "messages go there until the engine stops: put %s in place of %s in moonhook.toml",
                              lane.target, lane.bot.id, error.migrate_to, error.migrate_to, lane.chat)
                    lane.target = str(error.migrate_to)
                    continue
                if error.permanent and len(batch) > 1:
                    # Refused as joined (too long, say): each goes on its own, and only a
                    # message refused by itself fails.
                    log.info("Telegram refused %d messages joined for chat %s; sending them one at a time",
                             len(batch), lane.chat)
                    lane.alone, apart = len(batch), True
                    break
                if error.permanent:
                    first = self.refusals.add(lane.bot.id, lane.chat, str(error), len(batch))
                    (log.warning if first else log.debug)(
                        "Telegram refused %s for chat %s for good (%s): dropped%s", counted(len(batch), "message"),
                        lane.chat, error, "; more refused so are counted in /health, not logged" if first else "")
                    await self._mark(self._deliveries.mark_failed, batch, str(error))
                    break
                if isinstance(error, RetryAfter):
                    lane.bot.limits.pause(error.seconds)
                    continue
                if error.maybe_done:
                    for d in batch:
                        d.uncertain = True
                    await self._mark(self._deliveries.mark_uncertain, batch, str(error))
                wait = backoff.next() if error.setup is None else 60.0  # a 401, a 404: till moonhook.toml is fixed
                lane.failing = (lane.failing[0] if lane.failing else time.time(), str(error))
                log.warning("Telegram: %s%s; chat %s tries again in %.1f s (%s waiting)", error,
                            f": {error.setup}" if error.setup else "", lane.chat, wait,
                            counted(len(lane.queue), "message"))
                await trio.sleep(wait)
            else:
                await self._mark(self._deliveries.mark_sent, batch)
            lane.sent_parts = 0
            if apart:
                continue  # none marked: the same deliveries again, one at a time
            for _ in batch:
                lane.queue.popleft()
            lane.alone = max(0, lane.alone - len(batch))
            self._progress.set()
            self._progress = trio.Event()

    async def _send(self, lane: _Lane, text: str) -> TelegramError | None:
        self._sending += 1
        self._idle = trio.Event() if self._sending == 1 else self._idle
        try:
            await lane.bot.client.send_message(lane.target, text, self.config.parse_mode)
            return None
        except TelegramError as e:
            return e
        finally:
            self._sending -= 1
            if self._sending == 0:
                self._idle.set()

    async def _mark(self, mark, batch: list[Delivery], *error: str) -> None:
        with trio.CancelScope(shield=True):  # what Telegram accepted is marked, even at a stop
            await self._database.writable()
        mark([d.id for d in batch], *error)

    def _batch(self, lane: _Lane) -> list[Delivery]:
        """The first waiting delivery, and those after it that fit in the same message."""
        batch, size = [], 0
        for delivery in lane.queue:
            length = text_length(escape(self._text(delivery), self.config.parse_mode)) + len(SEPARATOR)
            if batch and (size + length > MAX_TEXT or lane.sent_parts or lane.alone):
                break
            batch.append(delivery)
            size += length
        return batch

    @staticmethod
    def _text(delivery: Delivery) -> str:
        text = delivery.text
        if time.time() - delivery.created_at > LATE:
            when = time.gmtime(delivery.created_at)   # another day's news is dated, never read as today's
            same_day = when[:3] == time.gmtime()[:3]
            text = time.strftime("(at %H:%M:%S UTC) " if same_day else "(at %Y-%m-%d %H:%M:%S UTC) ", when) + text
        return (RESENT if delivery.uncertain else "") + text
