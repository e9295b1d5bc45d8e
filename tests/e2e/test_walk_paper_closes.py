"""A trader closes part of a pyramided long on paper with a size off the lot step, through
`moonhook run` over HTTP: two buys of 0.05 lots of EURUSD, then `closelong EURUSD volume=0.055`.
One position alone takes 0.055 as 0.05 (the broker rounds down to the step); two took the
oldest whole and sent the 0.005 left of the other, refused under the minimum: the alert failed,
the trader told of an error, though the 0.05 the step allows was closed."""

from __future__ import annotations

from support.e2e_support import init


def test_a_close_of_part_of_two_positions_takes_the_size_down_to_the_lot_step_as_one_position_does(user):
    config, _ = init(user, "bot")
    (user.home / "bot" / "scripts" / "demo.lua").unlink()   # no strategy: the alerts as they are
    run = user.start("run", "--config", "bot/moonhook.toml", config=config)
    for n in (1, 2):
        assert run.settled(run.webhook(f"buy EURUSD volume=0.05 price=1.1 id=buy-{n}")["id"])["status"] == "done"
    closed = run.settled(run.webhook("closelong EURUSD volume=0.055 price=1.1 id=part")["id"])
    assert closed["status"] == "done" and "error" not in closed["outcome"], closed
    (order,) = closed["outcome"]["orders"]
    assert (order["ok"], order["volume"], order["closed"]) == (True, 0.05, [order["ticket"]]), order
    (left,) = run.get("/api/positions")["positions"]
    assert (left["volume"], left["ticket"]) == (0.05, order["ticket"] + 1)

    # Under the step, as one position's: refused in the broker's words, nothing closed.
    refused = run.settled(run.webhook("buy EURUSD volume=0.05 price=1.1 id=buy-3")["id"])
    assert refused["status"] == "done"
    under = run.settled(run.webhook("closelong EURUSD volume=0.005 price=1.1 id=under")["id"])
    assert under["status"] == "failed", under
    assert "below EURUSD's minimum 0.01" in under["outcome"]["orders"][0]["error"], under
    assert sum(p["volume"] for p in run.get("/api/positions")["positions"]) == 0.1
    assert run.interrupt() == 0
    assert "Traceback" not in run.text()


def test_closeall_with_a_symbol_is_refused_naming_both_readings_and_closes_nothing(user):
    # "closeall EURUSD" closed every symbol's positions: what a PineConnector user means by it is
    # EURUSD's alone. Refused at the webhook, before anything is journaled or closed.
    run, secret = _long_two_symbols(user, "buy EURUSD volume=0.05 price=1.1 id=e", "buy GBPUSD volume=0.05 price=1.3 id=g")
    refused = run.client.post(f"/webhook/{secret}", content="closeall EURUSD price=1.1")
    assert refused.status_code == 400, refused.text
    assert ("closeall closes every symbol's positions and takes no symbol: send close EURUSD for EURUSD's alone, "
            "or closeall without a symbol") in refused.text, refused.text
    assert sorted(p["symbol"] for p in run.get("/api/positions")["positions"]) == ["EURUSD", "GBPUSD"]
    assert run.settled(run.webhook("close EURUSD price=1.1 id=c")["id"])["status"] == "done"
    assert [p["symbol"] for p in run.get("/api/positions")["positions"]] == ["GBPUSD"]
    assert run.settled(run.webhook("closeall id=all")["id"])["status"] == "done"
    assert run.get("/api/positions")["positions"] == []
    assert run.interrupt() == 0


def test_a_close_with_a_size_it_does_not_read_is_refused_and_closes_nothing(user):
    # "closeall volume=0.1" closed every position whole (0.5 lots of two symbols); "closelong EURUSD risk=1"
    # the whole long; "newsltp EURUSD volume=0.1" moved every EURUSD stop, and a newsltp with no stop
    # was journaled, then failed once for each position. Each is refused at the webhook, naming the field.
    run, secret = _long_two_symbols(user, "buy EURUSD volume=0.3 price=1.1 sl=1.09 id=e",
                                    "buy GBPUSD volume=0.2 price=1.3 id=g")
    for body, words in (("closeall volume=0.1", "volume: closeall closes every position whole: give no size"),
                        ("closelong EURUSD risk=1 price=1.1",
                         "risk: closelong closes volume (lots) or units, not a risk: give one of them, or neither"),
                        ("newsltp EURUSD volume=0.1 sl=1.05",
                         "volume: newsltp moves the stops of every EURUSD position: give no size"),
                        ("newsltp EURUSD price=1.1", "sl: missing: newsltp needs sl, tp, sl_pips or tp_pips")):
        refused = run.client.post(f"/webhook/{secret}", content=body)
        assert refused.status_code == 400 and refused.json()["error"].startswith(words), (body, refused.text)
    assert [a["id"] for a in run.get("/api/alerts")["alerts"]] == [2, 1]
    positions = {p["symbol"]: (p["volume"], p["sl"]) for p in run.get("/api/positions")["positions"]}
    assert positions == {"EURUSD": (0.3, 1.09), "GBPUSD": (0.2, None)}
    assert run.interrupt() == 0


def _long_two_symbols(user, *entries: str):
    """``moonhook run`` on paper with no strategy, ``entries`` done; the run and the webhook's secret."""
    config, _ = init(user, "bot")
    (user.home / "bot" / "scripts" / "demo.lua").unlink()
    run = user.start("run", "--config", "bot/moonhook.toml", config=config)
    for body in entries:
        assert run.settled(run.webhook(body)["id"])["status"] == "done", body
    return run, config.values["server"]["secret"]
