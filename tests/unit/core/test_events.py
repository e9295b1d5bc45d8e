"""The event hub (engine/core/events.py, docs/dashboard.md "Events"): each subscriber gets
the events published while it listens, in order, numbered; one that falls behind loses its
oldest and is told how many; nobody listening, nothing is kept."""

from __future__ import annotations

import json

import pytest
import trio
import trio.testing

from engine.core.events import Events

from support.waits import HANG


def clock() -> float:
    return 1_700_000_000.5


async def take(sub, n: int) -> list[dict]:
    """The next ``n`` events of ``sub`` (bounded only so that a broken hub fails, not hangs)."""
    got = []
    with trio.fail_after(HANG):
        async for event in sub:
            got.append(event)
            if len(got) == n:
                break
    return got


async def test_a_subscriber_gets_the_events_in_order_numbered_and_stamped_with_the_engine_clock():
    events = Events(clock)
    with events.subscribe() as sub:
        events.publish("alert.received", id=1, symbol="EURUSD", command="buy", status="received")
        events.publish("order.placed", alert_id=1, ticket=7)
        events.publish("alert.finished", id=1, status="done")
        got = await take(sub, 3)
    assert got[0] == {"seq": 1, "at": 1_700_000_000.5, "kind": "alert.received", "id": 1, "symbol": "EURUSD",
                      "command": "buy", "status": "received"}
    assert [e["kind"] for e in got] == ["alert.received", "order.placed", "alert.finished"]
    assert [e["seq"] for e in got] == [1, 2, 3]
    assert json.loads(json.dumps(got)) == got  # plain data


async def test_a_waiting_subscriber_wakes_for_the_next_event():
    events = Events(clock)
    got = []
    with events.subscribe() as sub:
        async with trio.open_nursery() as nursery:
            async def read() -> None:
                got.extend(await take(sub, 1))
            nursery.start_soon(read)
            await trio.testing.wait_all_tasks_blocked()  # the reader waits on an empty queue
            assert got == []
            events.publish("pause", by="api", reason=None)
    assert [e["kind"] for e in got] == ["pause"]


async def test_every_subscriber_gets_every_event():
    events = Events(clock)
    with events.subscribe() as one, events.subscribe() as two:
        events.publish("resume", by="api", reason=None)
        events.publish("pause", by="api", reason="news")
        assert [e["seq"] for e in await take(one, 2)] == [1, 2]
        assert [e["kind"] for e in await take(two, 2)] == ["resume", "pause"]


async def test_a_subscriber_that_falls_behind_loses_its_oldest_and_is_told_how_many():
    events = Events(clock)
    with events.subscribe(maxlen=3) as slow, events.subscribe(maxlen=100) as quick:
        for n in range(10):
            events.publish("fill", n=n)
        got = await take(slow, 4)
        assert got[0] == {"seq": 7, "at": 1_700_000_000.5, "kind": "lagged", "missed": 7}
        assert [e["n"] for e in got[1:]] == [7, 8, 9]  # the newest three, in order
        assert [e["seq"] for e in got[1:]] == [8, 9, 10]
        assert len(await take(quick, 10)) == 10     # the other one lost nothing
        events.publish("fill", n=10)                # told once: then events as usual
        assert [e["kind"] for e in await take(slow, 1)] == ["fill"]


async def test_leaving_the_with_unsubscribes_and_ends_the_iteration():
    events = Events(clock)
    with events.subscribe() as sub:
        assert events.subscribers == 1 and events.listening
    assert events.subscribers == 0 and not events.listening
    events.publish("pause", by="api", reason=None)
    with trio.fail_after(HANG):
        assert [e async for e in sub] == []


async def test_closing_wakes_a_reader_waiting_for_an_event():
    events = Events(clock)
    sub = events.subscribe()
    async with trio.open_nursery() as nursery:
        got = []

        async def read() -> None:
            with trio.fail_after(HANG):
                got.extend([e async for e in sub])
        nursery.start_soon(read)
        await trio.testing.wait_all_tasks_blocked()
        sub.close()
    assert got == [] and events.subscribers == 0


async def test_with_nobody_listening_nothing_is_built_or_kept():
    calls = []

    def counting_clock() -> float:
        calls.append(1)
        return 0.0

    events = Events(counting_clock)
    events.publish("pause", by="api", reason=None)
    assert calls == []                    # no event was built (the clock stamps each one)
    with events.subscribe() as sub:       # a later subscriber sees only what comes after
        events.publish("resume", by="api", reason=None)
        assert [e["kind"] for e in await take(sub, 1)] == ["resume"]


async def test_a_failing_subscriber_never_raises_into_the_publisher():
    def broken_clock() -> float:
        raise RuntimeError("clock broke")

    events = Events(broken_clock)
    with events.subscribe():
        events.publish("pause", by="api", reason=None)  # logged, not raised


def test_a_queue_must_hold_at_least_one_event():
    with pytest.raises(ValueError, match="maxlen: expected at least 1, got 0"):
        Events(clock).subscribe(maxlen=0)


async def test_closing_the_hub_ends_every_waiting_iteration_and_later_subscriptions_come_closed():
    events = Events(clock)
    ended = []

    async def read(sub):
        with sub:
            async for _ in sub:
                pass
        ended.append(sub)

    with trio.fail_after(HANG):  # bounds a hang only
        async with trio.open_nursery() as nursery:
            subs = [events.subscribe(), events.subscribe()]
            for sub in subs:
                nursery.start_soon(read, sub)
            await trio.testing.wait_all_tasks_blocked()
            events.close()
    assert len(ended) == 2
    assert events.subscribers == 0 and not events.listening
    late = events.subscribe()
    assert late.closed and events.subscribers == 0
    events.publish("alert.received", id=1)  # nobody listens: nothing kept, nothing raised
    with trio.fail_after(HANG):
        assert [e async for e in late] == []


def test_drain_takes_what_is_queued_without_waiting_the_loss_told_first():
    events = Events(clock)
    with events.subscribe(maxlen=2) as sub:
        assert sub.drain() == []
        for n in range(4):
            events.publish("alert.received", id=n)
        taken = sub.drain()
        assert [e["kind"] for e in taken] == ["lagged", "alert.received", "alert.received"]
        assert taken[0]["missed"] == 2 and [e["id"] for e in taken[1:]] == [2, 3]
        assert sub.drain() == []
