"""What the engine makes of a broker's no (engine/core/engine.py, ``place`` and the lanes): a
refused order fails its alert and is told to the trades chat, a refusal replayed after a crash
is not told twice, and a broker that cannot serve at all fails the alert with its reason. The
broker is a FakeBroker answering exactly that; the sandbox workers and SQLite are real."""

from __future__ import annotations

from engine.adapters.storage import AlertJournal, Database
from engine.domain.alerts import parse_body
from engine.domain.orders import BrokerError, OrderRequest, OrderResult

from support.engine_support import process, running, told
from support.fakes import FakeBroker

def no_money(request: OrderRequest) -> OrderResult:
    return OrderResult.refused("not enough money")


async def test_a_refused_order_fails_its_alert_and_is_told_to_the_trades_chat(tmp_path):
    async with running(tmp_path, use_broker=FakeBroker(answer=no_money)) as engine:
        row = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        notices = await told(engine)
    assert row["status"] == "failed"
    assert row["outcome"]["orders"] == [{"client_id": f"a{row['id']}-engine-open", "plugin": "engine",
                                         "kind": "market", "symbol": "EURUSD", "side": "buy", "ok": False,
                                         "error": "not enough money"}]
    assert notices == [("trades", "order refused: market EURUSD for engine: not enough money")]


async def test_a_refusal_replayed_after_a_crash_is_answered_again_but_not_told_again(tmp_path):
    # What a crash after the broker's answer leaves: the alert unfinished in the journal, and
    # the broker holding the result of its client id.
    database = Database(tmp_path / "data" / "moonhook.db")
    alert_id = AlertJournal(database).record(parse_body("buy EURUSD volume=0.1 price=1.1")).id
    database.close()
    broker = FakeBroker(answer=no_money)
    first = await broker.execute(OrderRequest("market", f"a{alert_id}-engine-open", symbol="EURUSD", side="buy",
                                              volume=0.1, price=1.1, plugin="engine", alert_id=alert_id))
    async with running(tmp_path, use_broker=broker) as engine:
        await engine.drain()
        row = engine.journal.get(alert_id)
        notices = await told(engine)
    assert not first.ok and row["status"] == "failed"
    assert [o.get("duplicate") for o in row["outcome"]["orders"]] == [True]
    assert len(broker.executed) == 1 and notices == []


async def test_a_broker_that_cannot_serve_fails_the_alert_with_its_reason(tmp_path):
    def disconnected(request: OrderRequest) -> OrderResult:
        raise BrokerError("MetaTrader 5 is not connected")

    async with running(tmp_path, use_broker=FakeBroker(answer=disconnected)) as engine:
        row = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        after = await process(engine, "trend EURUSD timeframe=H1 state=up")   # the lane goes on
    assert row["status"] == "failed" and row["outcome"] == {"error": "MetaTrader 5 is not connected"}
    assert after["status"] == "done"


def lost(request: OrderRequest) -> OrderResult:
    return OrderResult(ok=False, unknown=True, error="not known: the answer was lost")


async def test_an_order_not_known_is_told_each_time_never_folded_among_refusals(tmp_path):
    # "Not known" may be a live position: folded under the plugin's refusals' key, the second
    # one within a window reached the chat only as "2 more like this".
    async with running(tmp_path, use_broker=FakeBroker(answer=lost)) as engine:
        first = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        second = await process(engine, "buy GBPUSD volume=0.1 price=1.3")
        notices = await told(engine)
        ledger = [engine.ledger.for_alert(row["id"])[0]["status"] for row in (first, second)]
    assert notices == [("trades", "order not known: market EURUSD for engine: not known: the answer was lost"),
                       ("trades", "order not known: market GBPUSD for engine: not known: the answer was lost")]
    assert ledger == ["unknown", "unknown"]
