"""The LuaLS definitions `moonhook init` writes: every service the sandbox hands a script, no
more, each hook, the `plugin` table's fields and the order tables' fields, generated from the
engine's own tables; and a .luarc.json that switches off what the allow-list leaves out."""

import json
import re
import time
from pathlib import Path

import lupa
import pytest

from sandbox import Budget
from sandbox.allowlist import DENIED, LIBRARIES

from engine.app import luals
from engine.core import services
from engine.core.plugins import _BUDGET_KEYS, _META_KEYS, HOOKS, Plugin, PluginMeta
from engine.core.services import _ORDER_FIELDS, SERVICE_API, Host, host_functions
from engine.adapters.brokers.paper import PaperBroker
from engine.adapters.storage.database import Database
from engine.domain.alerts import SymbolMap
from engine.domain.config.paper import PaperConfig
from engine.domain.orders import OrderRequest


def _handed_to_the_sandbox() -> set[str]:
    """The host functions the loader hands the sandbox for one plugin (services.host_functions)."""
    host = Host(market=None, desk=None, symbols=SymbolMap(), store=None, trend=None, durable=None,
                notifier=None, clock=time.time)
    plugin = Plugin(pool_id="p#1", path=Path("p.lua"), meta=PluginMeta("p", None), hooks=frozenset(),
                    budget=Budget())
    return set(host_functions(host, plugin))


def _declared_functions(text: str) -> list[str]:
    return re.findall(r"^function ([\w.]+)\(", text, flags=re.M)


def _fields(text: str, cls: str) -> set[str]:
    block = re.search(rf"^---@class moonhook\.{cls}\n((?:---@field .*\n)*)", text, flags=re.M)
    assert block, f"no class moonhook.{cls}"
    return set(re.findall(r"^---@field (\w+)\??", block.group(1), flags=re.M))


def test_the_definitions_declare_exactly_the_services_the_sandbox_is_handed():
    declared = {n for n in _declared_functions(luals.render_definitions()) if "." in n and not n.startswith("os.")}
    handed = _handed_to_the_sandbox()
    assert declared == handed == set(luals.service_names()) == set(luals.SERVICES)
    assert len(handed) == 23


def test_a_service_added_to_the_api_alone_fails_the_generation(monkeypatch):
    # A new service in SERVICE_API with no words in luals.SERVICES cannot be written silently.
    monkeypatch.setitem(SERVICE_API, "time", ("now", "sleep"))
    with pytest.raises(KeyError, match="time.sleep"):
        luals.render_definitions()
    assert services.SERVICE_API["time"] == ("now", "sleep")  # the table the sandbox's names come from


def test_each_hook_plugin_field_and_order_field_is_declared():
    text = luals.render_definitions()
    hooks = [n for n in _declared_functions(text) if "." not in n]
    assert hooks == list(HOOKS) and set(luals.HOOK_DOCS) == set(HOOKS)
    assert _fields(text, "Plugin") == _META_KEYS == set(luals.PLUGIN_FIELDS)
    assert _fields(text, "Budget") == _BUDGET_KEYS == set(luals.BUDGET_FIELDS)
    for kind, allowed in _ORDER_FIELDS.items():
        assert _fields(text, f"{kind.capitalize()}Order") == allowed
    assert {"symbol", "price", "sl", "alert_id", "side"} <= _fields(text, "Alert")
    assert "---@type moonhook.Plugin\nplugin = {}" in text and "\nparams = {}" in text
    assert text.startswith("---@meta moonhook\n")
    # One hook's argument, written fully: on_alert(alert) with its answer.
    assert ("---@param alert moonhook.Alert\n---@return moonhook.AlertAnswer\n---@return string?\n"
            "function on_alert(alert) end") in text


def test_the_definitions_are_lua_that_compiles():
    lua = lupa.LuaRuntime()
    compile_ = lua.eval("function(s) local f, e = load(s, '=moonhook.lua'); return f ~= nil, e end")
    ok, error = compile_(luals.render_definitions())
    assert ok, error


def test_luarc_switches_off_what_the_allow_list_leaves_out():
    rc = json.loads(luals.render_luarc())
    assert rc["runtime.version"] == "Lua 5.4" and rc["workspace.library"] == [luals.TYPES_DIR]
    off = set(rc["runtime.builtin"])
    assert {"io", "debug", "package"} <= off and {"io", "debug", "package"} <= set(DENIED)
    assert not off & (set(LIBRARIES) - set(luals.REDECLARED))  # string, table, math ... stay
    # os is switched off and declared again with exactly the fields a script has.
    assert "os" in off and set(luals.REDECLARED["os"]) == set(LIBRARIES["os"])
    text = luals.render_definitions()
    assert {n for n in _declared_functions(text) if n.startswith("os.")} == {f"os.{f}" for f in LIBRARIES["os"]}


def test_a_field_annotation_the_generator_does_not_know_is_an_error():
    assert luals.lua_type("float | None") == "number?" and luals.lua_type("int") == "integer"
    with pytest.raises(KeyError):
        luals.lua_type("Decimal")


def _declared_shape(text: str, cls: str) -> dict[str, str]:
    block = re.search(rf"^---@class moonhook\.{cls}\n((?:---@field .*\n)*)", text, flags=re.M)
    return {name: kind for name, kind in re.findall(r"^---@field (\w+\??) (\S+)", block.group(1), flags=re.M)}


async def test_every_field_the_mt5_broker_hands_a_script_is_declared(tmp_path):
    # A script on MetaTrader 5 reads a position's swap and a symbol's stops_level: a field the
    # definitions leave out is an "undefined field" warning in the editor on every use.
    from support.mt5_support import mt5
    from support.mt5_standin import Terminal
    Terminal(tmp_path / "terminal.db").open_external("EURUSD", "buy", 0.1)
    async with mt5(tmp_path) as broker:
        await broker.execute(OrderRequest("pending", "a1", symbol="EURUSD", side="buy", type="limit", volume=0.1,
                                          price=0.5, plugin="p"))
        rows = {"Account": await broker.account(), "Symbol": await broker.symbol("EURUSD"),
                "Price": await broker.price("EURUSD"), "Position": (await broker.positions())[0],
                "WaitingOrder": (await broker.orders())[0]}
    text = luals.render_definitions()
    for cls, row in rows.items():
        declared = {name.rstrip("?") for name in _declared_shape(text, cls)}
        assert set(row) - declared == set(), cls


async def test_the_broker_answers_declared_are_the_rows_the_paper_broker_gives(tmp_path):
    # positions.list and orders.list hand scripts the broker's rows as they are: each field declared,
    # each declared without "?" there (those with one are another broker's).
    broker = PaperBroker(Database(tmp_path / "moonhook.db"), PaperConfig(), clock=lambda: 1_700_000_000.0)
    await broker.execute(OrderRequest("market", "a1", symbol="EURUSD", side="buy", volume=0.1, price=1.1, plugin="p"))
    await broker.execute(OrderRequest("pending", "a2", symbol="EURUSD", side="buy", type="limit", volume=0.1,
                                      price=1.05, plugin="p"))
    rows = {"Account": await broker.account(), "Symbol": await broker.symbol("EURUSD"),
            "Position": (await broker.positions())[0],
            "WaitingOrder": (await broker.orders())[0]}
    text = luals.render_definitions()
    for cls, row in rows.items():
        declared = _declared_shape(text, cls)
        assert {n for n in declared if not n.endswith("?")} <= set(row) <= {n.rstrip("?") for n in declared}, cls
        assert set(luals.SHAPES[cls]) == {n.rstrip("?") for n in declared}
    assert _declared_shape(text, "Symbol")["stops_level"] == "integer"


def test_the_definitions_say_the_command_that_writes_them_again():
    # They said "delete it and run `moonhook init` again after an upgrade": init refuses where a
    # moonhook.toml is; `moonhook init --editor-files` is the one that writes them again.
    header = luals.render_definitions().split("\n\n", 1)[0]
    assert "`moonhook init --editor-files`" in header and "`moonhook init` again" not in header


def test_the_plugin_table_docs_plugins_md_shows_fits_the_declared_types():
    # Its `instructions = 5e6` is a float in Lua 5.4, which LuaLS does not assign to an integer
    # (type.castNumberToInteger is off by default): the documented example was flagged in the editor.
    docs = (Path(__file__).resolve().parents[3] / "docs" / "plugins.md").read_text(encoding="utf-8")
    example = re.search(r"```lua\n(plugin = \{.*?\n\})\n```", docs, flags=re.S).group(1)
    lua = lupa.LuaRuntime()
    lua.execute(example)
    kind = lua.eval("function(v) return math.type(v) or type(v) end")
    text = luals.render_definitions()
    fits = {"integer": {"integer"}, "number": {"integer", "float"}, "string": {"string"}, "boolean": {"boolean"},
            "string[]": {"table"}, "table<string, any>": {"table"}}

    def check(table, declared):
        for key, value in table.items():
            spelled = declared[key][0]
            if spelled == "moonhook.Budget":
                check(value, luals.BUDGET_FIELDS)
            else:
                allowed = set().union(*(fits[t] for t in spelled.split("|")))
                assert kind(value) in allowed, (key, spelled, kind(value))
    check(lua.globals().plugin, luals.PLUGIN_FIELDS)
    assert "---@field instructions? number" in text
