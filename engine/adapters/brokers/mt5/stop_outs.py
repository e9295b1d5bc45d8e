"""A stop-out read over several polls, told as one: the trade server closes a stop-out's positions
one after another, and a poll may read the history between two of them, or before the terminal has
the later ones. Paper tells the positions one quote stopped out as one ``StopOut``; here the closes
of a stop-out that follow the last one told within GAP seconds (the deals' times, on the server's
clock) join it (``more``): the admins hear of the episode once, the trades chat of each close."""

from __future__ import annotations

from dataclasses import replace

from engine.domain.orders import StopOut

# mt5_state: when the last stop-out read closed its first position (UTC, seconds): a restart knows it too
LAST = "stop_out_last"
# Seconds between the first closes of two reads of one stop-out: the trade server makes its closes in
# one go, a second or two apart; a stop-out this much later is another
GAP = 10.0


def episode(stop_out: StopOut | None, last: str | None) -> tuple[StopOut | None, dict[str, str]]:
    """``stop_out`` (None: none was read), marked ``more`` when its first close came within GAP
    seconds after the last stop-out's (``last``, as kept), and the state to keep with it."""
    if stop_out is None:
        return None, {}
    more = last is not None and 0 <= stop_out.time - float(last) <= GAP
    return (replace(stop_out, more=True) if more else stop_out), {LAST: repr(stop_out.time)}
