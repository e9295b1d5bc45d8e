"""Position sizing: the lot size that risks a given share of the balance at the stop.

Pure arithmetic on a symbol's specification, as ``market.symbol`` gives it (tick value in the
account currency, as MetaTrader reports it), so the paper broker and MetaTrader 5 size alike.
Where the account's currency is the symbol's base (``account_is_base``: USDJPY on a USD
account), the loss, in the quote currency, converts at the stop's price, not at today's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from engine.domain.instruments import on_tick_grid
from engine.domain.rules import down_to_step


@dataclass(frozen=True)
class Sizing:
    volume: float
    reason: str | None = None  # why the volume is 0, or was clamped


def lot_size(
    spec: dict,
    *,
    balance: float,
    price: float | None = None,
    risk_pct: float | None = None,
    risk_amount: float | None = None,
    sl: float | None = None,
    sl_points: float | None = None,
) -> Sizing:
    """Volume risking ``risk_pct`` of ``balance`` (or ``risk_amount``) if the stop is hit.

    The stop is a price ``sl`` (with the entry ``price``), measured where the broker puts it,
    on the symbol's tick grid (``on_tick_grid``), or a distance in points. What a lot loses
    there counts the commission of its round trip where the spec has it (``commission``, the
    paper broker's; MetaTrader 5 tells it only once paid: there the price distance only). The volume
    is rounded down to the symbol's step and clamped to its maximum; below its minimum the
    answer is 0 with the reason, never a bigger risk than asked. Where the loss converts at the
    stop's price (``account_is_base``), a distance in points is taken below the entry (the
    lower stop, the greater loss), and needs the entry."""
    if (risk_pct is None) == (risk_amount is None):
        return Sizing(0.0, "give risk_pct or risk_amount (one of them)")
    if risk_pct is not None and not (0 < risk_pct <= 100):
        return Sizing(0.0, f"risk_pct must be above 0 and at most 100, got {risk_pct}")
    amount = balance * risk_pct / 100 if risk_pct is not None else risk_amount
    if not (amount and amount > 0 and math.isfinite(amount)):
        return Sizing(0.0, f"nothing to risk (risk amount {amount})")

    point, tick_size, tick_value = spec["point"], spec["tick_size"], spec["tick_value"]
    if sl is not None:
        if price is None:
            return Sizing(0.0, "sl is a price: the entry price is needed to measure the stop")
        stop = on_tick_grid(sl, spec)
        distance = abs(on_tick_grid(price, spec) - stop)
    elif sl_points is not None:
        distance = sl_points * point
        stop = on_tick_grid(price - distance, spec) if price is not None else None
    else:
        return Sizing(0.0, "a stop (sl or sl_points) is needed to size by risk")
    if distance <= 0 or not math.isfinite(distance):
        return Sizing(0.0, "the stop is at the entry price")
    if not (tick_size and tick_size > 0 and tick_value and tick_value > 0):   # None: the paper broker without a rate
        return Sizing(0.0, f"{spec.get('name', 'the symbol')} has no tick value to size with (no rate yet from "
                           "its quote currency to the account's)")

    if spec.get("account_is_base") and not (stop and stop > 0):
        return Sizing(0.0, f"{spec.get('name', 'the symbol')}'s loss converts at the stop's price: the entry price "
                           "is needed, and the stop must be above 0")
    loss_per_lot = _loss_per_lot(spec, distance, stop)
    if loss_per_lot <= 0:  # a stop less than a millionth of a tick away
        return Sizing(0.0, "the stop is at the entry price")
    loss_per_lot += _commission(spec)
    raw = round(amount / loss_per_lot, 9)
    volume = down_to_step(raw, spec["volume_step"])
    vmin, vmax = spec["volume_min"], spec["volume_max"]
    if volume < vmin:
        return Sizing(0.0, f"risking {amount:.2f} allows {raw:.4f} lots, below the minimum {vmin} "
                           f"(which would risk {vmin * loss_per_lot:.2f})")
    if volume > vmax:
        return Sizing(float(vmax), f"clamped to the maximum volume {vmax} (asked {volume})")
    return Sizing(volume)


def loss_at_stop(spec: dict, volume: float, price: float, sl: float) -> float | None:
    """What ``volume`` lots entered at ``price`` lose at the stop ``sl``, in the account's
    currency (as ``lot_size`` measures it), both prices on its tick grid, where the broker puts
    them, with the commission of the round trip where the spec has it; None without a tick
    value to measure it with."""
    tick_size, tick_value = spec.get("tick_size"), spec.get("tick_value")
    if not (tick_size and tick_size > 0 and tick_value and tick_value > 0):
        return None
    stop = on_tick_grid(sl, spec)
    if spec.get("account_is_base") and not (stop and stop > 0):
        return None
    distance = abs(on_tick_grid(price, spec) - stop)
    return (_loss_per_lot(spec, distance, stop) + _commission(spec)) * volume


def _commission(spec: dict) -> float:
    """The commission a lot pays to open and close, where the spec says it (0 where not)."""
    commission = spec.get("commission")
    return float(commission) if commission and commission > 0 and math.isfinite(commission) else 0.0


def _loss_per_lot(spec: dict, distance: float, stop: float | None) -> float:
    """What a lot loses over ``distance`` to ``stop``, in the account's currency: ticks at the tick
    value; where the account's currency is the symbol's base, the quote currency's loss (distance x
    contract size) divided by the stop's price, the rate the broker books it at there (USDJPY from
    150 to 147: 300,000 JPY, 2,040.82 USD at 147, not the 2,000.00 of today's tick value)."""
    # Rounded so that float noise (1.1 - 1.09 = 0.010000000000000009) never costs a step.
    ticks = round(distance / spec["tick_size"], 6)
    if spec.get("account_is_base"):
        return ticks * spec["tick_size"] * spec["contract_size"] / stop
    return ticks * spec["tick_value"]


def lots_of_units(spec: dict, units: float) -> Sizing:
    """The lots that hold ``units`` of the instrument (TradingView's strategies count a forex
    position in units: 100,000 of EURUSD is one lot at most brokers), by the symbol's contract
    size, rounded down to its step; 0 with the reason below its minimum. Above its maximum the
    lots are left for the broker to refuse, as an explicit volume is."""
    size = spec.get("contract_size")
    if not (size and size > 0):
        return Sizing(0.0, f"{spec.get('name', 'the symbol')} has no contract size to convert units with")
    raw = round(units / size, 9)
    volume = down_to_step(raw, spec["volume_step"])
    if volume < spec["volume_min"]:
        return Sizing(0.0, f"{units:g} units are {raw:g} lots (contract size {size:g}), below the minimum "
                           f"{spec['volume_min']}")
    return Sizing(volume)
