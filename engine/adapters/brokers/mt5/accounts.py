"""The account the book is of. A trader moves a folder from a demo login to the live one (or to
another server) with the same moonhook.db: the plugins' magic numbers were given at the old
account, past the numbers in use there, and the deal history's and the pending orders' marks
are of its tickets. At the new account another engine or an expert may number its orders the
same, and its tickets are another's: taken as moonhook's, its positions would be listed as a
plugin's, closed by an alert's close, and its orders told as moonhook's, dropped.

So the book keeps the account it was written at ("LOGIN@SERVER"); at a connection to another,
what was of the old one is forgotten, as a first start's: each plugin is given a number anew at
its first order, past those in use at this account; the orders and deals there now are known,
not told. The journal, the order ledger and the trades already told stay: they are history.
"""

from __future__ import annotations

import logging

from engine.adapters.brokers.mt5.book import Book
from engine.adapters.brokers.mt5.history import TOLD, WATERMARK
from engine.adapters.brokers.mt5.pending import KNOWN

log = logging.getLogger("moonhook.mt5")

ACCOUNT = "account"            # the mt5_state key of the account the book is of
OF_THE_ACCOUNT = (WATERMARK, TOLD, KNOWN)  # the marks of its history and orders


def settle_account(book: Book, account: str) -> str | None:
    """``account``, connected now, written as the book's; the account the book was of before,
    when another (what was of it is then forgotten), else None. A book of no account yet (a
    first start, or one written before the account was kept) is taken to be of this one."""
    before = book.get_state(ACCOUNT)
    if before == account:
        return None
    if before is None:
        book.put_state(ACCOUNT, account)
        return None
    book.forget(OF_THE_ACCOUNT, {ACCOUNT: account})
    log.warning("MetaTrader 5: account %s, not %s this journal traded on: the magic numbers, orders and deals of "
                "%s are not looked for here; its positions there are left as they are (close them in MetaTrader 5 "
                "on that account), and moonhook's orders here get numbers of their own", account, before, before)
    return before
