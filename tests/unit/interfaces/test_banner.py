"""``moonhook run``'s banner (engine/interfaces/banner.py) in either log format: with
``--log-format kv`` each of its lines is a key=value record, as docs/operations.md promises a log
shipper, not a ``moonhook: ...`` line among them."""

from __future__ import annotations

import logging

import pytest

from engine.app.logs import setup_logging
from engine.app.settings import load_settings
from engine.interfaces.banner import banner

from support.logfmt import parse_kv


class Ops:
    """What the banner asks of the running engine (engine.app.Operations): one plugin, one file not loaded."""

    paused = False

    def serving(self) -> list[str]:
        return ["demo"]

    def load_errors(self) -> dict[str, str]:
        return {"broken.lua": "broken.lua:2: script error"}

    def stray_tables(self) -> list[str]:
        return []


@pytest.fixture
def settings(tmp_path):
    config = tmp_path / "moonhook.toml"
    config.write_text('[server]\nsecret = "s-0123456789abcdef"\napi_token = "t-0123456789abcdef"\n'
                      '[engine]\ndefault_volume = 2\nmax_order_volume = 1\n')
    yield load_settings(config, {}), config
    setup_logging("text")
    logging.getLogger().setLevel(logging.WARNING)


def test_the_banner_is_key_value_records_in_kv(settings, capsys):
    # Its lines were `moonhook: listening on ...`, `moonhook: try it: ... send "buy ..."` in the kv
    # stream, which a logfmt reader splits into nonsense keys.
    setup_logging("kv")
    banner(Ops(), settings[0], 8080, settings[1])
    lines = capsys.readouterr().err.splitlines()
    records = [parse_kv(line) for line in lines]
    assert [(r["level"], r["logger"]) for r in records] == [("info", "moonhook")] + [("warning", "moonhook")] * 2 + [
        ("info", "moonhook")]
    assert records[0]["msg"].startswith("listening on http://127.0.0.1:8080/webhook; 1 plugin")
    assert records[1]["msg"] == "not serving broken.lua: broken.lua:2: script error"
    assert "engine.default_volume = 2 is above engine.max_order_volume = 1" in records[2]["msg"]
    assert records[3]["msg"].startswith("try it: ")


def test_the_banner_is_plain_lines_in_text(settings, capsys):
    setup_logging("text")
    banner(Ops(), settings[0], 8080, settings[1])
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 4 and all(line.startswith("moonhook: ") for line in lines)
    assert lines[0].startswith("moonhook: listening on http://127.0.0.1:8080/webhook; 1 plugin")
    assert lines[3].startswith("moonhook: try it: ")
