"""The editor's replay route over real HTTP (Hypercorn, httpx, a real engine): one replay at a
time, a second answered 409 while the first runs; the replay itself is a fake at moonhook's
own seam (``operations.replay_draft``) that waits until the test lets it finish."""

from __future__ import annotations

import trio

from engine.app import operations

from support.engine_support import running
from support.web_support import AUTH, serving


async def test_a_second_replay_while_one_runs_is_409_and_the_first_answers(tmp_path, monkeypatch):
    entered, release = trio.Event(), trio.Event()

    async def replay_draft(*args):
        entered.set()
        await release.wait()
        return {"differing": 0}

    monkeypatch.setattr(operations, "replay_draft", replay_draft)
    answers = {}
    async with running(tmp_path, {"gate": "function on_alert(a) end"}) as engine, serving(engine) as client:
        async def first():
            answers["first"] = await client.post("/api/scripts/gate.lua/replay", content=b"-- draft", headers=AUTH)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(first)
            await entered.wait()
            answers["second"] = await client.post("/api/scripts/gate.lua/replay?days=2", content=b"--", headers=AUTH)
            release.set()
        third = await client.post("/api/scripts/gate.lua/replay", content=b"--", headers=AUTH)
    assert answers["second"].status_code == 409
    assert "another replay is running" in answers["second"].json()["error"]
    assert (answers["first"].status_code, answers["first"].json()) == (200, {"name": "gate.lua", "days": 30.0,
                                                                             "differing": 0})
    assert '"days":30.0' in answers["first"].text.replace(" ", "")  # a number of days, as when given: 30.0, not 30
    assert third.status_code == 200   # free again
