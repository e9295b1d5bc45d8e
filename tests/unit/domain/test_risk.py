"""Lot sizing from risk and the stop: rounding, limits, and the cases it must refuse."""

import pytest

from engine.domain.instruments import on_tick_grid
from engine.domain.risk import loss_at_stop, lot_size

EURUSD = {"name": "EURUSD", "point": 0.00001, "tick_size": 0.00001, "tick_value": 1.0,
          "volume_min": 0.01, "volume_step": 0.01, "volume_max": 100.0}
GOLD = {"name": "XAUUSD", "point": 0.01, "tick_size": 0.01, "tick_value": 1.0,
        "volume_min": 0.01, "volume_step": 0.01, "volume_max": 50.0}
ODD = dict(EURUSD, volume_min=0.1, volume_step=0.05)


def test_one_percent_over_fifty_pips():
    # 1 % of 10,000 = 100; 50 pips = 500 points of 1 USD per lot = 500 per lot -> 0.2 lots
    s = lot_size(EURUSD, balance=10_000, price=1.0850, risk_pct=1, sl=1.0800)
    assert (s.volume, s.reason) == (0.2, None)


def test_distance_in_points_and_fixed_amount():
    assert lot_size(GOLD, balance=5_000, risk_amount=100, sl_points=1000).volume == 0.1


def test_rounds_down_never_up():
    # 100 / 300 per lot = 0.3333 lots -> 0.33, never 0.34
    assert lot_size(EURUSD, balance=10_000, price=1.1, risk_pct=1, sl=1.097).volume == 0.33


def test_odd_step_rounds_down_to_the_step():
    # 100 / 70 = 1.43 lots -> 1.40 with a step of 0.05
    assert lot_size(ODD, balance=10_000, price=1.1, risk_pct=1, sl_points=70).volume == 1.4


def test_below_the_minimum_is_zero_with_the_reason():
    s = lot_size(ODD, balance=1_000, price=1.1, risk_pct=0.5, sl_points=2000)
    assert s.volume == 0 and "below the minimum 0.1" in s.reason and "would risk 200.00" in s.reason


def test_above_the_maximum_is_clamped():
    s = lot_size(EURUSD, balance=10_000_000, price=1.1, risk_pct=10, sl_points=10)
    assert s.volume == 100.0 and "clamped" in s.reason


@pytest.mark.parametrize("kwargs, words", [
    (dict(risk_pct=1), "a stop"),
    (dict(risk_pct=1, sl=1.08), "entry price is needed"),
    (dict(risk_pct=1, price=1.08, sl=1.08), "at the entry"),
    (dict(risk_pct=0, sl_points=10), "above 0"),
    (dict(risk_pct=101, sl_points=10), "at most 100"),
    (dict(risk_pct=1, risk_amount=5, sl_points=10), "one of them"),
    (dict(sl_points=10), "one of them"),
])
def test_refusals(kwargs, words):
    s = lot_size(EURUSD, balance=10_000, **kwargs)
    assert s.volume == 0 and words in s.reason


def test_no_tick_value_is_refused():
    s = lot_size(dict(EURUSD, tick_value=0), balance=10_000, risk_pct=1, sl_points=100)
    assert s.volume == 0 and "no tick value" in s.reason


def test_float_noise_in_the_stop_distance_does_not_cost_a_step():
    spec = {"point": 0.00001, "tick_size": 0.00001, "tick_value": 1.0, "volume_step": 0.01,
            "volume_min": 0.01, "volume_max": 100, "digits": 5}
    assert 1.1 - 1.09 > 0.01  # the noise this guards against
    assert lot_size(spec, balance=10_000, price=1.1, sl=1.09, risk_pct=1).volume == 0.1


def test_a_stop_a_vanishing_distance_away_is_at_the_entry_not_a_division_by_zero():
    s = lot_size(EURUSD, balance=10_000, price=1.1, risk_pct=1, sl_points=1e-300)
    assert (s.volume, s.reason) == (0.0, "the stop is at the entry price")


US500 = {"name": "US500", "digits": 2, "point": 0.01, "tick_size": 0.25, "tick_value": 0.25, "contract_size": 1,
         "volume_min": 0.1, "volume_step": 0.1, "volume_max": 1000}


def test_a_stop_off_the_tick_grid_is_measured_where_the_broker_puts_it():
    # 4998.87 is 4998.75 on a grid of quarters (MetaTrader moves it there): 1.25 under the ask,
    # 80 lots for 100.00. Measured as given (1.13) it was 88.4 lots, 110.50 lost at the real stop.
    assert lot_size(US500, balance=10_000, price=5000.0, risk_amount=100, sl=4998.87).volume == 80.0
    assert loss_at_stop(US500, 88.4, 5000.0, 4998.87) == pytest.approx(110.5)
    assert on_tick_grid(4998.87, US500) == on_tick_grid(4998.87, {**US500, "trade_tick_size": 0.25}) == 4998.75
    assert on_tick_grid(1.0840012345, {"digits": 5, "point": 0.00001}) == 1.084  # no tick size: the point
    assert on_tick_grid(None, US500) is None and on_tick_grid(0, US500) == 0
    assert on_tick_grid(1e308, {"digits": 5, "point": 0.00001}) == 1e308   # its ticks overflowed: OverflowError


def test_the_round_trip_commission_counts_in_what_a_lot_loses_at_the_stop():
    # 5 pips of EURUSD: 50 USD a lot, and 14 USD of commission in and out (the paper broker's
    # 7 a lot a deal): 100 USD buys 1.56 lots (1.5625), not 2.0, which lose 128 at the stop.
    paid = {**EURUSD, "commission": 14.0}
    assert lot_size(paid, balance=10_000, price=1.1, risk_pct=1, sl=1.1005).volume == 1.56
    assert loss_at_stop(paid, 2.0, 1.1, 1.1005) == pytest.approx(128.0)
    assert lot_size(EURUSD, balance=10_000, price=1.1, risk_pct=1, sl=1.1005).volume == 2.0   # none known: distance
    assert loss_at_stop(EURUSD, 2.0, 1.1, 1.1005) == pytest.approx(100.0)


# USDJPY on a USD account: a tick's value is 100 JPY, 0.6667 USD at today's 150; at the stop the
# loss converts at the stop's price (account_is_base), as the broker books it there.
USDJPY = {"name": "USDJPY", "digits": 3, "point": 0.001, "tick_size": 0.001, "tick_value": 100 / 150,
          "contract_size": 100_000, "volume_min": 0.01, "volume_step": 0.01, "volume_max": 100.0,
          "account_is_base": True}


def test_a_buy_whose_loss_converts_at_the_stop_loses_more_than_todays_tick_value_says():
    # From 150 to 147: 3 x 100,000 = 300,000 JPY a lot, 2,040.82 USD at 147 (2,000.00 at 150).
    # 1% of 10,000 buys 0.049 lots: 0.04, not the 0.05 that lose 102.04 at the stop.
    per_lot = 3 * 100_000 / 147
    assert lot_size(USDJPY, balance=10_000, price=150, risk_pct=1, sl=147).volume == 0.04
    assert loss_at_stop(USDJPY, 0.05, 150, 147) == pytest.approx(0.05 * per_lot)   # 102.04
    assert lot_size({**USDJPY, "account_is_base": False}, balance=10_000, price=150, risk_pct=1, sl=147).volume == 0.05


def test_a_sell_whose_loss_converts_at_the_stop_loses_less_than_todays_tick_value_says():
    # From 150 to 160: 1,000,000 JPY a lot, 6,250.00 USD at 160 (6,666.67 at 150): 5% buys 0.08, not 0.07.
    assert lot_size(USDJPY, balance=10_000, price=150, risk_pct=5, sl=160).volume == 0.08
    assert lot_size(USDJPY, balance=10_000, price=150, risk_amount=500, sl=160).volume == 0.08
    assert loss_at_stop(USDJPY, 0.08, 150, 160) == pytest.approx(500.0)


def test_a_distance_in_points_whose_loss_converts_at_the_stop_is_taken_below_the_entry():
    # 3,000 points from 150: the lower stop, 147, loses the more (2,040.82 a lot): never more risk than asked.
    assert lot_size(USDJPY, balance=10_000, price=150, risk_pct=1, sl_points=3000).volume == 0.04
    s = lot_size(USDJPY, balance=10_000, risk_pct=1, sl_points=3000)
    assert s.volume == 0 and "the entry price is needed" in s.reason
    assert lot_size(USDJPY, balance=10_000, price=150, risk_pct=1, sl_points=150_000).volume == 0   # a stop at 0
