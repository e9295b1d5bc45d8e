"""The last stop-out kept in the journal (engine/adapters/storage/stopouts.py, schema 19): a
journal from before it opens with none, and one told again after a crash is one row."""

from engine.adapters.storage import MIGRATIONS, Database
from engine.adapters.storage.stopouts import StopOutLog

from support.older_journal import moonhook_of


def _summary(time: float, tickets: list[int]) -> dict:
    return {"time": time, "tickets": tickets, "net": -100.0, "currency": "USD", "margin_level": 45.0,
            "equity": 450.0, "margin": 1000.0}


def test_a_journal_from_before_it_opens_with_no_stop_out_and_keeps_the_latest(tmp_path, monkeypatch):
    with moonhook_of(monkeypatch, MIGRATIONS[:18]):
        Database(tmp_path / "j.db").close()
    db = Database(tmp_path / "j.db")
    log = StopOutLog(db)
    assert db.schema_version == len(MIGRATIONS) and log.last() is None
    for key, summary in (("stop-out:7:2", _summary(2.0, [7])), ("stop-out:5:1", _summary(1.0, [5])),
                         ("stop-out:7:2", _summary(2.0, [7]))):   # the first told again after a crash
        with db.transaction() as t:
            StopOutLog.insert(t, key, summary)
    assert log.last() == _summary(2.0, [7])
    assert db.db.execute("SELECT count(*) FROM stop_outs").fetchone() == (2,)
    db.close()
