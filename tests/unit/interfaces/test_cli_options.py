"""The `moonhook` command line (engine/interfaces/cli.py): its options before or after the subcommand."""

import socket
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

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


def test_replay_takes_the_clock_of_mt5s_exports_and_refuses_one_it_cannot_read(capsys):
    replay = ["replay", "--scripts", "s", "--alerts", "a.jsonl"]
    assert parse_args(replay).prices_clock is None
    assert parse_args([*replay, "--prices-clock", "GMT+2/+3 US"]).prices_clock.zone == "America/New_York"
    with pytest.raises(SystemExit):
        parse_args([*replay, "--prices-clock", "server time"])
    err = capsys.readouterr().err
    assert "argument --prices-clock: 'server time' is not a clock" in err   # named once, by argparse


@contextmanager
def port_nobody_listens_on(host: str = "127.0.0.1") -> Iterator[int]:
    """A port bound, never listening, for the block."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        yield s.getsockname()[1]


def test_status_reads_the_config_named_after_the_subcommand(tmp_path, capsys):
    """Not only parsed: the file is the one read (its port is where status looks)."""
    with port_nobody_listens_on() as port:
        config = tmp_path / "elsewhere.toml"
        config.write_text(f'[server]\nport = {port}\n')
        assert main(["status", "--config", str(config)]) == 1
        assert f"127.0.0.1:{port} does not answer (ConnectError); is `moonhook run` running?" in capsys.readouterr().err
        assert main(["send", "--config", str(config), "buy EURUSD"]) == 1  # no secret in that config: nothing sent
        assert "no server.secret is configured; nothing was sent" in capsys.readouterr().err
        config.write_text(f'[server]\nport = {port}\nsecret = "s3cret-long-enough-for-it"\n')
        assert main(["send", "--config", str(config), "buy EURUSD"]) == 1
        assert f"127.0.0.1:{port} does not answer (ConnectError); is `moonhook run` running?" in capsys.readouterr().err


# The engine's own packages and its heavy dependencies: what `send`, `status` and `--help` must
# not load (each `moonhook send` paid about 0.9 s for them before).
ENGINE_MODULES = ("engine.core", "engine.adapters", "engine.app.compose", "engine.app.replay", "engine.interfaces.web",
                  "sandbox.worker", "lupa", "quart", "hypercorn", "sqlite_utils")
_LOADED = """
import sys
from engine.interfaces.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(sorted(m for m in sys.modules if any(m == n or m.startswith(n + '.') for n in %r)))
""" % (ENGINE_MODULES,)


@pytest.mark.parametrize("any_port", [False, True], ids=["port", "port-0"])
@pytest.mark.parametrize("argv", [["--help"], ["status"], ["send", "buy EURUSD sl_pips=20", "--wait", "0"]],
                         ids=["help", "status", "send"])
def test_the_light_commands_do_not_load_the_engine(tmp_path, argv, any_port):
    """They read the settings and talk HTTP (with port = 0, after reading the engine's record of its
    port); the engine is imported by run, check and replay."""
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        config = tmp_path / "moonhook.toml"
        config.write_text(f'[server]\nport = {0 if any_port else s.getsockname()[1]}\n'
                          'secret = "s-0123456789abcdef"\napi_token = "t-0123456789abcdef"\n')
        run = subprocess.run([sys.executable, "-c", _LOADED, *argv, "--config", str(config)], cwd=tmp_path,
                             capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("command", [["run"], ["check", "a.lua"], ["replay", "--scripts", "s", "--alerts", "a.jsonl"]])
def test_the_commands_that_run_strategies_say_plainly_they_need_linux(command, monkeypatch, capsys):
    """On Windows the sandbox cannot start its workers (POSIX descriptors, rlimits): one line,
    exit 2, rather than an import error's traceback."""
    monkeypatch.setattr(sys, "platform", "win32")
    assert main(command) == 2
    said = capsys.readouterr().err
    assert said.startswith(f"moonhook: {command[0]}: moonhook runs strategies on Linux, not yet on Windows")
    assert "mt5linux" in said


def test_send_and_status_reach_an_ipv6_host_in_brackets(tmp_path, capsys):
    # http://::1:8080 is no URL: httpx raised InvalidURL, a traceback, for `host = "::1"`.
    with port_nobody_listens_on("::1") as port:
        config = tmp_path / "v6.toml"
        config.write_text(f'[server]\nhost = "::1"\nport = {port}\n')
        assert main(["status", "--config", str(config)]) == 1
        assert f"the engine at http://[::1]:{port} does not answer (ConnectError)" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["status"], ["send", "buy EURUSD sl_pips=20"], ["backup", "copy.db"]],
                         ids=["status", "send", "backup"])
def test_a_command_typed_where_there_is_no_config_says_so(tmp_path, monkeypatch, capsys, argv):
    # In another folder than the bot's, status said the engine at 127.0.0.1:8080 was not running,
    # send that no secret was configured, backup that there was no journal: never why.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MOONHOOK_SECRET", raising=False)
    with port_nobody_listens_on() as port:
        monkeypatch.setenv("MOONHOOK_PORT", str(port))
        assert main(argv) != 0
    assert capsys.readouterr().err.startswith("moonhook: no moonhook.toml in this folder: the defaults and "
                                              "MOONHOOK_* variables are used (--config names the file)\n")


def _refused(capsys, argv: list[str]) -> str:
    """What parse_args says on stderr as it refuses ``argv`` (exit 2)."""
    with pytest.raises(SystemExit) as exit_:
        parse_args(argv)
    assert exit_.value.code == 2
    return capsys.readouterr().err


def test_an_alert_typed_without_quotes_is_told_to_be_quoted(capsys):
    # `moonhook send buy EURUSD risk=1` was answered by moonhook's own usage and
    # "unrecognized arguments: EURUSD risk=1", the alert's words taken for options of no command.
    err = _refused(capsys, ["send", "buy", "EURUSD", "risk=1", "--wait", "0"])
    assert err.startswith("usage: moonhook send ")
    assert err.rstrip().endswith("""moonhook send: error: the alert is one argument: quote it, """
                                 """moonhook send "buy EURUSD risk=1\"""")


def test_a_file_name_with_a_space_typed_without_quotes_is_told_to_be_quoted(capsys):
    # TradingView names its chart exports "FX_EURUSD, 60.csv": unquoted, the replay said only
    # "unrecognized arguments: 60.csv", as if 60.csv were the mistake.
    for given in (["--prices", "FX_EURUSD,"], ["--prices=FX_EURUSD,"]):
        err = _refused(capsys, ["replay", "--scripts", "s", "--alerts", "a.csv", *given, "60.csv"])
        assert err.startswith("usage: moonhook replay ")
        assert err.rstrip().endswith("""moonhook replay: error: unrecognized arguments: 60.csv (a file name with """
                                     """a space is one argument: quote it, --prices "FX_EURUSD, 60.csv")""")


def test_a_folder_whose_name_holds_a_space_typed_without_quotes_is_told_to_be_quoted(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my scripts").mkdir()
    err = _refused(capsys, ["replay", "--scripts", "my", "scripts", "--alerts", "a.csv"])
    assert err.rstrip().endswith("""unrecognized arguments: scripts (a file name with a space is one argument: """
                                 """quote it, --scripts "my scripts")""")
    assert _refused(capsys, ["replay", "--scripts", "s", "--alerts", "a.csv", "extra"]).rstrip().endswith(
        "moonhook replay: error: unrecognized arguments: extra")


def test_an_unknown_option_is_refused_by_its_commands_parser(capsys):
    """The command's usage, which lists its options, not moonhook's list of commands."""
    err = _refused(capsys, ["send", "--wiat", "3", "buy EURUSD"])
    assert err.startswith("usage: moonhook send ")
    assert "moonhook send: error: unrecognized arguments: --wiat" in err
    assert "quote it" not in err
    err = _refused(capsys, ["status", "now"])
    assert err.startswith("usage: moonhook status ") and "moonhook status: error: unrecognized arguments: now" in err


def test_a_mistyped_option_is_answered_with_the_one_meant(capsys):
    err = _refused(capsys, ["send", "--dryrun", "buy EURUSD"])
    assert err.rstrip().endswith("moonhook send: error: unrecognized arguments: --dryrun (did you mean --dry-run?)")
    err = _refused(capsys, ["replay", "--scripts", "s", "--alerts", "a.csv", "--jsn", "--prices-clok", "UTC"])
    assert err.rstrip().endswith("moonhook replay: error: unrecognized arguments: --jsn --prices-clok UTC (did you "
                                 "mean --json? --prices-clock?)")
