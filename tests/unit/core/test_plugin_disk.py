"""What one plugin can put on the disk: its store and the trend book have totals, and a store or
book an older moonhook let grow past them keeps working for reads and deletes."""

from __future__ import annotations

import logging

from engine.adapters.storage import store as store_module

from support.engine_support import process, running

LOGGER = "moonhook.plugin.hoard"

HOARD = """
plugin = {budget = {timeout = 1}}
local step = 0
local function try(what, fn, ...)
  local ok, err = pcall(fn, ...)
  log.info(what, ok and 'ok' or err)
end
function on_alert(a)
  step = step + 1
  local big = string.rep('x', 60000)
  if step == 1 then
    for _, k in ipairs{'a', 'b', 'c', 'd'} do try('set ' .. k, store.set, k, big) end
  elseif step == 2 then
    log.info('get a', #store.get('a'), table.concat(store.keys(), ','))
    try('same a', store.set, 'a', string.rep('y', 60000))
    try('grow a', store.set, 'a', big .. 'x')
    try('new e', store.set, 'e', 'e')
    try('delete b', store.delete, 'b')
    try('new e', store.set, 'e', 'e')
    try('delete c', store.delete, 'c')
    try('new e', store.set, 'e', 'e')
  end
  return {handled = true}
end"""


def _said(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


async def test_a_plugins_store_has_a_total_and_one_over_it_still_reads_deletes_and_shrinks(tmp_path, caplog,
                                                                                       monkeypatch):
    # 10,000 keys of 64 KB: 655 MB of one plugin's. Here a total of 3 values (60,010 bytes each).
    monkeypatch.setattr(store_module, "MAX_STORE_BYTES", 3 * 60_010)
    caplog.set_level(logging.INFO, logger=LOGGER)
    async with running(tmp_path, {"hoard": HOARD}) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.1 id=one")
        first = _said(caplog)
        assert engine.store.keys("hoard") == ["a", "b", "c"]   # the refused write left nothing
        caplog.clear()
        monkeypatch.setattr(store_module, "MAX_STORE_BYTES", 100_000)   # an upgrade's lower limit
        await process(engine, "buy EURUSD volume=0.1 price=1.1 id=two")
        second = _said(caplog)
        kept = engine.store.keys("hoard"), engine.store.get("hoard", "a")[:1]
    assert first[:3] == ["set a ok", "set b ok", "set c ok"]
    assert first[3] == ("set d store.set('d'): plugin 'hoard' would hold 240040 bytes in its store, "
                        "over the limit of 180030; delete the keys it no longer needs")
    over = "store.set('{}'): plugin 'hoard' would hold {} bytes in its store, over the limit of 100000; " \
           "delete the keys it no longer needs"
    assert second == ["get a 60000 a,b,c", "same a ok", "grow a " + over.format("a", 180031),
                      "new e " + over.format("e", 180041), "delete b ok", "new e " + over.format("e", 120031),
                      "delete c ok", "new e ok"]
    assert kept == (["a", "e"], "y")


async def test_a_plugin_adds_at_most_max_trend_rows_to_the_trend_book(tmp_path, caplog, monkeypatch):
    # A symbol of up to 32 characters by a timeframe of up to 16: no end to the rows.
    monkeypatch.setattr(store_module, "MAX_TREND_ROWS", 3)
    script = """
    function on_alert(a)
      if a.action == 'trend' then return end
      for _, tf in ipairs{'M1', 'M5', 'H1', 'H4'} do
        local ok, err = pcall(trend.set, 'EURUSD', tf, 'up')
        log.info(tf, ok and 'ok' or err)
      end
      local ok, err = pcall(trend.set, 'EURUSD', 'M1', 'down')   -- a row it has: still set
      log.info('M1 again', ok and 'ok' or err, trend.get('EURUSD', 'M1'))
      return {handled = true}
    end"""
    caplog.set_level(logging.INFO, logger=LOGGER)
    async with running(tmp_path, {"hoard": script}) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.1")
        await process(engine, "trend GBPUSD H1 up")   # an alert's own row is always kept
        rows = engine.trend.get("EURUSD", "H4"), engine.trend.get("GBPUSD", "H1")
    assert _said(caplog) == [
        "M1 ok", "M5 ok", "H1 ok",
        "H4 trend.set('EURUSD', 'H4'): refused for plugin 'hoard': the trend book already holds 3 symbol and "
        "timeframe rows, its limit",
        "M1 again ok down"]
    assert rows == (None, "up")


async def test_a_plugins_store_holds_at_most_max_keys_and_the_refusal_names_the_plugin(tmp_path, caplog, monkeypatch):
    """plugins.md: past a store's limit "the write raises naming the plugin and the limit"; past its
    10,000 keys it said "the store already holds 10000 keys", whose store it did not say. A key it has
    is still written, and one deleted makes room."""
    monkeypatch.setattr(store_module, "MAX_KEYS", 2)
    script = """
    function on_alert(a)
      for _, k in ipairs{'a', 'b', 'c'} do
        local ok, err = pcall(store.set, k, 1)
        log.info(k, ok and 'ok' or err)
      end
      log.info('a again', pcall(store.set, 'a', 2) and 'ok')
      store.delete('b')
      log.info('c again', pcall(store.set, 'c', 3) and 'ok')
      return {handled = true}
    end"""
    caplog.set_level(logging.INFO, logger=LOGGER)
    async with running(tmp_path, {"hoard": script}) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.1")
        kept = engine.store.keys("hoard")
    said = _said(caplog)
    assert said == [
        "a ok", "b ok",
        "c store.set('c'): plugin 'hoard' already holds 2 keys in its store, the limit; "
        "delete the keys it no longer needs",
        "a again ok", "c again ok"], said
    assert kept == ["a", "c"]
