"""``moonhook replay`` run in this process (engine/interfaces/replay_command.py), given what a
trader gets wrong: a scripts folder with no script in it, a price file given twice, a journal
given as prices, a symbol left empty before ``=``."""

from __future__ import annotations

import json
import logging
import signal

import pytest

from engine.interfaces.cli import main

T0 = 1715558400  # 2024-05-13 00:00 UTC
BARS = "time,open,high,low,close\n" + "".join(f"{T0 + h * 3600},1.085,1.086,1.084,1.085\n" for h in range(3))


@pytest.fixture
def bot(tmp_path, monkeypatch):
    """A folder with a script, an alert and EURUSD's bars; the SIGINT handler and the log level a
    replay changes as it ends are put back after the test."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "pass.lua").write_text("function on_alert(a) end\n")
    (tmp_path / "alerts.jsonl").write_text(json.dumps({"time": T0 + 1800, "body": "buy EURUSD volume=0.1"}) + "\n")
    (tmp_path / "FX_EURUSD, 60.csv").write_text(BARS)
    handler, level = signal.getsignal(signal.SIGINT), logging.getLogger("moonhook").level
    yield tmp_path
    signal.signal(signal.SIGINT, handler)
    logging.getLogger("moonhook").setLevel(level)


def _replay(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["replay", "--alerts", "alerts.jsonl", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_scripts_folder_without_a_script_is_said_after_the_report(bot, capsys):
    # `--scripts .` in the bot's folder (its scripts are in ./scripts) replayed the alerts with no
    # plugin and said nothing: its figures read as the scripts'.
    (bot / "drafts").mkdir()
    code, out, err = _replay(capsys, "--scripts", ".", "--compare", "drafts")
    assert code == 0 and out.startswith("compare . (a) with drafts (b)")
    assert err.splitlines()[-2:] == [
        "moonhook: --scripts .: no script (*.lua) in it: the alerts ran without scripts",
        "moonhook: --compare drafts: no script (*.lua) in it: the alerts ran without scripts"]
    code, out, err = _replay(capsys, "--scripts", "scripts")
    assert code == 0 and "no script" not in err


def test_a_price_file_given_twice_is_refused_naming_it(bot, capsys):
    # Each of its bars was listed as "not after the bar before (..., in FX_EURUSD, 60.csv)", the file
    # seeming to overlap itself, and the replay ran.
    code, out, err = _replay(capsys, "--scripts", "scripts", "--prices", "FX_EURUSD, 60.csv",
                             "--prices", "EURUSD=./FX_EURUSD, 60.csv")
    assert (code, out) == (2, "")
    assert err == "moonhook: --prices FX_EURUSD, 60.csv: given twice\n"


def test_a_journal_given_as_prices_is_refused_as_one(bot, capsys):
    # It was "line 1: not utf-8 text (invalid continuation byte)".
    (bot / "moonhook.db").write_bytes(b"SQLite format 3\x00" + bytes(100))
    code, out, err = _replay(capsys, "--scripts", "scripts", "--prices", "EURUSD=moonhook.db")
    assert (code, out) == (2, "")
    assert err == ("moonhook: moonhook.db: a SQLite file (a journal?), not bars: give TradingView's chart export "
                   "or MetaTrader 5's history export\n")


def test_a_symbol_left_empty_before_the_equals_sign_is_said(bot, capsys):
    # It was "=FX_EURUSD, 60.csv: cannot open: no such file", the file there all along.
    code, out, err = _replay(capsys, "--scripts", "scripts", "--prices", "=FX_EURUSD, 60.csv")
    assert (code, out) == (2, "")
    assert err == "moonhook: --prices =FX_EURUSD, 60.csv: no symbol before '=' (EURUSD=FX_EURUSD, 60.csv)\n"


def test_a_window_of_one_moment_is_refused_with_the_day_it_likely_meant(bot, capsys):
    # `--from 2024-05-13 --to 2024-05-13` said the file's 2024-05-13 alerts were "none within" it, exit 65.
    code, out, err = _replay(capsys, "--scripts", "scripts", "--from", "2024-05-13", "--to", "2024-05-13")
    assert (code, out) == (2, "")
    assert err == ("moonhook: --to 2024-05-13 is the moment --from 2024-05-13 names: no alert is between them "
                   "(--to is the first moment left out; the day 2024-05-13 is --from 2024-05-13 --to 2024-05-14)\n")
    code, out, err = _replay(capsys, "--scripts", "scripts", "--from", "1715558400", "--to", "2024-05-13T00:00:00Z")
    assert (code, out) == (2, "")
    assert err == ("moonhook: --to 2024-05-13T00:00:00Z is the moment --from 1715558400 names: no alert is between "
                   "them (--to is the first moment left out)\n")


def test_a_script_given_for_its_folder_is_told_to_give_the_folder(bot, capsys):
    # It was "--scripts scripts/pass.lua: no such folder of scripts", of a file that is there.
    code, out, err = _replay(capsys, "--scripts", "scripts/pass.lua")
    assert (code, out) == (2, "")
    assert err == "moonhook: --scripts scripts/pass.lua: a file: give its folder, scripts (every *.lua in it is replayed)\n"
    code, out, err = _replay(capsys, "--scripts", "scripts", "--compare", "nowhere")
    assert (code, err) == (2, "moonhook: --compare nowhere: no such folder of scripts\n")
