"""One engine per data folder (engine/adapters/storage/claim.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from engine.adapters.storage import FolderInUse, claim
from engine.app import open_engine
from engine.domain.alerts import parse_body
from engine.domain.config import EngineConfig

_HOLD = """
import sys
from pathlib import Path
from engine.adapters.storage import claim
with claim(Path(sys.argv[1])):
    print("held", flush=True)
    sys.stdin.read()
"""


def test_a_folder_held_is_refused_to_another_claim_naming_the_holder(tmp_path):
    with claim(tmp_path / "data"):
        with pytest.raises(FolderInUse) as refused:
            with claim(tmp_path / "data"):
                pass
        assert str(refused.value).startswith(f"the data folder {tmp_path / 'data'} is in use by another moonhook "
                                             f"(process {os.getpid()})")
    assert not (tmp_path / "data" / "moonhook.pid").exists()
    with claim(tmp_path / "data"):  # let go at the end of the block
        pass
    with claim(tmp_path / "elsewhere"):  # another folder is another engine's
        pass


def test_a_holder_killed_leaves_no_lock_behind(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(tmp_path / "data")], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(FolderInUse, match=f"process {holder.pid}"):
            with claim(tmp_path / "data"):
                pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with claim(tmp_path / "data"):  # the pid file left by the dead holder is no lock
        assert (tmp_path / "data" / "moonhook.pid").read_text() == f"{os.getpid()}\n"


async def test_a_second_engine_on_the_folder_is_refused_before_it_opens_anything(tmp_path):
    config = EngineConfig(scripts=tmp_path / "scripts", data=tmp_path / "data")
    (tmp_path / "scripts").mkdir()
    async with open_engine(config) as engine:
        with pytest.raises(FolderInUse):
            async with open_engine(config):
                pass
        recorded = await engine.submit(parse_body("buy EURUSD volume=0.1 price=1.1"))  # the first one serves on
        await engine.drain()
        assert engine.journal.get(recorded.id)["status"] == "done"
    async with open_engine(config):  # once it stopped
        pass


def test_a_folder_that_cannot_be_made_is_refused_saying_why(tmp_path):
    (tmp_path / "afile").write_text("")
    with pytest.raises(FolderInUse, match=r"the data folder .*/afile/data cannot be used: Not a directory; set "
                                          r"\[engine\] data to a folder this user can write"):
        with claim(tmp_path / "afile" / "data"):
            pass
