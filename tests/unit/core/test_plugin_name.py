"""A plugin's name is the whole string: a trailing newline is not hidden by the pattern's ``$``."""

from __future__ import annotations

import pytest

from engine.core import PluginMeta
from engine.core.plugins import PluginError
from engine.domain.alerts.symbols import SymbolMap


@pytest.mark.parametrize("name", ["abc\n", "abc\r\n", "abc ", "\nabc", "1abc", "a" * 49])
def test_a_name_with_anything_around_it_is_refused(name):
    with pytest.raises(PluginError, match=r"plugin\.name: must be a letter"):
        PluginMeta.parse({"name": name}, "abc", "abc.lua", SymbolMap())


def test_a_good_name_is_kept():
    assert PluginMeta.parse({"name": "a-b_1"}, "x", "x.lua", SymbolMap()).name == "a-b_1"
