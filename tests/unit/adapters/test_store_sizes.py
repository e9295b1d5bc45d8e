"""The plugins' store sizes (``store_sizes``, kept by triggers) that store.set's total is checked on."""

from __future__ import annotations

from engine.adapters.storage import MIGRATIONS, Database, PluginStore

from support.older_journal import moonhook_of

SUMMED = "SELECT plugin, SUM(length(CAST(value AS BLOB))) FROM store GROUP BY plugin ORDER BY plugin"


def _sizes(database: Database) -> list[tuple]:
    return database.db.execute("SELECT plugin, bytes FROM store_sizes WHERE bytes > 0 ORDER BY plugin").fetchall()


def test_an_older_moonhooks_stores_are_measured_at_the_upgrade_and_kept_so_by_every_write(tmp_path, monkeypatch):
    path = tmp_path / "moonhook.db"
    with moonhook_of(monkeypatch, MIGRATIONS[:21]):   # before the totals: written as that version wrote
        older = Database(path)
        with older.transaction() as db:
            db.conn.executemany("INSERT OR REPLACE INTO store (plugin, key, value, updated_at) VALUES (?, ?, ?, 0)",
                           [("a", "k1", '["s",["' + "x" * 500 + '"]]'), ("a", "k2", '["n",[1]]'),
                            ("b", "k", '["s",["é"]]')])
        older.close()
    database = Database(path)
    try:
        assert _sizes(database) == database.db.execute(SUMMED).fetchall() == [("a", 519), ("b", 12)]
        store = PluginStore(database)
        store.set("a", "k1", "short")     # an update
        store.delete("a", "k2")           # a delete
        store.set("c", "k", {"t": [1, 2]})   # a first key
        store.set("b", "k", None)         # a delete by set
        assert _sizes(database) == database.db.execute(SUMMED).fetchall()
        assert [p for p, _ in _sizes(database)] == ["a", "c"]
    finally:
        database.close()
