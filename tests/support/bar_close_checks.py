"""What must hold after a bar's close, whatever its timing (tests/e2e/test_walk_bar_close.py), read
from the SQLite files themselves: the journal, the order ledger, the paper books, the shadow's
books and the Telegram deliveries. Each check returns the violations it found, as lines."""

from __future__ import annotations

import json
import re
import sqlite3
from collections import defaultdict
from pathlib import Path
from typing import Any

from support.botapi import html_plain
from support.telegram_support import notices

FINAL = {"done", "rejected", "duplicate", "failed", "expired", "skipped"}
ENTRY_TYPES = ("market", "limit", "stop")
RESENT = "(sent again: an earlier try may have arrived)"
AGAIN = "(told at this start: "
EXPLAINED_ERRORS = ()  # log lines at ERROR that the walk provokes on purpose (none)
Limits = tuple[int, int]  # max_open_positions, max_entries_per_hour


class Books:
    """The engine's data folder, read-only."""

    def __init__(self, data: Path):
        self.live = sqlite3.connect(f"file:{data / 'moonhook.db'}?mode=ro", uri=True)
        self.shadow_path = data / "moonhook-shadow.db"

    def rows(self, sql: str, *args: Any, shadow: bool = False) -> list[tuple]:
        if not shadow:
            return self.live.execute(sql, args).fetchall()
        with sqlite3.connect(f"file:{self.shadow_path}?mode=ro", uri=True) as db:
            return db.execute(sql, args).fetchall()

    def undelivered(self) -> int:
        """Telegram messages not yet accepted (nor given up), and outbox messages not yet routed."""
        (waiting,) = self.rows("SELECT COUNT(*) FROM telegram_deliveries "
                               "WHERE sent_at IS NULL AND failed_at IS NULL")[0]
        (unrouted,) = self.rows("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL")[0]
        return waiting + unrouted


def answered(books: Books, answers: dict[int, tuple[int, Any]], alerts: list) -> list[str]:
    """Every alert answered 200 is journaled with a final status; no answer is a 5xx."""
    statuses = dict(books.rows("SELECT id, status FROM alerts"))
    wrong = []
    for n, (status, answer) in sorted(answers.items()):
        unsigned = isinstance(alerts[n], str) and "SECRET" not in alerts[n]  # bad JSON: no secret read
        if status not in (0, 200, 400) and not (status == 401 and unsigned):
            wrong.append(f"alert #{n} answered {status}: {answer}")
        if status == 200 and (journaled := _journaled(books, statuses, answer, alerts[n])) not in FINAL:
            wrong.append(f"alert #{n} answered {answer}, journaled {journaled}")
        if status == 400 and isinstance(alerts[n], dict):
            wrong.append(f"a well-formed alert #{n} refused: {answer}")
    return wrong


def _journaled(books: Books, statuses: dict[int, str], answer: dict, alert: Any) -> str | None:
    """The status of the alert an answer names; by the alert's own id when the kill cut the
    answer after its head (200 sent, its body not)."""
    if "id" in answer:
        return statuses.get(answer["id"])
    rows = books.rows("SELECT status FROM alerts WHERE source_id = ? ORDER BY id LIMIT 1", alert["id"])
    return rows[0][0] if rows else None


def client_ids(books: Books) -> list[str]:
    """No client id reached the paper broker twice."""
    twice = books.rows("SELECT client_id, COUNT(*) FROM paper_orders WHERE client_id IS NOT NULL "
                       "GROUP BY client_id HAVING COUNT(*) > 1")
    return [f"client id {c} sent {n} times" for c, n in twice]


def in_order(books: Books) -> list[str]:
    """Per symbol, the default execution's orders reached the broker in the order their alerts came."""
    rows = books.rows("SELECT o.symbol, o.alert_id, o.ticket, o.client_id FROM paper_orders o "
                      "JOIN orders l ON l.client_id = o.client_id WHERE l.plugin = 'engine' ORDER BY o.ticket")
    last: dict[str, tuple[int, str]] = {}
    wrong = []
    for symbol, alert_id, ticket, client_id in rows:
        if symbol in last and alert_id < last[symbol][0]:
            wrong.append(f"{symbol}: {client_id} (ticket {ticket}) went after {last[symbol][1]}")
        if symbol not in last or alert_id >= last[symbol][0]:
            last[symbol] = (alert_id, client_id)
    return wrong


def _held_at(books: Books, shadow: bool) -> list[tuple[float, int]]:
    """(time, +1/-1) for each position opened and closed whole, and each pending order placed and ended."""
    events: list[tuple[float, int]] = []
    opened = dict(books.rows("SELECT position, MIN(time) FROM paper_deals WHERE entry = 'in' GROUP BY position",
                             shadow=shadow))
    volume = dict(books.rows("SELECT position, SUM(volume) FROM paper_deals WHERE entry = 'in' GROUP BY position",
                             shadow=shadow))
    for position, at in opened.items():
        events.append((at, 1))
        out = 0.0
        for vol, t in books.rows("SELECT volume, time FROM paper_deals WHERE position = ? AND entry = 'out' "
                                 "ORDER BY deal", position, shadow=shadow):
            out += vol
            if out >= volume[position] - 1e-9:
                events.append((t, -1))
                break
    for created, done in books.rows("SELECT created_at, done_at FROM paper_orders WHERE type IN ('limit', 'stop')",
                                    shadow=shadow):
        events.append((created, 1))
        if done is not None:
            events.append((done, -1))
    return sorted(events, key=lambda e: (e[0], e[1]))


def limits(books: Books, tightened_at: float, before: Limits, after: Limits, shadow: bool = False) -> list[str]:
    """Replayed in time order, no entry went past max_open_positions and max_entries_per_hour
    (``before``, then ``after`` from ``tightened_at``: the entries before the save count), nor
    max_spread_pips (GBPJPY's spread is always over it). The walk lasts less than an hour."""
    wrong = []
    entries = books.rows("SELECT created_at, ticket, symbol, type FROM paper_orders WHERE type IN "
                         "('market', 'limit', 'stop') ORDER BY created_at", shadow=shadow)
    events = _held_at(books, shadow)
    for k, (at, ticket, symbol, type_) in enumerate(entries, 1):
        held = sum(d for t, d in events if t <= at)
        positions, per_hour = after if at >= tightened_at else before
        if held > positions:
            wrong.append(f"entry {ticket} ({symbol}) made {held} positions and orders open, at most {positions}")
        if k > per_hour:
            wrong.append(f"entry {ticket} ({symbol}) is the {k}th of the hour, at most {per_hour}")
        if symbol == "GBPJPY" and type_ == "market":
            wrong.append(f"entry {ticket} on GBPJPY at a spread over max_spread_pips")
    return wrong


def stops(books: Books) -> list[str]:
    """Every open position whose entry asked for a stop has one."""
    wrong = []
    rows = books.rows("SELECT p.ticket, p.symbol, p.sl, l.request, l.client_id FROM paper_positions p "
                      "JOIN paper_deals d ON d.position = p.ticket AND d.entry = 'in' "
                      "JOIN orders l ON l.client_id = d.client_id")
    for ticket, symbol, sl, request, client_id in rows:
        if json.loads(request).get("sl") and not sl:
            wrong.append(f"position {ticket} ({symbol}, {client_id}) asked for a stop and has none")
    return wrong


def shadow(books: Books) -> list[str]:
    """The shadow's own plugin traded on the shadow's books, and never on the live ones."""
    live = books.rows("SELECT COUNT(*) FROM paper_orders WHERE plugin = 'shadowonly' OR comment = 'shadowonly'")[0][0]
    ledger = books.rows("SELECT COUNT(*) FROM orders WHERE plugin = 'shadowonly'")[0][0]
    own = books.rows("SELECT COUNT(*) FROM paper_orders WHERE plugin = 'shadowonly'", shadow=True)[0][0]
    return ([f"{live} live paper orders and {ledger} ledger rows are the shadow's"] if live or ledger else []) + (
        [] if own else ["the shadow's plugin placed nothing on the shadow's books"])


def told(books: Books) -> list[str]:
    """Every position opened, and every one closed whole, is told in the trades chat's outbox once,
    and any more time only as told again at a start (a crash came while it was being told)."""
    wrong = []
    for deal, symbol, side, volume in books.rows("SELECT deal, symbol, side, volume FROM paper_deals "
                                                 "WHERE entry = 'in' AND reason = 'market'"):
        opened = books.rows("SELECT COUNT(*) FROM paper_deals WHERE entry = 'in' AND side = ? AND volume = ? "
                            "AND symbol = ? AND reason = 'market'", side, volume, symbol)[0][0]
        first, total = _said(books, f"opened {side} {volume:g} {symbol} @ % (market, %")
        if not first <= opened <= total:
            wrong.append(f"{opened} {side} {volume:g} {symbol} opened, told {first} times, {total} with again")
    for position in [p for p, out in _closed(books).items() if out]:
        first, total = _said(books, f"position {position} % closed by %", but="% left open: %")  # a part's
        if not first <= 1 <= total:
            wrong.append(f"position {position} closed, told {first} times, {total} with again")
    return sorted(set(wrong))


def _said(books: Books, like: str, but: str = "") -> tuple[int, int]:
    """How many trades messages match ``like`` (and not ``but``) without the note of an event told
    again, and in all."""
    sql = "SELECT text FROM outbox WHERE kind = 'trades' AND text LIKE ?" + (" AND text NOT LIKE ?" if but else "")
    texts = [t for (t,) in books.rows(sql, like, *([but] if but else []))]
    return sum(AGAIN not in t for t in texts), len(texts)


def _closed(books: Books) -> dict[int, bool]:
    """Whether each position is closed whole."""
    rows = books.rows("SELECT position, SUM(CASE entry WHEN 'in' THEN volume ELSE -volume END) FROM paper_deals "
                      "GROUP BY position")
    return {position: left < 1e-9 for position, left in rows}


def telegram(books: Books, messages: list[str]) -> list[str]:
    """Each delivery reached the chat once, and any more time only with the "sent again" note."""
    first, again = defaultdict(int), defaultdict(int)
    for part in notices(html_plain(message) for message in messages):
        resent = part.startswith(RESENT)
        part = re.sub(r"^\(at [0-9:]+ UTC\) ", "", part.removeprefix(RESENT).removeprefix("\n"))
        (again if resent else first)[part] += 1
    wanted = defaultdict(int)
    for (text,) in books.rows("SELECT text FROM telegram_deliveries WHERE failed_at IS NULL"):
        wanted[text] += 1
    wrong = []
    for text, count in wanted.items():
        total = first[text] + again[text]
        if first[text] > count or total < count:
            wrong.append(f"{text[:80]!r}: {count} deliveries, shown {total} times, {again[text]} said sent again")
    return wrong


def errors(logs: list[str]) -> list[str]:
    """Log lines at ERROR (and tracebacks) the walk does not explain."""
    return [line for text in logs for line in text.splitlines()
            if (" ERROR " in line or "Traceback" in line) and not any(e in line for e in EXPLAINED_ERRORS)]


def check_all(books: Books, answers: dict, alerts: list, logs: list[str], messages: list[str],
              tightened_at: float, before: Limits, after: Limits) -> None:
    """Every check; fails naming each violation found."""
    found = {"answered": answered(books, answers, alerts), "client ids": client_ids(books),
             "order": in_order(books), "limits": limits(books, tightened_at, before, after),
             "shadow's limits": limits(books, tightened_at, before, after, shadow=True),
             "stops": stops(books), "told": told(books), "shadow": shadow(books),
             "telegram": telegram(books, messages), "errors": errors(logs)}
    wrong = {k: v for k, v in found.items() if v}
    assert not wrong, json.dumps(wrong, indent=1)
