"""``--log-format kv``: every record one line that a key=value (logfmt) reader splits back into
the fields it was made of, whatever the message holds: quotes, ``=``, spaces, backslashes,
carriage returns, tabs, other control and separator characters. The reader (support/logfmt.py) is
written from the format's rules, apart from the formatter's code."""

from __future__ import annotations

import logging

import pytest

from engine.app.logs import KeyValueFormatter

from support.logfmt import parse_kv

MESSAGES = [
    'refused "EURUSD": a quote',
    "price=1.1 level=error forged",
    'msg="forged" logger=moonhook.engine',
    "one\rtwo",
    "tab\there",
    "bell\x07 esc\x1b[2K nul\x00 del\x7f",
    "line\u2028sep next\x85line vt\x0bff\x0c fs\x1c",
    "back\\slash \\n not a newline \\",
    "ends with a backslash\\",
    "",
    "   ",
    "=",
    "no-spaces-at-all",
    "Ω ünïcode stays",
]


@pytest.mark.parametrize("message", MESSAGES)
def test_a_kv_line_reads_back_as_the_record_it_was_made_of(message):
    record = logging.LogRecord("moonhook.engine", logging.WARNING, __file__, 1, "%s", (message,), None)
    record.fields = {"alert": 7, "note": message}
    line = KeyValueFormatter().format(record)
    assert len(line.splitlines()) == 1 and line.isprintable(), repr(line)
    fields = parse_kv(line)
    assert list(fields) == ["time", "level", "logger", "msg", "alert", "note"], line
    assert (fields["level"], fields["logger"], fields["msg"], fields["alert"], fields["note"]) == (
        "warning", "moonhook.engine", message, "7", message), line


def test_a_field_s_value_is_quoted_as_the_message_is():
    record = logging.LogRecord("moonhook.engine", logging.INFO, __file__, 1, "sent", (), None)
    record.fields = {"symbol": 'EU"R=U\rSD', "volume": 0.1, "empty": ""}
    fields = parse_kv(KeyValueFormatter().format(record))
    assert (fields["symbol"], fields["volume"], fields["empty"]) == ('EU"R=U\rSD', "0.1", ""), fields


def test_an_error_s_traceback_is_one_field_of_one_line():
    try:
        raise ValueError('bad "value"\r\nwith = signs')
    except ValueError as e:
        record = logging.LogRecord("moonhook.web", logging.ERROR, __file__, 1, "failed", (), (ValueError, e,
                                                                                              e.__traceback__))
    line = KeyValueFormatter().format(record)
    assert len(line.splitlines()) == 1, repr(line)
    error = parse_kv(line)["error"]
    assert error.startswith("Traceback") and error.endswith('ValueError: bad "value"\r\nwith = signs'), error
