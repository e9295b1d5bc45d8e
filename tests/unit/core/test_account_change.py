"""Which accounts are another (engine/core/account_change.py): what the journal kept against what a
start says, the broker's word ("mt5 LOGIN@SERVER") once connected, moonhook.toml's otherwise."""

from __future__ import annotations

import pytest

from engine.core.account_change import another


@pytest.mark.parametrize("before, now", [
    ("paper", "paper"),
    ("mt5", "mt5 111@Broker-Demo"),              # kept before the account was said: not known
    ("mt5 111", "mt5 111@Broker-Demo"),          # moonhook.toml's login, the terminal logged in to it
    ("mt5 111@Broker-Demo", "mt5 111"),          # the terminal not reached at this start, the login written
    ("mt5 111@Broker-Demo", "mt5"),              # the terminal not reached, no login: nothing said
])
def test_what_one_of_them_does_not_say_is_the_same_account(before, now):
    assert not another(before, now)


@pytest.mark.parametrize("before, now", [
    ("paper", "mt5 111@Broker-Demo"),
    ("mt5 111@Broker-Demo", "mt5 222@Broker-Live"),   # the terminal logged in to the live account by hand
    ("mt5 111@Broker-Demo", "mt5 111@Broker-Live"),   # the same number at another server
    ("mt5 111", "mt5 222@Broker-Live"),
    ("mt5 111@Broker-Demo", "mt5 222"),               # the terminal not reached, another login written
])
def test_an_account_either_says_otherwise_is_another(before, now):
    assert another(before, now)
