"""The parts of ``moonhook replay`` (issue 22): recorded alerts and OHLC bars read from the
files traders have, each row that cannot be read reported with its file and line (or refused
with ``strict``), and the ``--from``/``--to`` window; the fill model (``Book``) that turns
orders into fills and closed trades against the bars; and the report (text, JSON, HTML) and
the comparison of two replays."""

from engine.app.replay.alerts import RecordedAlert, read_alerts
from engine.app.replay.fills import Book
from engine.app.replay.prices import Bar, read_price_files, read_prices
from engine.app.replay.problems import Problem, Read, ReplayInputError
from engine.app.replay.records import ClosedTrade, EquityPoint, OpenPosition, Outside, Position
from engine.app.replay.report import Decision, Fault, Order, Outcome, Report, Unexecuted, build, text
from engine.app.replay.report_json import to_json
from engine.app.replay.report_compare import Comparison, compare, compare_json, compare_text
from engine.app.replay.report_html import compare_html, html
from engine.app.replay.times import between, bounds, parse_time

__all__ = ["Bar", "Book", "ClosedTrade", "Comparison", "Decision", "EquityPoint", "Fault", "OpenPosition", "Order",
           "Outcome", "Outside", "Position", "Problem", "Read", "RecordedAlert", "Report", "ReplayInputError",
           "Unexecuted", "between", "bounds", "build", "compare", "compare_html", "compare_json", "compare_text",
           "html", "parse_time", "read_alerts", "read_price_files", "read_prices", "text", "to_json"]
