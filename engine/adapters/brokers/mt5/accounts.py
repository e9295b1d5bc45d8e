"""The account the book is of. A trader moves a folder from a demo login to the live one (or to
another server) with the same moonhook.db: the plugins' magic numbers were given at the old
account, past the numbers in use there, and the deal history's and the pending orders' marks
are of its tickets. At the new account another engine or an expert may number its orders the
same, and its tickets are another's: taken as moonhook's, its positions would be listed as a
plugin's, closed by an alert's close, and its orders told as moonhook's, dropped.

So the book keeps the account it was written at ("LOGIN@SERVER"); at a connection to another,
what was of the old one is forgotten, as a first start's: each plugin is given a number anew at
its first order, past those in use at this account, and none is taken back off the comments
there (``magic.py``: another moonhook project's alerts there are tagged as this journal's); the
orders and deals there now are known, not told. A send of the old account whose answer was lost
is not looked for at the new one (its tag and number may be another's there), nor does it hold a
place in ``engine.max_open_positions`` there, or refuse an entry of its symbol on a netting account
(``Book.in_doubt``, ``Book.unresolved``). The journal, the order ledger and the trades already
told stay: they are history.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Protocol

from engine.adapters.brokers.mt5.book import SINCE, Book
from engine.adapters.brokers.mt5.history import TOLD, WATERMARK, History
from engine.adapters.brokers.mt5.magic import Magics
from engine.adapters.brokers.mt5.pending import KNOWN
from engine.adapters.brokers.mt5.stop_outs import LAST

log = logging.getLogger("moonhook.mt5")

ACCOUNT = "account"            # the mt5_state key of the account the book is of
OF_THE_ACCOUNT = (WATERMARK, TOLD, KNOWN, LAST)  # the marks of its history, orders and stop-outs


class Terminal(Protocol):
    """What ``settle_account`` needs of the broker (MT5Broker is one)."""

    book: Book
    magics: Magics
    deals: History

    async def write(self, fn: Callable[..., Any], *args: Any) -> Any: ...


async def settle_account(broker: Terminal, account: str) -> None:
    """``account``, the one ``broker`` is connecting to, written as its book's (``book_account``);
    at another than the book's, no magic number is taken back off the comments there either
    (``Magics.new_account``): another moonhook project's alerts are tagged as this one's; nor is a deal
    there taken for told because the old server gave its ticket to a deal told there (``History.forget``).
    Called by the session before it counts as up (``Session.connect``): no order goes there under the old
    account's numbers, nor is a send of the old account looked for there."""
    if await broker.write(book_account, broker.book, account) is not None:
        broker.magics.new_account()
        broker.deals.forget()


def book_account(book: Book, account: str) -> str | None:
    """``account``, connected now, written as the book's; the account the book was of before,
    when another (what was of it is then forgotten), else None. A book of no account yet (a
    first start, or one written before the account was kept) is taken to be of this one."""
    before = book.get_state(ACCOUNT)
    if before == account:
        return None
    if before is None:
        book.put_state(ACCOUNT, account)
        return None
    book.forget(OF_THE_ACCOUNT, {ACCOUNT: account, SINCE: repr(time.time())})
    log.warning("MetaTrader 5: account %s, not %s this journal traded on: the magic numbers, orders and deals of "
                "%s are not looked for here; its positions there are left as they are (close them in MetaTrader 5 "
                "on that account), and moonhook's orders here get numbers of their own", account, before, before)
    return before
