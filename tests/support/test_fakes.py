"""The fakes keep the contracts of what they stand for: ``FakeBroker`` executes a client id once,
as the paper broker does (the same checks run on both), and its symbol specifications are the
paper broker's, so a test on the fake sizes and rounds as the engine would on paper."""

from __future__ import annotations

from dataclasses import replace

import pytest

from engine.adapters.brokers.paper import PaperBroker
from engine.adapters.storage import Database
from engine.domain.config import PaperConfig
from engine.domain.orders import OrderRequest, OrderResult

from support.fakes import SPECS, FakeBroker

T0 = 1_700_000_000.0


@pytest.fixture(params=["fake", "paper"])
async def broker(request, tmp_path):
    if request.param == "fake":
        fake = FakeBroker()
        fake.answer = lambda r: OrderResult.refused("volume too small") if r.volume < 0.01 else fake.filled(r)
        yield fake
        return
    database = Database(tmp_path / "moonhook.db")
    paper = PaperBroker(database, PaperConfig(), clock=lambda: T0)
    await paper.start()
    await paper.quote("EURUSD", 1.1, T0)
    yield paper
    await paper.stop()
    database.close()


def buy(client_id: str, volume: float) -> OrderRequest:
    return OrderRequest("market", client_id, symbol="EURUSD", side="buy", volume=volume, price=1.1, plugin="t")


async def test_a_client_id_executes_once_and_a_repeat_answers_the_first_result(broker):
    first = await broker.execute(buy("a1-t-1", 0.1))
    again = await broker.execute(buy("a1-t-1", 0.5))     # the same id, other fields: still the first
    other = await broker.execute(buy("a1-t-2", 0.1))
    assert first.ok and not first.duplicate and again == replace(first, duplicate=True)
    assert other.ok and not other.duplicate and other.ticket != first.ticket


async def test_a_refusal_is_answered_alike_when_repeated(broker):
    first = await broker.execute(buy("a2-t-1", 0.001))
    again = await broker.execute(buy("a2-t-1", 0.1))     # would go through now: it must not
    assert (first.ok, again.ok, again.duplicate) == (False, False, True) and again.error == first.error


async def test_the_fake_records_every_request_and_executes_the_first_of_each_client_id():
    broker = FakeBroker()
    requests = [buy("a3-t-1", 0.1), buy("a3-t-1", 0.1), buy("a3-t-2", 0.2)]
    for r in requests:
        await broker.execute(r)
    assert broker.requests == requests and broker.executed == [requests[0], requests[2]]


@pytest.mark.parametrize("symbol", sorted(SPECS))
async def test_the_fakes_specs_are_the_paper_brokers(symbol, tmp_path):
    database = Database(tmp_path / "moonhook.db")
    paper = PaperBroker(database, PaperConfig(), clock=lambda: T0)
    await paper.quote("USDJPY", 150.0, T0)   # a JPY tick is worth 0.001 * 100,000 / 150 USD
    spec = await paper.symbol(symbol)
    database.close()
    fake = await FakeBroker().symbol(symbol)
    assert set(fake) <= set(spec)
    assert fake == pytest.approx({k: spec[k] for k in fake}, rel=1e-4)
