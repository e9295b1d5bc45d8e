"""Alerts left from another account are not traded at this one.

A trader who tests on paper, then sets ``engine.broker = "mt5"`` (or moves ``[mt5] login`` from a
demo account to the live one) starts again on the same journal. An alert the last run left
unfinished (a stop cut it short) or held while paused was sent for the account traded then: run
again at this start, or by a resume with the missed alerts, it would trade at the new account,
where nothing of it was meant to go, and its order was perhaps already made at the old one
(its client id unknown to the new broker, so sent again). The journal keeps the account it last
traded on (``account_of``, a kept switch); started on another, each such alert is settled
``skipped``, with what an earlier run of it sent, and told; nothing runs for it.
"""

from __future__ import annotations

import logging
from typing import Any

from engine.adapters.storage.switches import Switch, Switches
from engine.core import expiry
from engine.domain.alerts import Alert
from engine.domain.config import EngineConfig

log = logging.getLogger("moonhook.engine")

ACCOUNT = "account"  # the kept switch's target; its state: ``account_of`` the last run's configuration


def account_of(config: EngineConfig) -> str:
    """The account ``config`` trades on, as far as its settings say: "paper", or "mt5" with the
    ``[mt5]`` login and server when given (the terminal's own login is its account otherwise)."""
    if config.broker != "mt5":
        return config.broker
    login, server = config.mt5.login, config.mt5.server
    return "mt5" + (f" {login}" if login is not None else "") + (f"@{server}" if server else "")


async def settle_left(engine: Any, switches: Switches) -> int:
    """At a start, before ``Engine.recover``: the alerts another account's run left unfinished or
    held, settled ``skipped`` (``engine``: its journal, writer, desk, notifier and events); then
    this account kept as the journal's. Returns how many were settled."""
    now, kept = account_of(engine.config), switches.get(ACCOUNT)
    before = kept.state if kept is not None else None
    rows = []
    if before is not None and before != now:
        rows = engine.journal.unfinished() + engine.journal.with_status("paused")
        for row in rows:
            await _skip(engine, row, before, now)
        if rows:
            told = (f"{len(rows)} alerts left by the last run on {before} were not executed on {now}: "
                    + ", ".join(str(r["id"]) for r in rows[:20]) + (" ..." if len(rows) > 20 else ""))
            log.warning("%s", told)
            engine.notifier.send("admin", told, key="account")
    if before != now:
        switches.set(Switch(ACCOUNT, now, "start", engine.clock()))
    return len(rows)


async def _skip(engine: Any, row: dict[str, Any], before: str, now: str) -> None:
    alert = Alert.from_plain(row["alert"])
    said = {"reason": f"not executed: journaled while moonhook traded on {before}, and this start trades on {now}"}
    outcome = expiry.after(said, None, await engine.desk.sent_before(row["id"]))
    await engine.writer.set_status(row["id"], "skipped", outcome)
    engine.events.publish("alert.finished", id=row["id"], symbol=alert.symbol, status="skipped",
                          command=alert.action.value if alert.action else None, reason=outcome["reason"],
                          plugins=[], latency_ms=round((engine.clock() - row["received_at"]) * 1000, 3))
