"""What differs between a live outcome and the shadow's (engine/core/differences.py): what a
trader cares about, as readable lines; what only says which broker answered is not a difference."""

from __future__ import annotations

from engine.core.differences import differences


def order(plugin="engine", kind="market", ok=True, volume=0.1, **more):
    sent = {"symbol": "EURUSD", "side": "buy", "sl": 1.09} if kind == "market" else {}
    return {"client_id": "a1-engine-open", "plugin": plugin, "kind": kind, **sent, "ok": ok, "volume": volume,
            **more}


def test_a_rejection_against_a_pass_and_an_order():
    live = {"plugins": [{"plugin": "trend", "result": "rejected", "reason": "no stop"}], "orders": [],
            "rejected_by": "trend", "reason": "no stop"}
    shadow = {"plugins": [{"plugin": "trend", "result": "pass"}], "orders": [order()]}
    assert differences("rejected", live, "done", shadow) == [
        "status: rejected → done", "trend: reject (no stop) → pass", "order engine market: absent → buy EURUSD 0.1 sl"]


def test_tickets_prices_and_client_ids_are_the_brokers_not_differences():
    live = {"plugins": [{"plugin": "a", "result": "pass"}],
            "orders": [order(ticket=5, price=1.1, client_id="x")], "latency_ms": 3.2}
    shadow = {"plugins": [{"plugin": "a", "result": "pass"}], "orders": [order(ticket=900, price=1.10002)]}
    assert differences("done", live, "done", shadow) == []


def test_changes_vetoes_and_refusals():
    live = {"plugins": [{"plugin": "size", "result": "changed", "changes": {"volume": 0.2}}],
            "orders": [order(volume=0.2), order(plugin="own", ok=False, volume=None, error="no money")]}
    shadow = {"plugins": [{"plugin": "size", "result": "changed", "changes": {"volume": 0.3, "sl": 1.05}}],
              "orders": [order(ok=False, volume=None, error="vetoed by risk: too big"),
                         order(plugin="own", ok=False, volume=None, error="not enough margin")]}
    assert differences("done", live, "failed", shadow) == [
        "status: done → failed",
        "size: change (volume=0.2) → change (sl=1.05, volume=0.3)",
        "order engine market: buy EURUSD 0.2 sl → vetoed by risk: too big",
    ]  # the own order was refused by both brokers, in each one's words: not a difference


def test_a_second_order_of_a_kind_a_plugin_only_in_the_shadow_and_the_notes():
    live = {"plugins": [], "orders": [order(kind="close", volume=None)], "note": "nothing to close"}
    shadow = {"plugins": [{"plugin": "new", "result": "error", "error": "x.lua:3: boom"}],
              "orders": [order(kind="close", volume=None), order(kind="close", volume=None)]}
    assert differences("done", live, "done", shadow) == [
        "new: absent → error", "order engine close #2: absent → placed", "note: nothing to close → absent"]


def test_an_order_on_the_other_side_without_its_stop_or_changed_by_another_plugin_differs():
    # The same volume is not the same order: the side, the symbol, a stop dropped, and what
    # the other plugins' on_order changed all are. The stops' levels, from each broker's quote, are not.
    live = {"plugins": [], "orders": [order(), order(kind="pending", side="buy", symbol="EURUSD", type="limit"),
                                      order(plugin="own", sl=1.0899, tp=1.12)]}
    changed = {"plugin": "risk", "result": "changed", "changes": {"tp": 1.12}}
    shadow = {"plugins": [], "orders": [order(side="sell", sl=1.11),
                                        order(kind="pending", side="buy", symbol="EURUSD", type="stop"),
                                        order(plugin="own", sl=None, tp=1.12, on_order=[changed])]}
    assert differences("done", live, "done", shadow) == [
        "order engine market: buy EURUSD 0.1 sl → sell EURUSD 0.1 sl",
        "order engine pending: buy EURUSD limit 0.1 no stops → buy EURUSD stop 0.1 no stops",
        'order own market: buy EURUSD 0.1 sl tp → buy EURUSD 0.1 tp, risk changed {"tp": 1.12}']
    assert differences("done", live, "done", {"plugins": [], "orders": [
        order(sl=1.0898), order(kind="pending", side="buy", symbol="EURUSD", type="limit"),
        order(plugin="own", sl=1.0801, tp=1.13)]}) == []


def test_a_live_order_journaled_before_its_record_kept_what_was_sent_is_compared_on_its_volume():
    # Decided before an upgrade, shadowed after it (the shadow catching up): the live record has
    # no side, symbol nor stops, which is not the shadow's order going other than live's did.
    journaled_before = {"client_id": "a1-engine-open", "plugin": "engine", "kind": "market", "ok": True, "volume": 0.1}
    live = {"plugins": [], "orders": [journaled_before]}
    assert differences("done", live, "done", {"plugins": [], "orders": [order()]}) == []
    assert differences("done", live, "done", {"plugins": [], "orders": [order(volume=0.2)]}) == [
        "order engine market: 0.1 → 0.2"]


def test_the_same_orders_in_another_order_are_not_a_difference():
    # A script's pairs() walks a table in an order of each Lua state's own: the same basket
    # script places its orders in one order live and in another in the shadow.
    def basket(*symbols):
        return {"plugins": [], "orders": [order(plugin="basket", symbol=s) for s in symbols]}

    live = basket("EURUSD", "GBPUSD", "USDJPY")
    assert differences("done", live, "done", basket("USDJPY", "EURUSD", "GBPUSD")) == []
    assert differences("done", live, "done", basket("USDJPY", "AUDUSD", "EURUSD")) == [
        "order basket market #2: buy GBPUSD 0.1 sl → buy AUDUSD 0.1 sl"]
    assert differences("done", basket("EURUSD", "GBPUSD"), "done", basket("GBPUSD")) == [
        "order basket market: buy EURUSD 0.1 sl → absent"]


def test_a_comment_differing_in_its_wording_only_is_not_a_difference():
    # A script writing its order's ticket (or the time) into the comment: the live broker's
    # ticket is never the shadow's paper broker's, and every alert read as decided otherwise.
    def own(ticket, comment="own #{}"):
        changes = {"comment": comment.format(ticket)} if comment is not None else {}
        stamp = {"plugin": "stamp", "result": "changed", "changes": {"comment": f"t{ticket}"}}
        return {"plugins": [{"plugin": "own", "result": "changed", "changes": changes, "handled": True}],
                "orders": [order(plugin="own", ticket=ticket, on_order=[stamp])]}

    assert differences("done", own(5000), "done", own(1001)) == []
    assert differences("done", own(5000), "done", own(1001, comment=None)) == [
        "own: change (comment=own #5000) handled → change () handled"]   # setting one or not still is
