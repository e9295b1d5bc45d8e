"""The scripts' meta cache (storage/metacache.py): bounded in the file and in memory alike."""

from __future__ import annotations

from engine.adapters.storage import Database, MetaCache, metacache


def test_the_meta_cache_forgets_the_oldest_scripts_in_the_file_and_in_memory_and_seldom_sorts(tmp_path,
                                                                                              monkeypatch):
    # Each save of a script is a new digest: an editor saving as the trader types makes thousands.
    # The run's memory kept every one, and every save sorted the whole table to prune it (on the
    # event loop: 10 ms a save at 4,000 digests, and more with each).
    monkeypatch.setattr(metacache, "MAX_ENTRIES", 10)
    monkeypatch.setattr(metacache, "KEEP", 6)
    database = Database(tmp_path / "moonhook.db")
    cache = MetaCache(database)
    statements: list[str] = []
    database.db.conn.set_trace_callback(statements.append)
    for n in range(40):
        cache.put(f"digest{n}", {"name": f"version {n}"})
    database.db.conn.set_trace_callback(None)
    kept = {row[0] for row in database.db.execute("SELECT digest FROM plugin_meta")}
    again = MetaCache(database)   # as after a restart
    database.close()
    assert 6 <= len(kept) <= 10 and "digest39" in kept and "digest0" not in kept
    assert cache.get("digest39") == again.get("digest39") == {"name": "version 39"}
    assert [n for n in range(40) if cache.get(f"digest{n}") is not None] == [
        n for n in range(40) if f"digest{n}" in kept]   # memory holds what the file does, no more
    assert len([s for s in statements if s.startswith("DELETE")]) <= 40 // (10 - 6)   # not one a save
