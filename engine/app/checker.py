"""``moonhook check``: a script tried the way the engine would load it, before it goes live.

It takes files and folders (each folder's scripts, as the engine picks them); with neither,
the configured scripts folder. Each file is loaded in a throwaway engine (the paper broker, a
temporary journal): compiled, its ``plugin`` table validated, its ``on_load`` run; then
``on_alert`` is called once with a sample alert. Every finding names the file, as typed or
relative to the current folder (two folders' ``demo.lua`` read apart), and, when there is one,
the line; ``summary`` counts them by folder.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from dataclasses import replace
from pathlib import Path

from engine.domain.alerts import parse_body
from engine.domain.config import EngineConfig, ServerConfig, Settings, ShadowConfig
from engine.domain.config.hosts import unlisted_note
from engine.app import open_engine
from engine.app.denied_reads import denied_reads
from engine.app.settings_pairs import defeated
from engine.core.answers import CHANGE, INVALID, PASS, REJECT, alert_answer
from engine.core.script_files import scripts_in
from engine.core.plugins import HOOKS, Finding, PluginError, bare_message
from engine.core.run import Run
from engine.domain.orders import OrderRequest
from engine.core.strays import strays
from engine.domain.words import counted

SAMPLE_PRICES = {"EURUSD": 1.1, "GBPUSD": 1.27, "USDJPY": 150.0, "XAUUSD": 2000.0}


async def check_files(paths: list[Path], config: EngineConfig = EngineConfig(),
                      settings_name: str = "moonhook.toml") -> list[Finding]:
    """Findings for each script in ``paths`` (files, or folders of scripts; none: the
    configured scripts folder), in order; the user's config gives params and budgets, nothing
    else of theirs is touched. A folder without a script is a warning, and so is a
    ``[plugins.NAME]`` table of ``settings_name`` that reaches no plugin (``strays.py``): a
    params key a checked script does not declare, and, checking the configured folder, a name
    none of its scripts has."""
    findings: list[Finding] = []
    files: list[Path] = []
    for path in paths or [config.scripts]:
        if not path.is_dir():
            files.append(path)
        elif found := scripts_in(path):
            files.extend(path / f.name for f in found)   # as the folder was typed
        else:
            findings.append(Finding(shown(path), None, "warning", "no scripts (*.lua) in this folder"))
    if not files:
        return findings
    with tempfile.TemporaryDirectory(prefix="moonhook-check-") as tmp:
        empty = Path(tmp) / "scripts"
        empty.mkdir()
        # No shadow: it would make its folder, which `moonhook run` refuses to start without.
        trial = replace(config, scripts=empty, data=Path(tmp) / "data", broker="paper", shadow=ShadowConfig())
        named: dict[tuple[Path, str], list[str]] = {}   # (folder, plugin name) -> the files naming it
        # plugin name -> the params its scripts declare: of each folder's (the live and the shadow's
        # versions), as moonhook run reads them (settings_saves.strays), whatever order they are checked in
        declared: dict[str, set[str]] = {}
        async with open_engine(trial, stop_timeout=2.0) as engine:
            for path in files:
                findings.extend(await _check_one(engine, path, named, declared))
    failing = {Path(f.file).stem for f in findings if f.level == "error"}
    tables = config.plugins if not paths else {n: t for n, t in config.plugins.items() if n in declared}
    said = [Finding(settings_name, None, "warning", s) for s in strays(tables, declared, failing)]
    return findings + _clashes(named) + said


def server_findings(server: ServerConfig, settings_name: str = "moonhook.toml") -> list[Finding]:
    """What ``moonhook run``'s banner says of ``[server]`` too: the names the dashboard refuses."""
    note = unlisted_note(server.host, server.hosts, server.trusted_proxies)
    return [Finding(settings_name, None, "warning", note)] if note is not None else []


def settings_findings(settings: Settings, settings_name: str = "moonhook.toml") -> list[Finding]:
    """``server_findings``, and a warning for each pair of settings that defeat one another
    (``settings_pairs.py``)."""
    return [*server_findings(settings.server, settings_name),
            *(Finding(settings_name, None, "warning", said) for said in defeated(settings))]


def shown(path: Path) -> str:
    """``path`` as a finding names it: relative to the current folder when it is inside it (the
    configured scripts folder is absolute), else as given."""
    if path.is_absolute():
        try:
            return str(path.relative_to(Path.cwd()))
        except ValueError:
            pass
    return str(path)


def summary(findings: list[Finding]) -> list[str]:
    """A line for each folder whose scripts were checked: how many, and their errors and warnings
    (``checked scripts-next/: 2 scripts: 1 error, 1 warning``; ``...: ok`` with neither, so that
    "error" is written only of one). Findings of other files (the settings, a path that is no
    script) are in no folder's count."""
    scripts: dict[str, set[str]] = {}
    levels: Counter[tuple[str, str]] = Counter()
    for f in findings:
        if f.file.endswith(".lua"):
            folder = os.path.dirname(f.file) or "."
            scripts.setdefault(folder, set()).add(f.file)
            levels[folder, f.level] += 1
    return [f"checked {folder}/: {counted(len(names), 'script')}: "
            + (", ".join(counted(n, level) for level in ("error", "warning") if (n := levels[folder, level])) or "ok")
            for folder, names in scripts.items()]


def _clashes(named: dict[tuple[Path, str], list[str]]) -> list[Finding]:
    """A plugin name two files of one folder give: each loads alone here, but ``moonhook run``
    serves the name from one file only (the one that served it last; if not known, from none).
    Two folders are two runs' (the live scripts and the shadow's, say): no clash between them."""
    return [Finding(file, None, "error", f"plugin {name!r} is also named by "
                                         f"{', '.join(Path(f).name for f in files if f != file)}: moonhook run serves "
                                         "it from one file at most; give each its own plugin.name")
            for (_, name), files in sorted(named.items()) if len(files) > 1 for file in files]


async def _check_one(engine, path: Path, named: dict[tuple[Path, str], list[str]],
                     declared: dict[str, set[str]]) -> list[Finding]:
    """The findings of the script at ``path``, each naming it as ``shown`` does."""
    file = shown(path)
    return [replace(f, file=file) if f.file == path.name else f
            for f in await _try_one(engine, path, file, named, declared)]


async def _try_one(engine, path: Path, file: str, named: dict[tuple[Path, str], list[str]],
                   declared: dict[str, set[str]]) -> list[Finding]:
    if not path.is_file():
        return [Finding(file, None, "error", f"no such file or folder: {path}")]
    if path.suffix != ".lua":
        return [Finding(file, None, "error", "not a .lua file")]
    try:
        plugin = await engine.load(path)
    except PluginError as e:
        return [e.finding()]
    named.setdefault((path.parent.resolve(), plugin.name), []).append(file)
    declared.setdefault(plugin.name, set()).update(plugin.meta.params)
    out: list[Finding] = []
    try:
        functions = engine.pool.functions(plugin.pool_id)
        for name in functions:
            if name.startswith("on_") and name not in HOOKS:
                out.append(Finding(file, None, "warning",
                                   f"{name} is not a hook and is never called (hooks: {', '.join(HOOKS)})"))
        if not plugin.hooks:
            out.append(Finding(file, None, "warning", "defines no hook: it will never run"))
        out.extend(Finding(file, None, "warning", said) for said in _timer_unset(plugin))
        out.extend(Finding(file, line, "warning", f"{name} is not available in the sandbox: a call reaching it "
                                                  "fails (forbidden), uncaught")
                   for line, name in denied_reads(path.read_text(encoding="utf-8", errors="replace")))
        if plugin.budget_note:
            out.append(Finding(file, None, "warning", plugin.budget_note))
        if "on_alert" in plugin.hooks:
            out.append(await _dry_alert(engine, plugin))
        out.append(Finding(file, None, "ok", f"plugin {plugin.name!r}: hooks "
                                             f"{', '.join(sorted(plugin.hooks)) or 'none'}; "
                                             f"symbols {', '.join(sorted(plugin.meta.symbols or [])) or '*'}"))
    finally:
        await engine.unload(plugin.name)
    return out


def _timer_unset(plugin) -> list[str]:
    """``on_timer`` runs every ``plugin.every`` only: one without the other never runs (a trailing
    stop that never moved, with nothing said)."""
    if "on_timer" in plugin.hooks and not plugin.meta.every:
        return ['on_timer is never called: plugin.every is not set (every = "30s" calls it every 30 s)']
    if plugin.meta.every and "on_timer" not in plugin.hooks:
        return ["plugin.every is set but no on_timer is defined: nothing runs on it"]
    return []


async def _dry_alert(engine, plugin) -> Finding:
    symbol = sorted(plugin.meta.symbols)[0] if plugin.meta.symbols else "EURUSD"
    price = SAMPLE_PRICES.get(symbol, 100.0)
    info = await engine.broker.symbol(symbol)   # the symbol's least volume: 0.01 is below an index's 0.1
    volume = max(0.01, info["volume_min"]) if info else 0.01
    body = f"buy {symbol} volume={volume:g} price={price} sl={price * 0.99:.5g} tp={price * 1.02:.5g}"
    alert = parse_body(body, engine.symbols)
    await engine.broker.quote(alert.symbol, price, engine.clock())
    plain = {**alert.to_plain(), "alert_id": 0}
    # As an alert's: the orders it places go to this throwaway engine's paper broker, and are said;
    # then closed and removed, so that the next script is tried on an empty book as this one was.
    with engine.working(Run(None, "check")) as run:
        result = await engine.hooks.call(plugin, "on_alert", plain)
    for held in [*await engine.broker.positions(), *await engine.broker.orders()]:
        await engine.broker.execute(OrderRequest("close", f"check-{held['ticket']}", symbol=held["symbol"],
                                                 ticket=held["ticket"], type=held.get("type")))
    file = plugin.path.name
    if result.error is not None:
        e = result.error
        return Finding(e.file or file, e.line, "error", f"on_alert failed on a sample alert ({body}): {e.kind} error: "
                                                        f"{bare_message(e)}")
    answer = alert_answer(result.values, plain)  # read as the engine reads it
    if answer.kind == INVALID:
        return Finding(file, None, "error", f"on_alert on a sample alert ({body}): {answer.problem}")
    said = {PASS: "passes it", REJECT: f"rejects it: {answer.reason}", CHANGE: f"changes it: {answer.changes}"}
    if answer.handled:
        return Finding(file, None, "ok", f"on_alert on a sample alert ({body}) places its own orders (handled): "
                                         f"{_orders_said(run.orders) or 'none'}")
    placed = f"; its orders: {_orders_said(run.orders)}" if run.orders else ""
    return Finding(file, None, "ok", f"on_alert on a sample alert ({body}) {said[answer.kind]}{placed}")


def _orders_said(orders: list[dict]) -> str:
    """The orders a script placed on the sample alert, and what the paper broker answered each:
    ``market buy 0.02 EURUSD: ok; pending sell 0.01 EURUSD at 1.2: refused (...)``."""
    def one(o: dict) -> str:
        what = " ".join(str(o[k]) for k in ("kind", "side", "volume", "symbol") if o.get(k) is not None)
        at = f" at {o['price']:g}" if o.get("kind") == "pending" and o.get("price") is not None else ""
        return f"{what}{at}: " + ("ok" if o.get("ok") else f"refused ({o.get('error')})")
    return "; ".join(map(one, orders))
