"""`moonhook replay` with nothing to replay, as a trader's script or CI meets it: an alerts source
with no rows, with every row a problem, none inside --from/--to or none read as an alert, and a
price file with no bar, or no bar for any alert. Each exited 0 with a report of zeros, which a
script took for a strategy that traded nothing; now each exits 65, said in one line on stderr
naming the source, the report written still (the dashboard's editor reads it, and its input
problems list every bad row)."""

from __future__ import annotations

import json

from support.e2e_support import init, outcome

T0 = 1715558400  # 2024-05-13 00:00 UTC
HOUR = 3600
ALERT = "buy EURUSD volume=0.1 price=1.0805 sl=1.0790 tp=1.0825"


def _replay(user, alerts: str, *more: str):
    report = user.home / "bot" / "report.html"
    report.unlink(missing_ok=True)
    done = user.moonhook("replay", "--scripts", "scripts", "--alerts", alerts, "--report", "report.html", "--json",
                         *more, cwd="bot")
    assert done.returncode == 65, outcome(done)
    assert "alerts" in json.loads(done.stdout) and report.exists()
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("moonhook: "), outcome(done)
    return lines[0]


def _jsonl(user, name: str, lines: list[str]) -> None:
    (user.home / "bot" / name).write_text("".join(line + "\n" for line in lines))


def test_an_alerts_source_with_no_alert_to_replay_is_an_error_naming_it(user):
    init(user, "bot")
    _jsonl(user, "empty.jsonl", [])
    assert _replay(user, "empty.jsonl") == "moonhook: empty.jsonl: no alert in it: nothing to replay"
    (user.home / "bot" / "log.csv").write_text("Alert ID,Ticker,Name,Description,Time\n")
    assert _replay(user, "log.csv") == "moonhook: log.csv: no alert in it: nothing to replay"
    _jsonl(user, "bad.jsonl", ["not json", '{"body": "buy EURUSD"}', "[1]", '{"time": "soon", "body": "x"}'])
    said = _replay(user, "bad.jsonl")
    assert said.startswith("moonhook: bad.jsonl: 4 rows, none read as an alert: nothing to replay "
                           "(bad.jsonl:1: not JSON: "), said
    assert "bad.jsonl:2: no time; bad.jsonl:3: " in said and said.endswith("; and 1 more)"), said
    _jsonl(user, "words.jsonl", [json.dumps({"time": T0 + i, "body": "hello there"}) for i in range(2)])
    said = _replay(user, "words.jsonl")
    assert said.startswith("moonhook: words.jsonl: 2 alerts to replay, none read as an alert: nothing replayed "
                           "(words.jsonl:1: not an alert: "), said


def test_a_window_without_an_alert_is_an_error_saying_where_the_alerts_are(user):
    init(user, "bot")
    _jsonl(user, "alerts.jsonl", [json.dumps({"time": T0 + h * HOUR, "body": ALERT}) for h in (0, 5)])
    said = _replay(user, "alerts.jsonl", "--from", "2025-01-01", "--to", "2025-02-01")
    assert said == ("moonhook: alerts.jsonl: 2 alerts (2024-05-13 00:00:00 to 2024-05-13 05:00:00), none within "
                    "--from 2025-01-01 --to 2025-02-01: nothing to replay"), said
    inside = user.moonhook("replay", "--scripts", "scripts", "--alerts", "alerts.jsonl", "--from", "2024-05-13T04:00",
                           cwd="bot")
    assert inside.returncode == 0 and "replay of scripts: 1 alert" in inside.stdout, outcome(inside)


def test_a_price_file_without_a_bar_for_any_alert_is_an_error_naming_it(user):
    init(user, "bot")
    _jsonl(user, "alerts.jsonl", [json.dumps({"time": T0 + h * HOUR, "body": ALERT}) for h in (0, 1)])
    header = "time,open,high,low,close\n"
    (user.home / "bot" / "FX_EURUSD, 60.csv").write_text(header)
    said = _replay(user, "alerts.jsonl", "--prices", "FX_EURUSD, 60.csv")
    assert said == "moonhook: FX_EURUSD, 60.csv: no bar in it (leave it out to replay without EURUSD's prices)", said
    (user.home / "bot" / "FX_EURUSD, 60.csv").write_text(header + "yesterday,1.08,1.09,1.07,1.08\n")
    said = _replay(user, "alerts.jsonl", "--prices", "FX_EURUSD, 60.csv")
    assert said.startswith("moonhook: FX_EURUSD, 60.csv: 1 row, none read as a bar (FX_EURUSD, 60.csv:2: "), said
    a_year_before = T0 - 365 * 24 * HOUR
    (user.home / "bot" / "FX_EURUSD, 60.csv").write_text(header + "".join(
        f"{a_year_before + h * HOUR},1.08,1.09,1.07,1.08\n" for h in range(3)))
    said = _replay(user, "alerts.jsonl", "--prices", "FX_EURUSD, 60.csv")
    assert said.startswith("moonhook: FX_EURUSD, 60.csv: its bars (2023-05-14 00:00:00 to 2023-05-14 02:00:00) hold "
                           "no EURUSD alert replayed (2 alerts, 2024-05-13 00:00:00 to 2024-05-13 01:00:00): "), said
    (user.home / "bot" / "FX_EURUSD, 60.csv").write_text(header + "".join(   # one alert inside: it stands
        f"{T0 + h * HOUR},1.08,1.09,1.07,1.08\n" for h in range(1)))
    one = user.moonhook("replay", "--scripts", "scripts", "--alerts", "alerts.jsonl", "--prices", "FX_EURUSD, 60.csv",
                        cwd="bot")
    assert one.returncode == 0 and "after the last bar" in one.stdout, outcome(one)


def test_price_files_of_no_symbol_alerted_are_an_error_naming_them_and_the_alerts_symbols(user):
    """EURUSD's bars beside alerts of OANDA:XAUUSD (the wrong file, or a ticker the map does not
    make EURUSD): every order filled at its alert's price, no stop simulated, exit 0 as if the
    bars had been used. A file whose symbol has no alert beside one used is fine (a month one
    chart was quiet)."""
    init(user, "bot")
    _jsonl(user, "gold.jsonl", [json.dumps({"time": T0 + h * HOUR, "body": f"buy OANDA:XAUUSD volume=0.1 price=2300 "
                                                                            f"sl=2290 id=g{h}"}) for h in (0, 1)])
    bars = "time,open,high,low,close\n" + "".join(f"{T0 + h * HOUR},1.08,1.09,1.07,1.08\n" for h in range(3))
    (user.home / "bot" / "FX_EURUSD, 60.csv").write_text(bars)
    said = _replay(user, "gold.jsonl", "--prices", "FX_EURUSD, 60.csv")
    assert said == ("moonhook: FX_EURUSD, 60.csv: no alert replayed is of EURUSD, nor any trade: its bars were not "
                    "used (the alerts traded XAUUSD at their own prices); give the bars of their symbols, named "
                    "SYMBOL=FILE if the file's name does not say it"), said
    (user.home / "bot" / "OANDA_XAUUSD, 60.csv").write_text(bars.replace("1.08", "2300").replace("1.09", "2310")
                                                             .replace("1.07", "2280"))
    both = user.moonhook("replay", "--scripts", "scripts", "--alerts", "gold.jsonl", "--prices", "FX_EURUSD, 60.csv",
                         "--prices", "OANDA_XAUUSD, 60.csv", cwd="bot")
    assert both.returncode == 0 and both.stderr == "", outcome(both)
