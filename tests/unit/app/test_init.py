"""`moonhook init`: a config that loads, an example script that loads (the repository's own
scripts/demo.lua), fresh secrets, and nothing existing ever overwritten."""

import json
import re
import stat
import subprocess

import pytest

from engine.domain.alerts.parse import parse_body
from engine.app.checker import check_files
from engine.app import open_engine
from engine.app.scaffold import EXAMPLE_NAME, EXAMPLE_SCRIPT, TRY_ALERT, describe, init_project
from engine.app.settings import SettingsError, load_settings

from support.paths import ROOT


def test_init_writes_a_config_that_loads_and_an_example(tmp_path):
    folder = tmp_path / "bot"
    r = init_project(folder)
    assert r.config == folder / "moonhook.toml" and r.example == folder / "scripts" / "demo.lua"
    assert r.example_written and r.example.read_text() == EXAMPLE_SCRIPT
    s = load_settings(r.config, {})
    assert s.engine.scripts == folder / "scripts"
    assert s.server.secret and s.server.api_token and s.server.secret != s.server.api_token
    assert r.strategies == (r.example,) and f"Example strategy: {r.example}\n" in describe(r)
    assert s.engine.plugin("demo").params == {"allow_without_stop": False}
    assert stat.S_IMODE(r.config.stat().st_mode) == 0o600
    # The dashboard's two keys spelled out with their defaults, as every other key is.
    assert re.search(r"^session_hours = 12(\.0)?$", r.config.read_text(), re.M)
    assert re.search(r"^dashboard_edit = true$", r.config.read_text(), re.M)
    assert (s.server.session_hours, s.server.dashboard_edit) == (12, True)


def test_every_commented_example_in_the_config_loads_when_uncommented(tmp_path):
    r = init_project(tmp_path)
    text = r.config.read_text()
    examples = re.findall(r"^# (\w+ = .*|\[+telegram.*|\[mt5\]|\[shadow\])$", text, flags=re.M)
    assert len(examples) == 28
    r.config.write_text(re.sub(r"^# (\w+ = .*|\[+telegram.*|\[mt5\]|\[shadow\])$", r"\1", text, flags=re.M))
    e = load_settings(r.config, {}).engine
    assert e.default_volume == 0.01 and e.symbol_map["TVC:GOLD"] == "XAUUSD" and e.max_price_gap_pct == 0.1
    assert e.max_daily_loss_pct == 4 and e.min_equity == 91000 and e.max_risk_pct == 2 and e.trading_day == "UTC"
    assert e.max_entries_per_hour == 20 and e.max_spread_pips == {"*": 3, "XAUUSD": 40} and e.max_spread_wait == 90
    assert e.paper.spreads == {"EURUSD": 8.0} and e.paper.stop_out_pct == 50 and e.paper.hedged_margin == 0.5
    assert e.plugin("demo").budget["memory_mb"] == 32
    assert e.telegram.admins == (123456789,) and e.telegram.bots[0].chats[1].events == frozenset({"trades"})
    assert e.telegram.command_chats == (-1001234567890,)
    assert (e.mt5.module, e.mt5.login, e.mt5.server) == ("mt5linux", 12345678, "YourBroker-Demo")
    assert e.shadow.scripts == r.config.parent / "scripts-next"


def test_init_writes_the_editor_files_and_never_overwrites_one(tmp_path):
    r = init_project(tmp_path / "a")
    folder = tmp_path / "a"
    assert r.editor_files == (folder / "moonhook.schema.json", folder / "types" / "moonhook.lua",
                              folder / ".luarc.json")
    assert r.config.read_text().startswith("#:schema ./moonhook.schema.json\n")
    assert json.loads((folder / ".luarc.json").read_text())["workspace.library"] == ["types"]
    assert (folder / "types" / "moonhook.lua").read_text().startswith("---@meta")
    assert "Editor support (LuaLS, Taplo): " in describe(r)
    # A folder that holds them already keeps them, as it keeps a script.
    mine = tmp_path / "b"
    (mine / "types").mkdir(parents=True)
    for name in ("moonhook.schema.json", "types/moonhook.lua", ".luarc.json"):
        (mine / name).write_text("mine")
    r = init_project(mine)
    assert r.editor_files == () and "Editor support" not in describe(r)
    assert all((mine / n).read_text() == "mine" for n in ("moonhook.schema.json", "types/moonhook.lua", ".luarc.json"))


def test_secrets_are_random(tmp_path):
    a = load_settings(init_project(tmp_path / "a").config, {}).server
    b = load_settings(init_project(tmp_path / "b").config, {}).server
    assert a.secret != b.secret and a.api_token != b.api_token
    assert len(a.secret) >= 32


def test_init_never_overwrites_the_config(tmp_path):
    config = tmp_path / "moonhook.toml"
    config.write_text("# mine\n")
    with pytest.raises(FileExistsError, match="exists already; init never overwrites it"):
        init_project(tmp_path)
    assert config.read_text() == "# mine\n"
    assert not (tmp_path / "scripts").exists() and not (tmp_path / "types").exists()
    assert not (tmp_path / "moonhook.schema.json").exists()


def test_init_keeps_the_secrets_and_the_journal_out_of_git(tmp_path):
    """The docs call moonhook.toml git-ignored: in a trader's own repository too, where a commit
    would otherwise publish the webhook secret and the API token. A .gitignore of theirs is kept."""
    folder = tmp_path / "bot"
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    r = init_project(folder)
    (folder / "data").mkdir()
    (folder / "data" / "moonhook.db").write_bytes(b"")
    ignored = subprocess.run(["git", "check-ignore", "moonhook.toml", "data/moonhook.db", "backups/monday.db"],
                             cwd=folder, capture_output=True, text=True)
    assert ignored.stdout.split() == ["moonhook.toml", "data/moonhook.db", "backups/monday.db"]
    assert subprocess.run(["git", "check-ignore", "-q", "scripts/demo.lua"], cwd=folder).returncode == 1
    assert f"{folder / '.gitignore'} keeps it, data/ and backups/ out of git." in describe(r)
    # The copies editors leave beside it hold the same secrets: `git add .` published them.
    copies = ["moonhook.toml~", ".moonhook.toml.swp", "#moonhook.toml#", "moonhook.toml.bak"]
    ignored = subprocess.run(["git", "check-ignore", *copies], cwd=folder, capture_output=True, text=True)
    assert ignored.stdout.split() == copies
    assert subprocess.run(["git", "check-ignore", "-q", "moonhook.schema.json"], cwd=folder).returncode == 1

    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / ".gitignore").write_text("*.log\n")
    kept = init_project(theirs)
    assert (theirs / ".gitignore").read_text() == "*.log\n" and kept.gitignore is None
    assert "was there already and is left as it is: see that it lists moonhook.toml" in describe(kept)


def test_init_keeps_an_existing_script(tmp_path):
    (tmp_path / "scripts").mkdir()
    mine = tmp_path / "scripts" / "demo.lua"
    mine.write_text("-- mine\n")
    r = init_project(tmp_path)
    assert not r.example_written and mine.read_text() == "-- mine\n"
    assert f"Strategies: {mine} (the folder holds strategies already" in describe(r)


def test_init_adds_no_example_to_a_folder_of_strategies(tmp_path):
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "mine.lua").write_text("-- mine\n")
    r = init_project(tmp_path)
    assert not r.example_written and sorted(p.name for p in r.scripts.iterdir()) == ["mine.lua"]
    text = describe(r)  # names what is there, not an example that was never written
    assert str(r.scripts / "mine.lua") in text and str(r.example) not in text


def test_the_templates_parse_once_tradingview_fills_them(tmp_path):
    r = init_project(tmp_path)
    secret = load_settings(r.config, {}).server.secret
    assert r.webhook_url == "http://127.0.0.1:8080/webhook"
    assert r.text_webhook_url == f"{r.webhook_url}/{secret}"
    message = json.loads(r.json_template)
    assert message["secret"] == secret
    for key in ("{{ticker}}", "{{strategy.order.action}}", "{{close}}", "{{strategy.order.id}}", "{{timenow}}",
                "{{strategy.market_position}}", "{{strategy.market_position_size}}"):
        assert key in r.json_template and key in r.text_template
    filled = {"{{ticker}}": "EURUSD", "{{strategy.order.action}}": "buy", "{{close}}": "1.1",
              "{{strategy.order.contracts}}": "10000", "{{strategy.order.id}}": "L", "{{timenow}}": "2026-11-24T10:00:00Z",
              "{{strategy.market_position_size}}": "10000", "{{strategy.market_position}}": "long"}
    for template in (r.json_template, r.text_template):
        for placeholder, value in filled.items():
            template = template.replace(placeholder, value)
        alert = parse_body(template)
        assert (alert.symbol, alert.action.side) == ("EURUSD", "buy")
        assert alert.sl_pips == 20 and alert.price == 1.1 and alert.id == "L-2026-11-24T10:00:00Z"
        assert alert.timenow == 1795514400   # when TradingView fired it: its age counts from there
        assert (alert.units, alert.volume) == (10000, None)  # TradingView's units, never lots
    text = describe(r)
    assert r.webhook_url in text and r.json_template in text and r.text_template in text
    assert str(r.config) in text


async def test_the_example_script_loads_and_refuses_an_entry_without_a_stop(tmp_path):
    r = init_project(tmp_path)
    engine_config = load_settings(r.config, {}).engine
    findings = await check_files([r.example], engine_config)
    assert [f.level for f in findings] == ["ok", "ok"], findings
    assert "passes it" in str(findings[0])  # the sample alert has a stop
    async with open_engine(engine_config, stop_timeout=2.0) as engine:
        plugin = engine.plugins.get("demo")
        assert plugin is not None
        for body, refused in (("buy EURUSD volume=0.01", True), ("sell EURUSD sl_pips=20", False),
                              ("closelong EURUSD", False), (TRY_ALERT, False)):
            alert = parse_body(body).to_plain()
            result = await engine.hooks.call(plugin, "on_alert", {**alert, "alert_id": 0})
            assert result.error is None
            assert (result.value is False) == refused, body
            if refused:
                assert "entries need a stop loss" in result.values[1]


def test_the_readme_names_what_init_writes():
    """What the README names (scripts/demo.lua, the alert to try, `moonhook check`) is what
    `moonhook init` writes: one first strategy, one story."""
    assert EXAMPLE_NAME == "demo.lua" and "entries need a stop loss" in EXAMPLE_SCRIPT
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f'moonhook send "{TRY_ALERT}"' in readme and "scripts/demo.lua" in readme
    assert ".venv/bin/moonhook check " in readme


def test_init_editor_files_writes_the_generated_ones_again_and_keeps_the_traders(tmp_path, capsys):
    from engine.interfaces.cli import main

    r = init_project(tmp_path)
    config = r.config.read_text()
    definitions, schema, luarc = (tmp_path / "types" / "moonhook.lua", tmp_path / "moonhook.schema.json",
                                  tmp_path / ".luarc.json")
    generated = definitions.read_text(), schema.read_text()
    definitions.write_text("---@meta\n-- an older moonhook's definitions\n")  # as after an upgrade
    schema.write_text("{}")
    luarc.write_text('{"runtime.version": "Lua 5.4", "mine": true}')        # the trader's own settings
    assert main(["init", "--editor-files", str(tmp_path)]) == 0
    assert (definitions.read_text(), schema.read_text()) == generated
    assert json.loads(luarc.read_text())["mine"] is True and r.config.read_text() == config
    assert "Editor files written: " in capsys.readouterr().out
    assert not list(tmp_path.rglob(".*.tmp"))


def test_the_repository_keeps_what_init_keeps_out_of_git():
    """`make run` in a clone writes moonhook.toml there, where the clone's own .gitignore, left as
    it is, kept out the file but not the copies editors leave beside it (moonhook.toml~,
    .moonhook.toml.swp): `git add -A` committed the webhook secret and the API token."""
    kept = ["moonhook.toml", "moonhook.toml~", ".moonhook.toml.swp", "#moonhook.toml#", "moonhook.toml.bak",
            "data/moonhook.db", "backups/monday.db"]
    ignored = subprocess.run(["git", "check-ignore", "--no-index", *kept], cwd=ROOT, capture_output=True, text=True)
    assert ignored.stdout.split() == kept


def test_the_configs_spread_and_symbol_map_examples_uncommented_together_hold_gold_to_its_own_limit(tmp_path):
    """init's examples, uncommented as written, must agree: the map sent OANDA:XAUUSD as GOLD,
    which the spread limit's XAUUSD = 40 never named, so gold was held to the 3 pips of "*"
    and every entry on it refused at its normal spread."""
    from engine.core.limits import Limits
    from engine.domain.alerts import SymbolMap

    init_project(tmp_path)
    path = tmp_path / "moonhook.toml"
    text = path.read_text()
    for key in ("max_spread_pips", "symbol_map"):
        text = re.sub(rf"^# ({key} = .*)$", r"\1", text, count=1, flags=re.M)
    path.write_text(text)
    engine = load_settings(path, env={}).engine
    gold = SymbolMap(engine.symbol_map).normalize("TVC:GOLD")
    assert (gold, Limits.of(engine).spread_for(gold)) == ("XAUUSD", 40)


def test_the_templates_carry_the_port_and_secret_of_the_environment_run_will_use(tmp_path):
    # init printed 8080 and the file's secret whatever MOONHOOK_PORT and MOONHOOK_SECRET said,
    # though `moonhook run` in the same shell listens on the variable's port and takes its secret.
    theirs = "Xq7-their-own-secret-from-a-vault-9Kd2"
    r = init_project(tmp_path / "a", {"MOONHOOK_PORT": "8099", "MOONHOOK_SECRET": theirs})
    assert r.port == 8099 and r.webhook_url == "http://127.0.0.1:8099/webhook"
    assert r.text_webhook_url == f"http://127.0.0.1:8099/webhook/{theirs}"
    assert json.loads(r.json_template)["secret"] == theirs
    assert load_settings(r.config, {}).server.secret != theirs   # the file keeps its own, the variable wins at run
    assert "moonhook run prints it" not in describe(r)
    assert "moonhook run prints it" in describe(init_project(tmp_path / "b", {"MOONHOOK_PORT": "0"}))


def test_a_bad_port_in_the_environment_is_named_and_nothing_is_written(tmp_path):
    with pytest.raises(SettingsError, match="MOONHOOK_PORT: expected an integer from 0 to 65535"):
        init_project(tmp_path / "a", {"MOONHOOK_PORT": "eighty"})
    assert not (tmp_path / "a").exists()


def test_init_given_a_file_for_its_folder_says_so(tmp_path, capsys):
    # `moonhook init notes.txt` said "moonhook: [Errno 17] File exists: 'notes.txt'", of a folder it meant to make.
    from engine.interfaces.cli import main

    (tmp_path / "notes.txt").write_text("mine")
    assert main(["init", str(tmp_path / "notes.txt")]) == 2
    assert capsys.readouterr().err == f"moonhook: init: Not a directory: {tmp_path / 'notes.txt'}\n"
    assert (tmp_path / "notes.txt").read_text() == "mine"
