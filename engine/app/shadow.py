"""The shadow's views (``engine/core/shadow.py``): what ``/api/shadow``, the ``shadow`` of
``/api/alerts/<id>`` and the line of ``moonhook status`` show, written once for Operations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import trio

from engine.app import alert_detail as _detail
from engine.domain.words import counted

MISSING = "folder missing: its scripts are unloaded until it is back"

if TYPE_CHECKING:  # the CLI's status line reads this module without loading the engine
    from engine.core.shadow import Shadow


async def view(shadow: Shadow | None, limit: int, before: int | None = None) -> dict[str, Any]:
    """{scripts, missing, plugins, account, alerts, differ, latest_differing, behind, held,
    differences}: the folder (None when shadow mode is off, and the rest empty), whether it is
    gone, its plugins (name, file, state, loaded, version, calls, errors, error), its paper
    account (``_account``), the alerts it ran and how many differ, how many live alerts it has
    still to look at, how many journaled while paused it holds for a resume, and ``limit``
    alerts that differ (id, time, symbol, differences), newest first, of an id below ``before``
    when given (a later page of them)."""
    if shadow is None:
        return {"scripts": None, "missing": False, "plugins": [], "account": None, "alerts": 0, "differ": 0,
                "latest_differing": None, "behind": 0, "held": 0, "differences": []}
    plugins = shadow.plugin_rows()  # on the loop: the plugin set changes there
    behind = shadow.behind

    def stored() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        return shadow.records.counts(), shadow.records.differing(limit, before)
    counts, differing = await trio.to_thread.run_sync(stored)
    # after the counts: an alert the shadow records meanwhile has its orders in the account already,
    # so every alert counted has its orders in it (read before, one counted could have none)
    account = await _account(shadow)
    return {"scripts": str(shadow.folder), "missing": shadow.missing, "plugins": plugins, "account": account,
            **counts, "behind": behind, "differences": differing}


async def _account(shadow: Shadow) -> dict[str, Any]:
    """The shadow's paper account, kept across restarts in its own file: {balance, equity,
    currency, positions, pending}, the last two how many it holds open."""
    broker = shadow.broker
    money = await broker.account()
    return {"balance": money.get("balance"), "equity": money.get("equity"), "currency": money.get("currency"),
            "positions": len(await broker.positions()), "pending": len(await broker.orders())}


def load_errors(shadow: Shadow | None) -> dict[str, str]:
    """File -> why no version of it serves, of the shadow's scripts ({} when shadow mode is off):
    ``/health``'s ``shadow_load_errors``, apart from the live ``load_errors``."""
    if shadow is None or shadow.lifecycle is None:
        return {}
    return dict(shadow.lifecycle.errors)


async def record(shadow: Shadow | None, alert_id: int) -> dict[str, Any] | None:
    """{status, outcome, differs, differences} of the shadow's run of the alert, and ``words``: the
    versions of its scripts that decided it, as the live decision's (alert_detail.py); None when
    shadow mode is off or it has not run the alert (yet)."""
    if shadow is None:
        return None
    found = await trio.to_thread.run_sync(shadow.records.get, alert_id)
    if found is not None:
        found["words"] = {"versions": _detail.versions(found["outcome"] or {})}
    return found


def line(view: dict[str, Any]) -> str | None:
    """One line for ``moonhook status``, from ``view``'s JSON: ``shadow: scripts-next, 3
    plugins, 120 alerts, 4 differ (latest #118)``, with the plugins its
    breaker switched off (every later difference of theirs is theirs) and the files not loaded
    (``3 plugins loaded (1 switched off), 1 not loaded: broken.lua``); None when shadow mode is off."""
    if not view.get("scripts"):
        return None
    plugins = view.get("plugins") or []
    loaded = sum(1 for p in plugins if p.get("loaded"))
    failed = len(plugins) - loaded
    off = sum(1 for p in plugins if p.get("loaded") and p.get("state") == "disabled")   # by its breaker
    name = view["scripts"].replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    text = f"shadow: {name}" + (f" ({MISSING})" if view.get("missing") else "") + f", {counted(loaded, 'plugin')}"
    if failed:   # "3 plugins (1 not loaded)" read as 1 of the 3
        text += " loaded"
    if off:
        text += f" ({off} switched off)"
    if failed:
        files = ", ".join(str(p.get("file")) for p in plugins if not p.get("loaded"))
        text += f", {failed} not loaded: {files}"
    differ = view.get("differ", 0)
    text += f", {counted(view.get('alerts', 0), 'alert')}, {differ:,} {'differs' if differ == 1 else 'differ'}"
    if view.get("latest_differing") is not None:
        text += f" (latest #{view['latest_differing']})"
    if view.get("behind"):
        text += f", {view['behind']} to catch up"
    if view.get("held"):
        text += f", {view['held']} held while paused"
    return text


def not_loaded(view: dict[str, Any]) -> list[str]:
    """``shadow: not loaded: <why>`` for each shadow file that does not load, from ``view``'s
    JSON: printed by ``moonhook status`` after the line, as a live one's ``not loaded: <why>``."""
    return [f"shadow: not loaded: {p.get('error')}" for p in view.get("plugins") or () if not p.get("loaded")]
