"""The `moonhook` command line (engine/interfaces/cli.py): its options before or after the subcommand."""

import socket
from pathlib import Path

import pytest

from engine.interfaces.cli import DEFAULT_CONFIG, main, parse_args


SUBCOMMANDS = {"run": [], "init": ["bot"], "check": ["a.lua"], "send": ["buy EURUSD sl_pips=20"], "status": []}


@pytest.mark.parametrize("command", sorted(SUBCOMMANDS))
def test_the_options_are_taken_before_and_after_every_subcommand(command):
    rest = SUBCOMMANDS[command]
    before = parse_args(["--config", "b.toml", "--log-format", "kv", command, *rest])
    after = parse_args([command, *rest, "--config", "b.toml", "--log-format", "kv"])
    for options in (before, after):
        assert (options.command, options.config, options.log_format) == (command, Path("b.toml"), "kv")
    assert (parse_args([command, *rest]).config, parse_args([command, *rest]).log_format) == (DEFAULT_CONFIG, "text")


def test_an_option_after_the_subcommand_wins_and_one_before_is_kept():
    assert parse_args(["--config", "a.toml", "run", "--config", "b.toml"]).config == Path("b.toml")
    assert parse_args(["--config", "a.toml", "run", "--log-format", "kv"]).config == Path("a.toml")


def test_status_reads_the_config_named_after_the_subcommand(tmp_path, capsys):
    """Not only parsed: the file is the one read (its port is where status looks)."""
    with socket.socket() as s:  # a port nothing listens on: bound, never listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        config = tmp_path / "elsewhere.toml"
        config.write_text(f'[server]\nport = {port}\n')
        assert main(["status", "--config", str(config)]) == 1
    assert f"127.0.0.1:{port} does not answer" in capsys.readouterr().err
