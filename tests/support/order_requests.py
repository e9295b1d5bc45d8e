"""An order request as a plugin "t" sends it, with a client id of its own unless one is given: the
paper broker's tests (and those that send the same requests to MetaTrader 5's stand-in) build theirs
with it."""

from __future__ import annotations

import itertools

from engine.domain.orders import OrderRequest

_ids = itertools.count(1)   # one sequence for the whole run: no two requests share an id by accident


def req(kind: str, client_id: str | None = None, **fields) -> OrderRequest:
    """An OrderRequest of ``kind`` ("market", "pending", "modify", ...) with ``fields``."""
    return OrderRequest(kind, client_id or f"c{next(_ids)}", plugin="t", **fields)
