"""What one plugin can write to the engine's log: capped a call, and kept on its own lines."""

from __future__ import annotations

import logging

from engine.app.logs import KeyValueFormatter, TextFormatter

from support.engine_support import process, running, told

LOGGER = "moonhook.plugin.chatty"


def _lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


async def test_log_calls_share_prints_cap_a_call_and_the_drop_is_said_once(tmp_path, caplog):
    # log.* had no cap: a 0.1 s call wrote about 1,000 lines of 2,000 characters to the log.
    script = """
    plugin = {budget = {timeout = 1}}
    function on_alert(a)
      for i = 1, 1000 do log.info('line', i) end
      print('printed too')
      return {handled = true}
    end"""
    caplog.set_level(logging.INFO, logger=LOGGER)
    async with running(tmp_path, {"chatty": script}) as engine:
        first = await process(engine, "buy EURUSD volume=0.1 price=1.1 id=one")
        lines = _lines(caplog)
        caplog.clear()
        await process(engine, "buy EURUSD volume=0.1 price=1.1 id=two")   # the next call has its own
        again = _lines(caplog)
    assert first["status"] == "done", first
    assert lines[:200] == [f"line {i}" for i in range(1, 201)]
    assert lines[200:] == ["(801 more lines dropped: print and log.* write at most 200 lines, 16384 bytes a call)"]
    assert again == lines


async def test_a_calls_log_bytes_are_capped_as_prints_are(tmp_path, caplog):
    script = """
    plugin = {budget = {timeout = 1}}
    function on_alert(a)
      local big = string.rep('x', 1999)
      for i = 1, 1000 do log.warn(big) end
      return {handled = true}
    end"""
    caplog.set_level(logging.INFO, logger=LOGGER)
    async with running(tmp_path, {"chatty": script}) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.1")
        lines = _lines(caplog)
    assert lines[:-1] == ["x" * 1999] * 8 and sum(map(len, lines[:-1])) <= 16 * 1024
    assert lines[-1].startswith("(992 more lines dropped: ")


async def test_a_plugins_text_cannot_forge_the_engines_log_lines_in_either_format(tmp_path, caplog):
    forged = "\\n2026-12-06 04:00:00,000 INFO moonhook.engine: order sent a1-engine-1"
    script = f"""
    function on_alert(a)
      log.info('ok{forged}')
      log.error('cr\\rback', 'esc\\27[2K', 'sep\\u{{2028}}x')
      print('printed{forged}\\rover\\27[1A')
      return {{handled = true}}
    end"""
    caplog.set_level(logging.INFO, logger=LOGGER)
    async with running(tmp_path, {"chatty": script}) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.1")
    records = [r for r in caplog.records if r.name == LOGGER]
    assert [r.getMessage() for r in records] == [
        "ok\\n2026-12-06 04:00:00,000 INFO moonhook.engine: order sent a1-engine-1",
        "cr\\rback esc\\x1b[2K sep\\u2028x",
        "printed\\n2026-12-06 04:00:00,000 INFO moonhook.engine: order sent a1-engine-1\\rover\\x1b[1A",
    ]
    for formatter in (TextFormatter(), KeyValueFormatter()):
        for record in records:
            text = formatter.format(record)
            assert text.isprintable() and LOGGER in text, text


async def test_a_scripts_error_and_notify_text_cannot_forge_the_engines_log_lines(tmp_path, caplog):
    # The engine's own records carry them (a hook's failure, the notifier's line of each message),
    # and the text format wrote their newlines as they were.
    forged = "\\n2026-12-06 04:00:00,000 INFO moonhook.engine: order sent a1-engine-1"
    script = f"""
    function on_alert(a)
      notify.send('told{forged}')
      error('failed{forged}\\r\\27[1A')
    end"""
    caplog.set_level(logging.INFO)
    async with running(tmp_path, {"chatty": script}) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.1")
        sent = await told(engine)
    assert ("plugin", "chatty: told\n2026-12-06 04:00:00,000 INFO moonhook.engine: order sent a1-engine-1") in sent
    records = [r for r in caplog.records if "order sent a1-engine-1" in r.getMessage()]
    assert {r.name for r in records} >= {"moonhook.hooks", "moonhook.notify"}
    for formatter in (TextFormatter(), KeyValueFormatter()):
        for record in records:
            text = formatter.format(record)
            assert text.isprintable() and "order sent a1-engine-1" in text, text
