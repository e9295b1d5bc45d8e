"""Each plugin's persistent key-value store, and the trend book that ``trend.set`` writes.

Store values are plain data, kept in the sandbox codec's lossless form (a shape and scalars,
as JSON) so a Lua table with number keys comes back as it went in. A plugin only ever
reaches its own keys: the plugin's name is bound by the engine, never given by the script.
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable

from sandbox import codec

from engine.adapters.storage.database import Database
from engine.domain.luatext import lua_type

MAX_KEY_CHARS = 256
MAX_VALUE_BYTES = 64 * 1024
MAX_KEYS = 10_000
# A plugin's whole store (its values' bytes), and the rows of the trend book trend.set may make:
# 10,000 keys of 64 KB were 655 MB of one plugin's; a symbol (32 characters) by a timeframe (16)
# had no end. Stores and books an older moonhook let grow past them keep being read and deleted.
MAX_STORE_BYTES = 8 * 1024 * 1024
MAX_TREND_ROWS = 2_000


class StoreError(ValueError):
    """A key or value the store refuses; the message says which and why."""


class PluginStore:
    def __init__(self, database: Database):
        self._d = database

    def get(self, plugin: str, key: str) -> Any:
        _check_key(key)
        with self._d.lock:
            row = self._d.db.execute("SELECT value FROM store WHERE plugin = ? AND key = ?",
                                     [plugin, key]).fetchone()
        if row is None:
            return None
        shape, values = json.loads(row[0])
        return codec.decode(shape, values)[0]

    def set(self, plugin: str, key: str, value: Any) -> None:
        """Stores ``value`` in a transaction of its own; None deletes the key."""
        with self._d.transaction() as db:
            self.write(plugin, key, value)(db)

    def write(self, plugin: str, key: str, value: Any) -> Callable[[Any], None]:
        """Checks ``key`` and ``value`` now (raises StoreError) and returns the write, to run in
        a transaction: the engine runs it in the journal writer's, so that it returns once
        durable and leaves nothing behind if that commit fails. None deletes the key."""
        _check_key(key)
        if value is None:
            return lambda db: self._delete(db, plugin, key)
        try:
            text = json.dumps(codec.encode([value]), separators=(",", ":"))
        except codec.BoundaryError as e:
            raise StoreError(f"store.set({key!r}): {e}") from None
        if len(text) > MAX_VALUE_BYTES:
            raise StoreError(f"store.set({key!r}): the value takes {len(text)} bytes, over the "
                             f"limit of {MAX_VALUE_BYTES}")

        def put(db) -> None:
            row = db.execute("SELECT length(CAST(value AS BLOB)) FROM store WHERE plugin = ? AND key = ?",
                             [plugin, key]).fetchone()
            if not row:
                (count,) = db.execute("SELECT count(*) FROM store WHERE plugin = ?", [plugin]).fetchone()
                if count >= MAX_KEYS:
                    raise StoreError(f"store.set({key!r}): plugin {plugin!r} already holds {MAX_KEYS} keys in its "
                                     "store, the limit; delete the keys it no longer needs")
            was = row[0] if row else 0
            if len(text) > was:   # a store over the limit may still shrink
                size = db.execute("SELECT bytes FROM store_sizes WHERE plugin = ?", [plugin]).fetchone()
                total = (size[0] if size else 0) - was + len(text)
                if total > MAX_STORE_BYTES:
                    raise StoreError(f"store.set({key!r}): plugin {plugin!r} would hold {total} bytes in its store, "
                                     f"over the limit of {MAX_STORE_BYTES}; delete the keys it no longer needs")
            # An upsert, not INSERT OR REPLACE: store_sizes' triggers see its update (migrations.py _v22).
            db.execute("INSERT INTO store (plugin, key, value, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT "
                       "(plugin, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                       [plugin, key, text, time.time()])
        return put

    def delete(self, plugin: str, key: str) -> bool:
        _check_key(key)
        with self._d.transaction() as db:
            return self._delete(db, plugin, key)

    @staticmethod
    def _delete(db, plugin: str, key: str) -> bool:
        return db.execute("DELETE FROM store WHERE plugin = ? AND key = ?", [plugin, key]).rowcount > 0

    def keys(self, plugin: str, prefix: str = "") -> list[str]:
        if not isinstance(prefix, str):
            raise StoreError(f"store.keys: the prefix must be a string, got {lua_type(prefix)}")
        with self._d.lock:
            rows = self._d.db.execute("SELECT key FROM store WHERE plugin = ? AND substr(key, 1, ?) = ? "
                                      "ORDER BY key", [plugin, len(prefix), prefix]).fetchall()
        return [r[0] for r in rows]


def _check_key(key: Any) -> None:
    if not isinstance(key, str) or not key:
        got = "nil" if key is None else repr(key)  # a script's nil
        raise StoreError(f"a store key must be a non-empty string, got {got}"[:120])
    if len(key) > MAX_KEY_CHARS:
        raise StoreError(f"a store key is at most {MAX_KEY_CHARS} characters, got {len(key)}")


class TrendBook:
    """The trend state per symbol and timeframe: "up", "down" or "flat"."""

    def __init__(self, database: Database):
        self._d = database

    def set(self, symbol: str, timeframe: str, state: str) -> None:
        with self._d.transaction() as db:
            self.write(symbol, timeframe, state)(db)

    @staticmethod
    def write(symbol: str, timeframe: str, state: str, plugin: str | None = None) -> Callable[[Any], None]:
        """The write of ``set``, to run in a transaction (the journal writer's; see PluginStore.write).
        A plugin's (``plugin`` named) raises StoreError when it would add a row past MAX_TREND_ROWS;
        an alert's (TradingView's, behind the secret) is always kept."""
        def put(db) -> None:
            if plugin is not None and not db.execute("SELECT 1 FROM trend WHERE symbol = ? AND timeframe = ?",
                                                     [symbol, timeframe]).fetchone():
                (count,) = db.execute("SELECT count(*) FROM trend").fetchone()
                if count >= MAX_TREND_ROWS:
                    raise StoreError(f"trend.set({symbol!r}, {timeframe!r}): refused for plugin {plugin!r}: the trend "
                                     f"book already holds {MAX_TREND_ROWS} symbol and timeframe rows, its limit")
            db.execute("INSERT OR REPLACE INTO trend (symbol, timeframe, state, updated_at) VALUES (?, ?, ?, ?)",
                       [symbol, timeframe, state, time.time()])
        return put

    def get(self, symbol: str, timeframe: str | None = None) -> str | None:
        """The state for ``timeframe``, or without one the most recently set for the symbol."""
        if timeframe is None:
            sql, args = "SELECT state FROM trend WHERE symbol = ? ORDER BY updated_at DESC LIMIT 1", [symbol]
        else:
            sql, args = "SELECT state FROM trend WHERE symbol = ? AND timeframe = ?", [symbol, timeframe]
        with self._d.lock:
            row = self._d.db.execute(sql, args).fetchone()
        return row[0] if row else None
