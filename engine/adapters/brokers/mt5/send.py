"""One MetaTrader request through order_send, at most once, and what its answer means.

The send is written down by its tag before it goes (``book.py``); a tag already done answers
its result, one left open is looked for at the broker first (``lost.py``). A requote or a
price change is sent again at a fresh price (MetaTrader lost before it is read: nothing
executed, so the alert waits for it, as below), an unsupported filling type (10030) with the
next one the symbol allows; no connection with the trade server (10031: nothing reached it)
marks the session lost and raises Unknown, so the alert waits for it as for a lost terminal;
"request canceled by timeout" (10012: the terminal gave up waiting for the trade server, which may
yet execute it) is a lost answer, looked for by its tag; any other retcode refuses the request, in
MetaTrader's words. A send cancelled (moonhook stopping) before order_send was made, as it waited
for another call to the worker, is written not sent.

A tag is in one task's hands at a time: the sender's from its first look in the book to its
result, or the poll's while it looks for a send left open (``resolve_left``). Looked for
while in flight, a send could be shown absent, and called refused, just before its retry
executes; a replay would then send it again.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, Awaitable, Callable, Iterator, NoReturn

import trio

from engine.adapters.brokers.mt5 import constants as c
from engine.adapters.brokers.mt5.book import OPEN_STATES, Book
from engine.adapters.brokers.mt5.history import History
from engine.adapters.brokers.mt5.lost import LostAnswers
from engine.adapters.brokers.mt5.session import Elsewhere, Session, Unknown, Unreached
from engine.domain.config.mt5 import MT5Config
from engine.domain.orders import BrokerError, OrderRequest, OrderResult
from engine.domain.rules import Refused

log = logging.getLogger("moonhook.mt5")


# A send whose outcome is looked for at the broker before anything else: its answer is awaited
# (OPEN_STATES), or it was lost and never found ("lost"; it may still arrive).
LOOKED_FOR = (*OPEN_STATES, "lost")


class Sender:
    def __init__(self, session: Session, book: Book, history: History, lost: LostAnswers,
                 write: Callable[..., Awaitable[Any]], config: MT5Config):
        self._session, self._book, self._history, self._lost = session, book, history, lost
        self._write = write  # the broker's: a book write waits for the engine's turn
        self._config = config
        self._busy: set[str] = set()  # the tags a task of this process is sending or looking for

    async def send(self, r: OrderRequest, request: dict[str, Any], fills: list[int],
                   fresh: Callable[[dict[str, Any]], Awaitable[float]] | None = None) -> OrderResult:
        """``request`` (tagged in its comment) sent for ``r``; ``fills`` are the filling types
        to try, ``fresh`` gives the price to send again at after a requote. Raises Unknown
        when the outcome cannot be known now (MetaTrader is not back within its timeout, or
        the tag is being sent or looked for by another task: the same client id twice at once). Refused,
        unsent, if the terminal is logged in to another account than the session's (``Session.same_account``).
        A close sent again under its tag (judged not executed before, ``lost.py``) and refused now is looked
        for in the history once that is written: its first send, executed late as this one went (the far side
        of a bridge), closed the position, and a poll may have told that deal meanwhile; it is done by it."""
        tag = request["comment"]
        with self._holding(tag):
            again = bool(request.get("position")) and self._book.send(tag) is not None
            result = await self._send(tag, r, request, fills, fresh)
            if again and not result.ok and not result.unknown:
                return await self._lost.done_meanwhile(self._book.send(tag)) or result
            return result

    async def resolve_left(self, tag: str) -> None:
        """The send tagged ``tag``, if still open and no task is sending it now (its answer was
        lost, or the last process stopped mid-send), looked for at the broker and settled.
        Raises Unknown if MetaTrader cannot be asked."""
        if tag in self._busy:
            return  # its sender's: it settles it itself
        with self._holding(tag):
            send = self._book.send(tag)  # read again: the poll's list may be older than its end
            if send is not None and send["state"] in OPEN_STATES:
                await self._lost.resolve(send)

    async def sent_before(self, tag: str) -> OrderResult | None:
        """What a send tagged ``tag`` did, if one executed before (done, or left open and found
        at the broker now). Asked before a request is built again: a close run again after a
        restart finds its position gone, closed by that very send; an entry repeated, or run
        again by recovery, would be checked against the market of now (a price moved, a stops
        level widened) and refused while its position is open. None if there was none (or it
        never arrived). Raises Unknown as ``send`` does."""
        with self._holding(tag):
            known = self._book.send(tag)
            if known is None:
                return await self._history.forgotten(tag)
            return await self._standing(known)

    async def closed_before(self, client_id: str) -> tuple[list[int], dict[int, OrderResult]]:
        """What the close by symbol ``client_id`` did before it was run again (after a restart):
        the positions its sends closed, and by position what those left not known answer, each
        looked for once more first. Its position gone while the history trailed, such a send most
        likely closed it: "not known", never "nothing to close". Raises Unknown as ``send`` does."""
        for known in self._book.not_known(client_id):
            with self._holding(known["tag"]):
                await self._standing(known)
        closed = [s["request"]["position"] for s in self._book.executed(client_id)]
        return closed, {s["request"]["position"]: OrderResult.from_plain(s["result"])
                        for s in self._book.not_known(client_id) if s["result"]}

    async def _standing(self, known: dict[str, Any]) -> OrderResult | None:
        """What the send ``known`` did, if that stands: done, or refused for good (its order ended
        unfilled, ``settle``'s ``stands``), or lost (it may yet arrive); one left open is looked for
        at the broker first. None if it may be sent (again): refused, or never executed. A repeat's
        answer, marked so: its entry is not counted again, nor its "not known" told again."""
        if known["state"] in LOOKED_FOR:
            await self._lost.resolve(known)   # settles it, whatever it finds
            known = self._book.send(known["tag"]) or known
        if known["state"] not in ("done", "lost"):
            return None
        return replace(OrderResult.from_plain(known["result"]), duplicate=True)

    @contextmanager
    def _holding(self, tag: str) -> Iterator[None]:
        if tag in self._busy:
            raise Unknown(f"the order tagged {tag} is being sent or looked for at the broker now")
        self._busy.add(tag)
        try:
            yield
        finally:
            self._busy.discard(tag)

    async def _send(self, tag: str, r: OrderRequest, request: dict[str, Any], fills: list[int],
                    fresh: Callable[[dict[str, Any]], Awaitable[float]] | None) -> OrderResult:
        known = self._book.send(tag)
        if known is not None and (standing := await self._standing(known)) is not None:
            return standing  # done or found; or it may yet arrive: never sent twice
        try:
            await self._session.same_account()
        except Elsewhere as e:   # logged in to by hand since the last poll: the session is made again there
            return OrderResult.refused(f"not sent: {e}, the account moonhook traded on")
        await self._write(self._book.sending, tag, r.client_id, r.kind, request, r.plugin)
        tried, attempt = set(), 0
        while True:
            made = trio.Event()
            try:
                answer = await self._session.call("order_send", request, begun=made.set)
            except Unreached as e:  # lost before order_send was called: nothing of it reached MetaTrader
                await self._unsent(tag, str(e))
            except trio.Cancelled:
                if not made.is_set():   # cancelled (moonhook stopping) as it waited its turn on the link: never
                    # sent, so its alert run again at the next start sends it (left open, it was looked for in vain)
                    with trio.CancelScope(shield=True):
                        await self.settle(tag, OrderResult.refused("not sent: cancelled as it waited for MetaTrader 5"))
                raise
            except Unknown:
                await self._write(self._book.settle, tag, "unknown")
                # the worker is restarted and the terminal linked again in the background; the
                # order is then looked for, and the alert gets its real outcome
                if not await self._session.wait_up(self._config.timeout):
                    raise
                return await self._lost.resolve(self._book.send(tag))
            if answer is None:  # refused by the terminal before it reached the trade server
                return await self.settle(tag, OrderResult.refused("MetaTrader 5 order_send failed"))
            code = answer["retcode"]
            self._session.algo_trading(code != c.ALGO_TRADING_OFF)  # any other answer: the button is on
            if code in c.DONE_CODES:
                result = OrderResult(ok=True, ticket=answer.get("order") or request.get("position") or request.get(
                    "order"), price=answer.get("price") or request.get("price"), volume=answer.get("volume"))
                return await self.settle(tag, result)
            if code == c.TIMEOUT:   # the terminal stopped waiting for the trade server, which may yet execute it
                log.warning("%s: %s: looked for as a lost answer", tag, c.describe_retcode(code))
                await self._write(self._book.settle, tag, "unknown")
                return await self._lost.resolve(self._book.send(tag))
            tried.add(request.get("type_filling"))
            if code == c.INVALID_FILL and (left := [f for f in fills if f not in tried]):
                log.warning("%s: filling %s refused; trying %s", tag, c.FILLING_NAMES.get(request["type_filling"]),
                            c.FILLING_NAMES.get(left[0]))
                request = {**request, "type_filling": left[0]}
                continue
            said = c.describe_retcode(code, answer.get("comment"))
            if code in c.RETRY_WITH_FRESH_PRICE and fresh is not None and attempt < self._config.retries:
                attempt += 1
                try:
                    request = {**request, "price": await fresh(request)}
                except Refused as e:  # an entry's stops too near the price now: never sent again
                    return await self.settle(tag, OrderResult.refused(f"{said}: the price moved: {e}"))
                except (BrokerError, Unknown) as e:  # lost before the next try: nothing executed yet
                    await self._unsent(tag, f"{said}, and no fresh price to send it again at: {e}")
                continue
            if code == c.INVALID_STOPS and fresh is not None:
                said += await _moved(request, fresh)
            if code == c.CONNECTION:  # sent nowhere: the alert waits for the trade server, as for a lost terminal
                self._session.lose(c.describe_retcode(code))
                await self._unsent(tag, said)
            return await self.settle(tag, OrderResult.refused(said))

    async def _unsent(self, tag: str, said: str) -> NoReturn:
        """Nothing the send tagged ``tag`` sent has executed (its answers said so), and MetaTrader
        cannot serve it now: written down as not executed, so the tag may be sent again, and
        Unknown raised, so that its alert waits for MetaTrader and runs once it is back. Left
        "sending", it would be looked for in vain and called not known, never to be sent."""
        await self.settle(tag, OrderResult.refused(said))
        raise Unknown(said)

    async def settle(self, tag: str, result: OrderResult, stands: bool = False) -> OrderResult:
        """The send tagged ``tag`` is over, or "lost" (``result.unknown``: looked for again at
        each repeat): written down with its result. A refusal ``stands`` when the trade server
        ended the order (rejected it, filled nothing), as its lost answer would have said: it
        is answered again, never sent again, as a refusal answered at once is."""
        state = "done" if result.ok or stands else "lost" if result.unknown else "refused"
        await self._write(self._book.settle, tag, state, plain(result))
        return result


async def _moved(request: dict[str, Any], fresh: Callable[[dict[str, Any]], Awaitable[float]]) -> str:
    """Why the trade server found the stops of the market ``request`` invalid (10016), measured at
    the price now (``fresh``): the market came nearer them than the symbol allows between the check
    before sending and the server's; or nothing to add."""
    try:
        await fresh(request)
    except Refused as e:
        return f": the price moved: {e}"
    except BrokerError:
        pass  # no price to measure at: the server's word alone
    return ""


def plain(result: OrderResult) -> dict[str, Any]:
    """``result`` as the book keeps it (a repeat is marked duplicate when it is read back)."""
    return {k: v for k, v in result.to_plain().items() if k != "duplicate"}
