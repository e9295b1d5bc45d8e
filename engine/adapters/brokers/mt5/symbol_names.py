"""A symbol MetaTrader does not know, said with the names it has for it: many brokers quote EURUSD as
"EURUSD.r" or "EURUSDm", and an alert's EURUSD, sent without ``mt5.symbol_suffix``, read "unknown
symbol EURUSD at the broker", which a trader takes for a typo in the alert."""

from __future__ import annotations

import re

from engine.adapters.brokers.mt5.session import Unknown
from engine.adapters.brokers.mt5.terminal import Terminal

SHOWN = 5   # the broker's names said at most
# A name safe in symbols_get's group mask, which reads "*", "," and "!" as its own.
PLAIN = re.compile(r"[A-Za-z0-9._#-]+")


async def unknown(broker: Terminal, symbol: str) -> str:
    """Why ``symbol`` is refused, with the broker's symbols whose names hold it, if any, and the setting
    that maps it to one. What the terminal cannot answer now adds nothing: the refusal alone."""
    said = f"unknown symbol {symbol} at the broker"
    name = broker.config.to_broker(symbol)
    if name != symbol:
        said += f" (as {name})"
    if not PLAIN.fullmatch(symbol):
        return said
    try:
        rows = await broker.query("symbols_get", group=f"*{symbol}*") or ()
    except Unknown:
        return said
    names = sorted(r["name"] for r in rows if r.get("name") and r["name"] != name)
    if not names:
        return said
    shown = ", ".join(names[:SHOWN]) + (f" and {len(names) - SHOWN} more" if len(names) > SHOWN else "")
    suffixed = [n for n in names if n.startswith(symbol)]
    example = min(suffixed, key=lambda n: (len(n), n)) if suffixed else None
    how = f' ("{example[len(symbol):]}" for {example})' if example else ""
    return f"{said}; it has {shown}: set mt5.symbol_suffix{how}, or mt5.symbols for a name of the broker's own"
