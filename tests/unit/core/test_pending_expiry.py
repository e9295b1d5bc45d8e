"""A pending order given an expiry (the alert's ``expiry``, a script's ``orders.pending``) leaves
the paper book when it comes, whether or not a price comes then: told to its plugins'
``on_cancel``, the trades chat and the events; a price past its expiry never fills it. A real
engine on the paper broker, its clock the test's."""

from __future__ import annotations


from support.engine_support import process, running, told
from support.waits import until

WATCH = """plugin = {symbols = {'EURUSD'}}
function on_cancel(o) store.set('told', o.reason .. ' ' .. o.ticket .. ': ' .. o.detail) end
"""
OWN = """plugin = {symbols = {'GBPUSD'}}
function on_alert(a)
  local r = orders.pending{symbol = 'GBPUSD', side = 'sell', type = 'limit', price = 1.3, volume = 0.1, expiry = 120}
  store.set('placed', r.ticket)
  return {handled = true}
end
"""
T0 = 1_796_000_000.0


async def test_a_pending_order_expires_when_its_time_comes_with_no_price_then(tmp_path):
    now = [T0]
    async with running(tmp_path, {"watch": WATCH}, clock=lambda: now[0]) as engine:
        placed = await process(engine, "buylimit EURUSD volume=0.1 price=1.05 sl=1.04 expiry=1h")
        ticket = placed["outcome"]["orders"][0]["ticket"]
        (order,) = await engine.broker.orders()
        assert (order["ticket"], order["expires"]) == (ticket, T0 + 3600)
        now[0] = T0 + 3599
        await engine.broker.expire()
        assert len(await engine.broker.orders()) == 1       # not yet
        now[0] = T0 + 3600                                  # its time: the broker's watch removes it
        await until(lambda: engine.store.get("watch", "told") is not None)
        assert engine.store.get("watch", "told") == f"expired {ticket}: its expiry came, 3600 s after it was placed"
        assert await engine.broker.orders() == []
        assert any(kind == "trades" and text.startswith(f"pending order {ticket} ") and "expired" in text
                   for kind, text in await told(engine))
        await process(engine, "closeshort EURUSD price=1.04")  # the price comes after: nothing fills
        assert await engine.broker.positions() == []


async def test_a_price_that_comes_after_the_expiry_finds_the_order_gone(tmp_path):
    now = [T0]
    async with running(tmp_path, {"watch": WATCH}, clock=lambda: now[0]) as engine:
        placed = await process(engine, "buylimit EURUSD volume=0.1 price=1.05 sl=1.04 expiry=60")
        ticket = placed["outcome"]["orders"][0]["ticket"]
        now[0] = T0 + 61
        await process(engine, "closeshort EURUSD price=1.049")  # at once: before or after the watch, never a fill
        await until(lambda: engine.store.get("watch", "told") is not None)
        assert engine.store.get("watch", "told").startswith(f"expired {ticket}: ")
        assert await engine.broker.positions() == [] and await engine.broker.orders() == []
        fills = await process(engine, "buylimit EURUSD volume=0.1 price=1.045 sl=1.04 expiry=60 id=second")
        await process(engine, "closeshort EURUSD price=1.044 id=in-time")  # within its minute: filled
        assert [p["ticket"] for p in await engine.broker.positions()] == [fills["outcome"]["orders"][0]["ticket"]]


async def test_a_scripts_pending_order_takes_an_expiry_too(tmp_path):
    now = [T0]
    async with running(tmp_path, {"own": OWN}, clock=lambda: now[0]) as engine:
        await process(engine, "buy GBPUSD price=1.25")
        (order,) = await engine.broker.orders()
        assert (order["ticket"], order["plugin"], order["expires"]) == (engine.store.get("own", "placed"), "own",
                                                                        T0 + 120)
