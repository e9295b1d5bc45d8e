"""What the administrators are told of MetaTrader 5's connection (``engine/core/monitor.py``), from the events
the broker's session gives (the stand-in terminal in the broker's real worker process): "connected again" only
after a "disconnected" was told, as a trader reads "again" as "it was lost"."""

from __future__ import annotations

from engine.adapters.notify.throttle import Throttle
from engine.core.monitor import Monitor
from engine.domain.config import MonitorConfig
from engine.domain.orders import Connection

from support.mt5_standin import Terminal
from support.mt5_support import cancelled_mid_call, mt5
from support.waits import HANG, until


class Told:
    """The notifier's side of the monitor: what it was asked to send, as (kind, text)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, kind: str, text: str, key: str | None = None) -> None:
        self.sent.append((kind, text))


def told(broker) -> list[str]:
    """What a monitor tells of the broker's connection events so far, in order."""
    notifier = Told()
    monitor = Monitor(MonitorConfig(), notifier, list)   # type: ignore[arg-type]
    for event in broker.events:
        if isinstance(event, Connection):
            monitor.connection(event)
    return [text.split(";")[0] for kind, text in notifier.sent if kind == "admin"]


async def test_a_start_that_cannot_connect_is_told_and_the_first_connection_after_it_connected_not_again(tmp_path,
                                                                                                      caplog):
    # MetaTrader not there yet when moonhook started (its initialize failed): the admins heard nothing until it was
    # found, and then "broker connected again", though it had never been connected nor told lost.
    terminal = Terminal(tmp_path / "terminal.db")
    terminal.disconnect()
    async with mt5(tmp_path) as broker:
        assert not broker.connected and broker.state.startswith("disconnected: ")
        start = "broker not reachable at the start: initialize failed: MetaTrader error -10003: IPC initialize failed"
        assert told(broker) == [start]
        await until(lambda: "trying again in 1 s" in caplog.text)   # tried again, in the background: told once
        assert told(broker) == [start]
        terminal.reconnect()
        await until(lambda: broker.connected)
        assert told(broker) == [start, "broker connected: on Standin-Demo"]
        terminal.disconnect()                                                # a real loss, later
        await until(lambda: not broker.connected)
        terminal.reconnect()
        await until(lambda: broker.connected)
        assert told(broker) == [start, "broker connected: on Standin-Demo", "broker disconnected: MetaTrader error "
                                "-10004: No IPC connection", "broker connected again: on Standin-Demo"], told(broker)


async def test_a_session_moonhook_restarted_itself_is_not_told_connected_again(tmp_path):
    # A call moonhook cancelled mid-way (its worker killed, the session made again): nothing was told lost, yet
    # "broker connected again" was told, which a trader reads as "the broker was lost".
    async with mt5(tmp_path, timeout=HANG) as broker:   # the cancel, not the read's deadline, ends the hung read
        await cancelled_mid_call(broker)
        await until(lambda: broker.connected)
        assert [e.connected for e in broker.events if isinstance(e, Connection)] == [True]   # the account compared
        assert not [t for t in told(broker) if "again" in t], told(broker)


async def test_a_session_moonhook_restarted_that_finds_the_terminal_gone_is_told_disconnected(tmp_path):
    # Moonhook ended the session itself (a call cancelled mid-way), and the terminal was gone when it linked again:
    # nothing was told while the broker stayed unreachable, only "connected" once it was back.
    async with mt5(tmp_path, timeout=HANG) as broker:
        await cancelled_mid_call(broker, meanwhile=broker.terminal.disconnect)   # MetaTrader gone meanwhile
        await until(lambda: broker.state.startswith("disconnected: "))      # linking again fails
        assert [t.split(":")[0] for t in told(broker)] == ["broker disconnected"], told(broker)
        broker.terminal.reconnect()
        await until(lambda: broker.connected)
        assert [t.split(":")[0] for t in told(broker)] == ["broker disconnected", "broker connected again"]


def test_a_loss_soon_after_a_start_that_could_not_connect_is_told_at_once_not_folded_into_the_start():
    # Both were one throttle key: the loss of a terminal found just after the start was held for
    # telegram.throttle_seconds (a minute) behind "not reachable at the start", a different event.
    throttle, sent = Throttle(60.0), []

    class Throttled(Told):
        def send(self, kind: str, text: str, key: str | None = None) -> None:
            if throttle.admit((kind, text, key), now=0.0):
                sent.append(text.split(";")[0])

    monitor = Monitor(MonitorConfig(), Throttled(), list)   # type: ignore[arg-type]
    for event in (Connection(False, "down", at_start=True), Connection(True, "up"), Connection(False, "down"),
                  Connection(True, "up")):
        monitor.connection(event)
    assert sent == ["broker not reachable at the start: down", "broker connected: up", "broker disconnected: down",
                    "broker connected again: up"], sent
