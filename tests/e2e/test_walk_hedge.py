"""A trader hedges on paper as on a MetaTrader 5 hedging account: `moonhook run` on 10,000 USD at
1:100, 5 lots of EURUSD bought, then 5 sold over HTTP. The sell is taken and the account's margin
is what MetaTrader 5 charges a hedge (`[paper] hedged_margin`, half the contract by default), not
both legs in full; before, paper refused the sell "not enough money" that the live account takes."""

from __future__ import annotations

from support.e2e_support import init, told


def test_moonhook_run_on_paper_takes_a_hedge_and_charges_its_margin_as_metatrader_5(user):
    config, printed = init(user, "bot")
    run = user.start(*told(printed, "Start the engine:"), config=config)
    bought = run.webhook("buy EURUSD volume=5 price=1.1 sl=1.09")   # 5,500.00 of margin, 4,500.00 free
    assert run.settled(bought["id"])["status"] == "done"
    sold = run.settled(run.webhook("sell EURUSD volume=5 price=1.1 sl=1.11")["id"])
    assert sold["status"] == "done" and sold["outcome"]["orders"][0]["ok"], sold
    assert sorted(p["side"] for p in run.get("/api/positions")["positions"]) == ["buy", "sell"]
    account = run.get("/api/account")["account"]   # 5 lots covered x 50,000 x 1.1 / 100
    assert (account["balance"], account["margin"], account["margin_free"]) == (10_000.0, 2750.0, 7250.0)
    # Selling 7 more: 5 lots covered (2,750.00) and 7 uncovered (7,700.00), 7,700.00 more than the
    # 2,750.00 held, and 7,250.00 is free.
    refused = run.settled(run.webhook("sell EURUSD volume=7 price=1.1 sl=1.11")["id"])
    (order,) = refused["outcome"]["orders"]
    assert not order["ok"] and order["error"] == ("not enough money: 7 lots of EURUSD need 7,700.00 USD of "
                                                  "margin at 1:100, and the free margin is 7,250.00"), refused
