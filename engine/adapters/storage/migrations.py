"""The journal's schema, a migration a version: ``Database`` runs those its file has not had
(``PRAGMA user_version`` counts them) all in one transaction, so that a failed upgrade leaves
the file as it was. Each must therefore run inside a transaction (no VACUUM, no PRAGMA
foreign_keys). Append only: a released migration is never edited, the next change is a new function."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from engine.adapters.storage.data_migrations import v25
from engine.adapters.storage.telegram_migrations import v23, v24, v26, v28
from engine.domain.curve import blocks_of

if TYPE_CHECKING:
    import sqlite_utils

Migration = Callable[["sqlite_utils.Database"], None]


def _v1(db: sqlite_utils.Database) -> None:
    db["alerts"].create(
        {
            "id": int,            # what the webhook answers; never reused
            "received_at": float,
            "source": str,        # json | text
            "source_id": str,     # the alert's own id field, if it had one
            "content_hash": str,
            "symbol": str,
            "action": str,
            "alert": str,         # the parsed alert as JSON (never the secret)
            "status": str,        # received | done | rejected | duplicate | failed (journal.py: STATUSES)
            "duplicate_of": int,
            "outcome": str,       # JSON: what each plugin did, the orders, latency
            "updated_at": float,
        },
        pk="id",
        not_null={"received_at", "source", "content_hash", "alert", "status"},
    )
    db.execute("CREATE INDEX alerts_dedup_id ON alerts (source_id, received_at)")
    db.execute("CREATE INDEX alerts_dedup_hash ON alerts (content_hash, received_at)")
    # 'processing' was never written; the index stays as created (journal.py's unfinished() matches it).
    db.execute("CREATE INDEX alerts_unfinished ON alerts (status) WHERE status IN ('received', 'processing')")


def _v2(db: sqlite_utils.Database) -> None:
    # The engine's order ledger: every request a plugin or the default execution made.
    db["orders"].create(
        {
            "client_id": str,     # alert, plugin and sequence: what the broker deduplicates on
            "alert_id": int,
            "plugin": str,        # who asked; "engine" for the default execution
            "kind": str,          # market | pending | close | modify
            "request": str,       # JSON, after every plugin's on_order
            "status": str,        # done | refused | vetoed | unknown
            "result": str,        # JSON OrderResult
            "created_at": float,
            "done_at": float,
            "latency_ms": float,  # from the alert's receipt to the broker call
        },
        pk="client_id",
        not_null={"kind", "request", "status", "created_at"},
    )
    db.execute("CREATE INDEX orders_alert ON orders (alert_id)")
    db["store"].create({"plugin": str, "key": str, "value": str, "updated_at": float},
                       pk=("plugin", "key"), not_null={"value"})
    db["trend"].create({"symbol": str, "timeframe": str, "state": str, "updated_at": float},
                       pk=("symbol", "timeframe"), not_null={"state"})
    db["outbox"].create(
        {"id": int, "created_at": float, "kind": str, "key": str, "text": str,
         "sent_at": float, "attempts": int, "last_error": str},
        pk="id", not_null={"created_at", "kind", "text"}, defaults={"attempts": 0},
    )
    db.execute("CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL")

    # The paper broker's books (engine/brokers/paper/).
    db["paper_account"].create({"id": int, "balance": float, "currency": str}, pk="id")
    db["paper_prices"].create({"symbol": str, "bid": float, "ask": float, "time": float}, pk="symbol")
    db["paper_requests"].create({"client_id": str, "result": str, "time": float}, pk="client_id",
                                not_null={"result"})
    db["paper_orders"].create(
        {"ticket": int, "client_id": str, "symbol": str, "side": str, "type": str, "price": float,
         "volume": float, "sl": float, "tp": float, "state": str, "plugin": str, "alert_id": int,
         "comment": str, "created_at": float, "done_at": float},
        pk="ticket", not_null={"symbol", "side", "type", "volume", "state", "created_at"},
    )
    db.execute("CREATE INDEX paper_orders_placed ON paper_orders (symbol) WHERE state = 'placed'")
    db["paper_positions"].create(
        {"ticket": int, "symbol": str, "side": str, "volume": float, "price_open": float,
         "sl": float, "tp": float, "plugin": str, "alert_id": int, "comment": str,
         "opened_at": float, "commission": float},
        pk="ticket", not_null={"symbol", "side", "volume", "price_open", "opened_at"},
    )
    db["paper_deals"].create(
        {"deal": int, "order_ticket": int, "position": int, "symbol": str, "side": str,
         "volume": float, "price": float, "entry": str, "reason": str, "profit": float,
         "commission": float, "plugin": str, "client_id": str, "alert_id": int, "time": float},
        pk="deal", not_null={"symbol", "side", "volume", "price", "entry", "reason", "time"},
    )


def _v3(db: sqlite_utils.Database) -> None:
    # Every quote looks for the stops and pending orders it crosses: a range search per side
    # and level, whatever the number of open positions (it was a scan of the symbol's).
    db.execute("CREATE INDEX paper_positions_sl ON paper_positions (symbol, side, sl)")
    db.execute("CREATE INDEX paper_positions_tp ON paper_positions (symbol, side, tp)")
    db.execute("CREATE INDEX paper_orders_trigger ON paper_orders (symbol, side, type, price) WHERE state = 'placed'")


def _v4(db: sqlite_utils.Database) -> None:
    # Each script's `plugin` table by the hash of its source: a start or reload knows the
    # plugin's budget before running the script, so it compiles once.
    db["plugin_meta"].create({"digest": str, "meta": str, "seen_at": float}, pk="digest", not_null={"meta"})


def _v5(db: sqlite_utils.Database) -> None:
    # Telegram (engine/adapters/notify). An outbox message is routed once to the chats that want its
    # kind: one delivery per chat, sent and marked by the bot that serves the chat. A bot is
    # named by its numeric id, never by its token.
    db["telegram_deliveries"].create(
        {"id": int, "outbox_id": int, "bot": str, "chat": str, "text": str, "created_at": float,
         "sent_at": float, "failed_at": float, "attempts": int, "uncertain": int, "last_error": str},
        pk="id", not_null={"bot", "chat", "text", "created_at"}, defaults={"attempts": 0, "uncertain": 0})
    db.execute("CREATE INDEX telegram_deliveries_due ON telegram_deliveries (bot, chat, id) "
               "WHERE sent_at IS NULL AND failed_at IS NULL")
    # getUpdates' next offset per bot: a command is obeyed once, even across a restart.
    db["telegram_offsets"].create({"bot": str, "next_offset": int}, pk="bot", not_null={"next_offset"})


def _v6(db: sqlite_utils.Database) -> None:
    # The MetaTrader 5 broker (engine/brokers/mt5). Each order_send is written down, by the
    # tag its comment carries, before it is sent: a send whose answer was lost is found again
    # at the broker by that tag, never sent twice. A request's final result answers a repeat
    # of its client id.
    db["mt5_sends"].create(
        {"tag": str, "client_id": str, "kind": str, "state": str, "request": str, "result": str,
         "created_at": float, "updated_at": float},
        pk="tag", not_null={"client_id", "kind", "state", "request", "created_at"})
    db.execute("CREATE INDEX mt5_sends_client ON mt5_sends (client_id)")
    db.execute("CREATE INDEX mt5_sends_open ON mt5_sends (state) WHERE state IN ('sending', 'unknown')")
    db["mt5_results"].create({"client_id": str, "result": str, "at": float}, pk="client_id", not_null={"result"})
    db["mt5_magic"].create({"plugin": str, "magic": int}, pk="plugin", not_null={"magic"})
    db.execute("CREATE UNIQUE INDEX mt5_magic_number ON mt5_magic (magic)")
    db["mt5_state"].create({"key": str, "value": str}, pk="key")


def _v7(db: sqlite_utils.Database) -> None:
    # The safety switches (storage/switches.py): the pause and each plugin's on/off, with who,
    # when and why, so that a restart does not undo them.
    db["switches"].create({"target": str, "state": str, "by": str, "at": float, "reason": str, "digest": str},
                          pk="target", not_null={"state", "by", "at"})


def _v8(db: sqlite_utils.Database) -> None:
    # The dashboard's reads (engine/app/overview.py, GET /api/alerts?status=&symbol=): the latest
    # alerts of one status or symbol, today's counts, and the last hour's orders, each found
    # through an index rather than a scan of every alert or order ever journaled.
    db.execute("CREATE INDEX IF NOT EXISTS alerts_status ON alerts (status, id)")
    db.execute("CREATE INDEX IF NOT EXISTS alerts_symbol ON alerts (symbol, id)")
    db.execute("CREATE INDEX IF NOT EXISTS alerts_received ON alerts (received_at)")
    db.execute("CREATE INDEX IF NOT EXISTS orders_created ON orders (created_at)")


def _v9(db: sqlite_utils.Database) -> None:
    # Plans written ahead (storage/plans.py): part of several positions closed, kept before the
    # first close is sent so that a restart sends the same closes and no more.
    db.execute("CREATE TABLE plans (alert_id INTEGER PRIMARY KEY, requests TEXT NOT NULL, created_at REAL NOT NULL)")


def _v10(db: sqlite_utils.Database) -> None:
    # The paper account's exposure by symbol and side, kept by triggers with its positions: the
    # margin check of every market order reads it in a row a symbol, not a row a position.
    # ``positions`` counts them, so that the sums are set to exactly 0 with the last one closed.
    db.execute("CREATE TABLE paper_exposure (symbol TEXT NOT NULL, side TEXT NOT NULL, positions INTEGER NOT NULL, "
               "volume REAL NOT NULL, weighted REAL NOT NULL, PRIMARY KEY (symbol, side))")
    db.execute("INSERT INTO paper_exposure SELECT symbol, side, COUNT(*), SUM(volume), SUM(volume * price_open) "
               "FROM paper_positions GROUP BY symbol, side")
    db.execute("""CREATE TRIGGER paper_exposure_open AFTER INSERT ON paper_positions BEGIN
        INSERT INTO paper_exposure VALUES (NEW.symbol, NEW.side, 1, NEW.volume, NEW.volume * NEW.price_open)
        ON CONFLICT (symbol, side) DO UPDATE SET positions = positions + 1, volume = volume + excluded.volume,
            weighted = weighted + excluded.weighted;
    END""")
    db.execute("""CREATE TRIGGER paper_exposure_part AFTER UPDATE OF volume, price_open ON paper_positions BEGIN
        UPDATE paper_exposure SET volume = volume - OLD.volume + NEW.volume,
            weighted = weighted - OLD.volume * OLD.price_open + NEW.volume * NEW.price_open
        WHERE symbol = OLD.symbol AND side = OLD.side;
    END""")
    db.execute("""CREATE TRIGGER paper_exposure_close AFTER DELETE ON paper_positions BEGIN
        UPDATE paper_exposure SET positions = positions - 1,
            volume = CASE WHEN positions = 1 THEN 0 ELSE volume - OLD.volume END,
            weighted = CASE WHEN positions = 1 THEN 0 ELSE weighted - OLD.volume * OLD.price_open END
        WHERE symbol = OLD.symbol AND side = OLD.side;
    END""")


def _v11(db: sqlite_utils.Database) -> None:
    # A pending order's expiry (Unix time; NULL: it waits until filled or cancelled), and the
    # next to come found by index, as the broker's expiry watch asks.
    db.execute("ALTER TABLE paper_orders ADD COLUMN expires REAL")
    db.execute("CREATE INDEX paper_orders_expiring ON paper_orders (expires) WHERE state = 'placed' "
               "AND expires IS NOT NULL")


def _v12(db: sqlite_utils.Database) -> None:
    # The paper books' deals by position and by time: closing a position sums its deals out,
    # and the trades' history reads those since a time; each was a scan of every deal ever made.
    db.execute("CREATE INDEX IF NOT EXISTS paper_deals_position ON paper_deals (position)")
    db.execute("CREATE INDEX IF NOT EXISTS paper_deals_time ON paper_deals (time, deal)")


def _v13(db: sqlite_utils.Database) -> None:
    # The overview's reads of the ledger (storage/activity.py), after each alert: the last orders
    # refused (a scan of every order back to the first, for a trader whose orders are seldom
    # refused), and the plugin that opened each position of the trades read (a scan of every
    # order for each 500 positions). The ticket is read only from a result that is valid JSON:
    # an index whose expression failed on a row would fail that order's write.
    db.execute("CREATE INDEX IF NOT EXISTS orders_refused ON orders (created_at) "
               "WHERE status IN ('refused', 'vetoed')")
    db.execute("CREATE INDEX IF NOT EXISTS orders_opened ON orders "
               "(CASE WHEN json_valid(result) THEN json_extract(result, '$.ticket') END) "
               "WHERE kind IN ('market', 'pending') AND status = 'done'")


def _v14(db: sqlite_utils.Database) -> None:
    # The broker's events booked and not yet told (storage/untold.py): a fill written in the
    # transaction that books it, taken out once told, so that a crash in between tells it at the start.
    db.execute("CREATE TABLE IF NOT EXISTS untold_events (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, "
               "event TEXT NOT NULL)")


def _v15(db: sqlite_utils.Database) -> None:
    # Alerts a resume left. Until a resume without the alerts missed while paused made them
    # 'skipped', it left them 'paused', and the next resume with them ran them, days later.
    # Those a file kept are skipped now: all of them, unless the engine is paused and they came
    # during this pause (its resume still decides those).
    db.execute("UPDATE alerts SET status = 'skipped', updated_at = (julianday('now') - 2440587.5) * 86400, "
               "outcome = json_object('reason', 'skipped: an earlier resume left it, without the alerts missed "
               "while paused') WHERE status = 'paused' AND NOT EXISTS (SELECT 1 FROM switches WHERE target = 'pause' "
               "AND state = 'paused' AND alerts.received_at >= switches.at)")


def _v16(db: sqlite_utils.Database) -> None:
    # The orders whose answer is unknown (storage/ledger.py's unknown_not_run_again), read at each
    # start: found among the few such rows, where it was a walk through every alert ever journaled
    # (a year's: half a second of each start, growing with the journal).
    db.execute("CREATE INDEX IF NOT EXISTS orders_unknown ON orders (created_at) WHERE status = 'unknown'")


def _v17(db: sqlite_utils.Database) -> None:
    # The plugin each MetaTrader 5 send was for (engine/adapters/brokers/mt5/book.py): a close
    # carries its position's magic number, so its deal named the position's opener; the trades
    # chat told a plugin's close as the opener's ("(engine)"). NULL for sends from before.
    db.execute("ALTER TABLE mt5_sends ADD COLUMN plugin TEXT")


def _v18(db: sqlite_utils.Database) -> None:
    # The MT5 entries whose outcome is not known (mt5/book.py's in_doubt), read at each entry while
    # engine.max_open_positions is set: found among the few such rows, not by a scan of every send.
    db.execute("CREATE INDEX IF NOT EXISTS mt5_sends_doubt ON mt5_sends (created_at) "
               "WHERE state IN ('sending', 'unknown', 'lost')")


def _v19(db: sqlite_utils.Database) -> None:
    # The stop-outs told (storage/stopouts.py): the last one shown after a restart too, not only
    # until it. Keyed by the admin message's key, so that one told again after a crash is one row.
    db.execute("CREATE TABLE IF NOT EXISTS stop_outs (key TEXT PRIMARY KEY, time REAL NOT NULL, summary TEXT NOT NULL)")
    db.execute("CREATE INDEX IF NOT EXISTS stop_outs_time ON stop_outs (time)")


def _v20(db: sqlite_utils.Database) -> None:
    # The paper books' positions summed up (brokers/paper/trades.py), kept by a trigger with the
    # deals: the Trades page counts the closed trades, pages them newest first and sums the
    # profit by opener from one row a position, not from every deal ever booked (a year's:
    # 300,000, read and grouped after each fill). Deals are only inserted, never changed.
    # ``opened_*``: the position's first deal in, by (time, deal), as the trade's opening; ``opener``
    # its plugin, the one whose order opened the position (the order ledger's name for it).
    db.execute("CREATE TABLE paper_trades (position INTEGER PRIMARY KEY, opened_time REAL, opened_deal INTEGER, "
               "opener TEXT, "
               "volume_in REAL NOT NULL, volume_out REAL NOT NULL, outs INTEGER NOT NULL, closed_at REAL, "
               "profit REAL NOT NULL, commission REAL NOT NULL)")
    db.execute(f"""CREATE TRIGGER paper_trades_deal AFTER INSERT ON paper_deals WHEN NEW.entry != 'balance' BEGIN
        INSERT INTO paper_trades VALUES (NEW.position, {_OPENING.format("NEW.time")}, {_OPENING.format("NEW.deal")},
            {_OPENING.format("NEW.plugin")},
            CASE WHEN NEW.entry = 'in' AND NEW.side IS NOT NULL THEN NEW.volume ELSE 0 END,
            CASE WHEN NEW.entry != 'in' THEN NEW.volume ELSE 0 END, NEW.entry != 'in',
            CASE WHEN NEW.entry != 'in' THEN NEW.time END, COALESCE(NEW.profit, 0), COALESCE(NEW.commission, 0))
        ON CONFLICT (position) DO UPDATE SET
            opened_time = CASE WHEN {_EARLIER} THEN excluded.opened_time ELSE opened_time END,
            opened_deal = CASE WHEN {_EARLIER} THEN excluded.opened_deal ELSE opened_deal END,
            opener = CASE WHEN {_EARLIER} THEN excluded.opener ELSE opener END,
            volume_in = volume_in + excluded.volume_in, volume_out = volume_out + excluded.volume_out,
            outs = outs + excluded.outs,
            closed_at = CASE WHEN closed_at IS NULL OR excluded.closed_at > closed_at THEN
                COALESCE(excluded.closed_at, closed_at) ELSE closed_at END,
            profit = profit + excluded.profit, commission = commission + excluded.commission;
    END""")
    db.execute("INSERT INTO paper_trades SELECT position, "
               "MIN(CASE WHEN entry = 'in' AND side IS NOT NULL THEN time END), "
               "NULL, NULL, TOTAL(CASE WHEN entry = 'in' AND side IS NOT NULL THEN volume END), "
               "TOTAL(CASE WHEN entry != 'in' THEN volume END), COUNT(*) FILTER (WHERE entry != 'in'), "
               "MAX(CASE WHEN entry != 'in' THEN time END), TOTAL(profit), TOTAL(commission) "
               "FROM paper_deals WHERE entry != 'balance' GROUP BY position")
    db.execute("UPDATE paper_trades SET opened_deal = (SELECT MIN(deal) FROM paper_deals d WHERE d.position = "
               "paper_trades.position AND d.entry = 'in' AND d.side IS NOT NULL AND d.time = paper_trades.opened_time)")
    db.execute("UPDATE paper_trades SET opener = (SELECT plugin FROM paper_deals WHERE deal = opened_deal)")
    db.execute(f"CREATE INDEX paper_trades_closed ON paper_trades (closed_at, position) WHERE {PAPER_CLOSED}")


# A deal's (time, deal) when it opens its position (an "in" with a side), else NULL.
_OPENING = "CASE WHEN NEW.entry = 'in' AND NEW.side IS NOT NULL THEN {} END"
# The deal inserted opens its position before the one kept (deals may be written out of order).
_EARLIER = ("excluded.opened_deal IS NOT NULL AND (opened_deal IS NULL OR "
            "(excluded.opened_time, excluded.opened_deal) < (opened_time, opened_deal))")
# A position closed, as engine/app/trades.py's closed_at has it: opened, and as much volume out
# as in. The index paper_trades_closed's predicate, word for word, so that SQLite uses it.
PAPER_CLOSED = "opened_deal IS NOT NULL AND closed_at IS NOT NULL AND round(volume_out - volume_in, 8) >= 0"


def _v21(db: sqlite_utils.Database) -> None:
    # The paper books' equity curve summed up by the hour (engine/domain/curve.py's Block), kept by
    # triggers with the deals: the Trades page draws a year from its hours (8,760 rows), not from
    # every deal that moved the balance (300,000 in a busy year, read and made into points after
    # each fill). A deal after the hour's last (time, deal) updates its row in place; one booked
    # before it (a price of an older time) sums the hour up again from its deals.
    db.execute("CREATE TABLE paper_curve (hour INTEGER PRIMARY KEY, moves INTEGER NOT NULL, low REAL NOT NULL, "
               "low_time REAL NOT NULL, high REAL NOT NULL, high_time REAL NOT NULL, total REAL NOT NULL, "
               "last_time REAL NOT NULL, last_deal INTEGER NOT NULL)")
    hour, move, later = "CAST(NEW.time / 3600 AS INTEGER)", f"({PAPER_MOVE.format('NEW.')})", (
        "EXISTS (SELECT 1 FROM paper_curve WHERE hour = {} AND (last_time, last_deal) > (NEW.time, NEW.deal))")
    db.execute(f"""CREATE TRIGGER paper_curve_next AFTER INSERT ON paper_deals
        WHEN ({PAPER_MOVES.format("NEW.")}) AND NOT {later.format(hour)} BEGIN
        INSERT INTO paper_curve VALUES ({hour}, 1, {move}, NEW.time, {move}, NEW.time, {move}, NEW.time, NEW.deal)
        ON CONFLICT (hour) DO UPDATE SET moves = moves + 1,
            low = CASE WHEN total + excluded.total < low THEN total + excluded.total ELSE low END,
            low_time = CASE WHEN total + excluded.total < low THEN excluded.last_time ELSE low_time END,
            high = CASE WHEN total + excluded.total > high THEN total + excluded.total ELSE high END,
            high_time = CASE WHEN total + excluded.total > high THEN excluded.last_time ELSE high_time END,
            total = total + excluded.total, last_time = excluded.last_time, last_deal = excluded.last_deal;
    END""")
    db.execute(f"""CREATE TRIGGER paper_curve_earlier AFTER INSERT ON paper_deals
        WHEN ({PAPER_MOVES.format("NEW.")}) AND {later.format(hour)} BEGIN {_HOUR_AGAIN.format(hour=hour)}; END""")
    # The profit by opener (brokers/paper/trades.py) read off an index in its order, not the table grouped
    # in a temporary B-tree: a third of the time on a busy year's 150,000 positions, then the page's largest read.
    db.execute("CREATE INDEX paper_trades_opener ON paper_trades (opener, outs, profit, commission)")
    # The deals booked so far, summed up in one pass (an hour's statement each: 45 s on a busy year).
    moves = db.execute(f"SELECT time, {PAPER_MOVE.format('')}, 0.0 FROM paper_deals WHERE {PAPER_MOVES.format('')} "
                       "ORDER BY time, deal")
    db.conn.executemany("INSERT INTO paper_curve VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)",
                        [(b.hour, b.moves, b.low.profit, b.low.time, b.high.profit, b.high.time, b.last.profit,
                          b.last.time) for b in blocks_of(moves, with_paid=False)])
    db.execute(f"UPDATE paper_curve SET last_deal = (SELECT MAX(deal) FROM paper_deals WHERE time = last_time AND "
               f"({PAPER_MOVES.format('')}))")


# A deal that moved the balance or closed (engine/domain/trade_fold.py's move_of), and its move.
PAPER_MOVES = "{0}profit != 0 OR {0}commission != 0 OR {0}entry != 'in'"
PAPER_MOVE = "COALESCE({0}profit, 0) + COALESCE({0}commission, 0)"
# One hour's row of paper_curve made again of its deals, ``hour`` an SQL expression.
_RUN = (f"(SELECT time, deal, SUM(move) OVER (ORDER BY time, deal ROWS UNBOUNDED PRECEDING) AS run FROM "
        f"(SELECT time, deal, {PAPER_MOVE.format('')} AS move FROM paper_deals WHERE time >= {{hour}} * 3600 "
        f"AND time < ({{hour}} + 1) * 3600 AND ({PAPER_MOVES.format('')})))")
_HOUR_AGAIN = (f"INSERT OR REPLACE INTO paper_curve SELECT {{hour}}, (SELECT COUNT(*) FROM {_RUN}), lo.run, lo.time, "
               f"hi.run, hi.time, la.run, la.time, la.deal FROM (SELECT run, time FROM {_RUN} ORDER BY run, time, deal "
               f"LIMIT 1) lo, (SELECT run, time FROM {_RUN} ORDER BY run DESC, time, deal LIMIT 1) hi, "
               f"(SELECT run, time, deal FROM {_RUN} ORDER BY time DESC, deal DESC LIMIT 1) la")


def _v22(db: sqlite_utils.Database) -> None:
    # Each plugin's store in bytes, kept by triggers with its rows: store.set checks the plugin's
    # total (store.py MAX_STORE_BYTES) without reading every value it holds in each commit. The
    # store is written with upserts: INSERT OR REPLACE would delete without its trigger firing.
    size = "length(CAST({}.value AS BLOB))"
    db.execute("CREATE TABLE store_sizes (plugin TEXT PRIMARY KEY, bytes INTEGER NOT NULL)")
    db.execute(f"INSERT INTO store_sizes SELECT plugin, SUM({size.format('store')}) FROM store GROUP BY plugin")
    add = (f"INSERT INTO store_sizes VALUES (NEW.plugin, {size.format('NEW')}) "
           "ON CONFLICT (plugin) DO UPDATE SET bytes = bytes + excluded.bytes;")
    take = f"UPDATE store_sizes SET bytes = bytes - {size.format('OLD')} WHERE plugin = OLD.plugin;"
    db.execute(f"CREATE TRIGGER store_size_insert AFTER INSERT ON store BEGIN {add} END")
    db.execute(f"CREATE TRIGGER store_size_update AFTER UPDATE ON store BEGIN {take} {add} END")
    db.execute(f"CREATE TRIGGER store_size_delete AFTER DELETE ON store BEGIN {take} END")


def _v27(db: sqlite_utils.Database) -> None:
    # When the alert of each symbol's last paper price was fired (its timenow; NULL: not said), so that
    # a late alert after a restart is still known late (paper/prices.py).
    db.execute("ALTER TABLE paper_prices ADD COLUMN fired REAL")


# Append only: a released migration is never edited, the next change is a new function.
MIGRATIONS: tuple[Migration, ...] = (_v1, _v2, _v3, _v4, _v5, _v6, _v7, _v8, _v9, _v10, _v11, _v12, _v13, _v14,
                                     _v15, _v16, _v17, _v18, _v19, _v20, _v21, _v22, v23, v24, v25, v26, _v27, v28)
