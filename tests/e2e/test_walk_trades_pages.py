"""The closed trades read a page at a time while trades close: the real `moonhook run` on paper,
real HTTP. A page is asked for by the last trade shown (``before``: its ``closed_at:position``),
so that a trade closing between two reads moves no page: none shown twice, none never shown.
"""

from __future__ import annotations

from support.e2e_support import init


def _trade(run, n: int) -> None:
    for alert in (f"buy EURUSD volume=0.{n} price=1.1 sl=1.09", f"close EURUSD price=1.10{n:02d}"):
        assert run.settled(run.webhook(alert)["id"])["status"] == "done"


def _key(trade: dict) -> str:
    return f"{trade['closed_at']!r}:{trade['position']}"


def test_a_trade_closing_between_two_pages_moves_neither(user):
    """Page two was read by an ``offset`` (the 2 newest passed over): a trade closed after page one
    was read pushed the last trade of page one onto page two, shown twice, and read the other way
    (a trade gone from the newest, as none is on paper) one would never be shown."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    for n in (1, 2, 3, 4):
        _trade(run, n)
    first = run.get("/api/trades?limit=2")
    assert (first["closed"], first["newer"], [t["volume"] for t in first["trades"]]) == (4, 0, [0.4, 0.3])
    _trade(run, 5)   # closes while the trader reads page one
    second = run.get(f"/api/trades?limit=2&before={_key(first['trades'][-1])}")
    assert [t["volume"] for t in second["trades"]] == [0.2, 0.1], second["trades"]
    assert (second["closed"], second["newer"]) == (5, 3)   # the trade closed meanwhile is one of the newer
    last = run.get(f"/api/trades?limit=2&before={_key(second['trades'][-1])}")
    assert (last["trades"], last["newer"]) == ([], 5)
    refused = run.client.get("/api/trades?offset=2")   # no answer would page as it asks
    assert refused.status_code == 400 and "before" in refused.json()["error"], refused.text
    assert run.interrupt() == 0
