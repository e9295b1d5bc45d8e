"""What else a worker process gets from the engine, seen from outside in /proc/PID (Linux): no core
dump of its plugins' state (docs/security.md: "write no core dumps"), and none of the engine's open
files, its journal nor its listening socket, which a script that escaped the sandbox would find."""

from __future__ import annotations

import os
import resource
import socket
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from sandbox import open_pool

pytestmark = pytest.mark.skipif(not Path("/proc/self/limits").exists(), reason="reads /proc (Linux)")


@pytest.fixture
def cores_allowed():
    """The engine allowed core dumps (a shell's `ulimit -c unlimited`): a worker must still write none."""
    soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
    if hard == 0:
        pytest.skip("core dumps are off for this process already: nothing to see")
    resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))
    yield
    resource.setrlimit(resource.RLIMIT_CORE, (soft, hard))


async def test_a_worker_writes_no_core_dump_and_holds_none_of_the_engines_files(tmp_path, cores_allowed):
    with closing(sqlite3.connect(tmp_path / "journal.db")) as journal, socket.create_server(("127.0.0.1", 0)) as lst:
        journal.execute("CREATE TABLE t (x)")   # the file open in the engine, as the journal is
        async with open_pool(workers=2, spares=1) as pool:
            await pool.load("p", "function f() return 6 * 7 end")
            assert (await pool.call("p", "f")).value == 42
            for pid in pool.worker_pids():
                core = [line.split()[-3:-1] for line in Path(f"/proc/{pid}/limits").read_text().splitlines()
                        if line.startswith("Max core file size")]
                assert core == [["0", "0"]], core
                held = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
                assert not [h for h in held if str(tmp_path) in h], held
                sockets = [h for h in held if h.startswith("socket:")]
                assert len(sockets) == 1, held   # its own end of the pipe to the engine, and no other
                assert f"socket:[{os.fstat(lst.fileno()).st_ino}]" not in held, held
