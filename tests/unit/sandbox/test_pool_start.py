"""A worker killed as the pool starts it (support/die_at_start.py: SIGKILL before its code runs, the
out-of-memory killer's way): once, another is started and the pool serves; twice, the start fails
with PoolDidNotStart, whose message names each worker, how it died and the likely cause."""

from __future__ import annotations

import os

import pytest
import trio

from sandbox import PoolDidNotStart, open_pool

from support import die_at_start


def _dying(tmp_path, monkeypatch, times: int):
    """Workers started from now on load the seam (they get this process's PYTHONPATH)."""
    site = tmp_path / "site"
    die_at_start.install(site, times)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])))
    return site


def test_a_worker_killed_as_it_starts_is_replaced_once_and_the_pool_serves(tmp_path, monkeypatch, caplog):
    site = _dying(tmp_path, monkeypatch, times=1)

    async def main():
        async with open_pool(workers=1, spares=0) as pool:
            await pool.load("p", "function f() return 7 end\n")
            return (await pool.call("p", "f")).value

    assert trio.run(main) == 7
    assert die_at_start.killed(site) == 1
    (said,) = [r.getMessage() for r in caplog.records if "could not start a sandbox worker" in r.getMessage()]
    assert "killed by signal 9 (SIGKILL) as it started; starting another" in said


def test_a_worker_killed_twice_as_it_starts_fails_the_start_saying_why(tmp_path, monkeypatch):
    site = _dying(tmp_path, monkeypatch, times=2)

    async def main():
        async with open_pool(workers=1, spares=0):
            pass

    with pytest.raises(BaseExceptionGroup) as raised:  # out of the pool's nurseries
        trio.run(main)
    group = raised.value.subgroup(PoolDidNotStart)
    while isinstance(group, BaseExceptionGroup):
        (group,) = group.exceptions
    error = group
    assert die_at_start.killed(site) == 2
    assert str(error).count("killed by signal 9 (SIGKILL) as it started") == 2, error
    assert "out-of-memory killer" in str(error)
