"""docs/configuration.md kept in step with the settings it describes: each section's table has one
row per key the engine takes there (``SCHEMA``), and none it does not, each with the default an
empty moonhook.toml gives and the bounds the engine enforces; the keys a save puts in force at
once are the engine's (``LIVE``); [mt5]'s keys and defaults are in docs/metatrader5.md. A trader
never sets a key the engine refuses, nor misses one it takes."""

from __future__ import annotations

import re

import pytest

from engine.app.config_schema import config_schema
from engine.app.settings import SCHEMA, load_settings
from engine.core.following import LIVE
from engine.domain.config import PluginConfig
from engine.domain.config.telegram import BotConfig
from sandbox import MB

from support.paths import ROOT

CONFIGURATION = (ROOT / "docs" / "configuration.md").read_text()
METATRADER = (ROOT / "docs" / "metatrader5.md").read_text()

# configuration.md's headings, by the SCHEMA section (or sub-table) each table documents.
HEADINGS = {**{s: f"[{s}]" for s in SCHEMA if s not in ("mt5", "plugins")}, "plugins": "[plugins.NAME]",
            "telegram.bots": "[[telegram.bots]]"}


def _keys(schema) -> set[str]:
    return set(getattr(schema, "schema", schema))


def _expected(section: str) -> set[str]:
    """The keys ``section``'s table documents: SCHEMA's, the sub-tables' keys dotted (``budget.timeout``)."""
    if section in ("telegram", "telegram.bots"):
        return _keys(SCHEMA["telegram"]["bots"]) if section == "telegram.bots" else _keys(SCHEMA["telegram"]) - {"bots"}
    if section == "plugins":
        return _keys(SCHEMA["plugins"]) - {"budget"} | {f"budget.{k}" for k in SCHEMA["plugins"].schema["budget"]}
    return _keys(SCHEMA[section])


def _table(section: str) -> dict[str, tuple[str, str]]:
    """The rows of the table under ``section``'s heading in configuration.md: key -> (default, what it does)."""
    (part,) = re.findall(rf"^##+ `{re.escape(HEADINGS[section])}`\n(.*?)(?=^#|\Z)", CONFIGURATION, re.M | re.S)
    rows = re.findall(r"^\| `([a-z_.]+)` \| (.*?) \| (.+) \|$", part, re.M)
    assert len(rows) == len({key for key, _, _ in rows}), f"[{section}]: a key with two rows"
    return {key: (default, what) for key, default, what in rows}


@pytest.mark.parametrize("section", HEADINGS)
def test_every_key_of_a_section_has_a_row_and_every_row_is_a_key(section):
    """Each section's table has one row per key the engine takes there, and none it does not: a trader
    looking up a key finds it under its section, and never copies one the engine refuses."""
    table = _table(section)
    missing, unknown = _expected(section) - set(table), set(table) - _expected(section)
    assert (missing, unknown) == (set(), set())


# A default cell: a literal in TOML's spelling (`8080`, `2_000_000`, `"USD"`, `[]`, `{}`, `true`), or none
# (no limit) or unset (off). metatrader5.md's `[mt5]` keys give theirs in prose: "`key` (default"; a string
# followed by "when" is an example there (`symbol_suffix` (".r" when the broker names ...)), not a default.
_LITERAL = re.compile(r'`(-?\d[\d_]*(?:\.\d+)?|"[^"]*"|\[\]|\{\}|true|false)`|none|unset')
_DEFAULT = re.compile(r'`([a-z_]+)`\s+\((-?\d[\d,]*(?:\.\d+)?(?=[\s:;,)])|"[^"]*"(?! when)|\[\]|\{\}'
                      r'|true|false|none|unset)')
# Keys whose default is no value of their own: a plugin's budget is its script's; a bot needs its token.
NOT_A_VALUE = {**{f"plugins.budget.{k}": "the script's" for k in SCHEMA["plugins"].schema["budget"]},
               "telegram.bots.token": "required"}


def _said(text: str):
    """The value a default stands for, as the engine holds it."""
    text = text.strip("`")
    literal = {"[]": (), "{}": {}, "true": True, "false": False, "none": None, "unset": None}
    if text in literal:
        return literal[text]
    return text.strip('"') if text.startswith('"') else float(text.replace(",", "").replace("_", ""))


def _held() -> dict[str, dict]:
    """Each section's values in the settings of an empty moonhook.toml, by the keys its table gives."""
    settings = load_settings(None, env={})
    engine, budget = settings.engine, settings.engine.default_budget
    sandbox = {"workers": engine.workers, "instructions": budget.instructions, "timeout_ms": budget.timeout * 1000,
               "memory_mb": budget.memory / MB}
    return {"server": vars(settings.server), "engine": vars(engine), "paper": vars(engine.paper),
            "telegram": vars(engine.telegram), "monitor": vars(engine.monitor), "mt5": vars(engine.mt5),
            "shadow": vars(engine.shadow), "sandbox": sandbox, "plugins": vars(PluginConfig()),
            "telegram.bots": {"chats": BotConfig("1:x").chats}}


def _wrong(section: str, key: str, text: str, value) -> list[str]:
    """The default ``text`` a page gives ``key``, when it is not the engine's ``value``."""
    said = _said(text)
    if said is None and value in (None, {}, ()) or said == () and value in ((), []) or \
            said == (str(value) if isinstance(said, str) else value):
        return []
    return [f"{section}.{key}: the page says {text}, the engine holds {value!r}"]


@pytest.mark.parametrize("section", HEADINGS)
def test_every_row_gives_the_engines_default(section):
    """Each row's default is what a trader leaving the key out gets, read from the settings of an
    empty moonhook.toml; a row without a value of its own says why (NOT_A_VALUE)."""
    values, wrong = _held()[section], []
    for key, (cell, _) in _table(section).items():
        if f"{section}.{key}" in NOT_A_VALUE:
            wrong += [] if cell == NOT_A_VALUE[f"{section}.{key}"] else [f"{section}.{key}: {cell}"]
        elif not _LITERAL.fullmatch(cell):
            wrong.append(f"{section}.{key}: {cell!r} is no default")
        else:
            wrong += _wrong(section, key, cell, values[key])
    assert wrong == []


def test_every_default_the_metatrader_page_gives_is_the_engines():
    """metatrader5.md gives the other `[mt5]` keys' defaults in brackets."""
    others = METATRADER.split("Other `[mt5]` keys:")[1].split("\n\n")[0]
    said = _DEFAULT.findall(others)
    mt5 = _held()["mt5"]
    assert len(said) > 6 and [w for key, text in said for w in _wrong("mt5", key, text, mt5[key])] == []


def test_the_settings_a_save_puts_in_force_are_those_the_page_lists():
    """configuration.md lists the `[engine]` settings a save of moonhook.toml puts in force at the
    next alert, and the rest that wait for a start: a trader tightening a limit reads there whether
    it holds now. Both lists are the engine's (`engine/core/following.py` LIVE), as is the
    `[engine]` section's word of the keys that wait."""
    now, rest = CONFIGURATION.split("read as each alert is handled")[1].split("- At the next start: the rest (")
    assert set(re.findall(r"`([a-z_]+)`", now)) == set(LIVE)
    waiting = set(re.findall(r"`\[?([a-z_0-9]+)\]?`", rest.split(")")[0]))
    assert waiting == ({key for key in SCHEMA["engine"] if key not in LIVE} | set(SCHEMA)) - {"engine", "plugins"}
    (engine,) = re.findall(r"^## `\[engine\]`\n\n.*?every key in force at\s+the next alert except (.*?), which wait",
                           CONFIGURATION, re.M | re.S)
    assert set(re.findall(r"`([a-z_]+)`", engine)) == {key for key in SCHEMA["engine"] if key not in LIVE}


def test_every_mt5_key_is_in_the_metatrader_page():
    assert {key for key in SCHEMA["mt5"] if not re.search(rf"`{key}`|^#? *{key} *[=:]", METATRADER, re.M)} == set()


def _node(section: str, key: str) -> dict:
    """The JSON Schema of ``key`` in ``section`` (moonhook.schema.json's, made from SCHEMA)."""
    node = config_schema()["properties"]
    node = node["plugins"]["additionalProperties"] if section == "plugins" else \
        node["telegram"]["properties"]["bots"]["items"] if section == "telegram.bots" else node[section]
    for part in key.split("."):
        node = node["properties"][part]
    return node


def _number(value: float) -> str:
    """A bound as the rows write it: 16 MB, 0.25, 50,000,000 (a comma or none), 1e15."""
    if value >= 1e12:
        return f"{value:g}".replace("e+", "e")
    return f"{value // MB:g} MB" if value >= MB and value % MB == 0 else f"{value:g}" if value < 1e6 else f"{value:.0f}"


# Each bound of the JSON Schema, and the words a row may give it in.
_BOUNDS = {"minimum": ("{} to", "{} or more"), "exclusiveMinimum": ("above {}",), "maximum": ("to {}", "at most {}"),
           "exclusiveMaximum": ("under {}",)}


@pytest.mark.parametrize("section", HEADINGS)
def test_every_row_gives_the_bounds_the_engine_enforces(section):
    """A row of a number gives its bounds, those the engine reads the key with (moonhook.schema.json's,
    made from SCHEMA): a bound changed in the code, as `monitor.interval_seconds`' was, is changed here."""
    wrong = []
    for key, (_, what) in _table(section).items():
        what = what.replace(",", "")   # 100,000 as 100000
        node = _node(section, key)
        wrong += [f"{section}.{key}: {bound} {node[bound]:g}" for bound, words in _BOUNDS.items() if bound in node
                  and not any(w.format(_number(node[bound])) in what for w in words)]
    assert wrong == []
