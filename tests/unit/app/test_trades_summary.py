"""The Trades page on paper reads what it shows: the closed trades counted and paged in SQL
over one row a position (``paper_trades``, kept by a trigger with the deals, migration 20),
only the page's deals read, the profit by opener summed there. It once read every deal ever
booked and made every position of the year after each fill (140 ms for 20,000 alerts, 2 s for
a busy year; bench/history_bench.py). The answers are the whole history's, compared here on
a real paper account's deals and a seeded history beyond the curve's thinning."""

from __future__ import annotations

import sqlite3
from contextlib import closing

from engine.adapters.storage import MIGRATIONS, Database
from engine.adapters.storage.activity import OrderActivity
from engine.app import Operations
from engine.app import trades as _trades
from engine.domain import curve
from engine.domain.config.paper import PaperConfig

from support.engine_support import process, running
from support.older_journal import moonhook_of, without_after

TRADING = ["buy EURUSD volume=0.3 price=1.1", "sell GBPUSD volume=0.2 price=1.3", "buy EURUSD volume=0.1 price=1.101",
           "close EURUSD volume=0.1 price=1.102", "close GBPUSD price=1.29", "buy USDJPY volume=0.1 price=150",
           "close EURUSD price=1.099", "sell GBPUSD volume=0.1 price=1.31", "buy USDJPY volume=0.2 price=151"]
COPIES = 1_200  # the real trades copied over the year before: more curve points than the page is sent


async def _whole_history(engine, limit: int, before: tuple[float, int] | None = None) -> dict:
    """The view as it was made before: of every deal the broker keeps."""
    deals = await engine.broker.history(None)
    openers = OrderActivity(engine.database).openers({d["position"] for d in deals})
    balance = (await engine.broker.account())["balance"]
    return _trades.trades_view(deals, openers, balance, limit, before)


async def _key(engine, newer: int) -> tuple[float, int] | None:
    """The key of the ``newer``-th newest trade: the page below it passes over ``newer`` trades."""
    if not newer:
        return None
    last = (await _whole_history(engine, newer))["trades"][-1]
    return last["closed_at"], last["position"]


def _copy_deals(database, copies: int) -> None:
    """The journal's deals copied ``copies`` times over the year before, each copy positions of
    its own that no order of moonhook's opened (as by hand: no plugin, no order in the ledger),
    profits varied; written newest copy first, and each copy's deals out before its deals in, as
    nothing but such a copy writes them (the summary must not depend on the order)."""
    with closing(sqlite3.connect(database)) as db, db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(paper_deals)")]
        deals = [dict(zip(columns, row)) for row in db.execute("SELECT * FROM paper_deals ORDER BY deal")]
        first = deals[0]["time"]
        rows = [{**d, "deal": -(k * 100 + i + 1), "position": -(k * 100 + d["position"] % 100 + 1),
                 "order_ticket": None, "plugin": None, "client_id": None, "alert_id": None,
                 "time": first - 365 * 86_400 + 20_000 * k + i,
                 "profit": round(((k * 7919 + i) % 2001 - 1000) / 10.0, 2) if d["entry"] == "out" else 0.0}
                for k in range(copies) for i, d in enumerate(deals)]
        rows.sort(key=lambda r: (-r["time"] // 20_000, r["entry"] == "in"))
        db.executemany(f"INSERT INTO paper_deals VALUES ({', '.join('?' * len(columns))})",
                       [[r[c] for c in columns] for r in rows])


async def test_the_trades_page_on_paper_answers_what_the_whole_history_does(tmp_path):
    async with running(tmp_path, paper=PaperConfig(commission_per_lot=7.0)) as engine:
        ops = Operations(engine)
        for body in TRADING:
            assert (await process(engine, body))["status"] == "done", body
        for limit, before in [(100, None), (2, None), (2, await _key(engine, 1)), (1, await _key(engine, 3)),
                              (5, (0.0, 0))]:
            assert await ops.trades(limit, before=before) == await _whole_history(engine, limit, before), \
                (limit, before)
        first = await ops.trades()
        assert first["closed"] == 3 and first["by_plugin"]["engine"]["trades"] == 3  # a USDJPY pair open

        _copy_deals(engine.config.database, COPIES)
        for limit, newer in ((100, 0), (7, 1_000), (100, 3_500), (3, 3_601)):
            before = await _key(engine, newer)
            assert await ops.trades(limit, before=before) == await _whole_history(engine, limit, before), \
                (limit, newer)
            assert (await ops.trades(limit, before=before))["newer"] == newer
        year = await ops.trades()
        assert year["closed"] == 3 * (COPIES + 1) and year["equity_points"] > _trades.CURVE_POINTS
        assert year["by_plugin"]["unknown"]["trades"] == 3 * COPIES   # no order of the ledger opened the copies


async def test_a_position_still_open_that_cost_nothing_is_no_plugins_row(tmp_path):
    # The Trades page of a first session showed "Net by plugin: engine 0.00" above "No closed
    # trades yet": a row for a position still open, no trade closed and no money moved.
    async with running(tmp_path) as engine:
        ops = Operations(engine)
        assert (await process(engine, "buy EURUSD volume=0.1 price=1.1 sl=1.09"))["status"] == "done"
        view = await ops.trades()
        assert (view["closed"], view["equity"], view["by_plugin"]) == (0, [], {}), view
        assert (await _whole_history(engine, 100, 0))["by_plugin"] == {}
    async with running(tmp_path / "commission", paper=PaperConfig(commission_per_lot=7.0)) as engine:
        assert (await process(engine, "buy EURUSD volume=0.1 price=1.1 sl=1.09"))["status"] == "done"
        view = await Operations(engine).trades()   # an entry's commission moved money: its row stays, as its point
        assert view["by_plugin"]["engine"]["trades"] == 0 and view["by_plugin"]["engine"]["net"] < 0, view
        assert len(view["equity"]) == 2 and view == await _whole_history(engine, 100, 0)


def _plan(db, sql: str, args: list) -> str:
    return " | ".join(row[-1] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", args))


async def test_the_page_reads_no_deal_but_those_of_the_trades_it_shows(tmp_path):
    async with running(tmp_path) as engine:
        for body in TRADING:
            await process(engine, body)
        _copy_deals(engine.config.database, 50)
        read, history = [], engine.broker.history

        async def counted(since=None):
            deals = await history(since)
            read.append((since, len(deals)))
            return deals
        engine.broker.history = counted
        view = await Operations(engine).trades(2)
    assert view["closed"] == 3 * 51 and len(view["trades"]) == 2
    assert read == []   # every deal ever booked (510 here, 300,000 in a busy year) was read for two trades


def test_the_page_and_its_count_read_an_index_of_the_closed_positions_not_the_deals(tmp_path):
    from engine.adapters.brokers.paper.trades import PAGE, PAGE_BELOW, COUNT, NEWER
    database = Database(tmp_path / "moonhook.db")
    count, newer = _plan(database.db, COUNT, []), _plan(database.db, NEWER, [1.5, 3])
    for plan in (count, newer):
        assert "USING INDEX paper_trades_closed" in plan and "paper_deals" not in plan, plan
    for page in (_plan(database.db, PAGE, [100]), _plan(database.db, PAGE_BELOW, [1.5, 3, 100])):
        assert "USING INDEX paper_trades_closed" in page and "paper_deals" not in page and "TEMP B-TREE" not in page, \
            page
    below = _plan(database.db, PAGE_BELOW, [1.5, 3, 100])
    assert below.startswith("SEARCH") and "closed_at<?" in below, below   # a range of it, not a scan


async def test_a_journal_of_schema_19_is_summed_up_at_its_upgrade(tmp_path, monkeypatch):
    async with running(tmp_path, paper=PaperConfig(commission_per_lot=7.0)) as engine:
        for body in TRADING:
            await process(engine, body)
        before = await _whole_history(engine, 3, await _key(engine, 1))
    path = tmp_path / "data" / "moonhook.db"
    with closing(sqlite3.connect(path)) as db, db:   # the file as moonhook of schema 19 left it
        _before_the_curve(db)
        db.execute("DROP TRIGGER paper_trades_deal")
        db.execute("DROP TABLE paper_trades")
        db.execute("PRAGMA user_version = 19")
    with moonhook_of(monkeypatch, MIGRATIONS[:19]):
        Database(path).close()
    _copy_deals(path, 3)   # booked by the older moonhook: no trigger
    async with running(tmp_path, paper=PaperConfig(commission_per_lot=7.0)) as engine:
        assert engine.database.schema_version == len(MIGRATIONS)
        key = await _key(engine, 1)
        assert await Operations(engine).trades(3, before=key) == await _whole_history(engine, 3, key)
        assert (await Operations(engine).trades())["closed"] == 3 * 4 and before["closed"] == 3


async def test_the_trades_closed_since_a_time_are_those_of_the_whole_history_read_by_their_index(tmp_path):
    # Telegram's /trades and the overview's trades of today (read again after each deal) looked
    # for them in a month of deals, or in the whole history for a position held longer.
    async with running(tmp_path, paper=PaperConfig(commission_per_lot=7.0)) as engine:
        ops = Operations(engine)
        for body in TRADING:
            await process(engine, body)
        _copy_deals(engine.config.database, 400)
        deals = await engine.broker.history(None)
        openers = OrderActivity(engine.database).openers({d["position"] for d in deals})
        read, history = [], engine.broker.history

        async def counted(since=None):
            read.append(since)
            return await history(since)
        engine.broker.history = counted
        for days, limit in ((None, 10), (1, 2), (30, 5), (366, 10), (800, 3)):
            answer = await ops.closed_since(days, limit)
            expected = _trades.closed_since(deals, openers, answer["since"], limit)
            assert {**answer, "currency": None} == {**expected, "currency": None}, days
        assert (await ops.closed_since(800, 1))["closed"] == 3 * 401
    assert read == []


# The equity curve: on paper drawn from its hours (paper_curve, kept by triggers with the deals,
# migration 21), where it read every deal that moved the balance (a busy year: 300,000 rows, most
# of the page's 1.7 s) and made each a point before thinning them to 2,000.

def _blocks(db) -> list[tuple]:
    return db.execute("SELECT * FROM paper_curve ORDER BY hour").fetchall()


def _before_the_curve(db) -> None:
    """The file as moonhook of schema 20 left it: no hours' blocks, no index of the openers, no store sizes,
    nor what later schemas added."""
    db.execute("DROP INDEX paper_trades_opener")
    db.execute("DROP TRIGGER paper_curve_next")
    db.execute("DROP TRIGGER paper_curve_earlier")
    db.execute("DROP TABLE paper_curve")
    without_after(db, 21)


def _max_drawdown(points: list[dict]) -> float:
    peak, deepest = float("-inf"), 0.0
    for p in points:
        peak = max(peak, p["balance"])
        deepest = max(deepest, round(peak - p["balance"], 2))
    return deepest


async def test_the_curve_of_a_year_on_paper_is_read_from_its_hours_not_from_every_deal(tmp_path):
    async with running(tmp_path, paper=PaperConfig(commission_per_lot=7.0)) as engine:
        for body in TRADING:
            await process(engine, body)
        _copy_deals(engine.config.database, COPIES)   # out of order: hours summed up again by the trigger
        deals = await engine.broker.history(None)
        summary = await engine.broker.trade_summary(100)
    assert summary["moves"] is None, f"{len(summary['moves'])} moves read for a curve of 2,000 points"
    moves = _trades.moves_of(deals)
    assert len(summary["blocks"]) < len(moves) / 3 and sum(b.moves for b in summary["blocks"]) == len(moves)
    assert summary["blocks"] == curve.blocks_of(moves, True)   # the triggers' sums are Python's, to the bit


async def test_the_drawn_curve_keeps_the_whole_curves_drawdown_ends_and_extremes(tmp_path):
    async with running(tmp_path, paper=PaperConfig(commission_per_lot=7.0)) as engine:
        for body in TRADING:
            await process(engine, body)
        _copy_deals(engine.config.database, COPIES)
        balance = (await engine.broker.account())["balance"]
        whole = _trades.equity_curve(await engine.broker.history(None), balance)
        view = await Operations(engine).trades()
    drawn = view["equity"]
    assert len(whole) > _trades.CURVE_POINTS >= len(drawn) and view["equity_points"] == len(whole)
    assert drawn[0] == whole[0] and drawn[-1] == {k: v for k, v in whole[-1].items() if k != "paid"}
    assert _max_drawdown(drawn) == _max_drawdown(whole) > 0
    assert min(p["balance"] for p in drawn) == min(p["balance"] for p in whole)
    assert max(p["balance"] for p in drawn) == max(p["balance"] for p in whole)
    bad = [(i, drawn[i - 1], drawn[i]) for i in range(1, len(drawn)) if drawn[i]["time"] < drawn[i - 1]["time"]]
    assert not bad, bad[:3]


async def test_a_journal_of_schema_20_has_its_curve_summed_up_at_its_upgrade(tmp_path, monkeypatch):
    async with running(tmp_path, paper=PaperConfig(commission_per_lot=7.0)) as engine:
        for body in TRADING:
            await process(engine, body)
    path = tmp_path / "data" / "moonhook.db"
    with closing(sqlite3.connect(path)) as db, db:
        _before_the_curve(db)
        db.execute("PRAGMA user_version = 20")
    with moonhook_of(monkeypatch, MIGRATIONS[:20]):
        Database(path).close()
    _copy_deals(path, 300)   # booked by the older moonhook: no trigger
    async with running(tmp_path, paper=PaperConfig(commission_per_lot=7.0)) as engine:
        assert engine.database.schema_version == len(MIGRATIONS)
        moves = _trades.moves_of(await engine.broker.history(None))
        summary = await engine.broker.trade_summary(100)
        assert summary["blocks"] == curve.blocks_of(moves, True)
        for body in TRADING[:5]:   # and kept from there by the triggers
            await process(engine, body)
        moves = _trades.moves_of(await engine.broker.history(None))
        assert (await engine.broker.trade_summary(100))["blocks"] == curve.blocks_of(moves, True)


def test_the_profit_by_opener_is_read_off_an_index_not_grouped_from_the_table(tmp_path):
    from engine.adapters.brokers.paper.trades import BY_OPENER
    database = Database(tmp_path / "moonhook.db")
    plan = _plan(database.db, BY_OPENER, [])
    assert "COVERING INDEX paper_trades_opener" in plan and "TEMP B-TREE" not in plan, plan
