"""A new user on the paper broker, command by command: `moonhook init`, `moonhook run`, the
banner's suggested `moonhook send`, `moonhook status`, alerts over HTTP, Ctrl-C, and a second
`moonhook run` that finds the journal and the paper account as they were left."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from support.clock_shift import at_midday, utc_day
from support.e2e_support import init, outcome, told, until

# TradingView's two forms; the demo strategy wants a stop on every entry.
SELL = '{"secret": "SECRET", "symbol": "FX:EURUSD", "action": "sell", "volume": 0.1, "price": 1.0850, ' \
       '"sl": 1.0900, "id": "walk-sell"}'
LIMIT = "buylimit EURUSD volume=0.05 price=1.0700 sl=1.0650 id=walk-limit"
NO_STOP = "buy EURUSD volume=0.1 price=1.0850 id=walk-no-stop"


def book(run) -> dict:
    """What the API says the engine keeps: the journal, the paper positions, orders, balance."""
    kept = ("ticket", "symbol", "side", "volume", "price_open", "sl", "tp")
    return {"alerts": [(a["id"], a["status"]) for a in run.get("/api/alerts?limit=500")["alerts"]],
            "positions": [{k: p[k] for k in kept} for p in run.get("/api/positions")["positions"]],
            "orders": run.get("/api/orders")["open"],
            "balance": run.get("/api/account")["account"]["balance"]}


def trade_over_http(run) -> None:
    """Alerts posted as TradingView posts them; what became of each, read from the API."""
    sell, limit, no_stop = (run.webhook(body) for body in (SELL, LIMIT, NO_STOP))
    assert sell["status"] == limit["status"] == no_stop["status"] == "accepted"
    assert run.settled(sell["id"])["outcome"]["orders"][0]["ok"]
    assert run.settled(limit["id"])["outcome"]["orders"][0]["kind"] == "pending"
    refused = run.settled(no_stop["id"])
    assert (refused["status"], refused["outcome"]["rejected_by"]) == ("rejected", "demo")
    (demo,) = run.get("/api/plugins")["plugins"]
    assert (demo["name"], demo["state"], demo["calls"], demo["errors"]) == ("demo", "active", 4, 0)
    health = run.get("/health")
    assert (health["status"], health["broker"], health["broker_connected"]) == ("ok", "paper", True)


def test_init_run_send_status_then_a_restart_keeps_the_journal_and_the_account(user, monkeypatch):
    at_midday(user, monkeypatch, utc_day)  # today's counts, told by status, all in one day
    config, printed = init(user, "bot")
    assert "Example strategy: bot/scripts/demo.lua" in printed
    start = told(printed, "Start the engine:")
    assert start == ["run", "--config", "bot/moonhook.toml"]  # the option after the command
    run = user.start(*start, config=config)
    assert "paper broker" in run.banner and "(demo)" in run.banner and "no account limits" not in run.banner
    assert "send --config bot/moonhook.toml " in run.try_command  # it reaches this engine from here

    sent = user.typed(run.try_command)
    assert sent.returncode == 0 and '"status": "done"' in sent.stdout, outcome(sent)
    status = user.moonhook("status", "--config", "bot/moonhook.toml")
    assert status.returncode == 0 and "status=ok" in status.stdout and "broker=paper" in status.stdout, outcome(status)
    assert "demo" in status.stdout
    assert ("account: balance 10,000.00 USD, equity 10,000.00; 1 position; today: 1 alert, 1 order, 0 trades "
            "closed, net +0.00; limits: none") in status.stdout, status.stdout
    trade_over_http(run)
    before = book(run)
    assert [s for _, s in before["alerts"]] == ["rejected", "done", "done", "done"]  # newest first
    assert len(before["positions"]) == 2 and len(before["orders"]) == 1
    status = user.moonhook("status", "--config", "bot/moonhook.toml")
    assert "; 2 positions, 1 pending order; today:" in status.stdout, status.stdout
    assert run.interrupt() == 0
    assert "moonhook: stopped" in run.text()

    again = user.start("--config", "bot/moonhook.toml", "run", config=config)  # the option before it
    assert book(again) == before
    closed = again.settled(again.webhook("closeall id=walk-close")["id"])
    assert closed["status"] == "done" and again.get("/api/positions")["positions"] == []
    assert again.interrupt() == 0
    logs = run.text() + again.text()
    assert "Traceback" not in logs
    assert config.values["server"]["secret"] not in logs and config.values["server"]["api_token"] not in logs


def test_the_strategy_template_init_prints_follows_a_strategy_in_lots_through_exits_and_a_reversal(user):
    # A Pine strategy on EURUSD, its orders in units as TradingView fills the template in: 10,000
    # units must be 0.1 lot, not 10,000 lots; its exits are sells and buys that must close, not open.
    config, printed = init(user, "bot")
    template = printed[printed.index("{\n"):printed.index("\n}\n") + 2]
    run = user.start("run", "--config", "bot/moonhook.toml", config=config)

    def order(n: int, action: str, contracts: int, position: str, size: int, fired_ago: float = 0.0,
              status: str = "done") -> list[tuple[str, float]]:
        fired = datetime.fromtimestamp(time.time() - fired_ago, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        filled = {"{{ticker}}": "OANDA:EURUSD", "{{strategy.order.action}}": action, "{{close}}": "1.0850",
                  "{{strategy.order.contracts}}": str(contracts), "{{strategy.order.id}}": f"order{n}",
                  "{{timenow}}": fired, "{{strategy.market_position}}": position,
                  "{{strategy.market_position_size}}": str(size)}
        body = template
        for placeholder, value in filled.items():
            body = body.replace(placeholder, value)
        assert "{{" not in body, body
        row = run.settled(run.webhook(body)["id"])
        assert row["status"] == status, row
        return [(p["side"], p["volume"]) for p in run.get("/api/positions")["positions"]]

    assert order(1, "buy", 10000, "long", 10000) == [("buy", 0.1)]
    assert order(2, "buy", 20000, "long", 30000) == [("buy", 0.1), ("buy", 0.2)]   # pyramiding
    assert order(3, "sell", 30000, "flat", 0) == []                                 # the exit closes both
    assert order(4, "sell", 20000, "short", 20000) == [("sell", 0.2)]
    assert order(5, "buy", 5000, "short", -15000) == [("sell", 0.15)]               # a part taken off, the size
    #                                                     signed as {{strategy.position_size}} gives it
    assert order(6, "buy", 25000, "long", 10000) == [("buy", 0.1)]                  # a reversal
    assert order(7, "buy", 20000, "long", 30000) == [("buy", 0.1), ("buy", 0.2)]
    assert order(8, "sell", 15000, "long", 15000) == [("buy", 0.15)]                # part of two: oldest first
    assert order(9, "sell", 15000, "flat", 0) == []
    # TradingView delivered this one 10 minutes after it fired (its {{timenow}}): too old to trade
    assert order(10, "buy", 10000, "long", 10000, fired_ago=600, status="expired") == []
    # A message written with a fixed id instead: the second alert within the window is not
    # executed, and the answer says why rather than a bare "duplicate".
    first = run.webhook("buy EURUSD volume=0.1 price=1.085 sl=1.08 id=fixed")
    second = run.webhook("sell EURUSD volume=0.1 price=1.085 sl=1.09 id=fixed")
    assert second["status"] == "duplicate" and second["note"] == (
        f"not executed: its id is alert {first['id']}'s, with other content; give each alert an id of its own")
    assert run.get(f"/api/alerts/{second['id']}")["status"] == "duplicate"
    assert run.interrupt() == 0


def forex_day(now: float) -> tuple[float, float]:
    """The forex day ``now`` is in, its start and its end: from 17:00 in New York (a broker's server
    midnight) to the next."""
    local = datetime.fromtimestamp(now, ZoneInfo("America/New_York"))
    start = local.replace(hour=17, minute=0, second=0, microsecond=0)
    if start > local:
        start -= timedelta(days=1)
    return start.timestamp(), (start + timedelta(days=1)).timestamp()  # the same wall time, whatever its offset


def test_a_day_that_lost_its_limit_takes_no_more_entries_until_the_next_begins(user, monkeypatch):
    """engine.max_daily_loss_pct, uncommented in the moonhook.toml init wrote, on a broker's
    server day (trading_day = "GMT+2/+3 US"): a trade closed at a loss of 1.2% stops the day."""
    config, _ = init(user, "bot")
    config.replace("# max_daily_loss_pct = 4", "max_daily_loss_pct = 1")
    config.replace('trading_day = "UTC"', 'trading_day = "GMT+2/+3 US"')
    at_midday(user, monkeypatch, lambda now: forex_day(now)[0])  # no turn of the day between the loss and the entry
    run = user.start("run", config=config, cwd="bot")
    assert "no account limits" not in run.banner
    entry = run.settled(run.webhook("buy EURUSD volume=0.1 price=1.1 sl=1.09 id=day-1")["id"])
    assert entry["status"] == "done", entry["outcome"]
    assert run.settled(run.webhook("close EURUSD price=1.088 id=day-2")["id"])["status"] == "done"
    stopped = run.settled(run.webhook("buy EURUSD volume=0.1 price=1.088 sl=1.08 id=day-3")["id"])
    resumes = datetime.fromtimestamp(forex_day(time.time())[1], timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert (stopped["status"], stopped["outcome"]["orders"][0]["error"]) == ("failed", (
        "over engine.max_daily_loss_pct: the trading day's loss is USD 120.00, 1.2% of the 10,000.00 it began "
        f"with, at most 1%; entries are refused until {resumes}")), stopped["outcome"]
    assert run.get("/api/positions")["positions"] == []
    limits = run.get("/api/overview")["limits"]
    assert (limits["max_daily_loss_pct"], limits["trading_day"]) == (1, "GMT+2/+3 US"), limits
    status = user.moonhook("status", cwd="bot")
    assert "; limits: a day's loss under 1% (1.2% now)" in status.stdout, outcome(status)
    assert run.interrupt() == 0


def test_a_pending_order_given_an_expiry_leaves_the_book_when_it_comes(user):
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    placed = run.settled(run.webhook("buylimit EURUSD volume=0.1 price=1.05 sl=1.04 expiry=2 id=brief")["id"])
    assert placed["status"] == "done", placed["outcome"]
    (order,) = run.get("/api/orders")["open"]
    assert order["expires"] == order["created_at"] + 2, order
    assert until(lambda: run.get("/api/orders")["open"], lambda o: o == [], "the order gone at its expiry") == []
    ticket = placed["outcome"]["orders"][0]["ticket"]
    assert f"pending order {ticket} buy limit 0.1 EURUSD @ 1.05 expired (engine): its expiry came, 2 s after it " \
           "was placed" in run.text()
    refused = run.client.post("/webhook", json={"secret": config.values["server"]["secret"], "symbol": "EURUSD",
                                                "action": "buy", "volume": 0.1, "sl": 1.04, "expiry": "4h"})
    assert refused.status_code == 400 and "expiry: only a pending order" in refused.text, refused.text
    assert run.interrupt() == 0


def test_the_risk_equity_and_hourly_limits_hold_entries_sent_over_http(user):
    """engine.max_risk_pct, min_equity and max_entries_per_hour, uncommented in the moonhook.toml
    init wrote: each refuses the entry it is for, with its reason in the alert's outcome."""
    config, _ = init(user, "bot")
    config.replace("# max_risk_pct = 2", "max_risk_pct = 1")
    config.replace("# min_equity = 91000", "min_equity = 9900")
    config.replace("# max_entries_per_hour = 20", "max_entries_per_hour = 2")
    run = user.start("run", config=config, cwd="bot")

    def outcome_of(body: str) -> dict:
        return run.settled(run.webhook(body)["id"])["outcome"]["orders"][0]

    assert outcome_of("buy EURUSD volume=1 price=1.1 sl=1.05 id=far")["error"] == (
        "over engine.max_risk_pct: 1 lots from 1.1 lose 5,000.00 USD at the stop 1.05, 50.00% of the balance "
        "10,000.00, at most 1%")
    assert outcome_of("buy EURUSD volume=0.2 price=1.1 sl=1.095 id=near")["ok"]         # 100.00 at the stop: 1%
    run.settled(run.webhook("closeshort EURUSD price=1.0949 id=down")["id"])            # the stop is hit
    (trade,) = until(lambda: run.get("/api/trades")["trades"], bool, "the stopped trade")
    assert trade["net"] <= -100, trade                                                 # the equity at the floor
    assert outcome_of("buy EURUSD volume=0.1 price=1.0949 sl=1.09 id=under")["error"].startswith(
        "over engine.min_equity: the account's equity is 9,89")
    again = outcome_of("sell GBPUSD volume=0.01 price=1.3 sl=1.31 id=small")  # equity still under: refused
    assert again["error"].startswith("over engine.min_equity"), again
    status = user.moonhook("status", cwd="bot")
    assert "limits: equity above 9,900.00, at most 1% at a stop, 2 entries an hour" in status.stdout, outcome(status)
    assert run.interrupt() == 0


def test_an_alert_sent_in_a_loop_stops_at_the_hours_entries(user):
    config, _ = init(user, "bot")
    config.replace("# max_entries_per_hour = 20", "max_entries_per_hour = 1")
    run = user.start("run", config=config, cwd="bot")
    first = run.settled(run.webhook("buy EURUSD volume=0.1 price=1.1 sl=1.09 id=loop-1")["id"])
    assert first["status"] == "done", first["outcome"]
    second = run.settled(run.webhook("sell EURUSD volume=0.1 price=1.1 sl=1.11 id=loop-2")["id"])
    assert second["outcome"]["orders"][0]["error"].startswith(
        "over engine.max_entries_per_hour: 1 entries in the last hour, at most 1; the next may go at "), second
    assert run.interrupt() == 0
    run = user.start("run", config=config, cwd="bot")   # a restart does not begin the hour again
    third = run.settled(run.webhook("sell EURUSD volume=0.1 price=1.1 sl=1.11 id=loop-3")["id"])
    assert third["outcome"]["orders"][0]["error"] == second["outcome"]["orders"][0]["error"], third
    assert run.interrupt() == 0


def test_a_market_entry_is_refused_while_the_spread_is_wider_than_the_limit(user):
    """engine.max_spread_pips, uncommented as init wrote it, on a paper account whose EURUSD
    spread is 5 pips (a rollover's): the entry is refused with the spread in its reason, gold's
    35 cents pass under its own 40, and `moonhook status` says the limit."""
    config, _ = init(user, "bot")
    config.replace('# max_spread_pips = { "*" = 3, XAUUSD = 40 }', 'max_spread_pips = { "*" = 3, XAUUSD = 40 }')
    config.replace("# spreads = { EURUSD = 8 }", "spreads = { EURUSD = 50, XAUUSD = 35 }")
    run = user.start("run", config=config, cwd="bot")
    wide = run.settled(run.webhook("buy EURUSD volume=0.1 price=1.1 sl=1.09 id=wide")["id"])
    assert wide["outcome"]["orders"][0]["error"] == (
        "over engine.max_spread_pips: EURUSD's spread is 5.0 pips (bid 1.1, ask 1.1005), at most 3"), wide
    gold = run.settled(run.webhook("buy XAUUSD volume=0.01 price=2000 sl=1990 id=gold")["id"])
    assert gold["status"] == "done", gold["outcome"]
    status = user.moonhook("status", cwd="bot")
    assert "limits: spreads up to 3 pips (XAUUSD 40)" in status.stdout, outcome(status)
    assert run.interrupt() == 0


def test_send_dry_run_says_what_an_alert_would_do_and_sends_nothing(user):
    """`moonhook send --dry-run` against `moonhook run`: the orders an alert would place now,
    sized from the account, a limit's refusal, a bad alert's 400; nothing journaled or traded."""
    config, _ = init(user, "bot")
    config.replace("# max_order_volume = 1.0", "max_order_volume = 1.0")
    run = user.start("run", config=config, cwd="bot")
    dry = user.moonhook("send", "--dry-run", "buy EURUSD risk=1 sl_pips=20 price=1.1", cwd="bot")
    assert dry.returncode == 0, outcome(dry)
    assert "would send: market buy 0.5 EURUSD price 1.1 sl 1.098\n" in dry.stdout, dry.stdout   # 100.00 at 20 pips
    assert dry.stdout.endswith("nothing was sent (a dry run)\n"), dry.stdout
    big = user.moonhook("send", "--dry-run", "buy EURUSD volume=5 price=1.1", cwd="bot")
    assert big.returncode == 1 and "refused: over engine.max_order_volume: 5 lots asked, at most 1" in big.stdout
    odd = user.moonhook("send", "--dry-run", "buy EURUSD volume=0.129 price=1.1", cwd="bot")
    assert "would send: market buy 0.12 EURUSD price 1.1\n" in odd.stdout, odd.stdout   # the symbol's step
    bad = user.moonhook("send", "--dry-run", "buy EURUSD volume=0.1 sl=low", cwd="bot")
    assert bad.returncode == 1 and bad.stdout.startswith("400 sl: "), bad.stdout
    assert run.get("/api/alerts")["alerts"] == [] and run.get("/api/positions")["positions"] == []
    assert run.interrupt() == 0


def test_a_limit_tightened_in_moonhook_toml_while_running_holds_the_next_entry(user):
    """The trader edits moonhook.toml while `moonhook run` trades: the account's limits, the
    default volume and the symbol map are in force at once (said in the log and to the
    administrators), the paper account waits for a restart."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    entry = "buy EURUSD volume=1 price=1.1 sl=1.09 id=ID"
    assert run.settled(run.webhook(entry.replace("ID", "before"))["id"])["status"] == "done"

    config.replace("# max_order_volume = 1.0", "max_order_volume = 0.5")
    until(run.text, lambda t: "moonhook.toml saved; in force now: engine.max_order_volume 0.5 (was unset)" in t,
          "the save applied")
    refused = run.settled(run.webhook(entry.replace("ID", "after"))["id"])
    assert refused["outcome"]["orders"][0]["error"] == "over engine.max_order_volume: 1 lots asked, at most 0.5"
    status = user.moonhook("status", cwd="bot")
    assert "limits: 0.5 lots an order" in status.stdout, outcome(status)

    # A futures chart traded as a CFD: refused until the map names it, then at the default volume.
    future = "buy ES1! price=5000 sl=4990 id=ID"
    unmapped = run.client.post(f"/webhook/{config.values['server']['secret']}", content=future.replace("ID", "f1"))
    assert unmapped.status_code == 400 and "engine.symbol_map can name the broker's for it" in unmapped.text
    config.replace("# default_volume = 0.01", 'default_volume = 0.2\nsymbol_map = { "ES1!" = "SPX500" }')
    until(run.text, lambda t: "in force now: engine.default_volume 0.2 (was unset), "
                              'engine.symbol_map {ES1! = "SPX500"} (was unset)' in t, "the map saved")
    mapped = run.settled(run.webhook(future.replace("ID", "f2"))["id"])
    assert mapped["status"] == "done" and mapped["symbol"] == "SPX500", mapped["outcome"]
    assert [o["volume"] for o in mapped["outcome"]["orders"]] == [0.2]

    config.replace("balance = 10000.0", "balance = 5000.0")   # the paper account: at the next start
    until(run.text, lambda t: "moonhook.toml saved; at the next start: [paper]" in t, "the save told")
    assert run.interrupt() == 0


def test_a_text_parameter_an_empty_placeholder_left_empty_takes_nothing_from_the_next(user):
    # TradingView fills {{strategy.order.comment}} with nothing for an order without one: "comment= sl=1.09"
    # took the stop for the comment and the long went out without it; "id=" gave every such alert the id
    # "", and the second within the window was dropped as the first's duplicate.
    config, _ = init(user, "bot")
    (user.home / "bot" / "scripts" / "demo.lua").unlink()
    run = user.start("run", "--config", "bot/moonhook.toml", config=config)
    entry = run.settled(run.webhook("buy EURUSD volume=0.1 price=1.1 comment= sl=1.09 id= tp=1.12")["id"])
    exit_ = run.settled(run.webhook("closelong EURUSD price=1.1 id= comment=")["id"])
    assert (entry["status"], exit_["status"]) == ("done", "done"), (entry, exit_)
    (opened,) = entry["outcome"]["orders"]
    assert (opened["sl"], opened["tp"]) == (1.09, 1.12), opened
    assert run.get("/api/positions")["positions"] == []
    assert run.interrupt() == 0
