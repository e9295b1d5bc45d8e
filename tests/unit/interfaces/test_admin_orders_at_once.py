"""An administrator's close or cancel sent twice at once (a dashboard double click, two admins,
a client retrying before the first answer): the first acts, the second finds the ticket gone
in its turn and is answered so (409 from the API), with nothing sent to the broker and no
"order refused" told to the trades chat. A real engine on the paper broker, over HTTP."""

from __future__ import annotations

import pytest
import trio

from support.engine_support import running, told
from support.web_support import AUTH, SECRET, serving

READS = 2   # the broker's positions (or orders) a request reads before its turn: the route's check, the facade's


def _hold_the_first_order_until(engine, reads: int) -> list[str]:
    """The broker executes the first order only once its positions and orders have been read
    ``reads`` times (the second request has read them, before the first acts); returns the
    client ids it is asked to execute."""
    broker, read, executed = engine.broker, [0], []
    enough = trio.Event()
    for name in ("positions", "orders"):
        def reading(*args, _read=getattr(broker, name), **kwargs):
            read[0] += 1
            if read[0] >= reads:
                enough.set()
            return _read(*args, **kwargs)
        setattr(broker, name, reading)
    execute = broker.execute

    async def executing(request):
        executed.append(request.client_id)
        await enough.wait()
        return await execute(request)
    broker.execute = executing
    return executed


async def _twice_at_once(client, path: str) -> list:
    answers = []

    async def post():
        answers.append(await client.post(path, headers=AUTH))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(post)
        nursery.start_soon(post)
    return sorted(answers, key=lambda a: a.status_code)


@pytest.mark.parametrize("alert, path, gone", [
    ("buy EURUSD volume=0.1 price=1.1", "/api/positions/{ticket}/close", "no longer open"),
    ("buylimit EURUSD volume=0.1 price=1.05 sl=1.04", "/api/orders/{ticket}/cancel", "no longer pending"),
], ids=["close", "cancel"])
async def test_an_action_sent_twice_at_once_is_done_once_and_the_second_is_told_it_went(tmp_path, alert, path, gone):
    async with running(tmp_path) as engine, serving(engine) as client:
        await client.post(f"/webhook/{SECRET}", content=alert)
        await engine.drain()
        (held,) = [*await engine.broker.positions(), *await engine.broker.orders()]
        executed = _hold_the_first_order_until(engine, 2 * READS)
        done, again = await _twice_at_once(client, path.format(ticket=held["ticket"]))
        news = [text for kind, text in await told(engine) if kind == "trades"]
        left = [*await engine.broker.positions(), *await engine.broker.orders()]
    assert done.status_code == 200 and done.json()["ok"], done.json()
    assert again.status_code == 409 and again.json()["error"].startswith(gone), again.json()
    assert len(executed) == 1 and left == []
    assert not [n for n in news if "refused" in n], news
