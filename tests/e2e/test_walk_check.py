"""`moonhook check` as a trader runs it after `moonhook init`: settings that defeat one another
told as warnings with both keys, their values and the file; each line naming its script so that
two folders checked at once read apart, and a summary per folder."""

from __future__ import annotations

from support.e2e_support import init, outcome


def test_check_warns_of_settings_that_defeat_one_another_naming_both_keys_and_the_file(user):
    """A per-address limit of 512 of 512 connections never acts, and `check` said nothing of it;
    nor of a default volume the order cap refuses, a spread wait with no spread limit to wait
    under, or a floor the paper account starts under."""
    config, _ = init(user, "bot")
    config.replace("max_connections_per_ip = 128", "max_connections_per_ip = 512")
    config.replace("# max_order_volume = 1.0", "max_order_volume = 1.0")
    config.replace("# default_volume = 0.01", "default_volume = 2")
    config.replace("# max_spread_wait = 90", "max_spread_wait = 90")
    config.replace("# min_equity = 91000", "min_equity = 10000")
    checked = user.moonhook("check", "--config", "bot/moonhook.toml")
    assert checked.returncode == 0, outcome(checked)
    warnings = [line for line in checked.stdout.splitlines() if line.startswith("bot/moonhook.toml: warning: ")]
    assert len(warnings) == 4, checked.stdout
    for keys in (("server.max_connections_per_ip = 512", "server.max_connections = 512"),
                 ("engine.default_volume = 2", "engine.max_order_volume = 1"),
                 ("engine.max_spread_wait = 90", "engine.max_spread_pips"),
                 ("engine.min_equity = 10000", "paper.balance = 10000")):
        assert [w for w in warnings if all(k in w for k in keys)], (keys, checked.stdout)


def test_check_says_nothing_of_settings_that_agree(user):
    config, _ = init(user, "bot")
    config.replace("max_connections_per_ip = 128", "max_connections_per_ip = 511")
    config.replace("# max_order_volume = 1.0", "max_order_volume = 1.0")
    config.replace("# default_volume = 0.01", "default_volume = 1")
    config.replace("# max_spread_wait = 90", "max_spread_wait = 90")
    config.replace('# max_spread_pips = { "*" = 3, XAUUSD = 40 }', "max_spread_pips = 3")
    config.replace("# min_equity = 91000", "min_equity = 9000")
    checked = user.moonhook("check", cwd="bot")
    assert checked.returncode == 0 and ": warning: " not in checked.stdout, outcome(checked)


def test_two_folders_checked_at_once_name_each_script_by_its_folder_with_a_summary_for_each(user):
    """`moonhook check scripts ../other/scripts` printed "demo.lua: ok" four times, and the trader
    could not tell which folder's demo.lua had failed: each line names the script's path as typed
    (or relative to the current folder), and each folder gets its count."""
    init(user, "bot")
    init(user, "other")
    broken = user.home / "other" / "scripts" / "demo.lua"
    broken.write_text(broken.read_text() + "\nfunction on_alert(a)\n  return a.nothing.field\nend\n")
    at = broken.read_text().splitlines().index("  return a.nothing.field") + 1
    checked = user.moonhook("check", "scripts", "../other/scripts", cwd="bot")
    assert checked.returncode == 1, outcome(checked)
    lines = checked.stdout.splitlines()
    assert [line.split(": ")[0] for line in lines[:-2]] == ["scripts/demo.lua"] * 2 + [
        f"../other/scripts/demo.lua:{at}", "../other/scripts/demo.lua"], checked.stdout
    assert "on_alert failed on a sample alert" in lines[2] and "field 'nothing'" in lines[2], checked.stdout
    assert lines[-2:] == ["checked scripts/: 1 script: ok", "checked ../other/scripts/: 1 script: 1 error"], \
        checked.stdout
    alone = user.moonhook("check", cwd="bot")   # the configured folder, named from where the trader stands
    assert alone.returncode == 0, outcome(alone)
    assert alone.stdout.splitlines()[0].startswith("scripts/demo.lua: ok: "), alone.stdout
    assert alone.stdout.splitlines()[-1] == "checked scripts/: 1 script: ok", alone.stdout


def test_the_start_shows_the_settings_warnings_check_gives(user):
    """A trader who starts without checking never saw that their default volume is refused by
    their own order cap: `moonhook run`'s banner shows each settings warning `check` gives."""
    config, _ = init(user, "bot")
    config.replace("# max_order_volume = 1.0", "max_order_volume = 1.0")
    config.replace("# default_volume = 0.01", "default_volume = 2")
    checked = user.moonhook("check", cwd="bot")
    warnings = [line for line in checked.stdout.splitlines() if line.startswith("moonhook.toml: warning: ")]
    assert len(warnings) == 1 and "engine.default_volume = 2" in warnings[0], outcome(checked)
    run = user.start("run", config=config, cwd="bot")
    assert [line for line in run.banner.splitlines() if line.startswith("moonhook: moonhook.toml: warning: ")] \
        == [f"moonhook: {warning}" for warning in warnings], run.banner
    assert run.interrupt() == 0


def test_check_names_a_denied_function_where_its_sample_alert_does_not_go(user):
    """docs/plugins.md leaves `load`, `dofile`, `string.dump` and `math.randomseed` (which LuaLS
    knows) to `moonhook check`; it named one only when its sample alert ran it, and said "ok" of a
    script calling `load` in on_close or in a branch, which failed live (forbidden) when reached."""
    init(user, "bot")
    (user.home / "bot" / "scripts" / "exit.lua").write_text(
        "function on_alert(a)\n  if a.comment == 'friday' then math.randomseed(1) end\nend\n"
        "function on_close(c)\n  local f = load('return ' .. c.symbol)  -- load: a comment\nend\n", encoding="utf-8")
    checked = user.moonhook("check", cwd="bot")
    assert checked.returncode == 0, outcome(checked)
    assert "scripts/exit.lua:2: warning: math.randomseed is not available in the sandbox" in checked.stdout, \
        outcome(checked)
    assert "scripts/exit.lua:5: warning: load is not available in the sandbox" in checked.stdout, outcome(checked)
    assert "checked scripts/: 2 scripts: 2 warnings" in checked.stdout, outcome(checked)


def test_a_plugin_table_refused_is_named_at_the_line_of_its_field(user):
    """`moonhook check` prints findings with file:line (docs/plugins.md); a `plugin` table's field
    refused was told without its line ("scripts/slow.lua: error: plugin.every: ...")."""
    init(user, "bot")
    (user.home / "bot" / "scripts" / "slow.lua").write_text(
        'plugin = {\n  priority = 10,\n  every = "sometimes",\n}\nfunction on_timer() end\n', encoding="utf-8")
    checked = user.moonhook("check", cwd="bot")
    assert checked.returncode == 1, outcome(checked)
    assert "scripts/slow.lua:3: error: plugin.every: must be a duration" in checked.stdout, outcome(checked)


def test_a_guarded_function_called_badly_is_named_at_its_line(user):
    """A guarded library function called badly said "bad argument #1 to '?'" without a line: the trader could
    not tell which call had failed. It is named as plain Lua names its own, at the script's line."""
    init(user, "bot")
    (user.home / "bot" / "scripts" / "stamp.lua").write_text(
        'function on_alert(a)\n  local day = os.date("%Ez")\n  return nil\nend\n', encoding="utf-8")
    checked = user.moonhook("check", cwd="bot")
    assert checked.returncode == 1, outcome(checked)
    failed = [line for line in checked.stdout.splitlines() if line.startswith("scripts/stamp.lua:2: error: ")]
    assert len(failed) == 1, outcome(checked)
    assert failed[0].endswith(": script error: bad argument #1 to 'date' (invalid conversion specifier '%Ez')"), \
        outcome(checked)
