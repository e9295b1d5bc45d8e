"""The editor's replay of a draft (engine/app/draft_replay.py): what its child process is
given of moonhook.toml (never a secret), and one replay at a time."""

from __future__ import annotations

import pytest
import tomli_w

from engine.app.draft_replay import DraftReplayError, ReplayBusy, replay_settings
from engine.app.operations import Operations
from engine.app.settings import load_settings

CONFIG = """
[server]
secret = "webhook-secret-123"
api_token = "api-token-4567890123"
[engine]
scripts = "scripts"
data = "data"
broker = "mt5"
dedup_window = 30
[sandbox]
instructions = 500000
[paper]
spread_points = 12
[plugins.gate]
params = {max_volume = 2}
[telegram]
bots = [{token = "123456:bot-token-789", chats = [{id = 1, events = ["trades"]}]}]
[mt5]
login = 42
password = "mt5-password-000"
server = "Broker-Demo"
[shadow]
scripts = "scripts-next"
"""


def test_the_replay_is_given_the_tables_it_reads_and_no_secret(tmp_path):
    path = tmp_path / "moonhook.toml"
    path.write_text(CONFIG)
    load_settings(path)   # a file the engine starts with
    kept = replay_settings(path)
    assert kept == {"engine": {"broker": "mt5", "dedup_window": 30}, "sandbox": {"instructions": 500000},
                    "paper": {"spread_points": 12}, "plugins": {"gate": {"params": {"max_volume": 2}}}}
    written = tomli_w.dumps(kept)
    for secret in ("webhook-secret-123", "api-token-4567890123", "bot-token-789", "mt5-password-000"):
        assert secret not in written
    (tmp_path / "replay.toml").write_text(written)
    engine = load_settings(tmp_path / "replay.toml").engine
    assert (engine.dedup_window, engine.paper.spread_points, engine.default_budget.instructions) == (30, 12, 500000)
    assert replay_settings(None) == {} and replay_settings(tmp_path / "none.toml") == {}


@pytest.mark.parametrize("text, said", [
    ("[engine]\nmax_order_volume = 1\n[paper\n", "moonhook.toml: not valid TOML: Expected ']' at the end of a table "
                                                  "declaration (at line 3, column 7); a replay reads it as it is now"),
    ("[engine]\nmax_order_volume = -1\n", "moonhook.toml: line 2: engine.max_order_volume: expected a number greater "
                                          "than 0, got -1; a replay reads it as it is now"),
])
def test_a_moonhook_toml_saved_since_the_start_that_does_not_read_is_said_as_the_files(tmp_path, text, said):
    """The engine refused the save and goes on; the replay failed with a server error (a TOML
    error), or named replay.toml, a file the trader never wrote (a bad value)."""
    path = tmp_path / "moonhook.toml"
    path.write_text(text)
    with pytest.raises(DraftReplayError) as e:
        replay_settings(path)
    assert str(e.value).startswith(said) and str(e.value).endswith("correct it, then replay"), str(e.value)


async def test_one_replay_at_a_time():
    ops = Operations(engine=None)   # refused before the engine is asked anything
    async with ops._replaying:
        with pytest.raises(ReplayBusy, match="another replay is running"):
            await ops.replay_script("gate.lua", "")
