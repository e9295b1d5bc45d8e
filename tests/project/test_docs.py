"""The reference in docs/ kept in step with the code it describes: every key a page names exists
(moonhook.toml's own tables: test_docs_configuration.py); every command and option
of the command line is on its page, and every one a page quotes exists; every Telegram command,
metric, dashboard event, plugin table key and hook is on its page; and every Lua snippet of the
docs loads as a script, as a trader copying one into scripts/ expects.
(Every HTTP route is held to docs/http-api.md by tests/e2e/test_walk_api_refusals.py, its answers'
fields by test_docs_http_api.py.)"""

from __future__ import annotations

import inspect
import re
from difflib import get_close_matches
from types import SimpleNamespace

import pytest
from prometheus_client import generate_latest

from engine.app.checker import check_files
from engine.app.settings import SCHEMA
from engine.core.metrics import Metrics
from engine.core.plugins import _META_KEYS, HOOKS
from engine.core.services import SERVICE_API
from engine.domain.alerts.model import ACTION_ALIASES
from engine.domain.alerts.parse import _FIELDS, _JSON_ALIASES
from bench.run import main as bench_main
from engine.interfaces.cli import main
from engine.interfaces.telegram.commands import Commands
from engine.interfaces.telegram.menu import HELP
from sandbox.cli import main as sandbox_main

from support.paths import ROOT

DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", ROOT / "examples" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LUA = [(page.relative_to(ROOT).as_posix(), n, block) for page in PAGES
       for n, block in enumerate(re.findall(r"^```lua\n(.*?)^```", page.read_text(), re.M | re.S))]


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


def test_every_section_key_a_page_names_exists():
    """A page naming `engine.max_spread_pips` or `[paper] stop_out_pct` names a key the engine
    takes: a trader copying it into moonhook.toml is never refused for a renamed key."""
    named = {(m[1], m[2]) for page in PAGES for m in re.finditer(
        rf"`\[?({'|'.join(s for s in SCHEMA if s != 'plugins')})(?:\]? |\.)([a-z_]+)(?=[`\s=])", page.read_text())}
    modules = {(s, k) for s, k in named if k == "py" or any((ROOT / s).glob(f"{k}*"))}   # `engine.core`, `shadow.py`
    known = {s: set(getattr(schema, "schema", schema)) for s, schema in SCHEMA.items()}   # [plugins.NAME]'s: Each
    assert {f"{s}.{k}" for s, k in named - modules if k not in known[s]} == set()


def _help(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit):
        main([*argv, "--help"])
    return capsys.readouterr().out


def test_every_command_and_option_of_the_command_line_is_on_its_page(capsys):
    """operations.md lists the commands and their options, replay.md replay's own."""
    commands = re.search(r"^ +\{([a-z,]+)\}$", _help(capsys), re.M).group(1).split(",")
    operations, replay = (DOCS / "operations.md").read_text(), (DOCS / "replay.md").read_text()
    missing = [c for c in commands if not re.search(rf"`moonhook {c}\b|\| {c}\b", operations)]
    for command in commands:
        page = replay if command == "replay" else operations
        missing += [f"{command} {o}" for o in set(re.findall(r"(--[a-z-]+)", _help(capsys, command))) - {"--help"}
                    if not re.search(rf"`[^`]*{o}\b", page)]
    assert missing == []


def _quoted(page) -> list[str]:
    """The command lines a page quotes: each line of its code blocks and each `code span`."""
    text = page.read_text()
    blocks = re.findall(r"^```[a-z]*\n(.*?)^```", text, re.M | re.S)
    spans = re.findall(r"`([^`]+)`", re.sub(r"^```.*?^```", "", text, flags=re.M | re.S))
    return [line for quoted in blocks + spans for line in quoted.splitlines()]


def _options(capsys, main_, *argv: str) -> set[str]:
    """The options a command's --help lists."""
    with pytest.raises(SystemExit):
        main_([*argv, "--help"])
    return set(re.findall(r"(--[a-z-]+)", capsys.readouterr().out))


def test_every_command_and_option_the_pages_quote_exists(capsys):
    """The other way round: a `moonhook SUB ...` a page quotes (each part of the synopsis too) is
    a command, and its `--options` are that command's, so a trader copying one is never answered
    "invalid choice" or "unrecognized arguments"; an option quoted on its own (`--wait 0`) is one
    of moonhook's, `python -m sandbox run`'s or `python -m bench`'s."""
    commands = re.search(r"^ +\{([a-z,]+)\}$", _help(capsys), re.M).group(1).split(",")
    options = {c: _options(capsys, main, c) for c in commands}
    known = set().union(*options.values(), _options(capsys, sandbox_main, "run"), _options(capsys, bench_main))
    wrong = []
    for page in PAGES:
        for line in _quoted(page):
            if re.match(r"(?:\S*/)?moonhook [a-z]", line):
                for part in re.split(r" \| (?=[a-z])", line.split("#")[0]):
                    named, rest = (re.sub(r"^(?:\S*/)?moonhook ", "", part) + " ").split(" ", 1)
                    for command in named.split("/"):   # `moonhook init/run/check`
                        # a quoted message says `moonhook trades on ...`: only a near miss is a typo
                        typo = command not in commands and get_close_matches(command, commands, cutoff=0.7)
                        wrong += [f"{page.name}: {part}" for o in re.findall(r"(--[a-z][a-z-]*)", rest)
                                  if o not in options.get(command, known)] + ([part] if typo else [])
            elif "wine" not in line:   # the terminal's RPyC server, metatrader5.md
                wrong += [f"{page.name}: {o}" for o in re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", line)
                          if o not in known]
    assert wrong == []


def test_every_telegram_command_is_on_the_telegram_page():
    """Each command the bot obeys, read from its dispatcher, so one added there is documented."""
    source = inspect.getsource(Commands._run)
    obeyed = set(re.findall(r'if name == "([a-z]+)"', source)) | set(
        re.findall(r'"([a-z]+)"', " ".join(re.findall(r"if name in \(([^)]*)\)", source))))
    page = (DOCS / "telegram.md").read_text()
    assert obeyed > {"status", "help"} and {c for c in obeyed if f"`/{c}" not in page} == set()


def test_every_command_of_help_has_its_row_and_section_on_the_telegram_page():
    """telegram.md ran its commands into one paragraph, where a trader could not find what /close all
    asks: each command /help lists has a row of the page's table, saying what /help says and linking
    to a `###` section of its own, whose heading names it."""
    page = (DOCS / "telegram.md").read_text()
    sections = {re.sub(r"[^\w -]", "", h.lower()).replace(" ", "-"): re.findall(r"`(/[^`]+)`", h)
                for h in re.findall(r"^### (.+)$", page, re.M)}
    rows = re.findall(r"^\| \[`(/[^`]+)`\]\(#([\w-]+)\) \| (.+?) \|$", page, re.M)
    assert [(command, what) for command, _, what in rows] == list(HELP)
    assert [command for command, link, _ in rows if command not in sections.get(link, ())] == []


def test_the_days_of_trades_are_those_the_bot_takes():
    """telegram.md named `/trades DAYS` without what DAYS may be: the bot answers a usage line
    past its range, which the page now gives."""
    (took,) = re.findall(r"/trades DAYS \((\d+ to \d+)\)", inspect.getsource(Commands._trades))
    assert re.findall(r"`/trades DAYS` \(those closed in the last DAYS days, (\d+ to \d+)",
                      (DOCS / "telegram.md").read_text()) == [took]


def test_every_metric_is_on_the_operations_page():
    served = re.findall(r"^# TYPE (\S+)", generate_latest(Metrics(SimpleNamespace(restarts=0), 100.0, 60.0).registry)
                        .decode(), re.M)
    page = (DOCS / "operations.md").read_text()
    assert served and [m for m in served if f"`{m}" not in page] == []


def test_every_event_kind_is_in_the_dashboard_pages_table():
    """The kinds `GET /api/events` streams: each `publish("kind", ...)` of the engine, and `lagged`."""
    kinds = {"lagged"} | {k for path in (ROOT / "engine").rglob("*.py")
                          for k in re.findall(r'\bpublish\("([a-z_.]+)"', path.read_text())}
    table = "\n".join(line.split("|")[1] for line in (DOCS / "dashboard.md").read_text().split("## Events")[1]
                      .splitlines() if line.startswith("| `"))
    assert len(kinds) > 5 and {k for k in kinds if f"`{k}`" not in table} == set()


def test_every_plugin_table_key_and_hook_is_on_the_plugins_page():
    """The first snippet of plugins.md is the plugin table a script may declare: all its keys."""
    page = (DOCS / "plugins.md").read_text()
    table = re.search(r"^```lua\n(plugin = \{.*?)^```", page, re.M | re.S).group(1)
    assert {k for k in _META_KEYS if not re.search(rf"^  {k} =", table, re.M)} == set()
    assert [h for h in HOOKS if f"`{h}`" not in page] == []


def test_the_examples_table_lists_each_strategys_hooks():
    """flat_for_weekend.lua's on_load (which refuses bad params at the load) was missing from its row."""
    table = (ROOT / "examples" / "README.md").read_text()
    rows = re.findall(r"^\| `([a-z_]+\.lua)` \| .* \| ([a-z_, ]+) \|$", table, re.M)
    listed = {file: {h.strip() for h in hooks.split(",")} for file, hooks in rows}
    defined = {p.name: set(re.findall(r"^function (on_[a-z_]+)", p.read_text(), re.M))
               for p in (ROOT / "examples" / "strategies").glob("*.lua")}
    assert listed == defined


def test_every_service_a_script_is_handed_is_named_on_the_plugins_page():
    """plugins.md lists the service API in words (`market.symbol/price`, `orders.market/pending/...`): a
    service added to SERVICE_API, or one the page names that is gone, is a script's author misled."""
    page = (DOCS / "plugins.md").read_text()
    named = {f"{ns}.{fn}" for ns, fns in re.findall(r"`([a-z]+)\.([a-z_/]+)`", page) for fn in fns.split("/")}
    handed = {f"{ns}.{fn}" for ns, fns in SERVICE_API.items() for fn in fns}
    assert handed - named == set()
    assert {n for n in named - handed if n.split(".")[0] in SERVICE_API} == set()


def test_the_alert_commands_table_names_every_command_and_alias_the_parser_reads():
    """alerts.md's Commands table: each name in it is read, and each name read is in it (`buy_limit` ...
    standing for the underscored forms of its row's commands)."""
    section = (DOCS / "alerts.md").read_text().split("## Commands")[1].split("\n## ")[0]
    named: set[str] = set()
    for row in (line for line in section.splitlines() if line.startswith("| `")):
        commands, aliases = row.split("|")[1:3]
        names = re.findall(r"`([a-z_]+)`", commands)
        named |= set(names) | set(re.findall(r"`([a-z_]+)`", aliases))
        if "..." in aliases:   # buylimit's buy_limit ...: each command's with an underscore
            named |= {re.sub(r"^(buy|sell|close|cancel)", r"\1_", n) for n in names}
    assert named == set(ACTION_ALIASES)


def test_the_alert_fields_table_names_every_field_the_parser_reads():
    """alerts.md's Fields table, each row's fields and their aliases in brackets (`price` (`close`)): every
    field and alias an alert may carry, and no other (`action`, the Commands' own, is said there)."""
    section = (DOCS / "alerts.md").read_text().split("## Fields")[1].split("\n## ")[0]
    named = {name for row in section.splitlines() if row.startswith("| `")
             for name in re.findall(r"`([a-z_]+)`", row.split("|")[1])}
    assert named | {"action"} == _FIELDS | set(_JSON_ALIASES)
