"""`moonhook replay` given what a trader mistypes, as docs/replay.md promises it: exit 2, one line
naming what is wrong and where, before the replay runs, and nothing written (no report page, no
report on stdout): a --report path in a folder that does not exist, or a folder itself."""

from __future__ import annotations

import json

from support.e2e_support import init, outcome

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
