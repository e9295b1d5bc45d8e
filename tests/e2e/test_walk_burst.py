"""A bar's close as TradingView delivers it: many alerts at once, each on a new connection,
more than `server.max_connections`. Every one is answered and journaled; none is lost."""

from __future__ import annotations

import trio

from support.e2e_support import init, until
from support.waits import HANG

ALERTS, CAP = 100, 20
# seconds: a hang guard only (how fast the burst is answered is `make bench`'s).


async def _post(port: int, secret: str, n: int) -> bytes:
    """One alert on a connection of its own, closed after the answer; the whole answer read."""
    body = f"buy EURUSD volume=0.01 price=1.1 sl=1.09 id=bar{n}".encode()
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(b"POST /webhook/%s HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                              b"Connection: close\r\nContent-Length: %d\r\n\r\n%s"
                              % (secret.encode(), len(body), body))
        answer = b""
        try:
            while chunk := await stream.receive_some(65536):
                answer += chunk
        except trio.BrokenResourceError:  # reset by the server: counts as unanswered
            pass
    return answer


async def _burst(port: int, secret: str) -> dict[int, bytes]:
    answers: dict[int, bytes] = {}

    async def one(n: int) -> None:
        answers[n] = await _post(port, secret, n)

    with trio.fail_after(HANG):
        async with trio.open_nursery() as nursery:
            for n in range(ALERTS):
                nursery.start_soon(one, n)
    return answers


def test_a_burst_past_the_connection_cap_is_answered_and_journaled_in_full(user):
    """Before af36be6 a connection past the cap was closed at once, unanswered: an alert lost."""
    config, _ = init(user, "bot")
    config.replace("max_connections = 512", f"max_connections = {CAP}")
    run = user.start("run", config=config, cwd="bot")
    answers = trio.run(_burst, run.port, config.values["server"]["secret"])
    unanswered = {n: a[:80] for n, a in answers.items() if not a.startswith(b"HTTP/1.1 200")}
    assert unanswered == {}
    assert all(b'"accepted"' in a for a in answers.values())
    journaled = until(lambda: run.get(f"/api/alerts?limit={ALERTS * 2}"),
                      lambda rows: len(_ids(rows)) >= ALERTS, "every alert of the burst journaled")
    assert sorted(_ids(journaled)) == sorted(f"bar{n}" for n in range(ALERTS))
    assert run.interrupt() == 0


def _ids(rows) -> list[str]:
    items = rows["alerts"] if isinstance(rows, dict) else rows
    return [row["alert"]["id"] for row in items if str(row["alert"].get("id", "")).startswith("bar")]
