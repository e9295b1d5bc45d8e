"""/positions' answer: the open positions, or one symbol's, with their profit in all."""

from __future__ import annotations

from engine.app.operations import Operations
from engine.domain.alerts import AlertError
from engine.domain.words import amount
from engine.interfaces.telegram.tables import escape, position_table


async def positions_answer(ops: Operations, arg: str) -> str:
    """/positions, or /positions SYMBOL: that symbol's only, named as /close names it (any case, symbol_map
    applied). None open on a symbol the broker does not know says so: a misspelt symbol is not read as flat.
    Raises what the broker raises when it cannot be asked."""
    try:
        symbol = ops.symbol(arg) if arg else None
    except AlertError:
        return f"{escape(arg[:40])} is not a symbol. Usage: /positions, or /positions SYMBOL."
    positions, on = await ops.positions(symbol), f" on {escape(symbol)}" if symbol else ""
    if not positions:
        unknown = await ops.unknown_symbol(symbol) if symbol else None
        return f"No open position{on}: {escape(unknown)}." if unknown else f"No open position{on or 's'}."
    total = amount(sum(p.get("profit") or 0.0 for p in positions), sign=True)
    return (f"<b>{len(positions)} open position{'s' * (len(positions) != 1)}{on}</b>, profit {total}\n"
            + position_table(positions))
