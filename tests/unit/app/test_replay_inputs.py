"""The inputs of `moonhook replay` (engine/app/replay, issue 22): alerts from moonhook's own
journal, a JSONL file and TradingView's alert log; bars from TradingView's chart export and
MetaTrader 5's history export (intraday and daily). The files in replay_data/ are written as
those programs write them; the journal is written by the real AlertJournal. Each kind of bad
row is reported with file:line and skipped, or refused with strict."""

import json
import sqlite3
from pathlib import Path

import pytest

from engine.adapters.storage import AlertJournal, Database
from engine.app.replay import (Bar, ReplayInputError, between, bounds, parse_time, read_alerts, read_price_files,
                               read_prices)
from engine.app.replay.alerts import journaled
from engine.domain.alerts import SymbolMap, parse_body
from engine.domain.times import clock_zone

DATA = Path(__file__).parent / "replay_data"
MAY13 = 1715558400.0  # 2024-05-13 00:00:00 UTC
HOUR = 3600.0


def _lines(read) -> list[int]:
    return [int(p.where.rsplit(":", 1)[1]) for p in read.problems]


def _files(read) -> set[str]:
    return {p.where.rsplit(":", 1)[0] for p in read.problems}


# --- the journal --------------------------------------------------------------------------

def _journal(path: Path, keep_open: bool = False):
    """A moonhook.db written by the real journal: done, rejected, duplicate, paused, expired,
    one still "received"; recorded out of time order to show the reader sorts by time."""
    db = Database(path)
    journal = AlertJournal(db, dedup_window=60)
    first = journal.record(parse_body("buy EURUSD volume=0.1 price=1.0772"), now=MAY13 + 9 * HOUR)
    journal.set_status(first.id, "done")
    repeat = journal.record(parse_body("buy EURUSD volume=0.1 price=1.0772"), now=MAY13 + 9 * HOUR + 10)
    assert repeat.duplicate
    early = journal.record(parse_body('{"action": "sell", "symbol": "XAUUSD", "price": 2360}'), now=MAY13 + HOUR)
    journal.set_status(early.id, "rejected", {"reason": "no shorts on gold"})
    paused = journal.record(parse_body("close EURUSD"), now=MAY13 + 10 * HOUR)
    journal.set_status(paused.id, "paused")
    expired = journal.record(parse_body("close XAUUSD"), now=MAY13 + 11 * HOUR)
    journal.set_status(expired.id, "expired")
    journal.record(parse_body("buy XAUUSD volume=1 price=2361"), now=MAY13 + 12 * HOUR)  # "received"
    ids = {"done": first.id, "duplicate": repeat.id, "rejected": early.id, "paused": paused.id,
           "expired": expired.id}
    if keep_open:
        return db, ids
    db.close()
    return None, ids


def test_journal_every_status_oldest_first(tmp_path):
    path = tmp_path / "data" / "moonhook.db"
    _, ids = _journal(path)
    read = read_alerts(path)
    assert read.problems == []
    assert [a.time for a in read.items] == [MAY13 + HOUR, MAY13 + 9 * HOUR, MAY13 + 9 * HOUR + 10,
                                            MAY13 + 10 * HOUR, MAY13 + 11 * HOUR, MAY13 + 12 * HOUR]
    assert read.items[0].where == f"{path}:{ids['rejected']}"
    assert read.items[2].where == f"{path}:{ids['duplicate']}"
    # The body is the journal's alert column, as received (parsed, never the secret).
    assert read.items[0].body == sqlite3.connect(path).execute(
        "SELECT alert FROM alerts WHERE id = ?", [ids["rejected"]]).fetchone()[0]
    assert json.loads(read.items[0].body)["price"] == 2360
    assert json.loads(read.items[1].body) == json.loads(read.items[2].body)  # the repeat, as the engine saw it
    assert parse_body(read.items[1].body).symbol == "EURUSD"


def test_journal_of_a_running_engine_and_statuses_narrow(tmp_path):
    path = tmp_path / "moonhook.db"
    db, ids = _journal(path, keep_open=True)  # the engine still running: its WAL in use
    try:
        read = read_alerts(path, statuses=["rejected", "duplicate"])
        assert [a.where for a in read.items] == [f"{path}:{ids['rejected']}", f"{path}:{ids['duplicate']}"]
        with pytest.raises(ReplayInputError, match=r"moonhook\.db: unknown alert status 'lost'"):
            read_alerts(path, statuses=["lost"])
    finally:
        db.close()


def test_journal_reads_only_the_window_and_never_loads_the_rest(tmp_path):
    path = tmp_path / "moonhook.db"
    _, ids = _journal(path)
    # A row outside the window that cannot be read: reading all and cutting after would report it.
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alerts SET alert = 'not json' WHERE id = ?", [ids["rejected"]])
    assert len(read_alerts(path).problems) == 1
    read = read_alerts(path, window=bounds(MAY13 + 9 * HOUR, MAY13 + 11 * HOUR))
    assert read.problems == []
    assert [a.time for a in read.items] == [MAY13 + 9 * HOUR, MAY13 + 9 * HOUR + 10, MAY13 + 10 * HOUR]
    assert [a.time for a in read_alerts(path, window=bounds(end=MAY13 + 9 * HOUR)).items] == []   # only the bad row
    assert len(read_alerts(path, window=bounds(start=MAY13 + 11 * HOUR)).items) == 2


@pytest.mark.parametrize("body", [
    '{"symbol": "OANDA:XAUUSD", "action": "buy", "risk": 1, "sl": 2300, "price": 2350, "timenow": 1715590000}',
    '{"symbol": "US30", "action": "sell", "position": "flat", "position_size": 0, "units": 3, "id": 7}',
    "buylimit EURUSD volume=0.1 price=1.07 expiry=4h ttl=30 comment=dip",
    "closeall",
])
def test_a_journals_alert_reads_back_as_it_was_journaled_its_symbol_as_mapped(body):
    symbols = SymbolMap({"OANDA:XAUUSD": "GOLD", "US30": "US30.cash"})
    alert = parse_body(body, symbols)
    assert journaled(json.loads(json.dumps(alert.to_plain()))) == alert


def test_a_sqlite_file_that_is_not_a_journal_is_refused(tmp_path):
    path = tmp_path / "other.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(ReplayInputError, match=r"other\.db: not a moonhook journal"):
        read_alerts(path)


def test_a_folder_given_for_the_alerts_is_told_to_name_the_journal_in_it(tmp_path):
    # `--alerts data` (the journal's folder) was "cannot open: Is a directory".
    Database(tmp_path / "data" / "moonhook.db").close()
    with pytest.raises(ReplayInputError, match=r"/data: a folder: give the journal in it, .*/data/moonhook\.db$"):
        read_alerts(tmp_path / "data")
    (tmp_path / "exports").mkdir()
    with pytest.raises(ReplayInputError, match=r"/exports: a folder, not a file of alerts$"):
        read_alerts(tmp_path / "exports")


# --- JSONL --------------------------------------------------------------------------------

def test_jsonl_body_or_alert_object_unix_or_iso_time():
    read = read_alerts(DATA / "alerts.jsonl")
    assert read.problems == []
    assert [(a.time, a.where.rsplit(":", 1)[1]) for a in read.items] == [
        (MAY13 + 9 * HOUR, "4"), (1715592605.0, "1"), (MAY13 + 15.5 * HOUR, "2")]  # 11:00+02:00 is 09:00 UTC
    assert read.items[1].body == "buy EURUSD risk=1 sl=1.075"
    assert json.loads(read.items[2].body) == {"action": "sell", "symbol": "EURUSD", "price": 1.0801}


def test_jsonl_bad_rows_reported_with_file_and_line():
    path = DATA / "alerts_bad.jsonl"
    read = read_alerts(path)
    assert [a.body for a in read.items] == ["buy EURUSD", "close EURUSD"]
    assert _lines(read) == [2, 3, 4, 5, 6, 7] and _files(read) == {str(path)}
    what = [p.what for p in read.problems]
    assert what[0].startswith("not JSON") and what[1] == "no time" and "13/05/2024" in what[2]
    assert "one of body" in what[3] and "alert must be an object" in what[4] and "got list" in what[5]
    assert str(read.problems[0]).startswith(f"{path}:2: not JSON")


def test_jsonl_keeps_a_line_whose_string_holds_a_unicode_line_separator(tmp_path):
    # JSON keeps U+2028 and U+0085 raw in a string (json.dumps with ensure_ascii=False, as
    # JavaScript does): read as line breaks, the alert was dropped as "not JSON" and every line
    # after it was named one line too far.
    path = tmp_path / "alerts.jsonl"
    first = {"action": "buy", "symbol": "EURUSD", "volume": 1, "comment": "breakout\u2028retest\x85"}
    path.write_text(json.dumps({"time": MAY13, "alert": first}, ensure_ascii=False) + "\r\n"
                    + json.dumps({"time": MAY13 + 60, "body": "close EURUSD"}) + "\r\n"
                    + '{"time": "later", "body": "close EURUSD"}\r\n', encoding="utf-8")
    read = read_alerts(path)
    assert [(a.where, json.loads(a.body) if a.body[0] == "{" else a.body) for a in read.items] == [
        (f"{path}:1", first), (f"{path}:2", "close EURUSD")]
    assert _lines(read) == [3]


# --- TradingView's alert log --------------------------------------------------------------

def test_a_tradingview_log_all_of_one_second_is_read_in_the_order_it_fired(tmp_path):
    # Newest first, as TradingView writes it: the exit above its entry. Kept as written, the
    # close ran before the buy, and the replay left open a long the strategy had closed.
    path = tmp_path / "alerts.csv"
    path.write_text("Alert ID,Ticker,Name,Description,Time\r\n"
                    "7,OANDA:EURUSD,exit,close EURUSD,2024-05-13T09:00:00Z\r\n"
                    "6,OANDA:EURUSD,entry,buy EURUSD volume=1,2024-05-13T09:00:00Z\r\n")
    assert [a.body for a in read_alerts(path).items] == ["buy EURUSD volume=1", "close EURUSD"]

def test_tradingview_alert_log_description_and_time():
    path = DATA / "tradingview_alerts.csv"
    assert path.read_bytes().startswith(b"\xef\xbb\xbfAlert ID,Ticker,Name,Description,Time")
    read = read_alerts(path)
    assert read.problems == []
    # Written newest first: read oldest first, the two alerts of 15:30 in the order they fired.
    assert [a.where for a in read.items] == [f"{path}:6", f"{path}:4", f"{path}:3", f"{path}:2"]
    assert [a.time for a in read.items] == [1715592605.0, MAY13 + 15.5 * HOUR, MAY13 + 15.5 * HOUR, MAY13 + 32 * HOUR]
    assert read.items[1].body == "buy XAUUSD risk=1\nsl=2331.5 tp=2362"  # quoted over two lines
    assert json.loads(read.items[0].body)["sl"] == 1.0750  # doubled quotes undone


def test_tradingview_alert_log_other_column_order_and_bad_rows():
    path = DATA / "tradingview_alerts_bad.csv"
    read = read_alerts(path)
    assert [(a.time, a.body) for a in read.items] == [(1715592605.0, "buy EURUSD"), (MAY13 + 12 * HOUR, "close EURUSD")]
    assert _lines(read) == [3, 4] and _files(read) == {str(path)}
    assert "'yesterday'" in read.problems[0].what and "empty Description" in read.problems[1].what


def test_a_csv_without_description_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("Alert ID,Ticker,Time\n1,EURUSD,2024-05-13T09:00:00Z\n")
    with pytest.raises(ReplayInputError, match=r"log\.csv: line 1: .*Description"):
        read_alerts(path)


def test_an_unknown_alert_format_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "alerts.txt"
    path.write_text("buy EURUSD\n")
    with pytest.raises(ReplayInputError, match=r"alerts\.txt: unknown alert format"):
        read_alerts(path)
    with pytest.raises(ReplayInputError, match=r"missing\.jsonl: cannot open"):
        read_alerts(tmp_path / "missing.jsonl")


# --- prices -------------------------------------------------------------------------------

def test_tradingview_chart_export_unix_and_iso(tmp_path):
    read = read_prices(DATA / "tradingview_chart.csv", "EURUSD")
    assert read.problems == [] and read.symbol == "EURUSD"
    assert read.items[0] == Bar(MAY13, 1.0771, 1.0779, 1.0765, 1.0772)
    assert [b.time for b in read.items] == [MAY13 + i * HOUR for i in range(4)]
    marked = tmp_path / "chart_bom.csv"  # saved again by a spreadsheet: a byte order mark first
    marked.write_bytes(b"\xef\xbb\xbf" + (DATA / "tradingview_chart.csv").read_bytes())
    assert read_prices(marked, "EURUSD").items == read.items
    iso = read_prices(DATA / "tradingview_chart_iso.csv", "XAUUSD")
    assert iso.items == [Bar(MAY13, 2360.10, 2365.40, 2355.00, 2361.20),
                         Bar(MAY13 + 24 * HOUR, 2361.20, 2370.00, 2340.50, 2358.00)]


def test_mt5_history_export_intraday_and_daily(tmp_path):
    hourly = read_prices(DATA / "mt5_h1.csv", "EURUSD")
    assert _lines(hourly) == [1]   # its times read as UTC, said (below)
    assert hourly.items == [Bar(MAY13, 1.0771, 1.0779, 1.0765, 1.0772), Bar(MAY13 + HOUR, 1.0772, 1.0781, 1.0770, 1.0780),
                            Bar(MAY13 + 2 * HOUR, 1.0780, 1.0785, 1.0749, 1.0756)]
    daily = read_prices(DATA / "mt5_daily.csv", "EURUSD")
    assert [b.time for b in daily.items] == [MAY13 - 3 * 24 * HOUR, MAY13, MAY13 + 24 * HOUR]  # Friday, Monday
    assert daily.items[2] == Bar(MAY13 + 24 * HOUR, 1.0785, 1.0820, 1.0775, 1.0810)
    # The same export saved as UTF-16 with its mark reads the same.
    wide = tmp_path / "mt5_h1_utf16.csv"
    wide.write_bytes((DATA / "mt5_h1.csv").read_text().encode("utf-16"))
    assert read_prices(wide, "EURUSD").items == hourly.items


def test_an_mt5_export_is_read_on_the_servers_clock_when_given():
    """MetaTrader writes its server's wall clock, most brokers' two or three hours ahead of UTC:
    read as UTC, each bar sits hours later than it was, and every journal alert (UTC) fills at
    a price from hours before or after it. Given the clock, the bars are where the alerts are."""
    server = clock_zone("GMT+2/+3 US", "--prices-clock")
    hourly = read_prices(DATA / "mt5_h1.csv", "EURUSD", clock=server)
    assert [b.time for b in hourly.items] == [MAY13 - 3 * HOUR, MAY13 - 2 * HOUR, MAY13 - HOUR]   # GMT+3 in May
    assert hourly.items[0][1:] == (1.0771, 1.0779, 1.0765, 1.0772)
    daily = read_price_files([DATA / "mt5_daily.csv"], "EURUSD", clock=server)
    assert [b.time for b in daily.items] == [MAY13 - 3 * 24 * HOUR - 3 * HOUR, MAY13 - 3 * HOUR, MAY13 + 21 * HOUR]
    assert hourly.problems == [] and daily.problems == []
    # Without it, as written, and said: the alerts would meet bars from hours away, silently.
    unnamed = read_prices(DATA / "mt5_h1.csv", "EURUSD")
    assert unnamed.items[0].time == MAY13
    [said] = unnamed.problems
    assert said.where == f"{DATA / 'mt5_h1.csv'}:1" and "read as UTC" in said.what and "--prices-clock" in said.what
    assert read_prices(DATA / "tradingview_chart.csv", "EURUSD").problems == []   # TradingView's name their zone


def test_bad_bars_reported_with_file_and_line():
    path = DATA / "tradingview_chart_bad.csv"
    read = read_prices(path, "EURUSD")
    assert [b.time for b in read.items] == [MAY13, MAY13 + 3 * HOUR, MAY13 + 6 * HOUR]
    assert _lines(read) == [3, 4, 5, 7, 8] and _files(read) == {str(path)}
    what = [p.what for p in read.problems]
    assert "high 1.077 is below low 1.0781" == what[0]
    assert "'abc' is not a number" in what[1]
    assert "not after the bar before" in what[2]
    assert "2 columns" in what[3]
    assert "close 1.077 lies outside" in what[4]


def test_bad_mt5_rows_reported_with_file_and_line():
    path = DATA / "mt5_h1_bad.csv"
    read = read_prices(path, "EURUSD")
    assert [b.time for b in read.items] == [MAY13, MAY13 + 3 * HOUR]
    assert _lines(read) == [1, 3, 4, 5]   # 1: the clock not given
    assert "2024.13.13" in read.problems[1].what and "'2am'" in read.problems[2].what
    assert "close 1.079 lies outside" in read.problems[3].what


def test_a_price_file_of_neither_export_is_refused(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text("date,price\n2024-05-13,1.07\n")
    with pytest.raises(ReplayInputError, match=r"prices\.csv: line 1: .*no time, open, high, low, close"):
        read_prices(path, "EURUSD")


# --- strict -------------------------------------------------------------------------------

@pytest.mark.parametrize("name, line, what", [
    ("alerts_bad.jsonl", 2, "not JSON"),
    ("tradingview_alerts_bad.csv", 3, "yesterday"),
    ("tradingview_chart_bad.csv", 3, "high 1.077 is below low"),
    ("mt5_h1_bad.csv", 3, "2024.13.13"),
])
def test_strict_refuses_the_first_bad_row(name, line, what):
    path = DATA / name
    read = read_alerts if "alerts" in name else (lambda p, **k: read_prices(p, "EURUSD", **k))
    with pytest.raises(ReplayInputError) as refused:
        read(path, strict=True)
    assert str(refused.value).startswith(f"{path}:{line}: ") and what in str(refused.value)


def test_strict_reads_a_good_file_whole(tmp_path):
    assert len(read_alerts(DATA / "tradingview_alerts.csv", strict=True).items) == 4
    assert len(read_prices(DATA / "mt5_daily.csv", "EURUSD", strict=True).items) == 3
    path = tmp_path / "moonhook.db"
    _journal(path)
    assert len(read_alerts(path, strict=True).items) == 6


# --- --from / --to --------------------------------------------------------------------------

def test_between_keeps_start_and_drops_end():
    bars = read_prices(DATA / "tradingview_chart.csv", "EURUSD").items
    assert between(bars, MAY13 + HOUR, MAY13 + 3 * HOUR) == bars[1:3]
    assert between(bars, "2024-05-13T02:00:00Z") == bars[2:]
    assert between(bars, end="2024-05-13 01:00:00") == bars[:1]
    assert between(bars) == bars
    alerts = read_alerts(DATA / "tradingview_alerts.csv").items
    assert between(alerts, "2024-05-13", "2024-05-14") == alerts[:3]
    with pytest.raises(ValueError, match="comes before"):
        between(bars, "2024-05-14", "2024-05-13")
    with pytest.raises(ValueError, match="neither Unix seconds nor ISO 8601"):
        between(bars, "last week")


def test_times_as_the_exports_write_them():
    assert parse_time(1715558400) == parse_time("1715558400") == MAY13
    assert parse_time("2024-05-13T00:00:00Z") == parse_time("2024-05-13 00:00:00") == MAY13
    assert parse_time("2024-05-13T02:00:00+02:00") == MAY13
    for bad in (True, "", "1715558400000000", float("nan"), None):
        with pytest.raises(ValueError):
            parse_time(bad)


# --- a symbol's history in several files ------------------------------------------------------

CHART = "time,open,high,low,close\n"


def _chart(path: Path, hours) -> Path:
    path.write_text(CHART + "".join(f"{MAY13 + h * HOUR:.0f},1.0800,1.0810,1.0790,1.0805\n" for h in hours))
    return path


def test_files_of_one_symbol_are_merged_by_time_whatever_their_order(tmp_path):
    early, late = _chart(tmp_path / "early.csv", range(0, 3)), _chart(tmp_path / "late.csv", range(3, 6))
    one = read_price_files([early, late], "EURUSD")
    assert one.problems == [] and [b.time for b in one.items] == [MAY13 + h * HOUR for h in range(6)]
    assert read_price_files([late, early], "EURUSD").items == one.items


def test_bars_repeated_or_out_of_order_across_files_are_reported_or_refused_with_strict(tmp_path):
    early = _chart(tmp_path / "early.csv", range(0, 4))
    late = _chart(tmp_path / "late.csv", [3, 4, 5])         # 03:00 again: an overlap
    finer = _chart(tmp_path / "finer.csv", [1.5, 6])        # 01:30, inside the others
    for order in ([early, late, finer], [finer, late, early]):
        read = read_price_files(order, "EURUSD")
        assert [b.time for b in read.items] == [MAY13 + h * HOUR for h in range(7)]
        # 01:30 falls inside early.csv's bar of 01:00; 03:00 repeats early.csv's last bar.
        assert [p.where for p in read.problems] == [f"{finer}:2", f"{late}:2"]
        assert read.problems[0].what == (f"time 2024-05-13 01:30:00 UTC falls inside the bar of 2024-05-13 01:00:00 "
                                         f"UTC in {early}, which lasts until 2024-05-13 02:00:00 UTC: the files overlap")
        assert read.problems[1].what == (f"time 2024-05-13 03:00:00 UTC is not after the bar before (2024-05-13 "
                                         f"03:00:00 UTC, in {early}): out of order or repeated")
    with pytest.raises(ReplayInputError, match=rf"^{late}:2: .*not after the bar before"):
        read_price_files([late, early], "EURUSD", strict=True)


def test_a_time_in_milliseconds_is_refused_saying_what_it_reads_as_in_seconds():
    """A JavaScript export writes milliseconds: 'is not Unix seconds' alone left the trader to guess."""
    with pytest.raises(ValueError, match=r"^time 1715558400000 is not Unix seconds: milliseconds\? "
                                         r"\(/ 1000: 2024-05-13 00:00:00 UTC\)$"):
        parse_time(1715558400000)
    with pytest.raises(ValueError, match=r"^time '1e300' is not Unix seconds$"):
        parse_time("1e300")


def test_a_csv_saved_with_semicolons_is_told_so(tmp_path):
    # A spreadsheet in many languages saves CSV with ';': "the header has no time, open, high, low,
    # close" was said of a header that shows them all.
    bars = tmp_path / "FX_EURUSD, 60.csv"
    bars.write_text("time;open;high;low;close\n1715558400;1.085;1.086;1.084;1.085\n")
    with pytest.raises(ReplayInputError, match=r"line 1: its columns are separated by ';', not ',' \(as a "
                                               r"spreadsheet saves CSV in some languages\): save it with ','$"):
        read_prices(bars, "EURUSD")
    log = tmp_path / "alerts.csv"
    log.write_text("Alert ID;Ticker;Name;Description;Time\n1;EURUSD;a;buy EURUSD;2024-05-13T00:00:00Z\n")
    with pytest.raises(ReplayInputError, match=r"line 1: its columns are separated by ';', not ','"):
        read_alerts(log)
