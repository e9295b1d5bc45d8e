"""The reference in docs/ kept in step with the code it describes: every key moonhook.toml may
hold (``SCHEMA``) is documented in its section's row of docs/configuration.md ([mt5]'s in
docs/metatrader5.md), and every key a row documents exists, so a trader never sets a key the
engine refuses, nor misses one it takes; and every Lua snippet of the docs loads as a script,
as a trader copying one into scripts/ expects."""

from __future__ import annotations

import re

import pytest

from engine.app import Operations
from engine.app.checker import check_files
from engine.app.settings import SCHEMA

from support.engine_support import running
from support.paths import ROOT

CONFIGURATION = (ROOT / "docs" / "configuration.md").read_text()
METATRADER = (ROOT / "docs" / "metatrader5.md").read_text()
PAGES = [ROOT / "README.md", ROOT / "examples" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LUA = [(page.relative_to(ROOT).as_posix(), n, block) for page in PAGES
       for n, block in enumerate(re.findall(r"^```lua\n(.*?)^```", page.read_text(), re.M | re.S))]


def _row(section: str) -> str:
    """The table row of ``[section]`` in configuration.md: its keys and their defaults."""
    (row,) = [line for line in CONFIGURATION.splitlines() if line.startswith(f"| `[{section}]` |")]
    return row


def _keys(schema) -> set[str]:
    return set(getattr(schema, "schema", schema))


@pytest.mark.parametrize("section", [s for s in SCHEMA if s not in ("mt5", "plugins", "telegram")])
def test_every_key_of_a_section_is_in_its_row_and_every_key_its_row_opens_with_exists(section):
    row = _row(section)
    assert {key for key in _keys(SCHEMA[section]) if f"`{key}`" not in row} == set()
    # The row lists its keys as "`key` (default...)": each of them is one the engine takes.
    documented = set(re.findall(r"`([a-z_]+)` \(", row))
    assert documented - _keys(SCHEMA[section]) == set()


def test_telegram_and_plugins_keys_are_in_their_rows():
    telegram = _row("telegram") + _row("[telegram.bots]")
    assert {k for k in _keys(SCHEMA["telegram"]) - {"bots"} if f"`{k}`" not in telegram} == set()
    assert {k for k in _keys(SCHEMA["telegram"]["bots"]) if f"`{k}`" not in telegram} == set()
    plugins = _row("plugins.NAME")
    assert {k for k in _keys(SCHEMA["plugins"]) | _keys(SCHEMA["plugins"].schema["budget"])
            if f"`{k}`" not in plugins} == set()


def test_every_mt5_key_is_in_the_metatrader_page():
    assert {key for key in SCHEMA["mt5"] if not re.search(rf"`{key}`|^#? *{key} *[=:]", METATRADER, re.M)} == set()


@pytest.mark.parametrize(("page", "n", "snippet"), LUA, ids=[f"{page}#{n}" for page, n, _ in LUA])
async def test_every_lua_snippet_of_the_docs_loads_as_a_script(tmp_path, page, n, snippet):
    """plugins.md's annotated hook, `function on_alert(alert) ... end`, was a syntax error in the
    file a trader copied it into: each snippet is tried as `moonhook check` tries a script."""
    script = tmp_path / "snippet.lua"
    script.write_text(snippet)
    findings = await check_files([script])
    assert [str(f) for f in findings if f.level == "error"] == []


def test_the_docs_count_the_example_guards_as_there_are():
    """plugins.md said four filters of examples/strategies/ are guards, the examples' README five:
    a trader relying on one_position or flat_for_weekend failing closed could not tell which."""
    words = {4: "four", 5: "five", 6: "six", 7: "seven"}
    guards = [p for p in sorted((ROOT / "examples" / "strategies").glob("*.lua"))
              if re.search(r"\bguard = true\b", p.read_text())]
    said = words[len(guards)]
    assert f"the {said} filters of\n  `examples/strategies/`" in (ROOT / "docs" / "plugins.md").read_text()
    assert f"The {said} filters (" in (ROOT / "examples" / "README.md").read_text()


async def test_health_with_the_token_says_what_the_api_page_lists(tmp_path):
    """http-api.md listed what `GET /health` adds with the token without `broker_connected`, the
    field `moonhook status` prints and a monitor reads first."""
    (said,) = re.findall(r"with the token it\nadds (.*?)`paused`", (ROOT / "docs" / "http-api.md").read_text(), re.S)
    async with running(tmp_path) as engine:
        health = Operations(engine).health()
    assert set(re.findall(r"`([a-z_]+)`", said)) | {"paused", "status"} == set(health)
