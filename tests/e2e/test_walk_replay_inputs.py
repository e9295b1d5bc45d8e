"""`moonhook replay` given what a trader mistypes, as docs/replay.md promises it: exit 2, one line
naming what is wrong and where, before the replay runs, and nothing written (no report page, no
report on stdout): a --report path in a folder that does not exist, or a folder itself; a bad
window; --summary without --json. And a replay stopped by Ctrl-C: exit 130, one line, nothing written."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

from support.e2e_support import AS_IN_A_TERMINAL, DEADLINE, init, moonhook_command, outcome, until

T0 = 1715558400  # 2024-05-13 00:00 UTC
ALERTS = [{"time": T0, "body": "buy EURUSD volume=0.1 price=1.0805 sl=1.0790"},
          {"time": "2024-05-13T01:00:00Z", "alert": {"action": "close", "symbol": "EURUSD", "price": 1.0825}}]


def _bot(user) -> None:
    init(user, "bot")
    (user.home / "bot" / "alerts.jsonl").write_text("".join(json.dumps(a) + "\n" for a in ALERTS))


def _refused(user, *args: str) -> str:
    """The one line a refused replay says; nothing on stdout, exit 2."""
    done = user.moonhook("replay", "--scripts", "scripts", "--alerts", "alerts.jsonl", *args, cwd="bot")
    assert done.returncode == 2 and done.stdout == "", outcome(done)
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("moonhook: "), outcome(done)
    return lines[0]


def test_a_report_page_that_cannot_be_written_is_refused_before_the_replay_naming_it(user):
    _bot(user)
    said = _refused(user, "--report", "reports/may.html")
    assert said == "moonhook: --report reports/may.html: no such folder: reports", said
    assert not (user.home / "bot" / "reports").exists()
    (user.home / "bot" / "reports").mkdir()
    said = _refused(user, "--report", "reports")
    assert said == "moonhook: --report reports: a folder, not a file: name the page (reports/report.html)", said
    assert list((user.home / "bot" / "reports").iterdir()) == []
    done = user.moonhook("replay", "--scripts", "scripts", "--alerts", "alerts.jsonl", "--report", "reports/may.html",
                         cwd="bot")
    assert done.returncode == 0, outcome(done)
    assert [p.name for p in (user.home / "bot" / "reports").iterdir()] == ["may.html"]   # no temporary file left


def test_a_report_page_named_as_an_input_is_refused_leaving_the_input_whole(user):
    """--report alerts.jsonl (the arguments typed in another order) wrote the page over the alerts."""
    _bot(user)
    alerts = (user.home / "bot" / "alerts.jsonl").read_bytes()
    said = _refused(user, "--report", "./alerts.jsonl")
    assert said == "moonhook: --report alerts.jsonl: that is the replay's --alerts file: name another page", said
    assert (user.home / "bot" / "alerts.jsonl").read_bytes() == alerts
    said = _refused(user, "--report", "moonhook.toml")
    assert said == "moonhook: --report moonhook.toml: that is the replay's --config file: name another page", said
    journal = user.home / "bot" / "moonhook.db"   # another bot's journal, say: no input of this replay
    journal.write_bytes(b"SQLite format 3\x00" + bytes(100))
    said = _refused(user, "--report", "moonhook.db")
    assert said == ("moonhook: --report moonhook.db: the file there is not a report page: name another page "
                    "(an earlier report is replaced)"), said
    assert journal.read_bytes() == b"SQLite format 3\x00" + bytes(100)
    for _ in range(2):   # a page replaced by the next
        done = user.moonhook("replay", "--scripts", "scripts", "--alerts", "alerts.jsonl", "--report", "r.html",
                             cwd="bot")
        assert done.returncode == 0, outcome(done)


def test_a_window_that_cannot_be_read_names_the_option_typed(user):
    _bot(user)
    said = _refused(user, "--from", "yesterday")
    assert said == "moonhook: --from yesterday: neither Unix seconds nor ISO 8601 (2024-05-13, 2024-05-13T08:30:00Z)", said
    said = _refused(user, "--from", "2024-06-01", "--to", "2024-05-01")
    assert said == "moonhook: --to 2024-05-01 comes before --from 2024-06-01: no alert can be between them", said


def test_a_replay_in_a_folder_without_moonhook_toml_says_its_account_is_the_defaults(user):
    """A trader who replays from another folder (--scripts bot/scripts) is told the figures are
    of the default account, not of the [paper], limits and [plugins.NAME] of bot/moonhook.toml."""
    _bot(user)
    done = user.moonhook("replay", "--scripts", "bot/scripts", "--alerts", "bot/alerts.jsonl")
    assert done.returncode == 0 and "replay of bot/scripts: 2 alerts" in done.stdout, outcome(done)
    assert done.stderr == ("moonhook: no moonhook.toml in this folder: the replay's account, limits and "
                           "[plugins.NAME] are the defaults (--config names the file)\n"), outcome(done)
    told = user.moonhook("replay", "--scripts", "bot/scripts", "--alerts", "bot/alerts.jsonl",
                         "--config", "bot/moonhook.toml")
    assert told.returncode == 0 and told.stderr == "", outcome(told)


def test_summary_without_json_is_refused_rather_than_ignored(user):
    """--summary shortens the JSON only: typed for a shorter text report (or a comparison's 100
    first differences) it changed nothing, unsaid."""
    _bot(user)
    said = _refused(user, "--summary")
    assert said == "moonhook: --summary goes with --json: the text report is a summary already", said
    done = user.moonhook("replay", "--scripts", "scripts", "--alerts", "alerts.jsonl", "--summary", "--json", cwd="bot")
    assert done.returncode == 0 and "closed_trades" not in json.loads(done.stdout), outcome(done)


def test_a_replay_stopped_by_ctrl_c_says_so_in_one_line_and_writes_nothing(user):
    """Ctrl-C as the alerts are read (a year's journal takes seconds) ended in a traceback, and
    one as the scripts ran could add Python's 'coroutine ... was never awaited' warnings."""
    _bot(user)
    (user.home / "bot" / "busy").mkdir()
    (user.home / "bot" / "busy" / "t.lua").write_text(   # a timer each second over 5,000 hours: never done here
        "plugin = {every = 1}\nfunction on_timer() for i = 1, 50 do pcall(positions.list) end end\n")
    (user.home / "bot" / "long.jsonl").write_text("".join(json.dumps(
        {"time": T0 + h * 3600, "body": f"buy EURUSD volume=0.1 price=1.08 id=n{h}"}) + "\n" for h in range(5000)))
    replay = subprocess.Popen([*AS_IN_A_TERMINAL, *moonhook_command(), "replay", "--scripts", "busy", "--alerts",
                               "long.jsonl", "--report", "long.html"], cwd=user.home / "bot", env=user.env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:   # the sandbox's Lua loaded: past the start-up, into the replay's own command
        until(lambda: "lupa" in Path(f"/proc/{replay.pid}/maps").read_text(), bool, "the replay started")
        replay.send_signal(signal.SIGINT)
        out, err = replay.communicate(timeout=DEADLINE)
    finally:
        replay.kill()
    assert (replay.returncode, out, err) == (130, "", "moonhook: replay interrupted; nothing written\n")
    assert not [p for p in (user.home / "bot").iterdir() if "long.html" in p.name]


def test_strict_refuses_a_row_whose_body_is_not_an_alert(user):
    """--strict refused a row that could not be read, but skipped one whose body is not an alert
    (a command this version does not know, a volume of 'lots'), exit 0: a CI's replay went on
    without it, unsaid but in the report's problems."""
    _bot(user)
    (user.home / "bot" / "alerts.jsonl").write_text("".join(json.dumps(a) + "\n" for a in [
        *ALERTS, {"time": T0 + 7200, "body": "fly EURUSD volume=0.1"}]))
    skipped = user.moonhook("replay", "--scripts", "scripts", "--alerts", "alerts.jsonl", "--json", cwd="bot")
    assert skipped.returncode == 0, outcome(skipped)
    assert [p["where"] for p in json.loads(skipped.stdout)["problems"]] == ["alerts.jsonl:3"]
    said = _refused(user, "--strict", "--report", "strict.html")
    assert said.startswith("moonhook: alerts.jsonl:3: not an alert: action: unknown command 'fly'"), said
    assert not (user.home / "bot" / "strict.html").exists()


def test_a_scripts_folder_not_there_is_said_before_anything_is_read_or_replayed(user):
    """--compare scripts-nxt was found missing only once the first folder's replay was done
    (minutes, over a year's journal): it is checked first, as --scripts is, before the alerts."""
    _bot(user)
    (user.home / "bot" / "alerts.txt").write_text("not a format\n")
    for typo in (("--scripts", "scripts-nxt"), ("--compare", "scripts-nxt")):
        done = user.moonhook("replay", "--scripts", "scripts", *typo, "--alerts", "alerts.txt", cwd="bot")
        assert (done.returncode, done.stdout) == (2, ""), outcome(done)
        assert done.stderr == f"moonhook: {typo[0]} scripts-nxt: no such folder of scripts\n", outcome(done)


def test_the_formats_the_page_names_replay_alike_as_the_exports_write_them(user):
    """The same buy and close, as JSONL named .ndjson (an `alert` object, an ISO time), as
    TradingView's alert log (newest first, `YYYY-MM-DD HH:MM:SS`, CRLF), over MetaTrader 5's
    export as Windows writes it (UTF-16 with its mark, CRLF, the server's clock) and its daily
    export (no <TIME> column): one trade each, closed at the close alert's price."""
    _bot(user)
    bot = user.home / "bot"
    (bot / "alerts.ndjson").write_text(
        '{"time": "2024-05-13T00:30:00Z", "alert": {"action": "buy", "symbol": "EURUSD", "volume": 0.1, "sl": 1.07}}\n'
        '{"time": "2024-05-13T01:30:00+00:00", "body": "close EURUSD price=1.0825"}\n')
    (bot / "log.csv").write_bytes(b"Alert ID,Ticker,Name,Description,Time\r\n"
                                  b'2,FX:EURUSD,exit,"close EURUSD price=1.0825",2024-05-13 01:30:00\r\n'
                                  b'1,FX:EURUSD,long,"buy EURUSD volume=0.1 sl=1.07",2024-05-13 00:30:00\r\n')
    header = "<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>\r\n"
    rows = "".join(f"2024.05.13\t{h:02d}:00:00\t1.0800\t1.0830\t1.0790\t1.0810\t100\t0\t5\r\n" for h in (2, 3, 4))
    (bot / "EURUSD_H1_202405130200_202405130400.csv").write_bytes((header + rows).encode("utf-16"))
    (bot / "priced.csv").write_bytes((bot / "log.csv").read_bytes().replace(b"sl=1.07", b"sl=1.07 price=1.0805"))
    (bot / "EURUSD_Daily_202405120000_202405130000.csv").write_text(
        "<DATE>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>\n"
        "2024.05.12\t1.0790\t1.0800\t1.0780\t1.0795\t9\t0\t5\n2024.05.13\t1.0800\t1.0830\t1.0790\t1.0810\t9\t0\t5\n")
    for alerts, prices in (("alerts.ndjson", "EURUSD_H1_202405130200_202405130400.csv"),
                           ("log.csv", "EURUSD_H1_202405130200_202405130400.csv"),
                           ("priced.csv", "EURUSD_Daily_202405120000_202405130000.csv")):   # inside its last bar
        done = user.moonhook("replay", "--scripts", "scripts", "--alerts", alerts, "--prices", prices,
                             "--prices-clock", "GMT+2/+3 EU", "--json", cwd="bot")   # 02:00 there is 23:00 UTC
        assert done.returncode == 0, outcome(done)
        r = json.loads(done.stdout)
        (trade,) = r["closed_trades"]
        assert (r["alerts"], r["problems"], r["prices_simulated"]) == (2, [], True), (alerts, prices, r["problems"])
        # bought at 01:00 UTC's bar open (or the alert's price, inside the day's bar), closed at the alert's price
        assert (trade["side"], trade["volume"], trade["close_price"], trade["reason"]) == ("buy", 0.1, 1.0825, "close")


def test_a_script_that_does_not_load_in_a_comparison_is_named_with_its_folder(user):
    """--compare replays two folders of the same file names: "x.lua:2: ..." did not say which of the two
    did not load."""
    _bot(user)
    bot = user.home / "bot"
    (bot / "draft").mkdir()
    (bot / "draft" / "x.lua").write_text("plugin = {name = 'x'}\nlocal y = nil .. 1\n")
    done = user.moonhook("replay", "--scripts", "scripts", "--compare", "draft", "--alerts", "alerts.jsonl", cwd="bot")
    assert (done.returncode, done.stdout, done.stderr) == (
        2, "", "moonhook: draft/x.lua:2: script error: attempt to concatenate a nil value\n"), outcome(done)
    (bot / "scripts" / "y.lua").write_text("plugin = {name = 'y'}\nerror('mine', 0)\n")
    done = user.moonhook("replay", "--scripts", "scripts", "--compare", "draft", "--alerts", "alerts.jsonl", cwd="bot")
    assert (done.returncode, done.stderr) == (2, "moonhook: scripts/y.lua:2: script error: mine\n"), outcome(done)
