"""A login MetaTrader refuses (-6, "Authorization failed": a wrong login, password or server alike), at the broker's
seam (the stand-in terminal in the broker's real worker process, trio's clock jumped where the test says): tried
again after minutes, less often each time, up to once an hour, as brokers lock an account or an address after
repeated failed logins; the next try said in ``state`` and told once; a network failure still tried again in seconds."""

from __future__ import annotations

import re
from dataclasses import replace

import trio
import trio.testing

from engine.domain.orders import Connection, Notice

from support.mt5_standin import Terminal
from support.mt5_support import STANDIN_CLOCK, mt5
from support.waits import until

PASSWORD = "right-pass-4417"


def refused(tmp_path, password: str = "wrong-pass-9902") -> dict:
    """A broker's settings whose login the stand-in (account 31337, ``PASSWORD``) refuses."""
    Terminal(tmp_path / "terminal.db", login=31337, password=PASSWORD, server="Standin-Demo")
    return dict(login=31337, password=password, server="Standin-Demo", server_clock=STANDIN_CLOCK)


async def test_a_refused_login_is_tried_again_after_minutes_growing_to_an_hour_never_seconds(tmp_path, mock_clock):
    # It was tried again at once by the run loop after the start's try, then every 1, 2, 4 ... 60 s: 1,440 failed
    # logins a day to a broker that locks the account after a few.
    mock_clock.rate = 1.0   # trio's clock runs as the wall's, and jumps where the test says
    async with mt5(tmp_path, **refused(tmp_path)) as broker:
        terminal = broker.terminal
        assert terminal.calls("initialize") == 1 and not broker.connected
        assert re.search(r"refused once; the next try at \d\d:\d\d UTC \(in 5 min\)", broker.state), broker.state
        for minutes in (5, 10, 20, 40, 60, 60):
            tries = terminal.calls("initialize")
            await trio.testing.wait_all_tasks_blocked(0.2)
            mock_clock.jump(minutes * 60 - 2)
            await trio.testing.wait_all_tasks_blocked(0.2)
            assert terminal.calls("initialize") == tries, minutes   # not before its time
            mock_clock.jump(3)
            await until(lambda: terminal.calls("initialize") == tries + 1)
            await until(lambda: f"refused {tries + 1} times in a row" in broker.state)
        assert "(in 60 min)" in broker.state and PASSWORD not in broker.state and "wrong-pass" not in broker.state


async def test_a_refused_login_is_told_once_with_its_next_try_and_never_the_password(tmp_path, mock_clock):
    mock_clock.rate = 1.0
    async with mt5(tmp_path, **refused(tmp_path)) as broker:
        for _ in range(3):
            tries = broker.terminal.calls("initialize")
            await trio.testing.wait_all_tasks_blocked(0.2)
            mock_clock.jump(3601)
            await until(lambda: broker.terminal.calls("initialize") == tries + 1)
        told = [e for e in broker.events if isinstance(e, (Connection, Notice))]
        assert len(told) == 1 and isinstance(told[0], Connection) and told[0].at_start, told
        assert told[0].detail.startswith("MetaTrader 5 refused the login to account 31337 on Standin-Demo"), told
        assert re.search(r"the next try at \d\d:\d\d UTC \(in 5 min\), then less often, up to once an hour",
                         told[0].detail), told[0].detail
        assert "wrong-pass" not in repr(broker.events)


async def test_a_login_refused_after_a_loss_is_told_once_as_a_notice(tmp_path, mock_clock):
    # The password changed at the broker while moonhook ran: the loss was told, the refusal then never was.
    mock_clock.rate = 1.0
    async with mt5(tmp_path, **refused(tmp_path, PASSWORD)) as broker:
        assert broker.connected
        broker.terminal._read(lambda st: st.put("password", "changed-at-the-broker"))
        broker.terminal.disconnect()
        broker.terminal.reconnect()
        await until(lambda: "refused once" in broker.state)
        for _ in range(2):
            tries = broker.terminal.calls("initialize")
            await trio.testing.wait_all_tasks_blocked(0.2)
            mock_clock.jump(3601)
            await until(lambda: broker.terminal.calls("initialize") == tries + 1)
        notices = [e for e in broker.events if isinstance(e, Notice)]
        assert len(notices) == 1 and notices[0].text.startswith("MetaTrader 5 refused the login"), notices
        assert "the next try at" in notices[0].text and "changed-at" not in notices[0].text


async def test_a_network_failure_is_still_tried_again_within_seconds(tmp_path, mock_clock):
    mock_clock.rate = 1.0
    Terminal(tmp_path / "terminal.db").disconnect()
    async with mt5(tmp_path, server_clock=STANDIN_CLOCK) as broker:
        assert not broker.connected and "next try" not in broker.state
        broker.terminal.reconnect()
        await trio.testing.wait_all_tasks_blocked(0.2)
        mock_clock.jump(2)
        await until(lambda: broker.connected)


async def test_a_connection_failing_after_its_login_waits_its_turn_too(tmp_path, mock_clock):
    # The server's clock read failing (the package raising) after a login that worked: the try was not counted,
    # and the next one made at once, again and again.
    mock_clock.rate = 1.0
    terminal = Terminal(tmp_path / "terminal.db")
    terminal.script("copy_rates_from_pos", "raise", "raise", "raise")
    async with mt5(tmp_path) as broker:
        await trio.testing.wait_all_tasks_blocked(0.2)
        assert terminal.calls("initialize") == 1 and not broker.connected, broker.state
        mock_clock.jump(1.5)
        await until(lambda: terminal.calls("initialize") == 2)
        await trio.testing.wait_all_tasks_blocked(0.2)
        assert terminal.calls("initialize") == 2 and not broker.connected, broker.state
        mock_clock.jump(2.5)
        await until(lambda: terminal.calls("initialize") == 3)


async def test_the_login_corrected_in_a_saved_moonhook_toml_is_tried_at_once(tmp_path, mock_clock):
    # The next try minutes away, a trader who corrected mt5.password waited for it, or restarted moonhook.
    mock_clock.rate = 1.0
    async with mt5(tmp_path, **refused(tmp_path)) as broker:
        assert "refused once" in broker.state
        assert not broker.retry_login(broker.config)                      # nothing of the login changed: waits
        assert not broker.retry_login(replace(broker.config, password=PASSWORD, timeout=99.0))   # more than it
        assert broker.retry_login(replace(broker.config, password=PASSWORD))
        await until(lambda: broker.connected)                              # not 5 min later: trio's clock stood
        assert broker.terminal.calls("initialize") == 2
        assert not broker.retry_login(replace(broker.config, password="another"))   # connected: the next start's
