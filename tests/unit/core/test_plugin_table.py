"""A script's `plugin` table refused in Lua's words: what it gave written as Lua writes it (`{5}`,
`true`, `"yes"`), not as Python does (`[5]`, `True`, `'yes'`), read by a Lua script's author."""

from __future__ import annotations

import pytest

from engine.core import PluginMeta
from engine.core.plugins import PluginError
from engine.domain.alerts.symbols import SymbolMap


@pytest.mark.parametrize("raw, said", [
    (5, "the global `plugin` must be a table of fields (plugin = {name = ..., symbols = ...}), got a number"),
    (["a"], "the global `plugin` must be a table of fields (plugin = {name = ..., symbols = ...}), got an array"),
    ({"symbols": [5]}, 'plugin.symbols: must be "*" or a list of symbol names, got {5}'),
    ({"priority": True}, "plugin.priority: must be an integer from -10000 to 10000, got true"),
    ({"guard": "yes"}, 'plugin.guard: must be true or false, got "yes"'),
    ({"every": [1]}, 'plugin.every: must be a duration such as "30s", "1m" or "1h" (at least 1 s), got {1}'),
    ({"name": False}, "plugin.name: must be a letter then letters, digits, _ or - (at most 48), got false"),
])
def test_a_bad_plugin_table_is_refused_saying_what_it_gave_as_lua_writes_it(raw, said):
    with pytest.raises(PluginError) as refused:
        PluginMeta.parse(raw, "gate", "gate.lua", SymbolMap())
    assert said in str(refused.value), str(refused.value)
