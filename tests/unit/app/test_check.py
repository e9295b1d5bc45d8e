"""`moonhook check`: scripts tried the way the engine loads them, each finding with its file
and line, exit 1 on any error."""

import subprocess
import sys
from pathlib import Path

from support.paths import ROOT


SCRIPTS = {
    "good.lua": 'plugin = {symbols = {"EURUSD"}}\n'
                'function on_alert(a) if not a.sl then return false, "no stop" end end\n'
                'function on_alrt(a) end\n',
    "meta.lua": 'plugin = {priority = "high"}\nfunction on_alert(a) end\n',
    "crash.lua": "function on_alert(a)\n  return a.nothing.field\nend\n",
    "syntax.lua": "function on_alert(a\n",
    "loadfail.lua": "function on_load()\n  error('needs a key')\nend\n",
    "greedy.lua": "plugin = {budget = {instructions = 1e9, timeout = 5}}\nfunction on_alert(a) end\n",
}


def check(config: Path, *files: Path) -> subprocess.CompletedProcess:
    config.write_text("")  # every setting at its default
    return subprocess.run([sys.executable, "-m", "engine.interfaces.cli", "--config", str(config), "check", *map(str, files)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_check_reports_each_problem_with_file_and_line(tmp_path):
    for name, source in SCRIPTS.items():
        (tmp_path / name).write_text(source)
    p = check(tmp_path / "moonhook.toml", *(tmp_path / n for n in SCRIPTS))
    assert p.returncode == 1, p.stderr
    out = p.stdout
    assert "good.lua: warning: on_alrt is not a hook" in out
    assert "good.lua: ok: on_alert on a sample alert (buy EURUSD" in out and "passes it" in out
    assert "meta.lua:1: error: plugin.priority: must be an integer" in out
    assert "crash.lua:2: error: on_alert failed on a sample alert" in out and "field 'nothing'" in out
    assert "syntax.lua:2: error:" in out and "expected near <eof>" in out
    assert "syntax.lua:2: error: script error: syntax.lua:2:" not in out  # the place said once
    assert "loadfail.lua:2: error: on_load failed" in out and "needs a key" in out
    assert ("greedy.lua: warning: its budget asks for 1,000,000,000 instructions (the limit is 50,000,000), "
            "5 s (the limit is 1 s): it runs with the limit") in out
    assert p.stderr == ""  # the findings are the report; the engine's own warnings stay quiet


def test_check_passes_the_shipped_examples(tmp_path):
    examples = sorted((ROOT / "examples" / "strategies").glob("*.lua"))
    p = check(tmp_path / "moonhook.toml", *examples)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.count(": ok: plugin ") == len(examples)


def test_check_judges_an_answer_as_the_engine_does(tmp_path):
    """A change the engine would refuse is an error here too, not "changes it"."""
    scripts = {"badchange.lua": "function on_alert(a) return {volume = -1} end\n",
               "goodchange.lua": "function on_alert(a) return {volume = 0.02, comment = \"x\"} end\n",
               "number.lua": "function on_alert(a) return 5 end\n"}
    for name, source in scripts.items():
        (tmp_path / name).write_text(source)
    p = check(tmp_path / "moonhook.toml", *(tmp_path / n for n in scripts))
    assert p.returncode == 1, p.stderr
    assert "badchange.lua: error: on_alert on a sample alert" in p.stdout and "changes refused: volume" in p.stdout
    assert "goodchange.lua: ok: on_alert on a sample alert" in p.stdout and "changes it" in p.stdout
    assert "number.lua: error:" in p.stdout and "expected nil, a table or false" in p.stdout


def test_check_without_files_tries_the_configured_scripts_folder_as_the_engine_picks_it(tmp_path):
    """A user after `moonhook init`: `moonhook check` alone tries what `moonhook run` would load."""
    init = subprocess.run([sys.executable, "-m", "engine.interfaces.cli", "init", "bot"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert init.returncode == 0, init.stderr
    scripts = tmp_path / "bot" / "scripts"
    (scripts / "crash.lua").write_text(SCRIPTS["crash.lua"])
    (scripts / ".crash.lua").write_text(SCRIPTS["syntax.lua"])   # an editor's hidden copy: not a script
    (scripts / "notes.txt").write_text("not lua")

    def check_in(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "engine.interfaces.cli", *args], cwd=tmp_path / "bot",
                              capture_output=True, text=True, timeout=60)

    p = check_in("check")
    assert p.returncode == 1, p.stdout + p.stderr
    said = [line.split(":")[0] for line in p.stdout.splitlines()]
    assert said == ["scripts/crash.lua"] * 2 + ["scripts/demo.lua"] * 2 + ["checked scripts/"], p.stdout
    assert "scripts/crash.lua:2: error: on_alert failed" in p.stdout
    assert p.stdout.splitlines()[-1] == "checked scripts/: 2 scripts: 1 error", p.stdout
    (tmp_path / "bot" / "empty").mkdir()
    p = check_in("check", "empty", "scripts/demo.lua", "missing")
    assert p.returncode == 1, p.stdout + p.stderr
    assert p.stdout.splitlines()[0] == "empty: warning: no scripts (*.lua) in this folder"
    assert "missing: error: no such file or folder: missing" in p.stdout
    assert "crash.lua" not in p.stdout and p.stdout.count("demo.lua: ok") == 2


def test_check_tells_a_plugins_table_that_reaches_no_plugin(tmp_path):
    """[plugins.Demo] for demo, or a params key demo.lua does not have, applied to nothing and
    `check` said all was well: the trader believed demo switched off, or its stops required."""
    init = subprocess.run([sys.executable, "-m", "engine.interfaces.cli", "init", "bot"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert init.returncode == 0, init.stderr
    config = tmp_path / "bot" / "moonhook.toml"
    config.write_text(config.read_text().replace("[plugins.demo]\nenabled = true", "[plugins.Demo]\nenabled = false")
                      .replace("allow_without_stop = false", "allow_without_stop = false\nallow_without_stops = true")
                      + "\n[plugins.crash]\nenabled = false\n")
    (tmp_path / "bot" / "scripts" / "crash.lua").write_text(SCRIPTS["syntax.lua"])   # its table is its own

    def check_in(*args: str) -> list[str]:
        done = subprocess.run([sys.executable, "-m", "engine.interfaces.cli", "check", *args], cwd=tmp_path / "bot",
                              capture_output=True, text=True, timeout=60)
        return [line for line in done.stdout.splitlines() if line.startswith("moonhook.toml:")]

    assert check_in() == [
        "moonhook.toml: warning: [plugins.Demo] names no plugin (loaded: demo): it applies to none",
        "moonhook.toml: warning: plugins.demo.params: allow_without_stops not among the params its script declares "
        "(allow_without_stop): never read unless the script asks for it by that name"]
    assert check_in("scripts/demo.lua") == check_in()[1:]   # the other scripts unchecked: their names unknown


def test_check_leaves_a_missing_shadow_folder_missing(tmp_path):
    """`check` made `[shadow]`'s folder, empty, when it was not there: `moonhook run`, which refuses
    a shadow folder that is not there (a typo in its key), then started with a shadow of no plugins
    comparing nothing, and the trader read its silence as the next version agreeing."""
    init = subprocess.run([sys.executable, "-m", "engine.interfaces.cli", "init", "bot"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert init.returncode == 0, init.stderr
    config = tmp_path / "bot" / "moonhook.toml"
    config.write_text(config.read_text() + '\n[shadow]\nscripts = "scripts-nxet"\n')
    p = subprocess.run([sys.executable, "-m", "engine.interfaces.cli", "check"], cwd=tmp_path / "bot",
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert not (tmp_path / "bot" / "scripts-nxet").exists()


def test_check_warns_of_a_timer_that_never_runs(tmp_path):
    """on_timer runs every plugin.every only: a trailing stop written without `every` never moved a
    stop, and `check` said all was well; so did a script giving `every` and no on_timer."""
    scripts = {"no_every.lua": "function on_timer() end\n",
               "no_timer.lua": 'plugin = {every = "1m"}\nfunction on_alert(a) end\n',
               "both.lua": 'plugin = {every = "1m"}\nfunction on_timer() end\n'}
    for name, source in scripts.items():
        (tmp_path / name).write_text(source)
    p = check(tmp_path / "moonhook.toml", *(tmp_path / n for n in scripts))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "no_every.lua: warning: on_timer is never called: plugin.every is not set" in p.stdout
    assert "no_timer.lua: warning: plugin.every is set but no on_timer is defined" in p.stdout
    assert "both.lua: warning" not in p.stdout


def test_check_of_the_live_and_the_shadow_folder_finds_no_clash_between_them(tmp_path):
    """shadow.md's next version, `moonhook check scripts scripts-next`: each folder's demo.lua was
    an error, "plugin 'demo' is also named by : ...", naming no file, though each folder is a run
    of its own. A clash within one folder is still one."""
    init = subprocess.run([sys.executable, "-m", "engine.interfaces.cli", "init", "bot"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert init.returncode == 0, init.stderr
    bot = tmp_path / "bot"
    (bot / "scripts-next").mkdir()
    (bot / "scripts-next" / "demo.lua").write_text((bot / "scripts" / "demo.lua").read_text())
    p = subprocess.run([sys.executable, "-m", "engine.interfaces.cli", "check", "scripts", "scripts-next"], cwd=bot,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and "error" not in p.stdout, p.stdout + p.stderr
    (bot / "scripts-next" / "copy.lua").write_text('plugin = {name = "demo"}\nfunction on_alert(a) end\n')
    p = subprocess.run([sys.executable, "-m", "engine.interfaces.cli", "check", "scripts", "scripts-next"], cwd=bot,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "scripts-next/copy.lua: error: plugin 'demo' is also named by demo.lua: " in p.stdout, p.stdout


def test_check_of_the_live_and_the_shadow_folder_takes_a_param_either_version_declares(tmp_path):
    """The next version in scripts-next declares a param the live one does not, set in [plugins.demo]:
    moonhook run reads both versions' params (settings_saves.strays); check warned of it as unread
    when the live folder was checked last, whose demo.lua took the name's params alone."""
    init = subprocess.run([sys.executable, "-m", "engine.interfaces.cli", "init", "bot"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert init.returncode == 0, init.stderr
    bot = tmp_path / "bot"
    (bot / "scripts-next").mkdir()
    live = (bot / "scripts" / "demo.lua").read_text()
    assert "params = {allow_without_stop = false}" in live
    declared = "params = {allow_without_stop = false, max_spread = 3}"
    (bot / "scripts-next" / "demo.lua").write_text(live.replace("params = {allow_without_stop = false}", declared))
    settings = bot / "moonhook.toml"
    settings.write_text(settings.read_text().replace("allow_without_stop = false\n",
                                                     "allow_without_stop = false\nmax_spread = 2\n"))
    for order in (["scripts", "scripts-next"], ["scripts-next", "scripts"]):
        p = subprocess.run([sys.executable, "-m", "engine.interfaces.cli", "check", *order], cwd=bot,
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0 and "max_spread" not in p.stdout, (order, p.stdout + p.stderr)


def test_check_tries_a_script_that_places_its_own_orders_as_the_engine_runs_it(tmp_path):
    """plugins.md's way to trade another symbol: place the order with orders.market or orders.pending
    and return handled = true. `check` ran on_alert outside any alert, so the call failed, "orders.market:
    refused in on_load and on_unload", and check said error, exit 1, of a script moonhook run trades
    with. The sample alert's orders go to check's own paper broker, and the finding says what they did."""
    scripts = {"own.lua": 'plugin = {symbols = {"EURUSD"}}\nfunction on_alert(a)\n'
                          '  local r = orders.market{symbol = "EURUSD", side = "buy", volume = 0.02, sl = 1.08}\n'
                          '  local p = orders.pending{symbol = "EURUSD", side = "sell", type = "limit", price = 1.2,'
                          ' volume = 0.01}\n'
                          '  assert(r.ok and p.ok, "refused")\n  return {handled = true}\nend\n',
               "refused.lua": 'function on_alert(a)\n  orders.market{symbol = "EURUSD", side = "buy", volume = 500}\n'
                              'end\n'}
    for name, source in scripts.items():
        (tmp_path / name).write_text(source)
    p = check(tmp_path / "moonhook.toml", *(tmp_path / n for n in scripts))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "refused in on_load" not in p.stdout
    assert ("own.lua: ok: on_alert on a sample alert (buy EURUSD volume=0.01 price=1.1 sl=1.089 tp=1.122) "
            "places its own orders (handled): market buy 0.02 EURUSD: ok; pending sell 0.01 EURUSD at 1.2: ok") \
        in p.stdout, p.stdout
    assert "refused.lua: ok: on_alert on a sample alert" in p.stdout
    assert "passes it; its orders: market buy EURUSD: refused (volume 500 is above EURUSD's maximum 100)" \
        in p.stdout, p.stdout


def test_check_tries_each_script_on_a_book_of_its_own(tmp_path):
    """Check's scripts share one throwaway engine: the position one opened on the sample alert was still
    open when the next was tried, and examples/one_position.lua, checked after it, rejected the sample
    alert, "already a position open on EURUSD", for a position no script of the trader's had."""
    (tmp_path / "a_opens.lua").write_text('function on_alert(a)\n  orders.market{symbol = "EURUSD", side = "buy", '
                                          'volume = 0.01}\n  orders.pending{symbol = "EURUSD", side = "buy", '
                                          'type = "limit", price = 1.0, volume = 0.01}\n  return {handled = true}\nend\n')
    (tmp_path / "b_opens.lua").write_text((tmp_path / "a_opens.lua").read_text())
    guard = ROOT / "examples" / "strategies" / "one_position.lua"
    p = check(tmp_path / "moonhook.toml", tmp_path / "a_opens.lua", guard, tmp_path / "b_opens.lua")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "one_position.lua: ok: on_alert on a sample alert (buy EURUSD volume=0.01 price=1.1 sl=1.089 " \
           "tp=1.122) passes it" in p.stdout, p.stdout
    assert p.stdout.count("places its own orders (handled): market buy 0.01 EURUSD: ok; pending buy 0.01 EURUSD "
                          "at 1: ok") == 2, p.stdout


def test_check_sizes_the_sample_alert_as_its_symbol_takes_it(tmp_path):
    """The sample alert was 0.01 lots whatever its symbol: a US30 script sending the alert's volume on was
    an error, "volume 0.01 is below US30's minimum 0.1", that no alert of the trader's would meet."""
    (tmp_path / "index.lua").write_text('plugin = {symbols = {"US30"}}\nfunction on_alert(a)\n'
                                        '  local r = orders.market{symbol = a.symbol, side = "buy", volume = a.volume}\n'
                                        '  assert(r.ok, r.error)\n  return {handled = true}\nend\n')
    p = check(tmp_path / "moonhook.toml", tmp_path / "index.lua")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "index.lua: ok: on_alert on a sample alert (buy US30 volume=0.1 price=100.0 sl=99 tp=102) places its " \
           "own orders (handled): market buy 0.1 US30: ok" in p.stdout, p.stdout


def test_check_names_a_wrong_answer_in_luas_own_words(tmp_path):
    """on_alert returning a string was "returned a str", a number "a float", and an array "returned a
    list; expected nil, a table or false", of a table: Python's names, read by a Lua script's author."""
    scripts = {"text.lua": 'function on_alert(a) return "no" end\n',
               "number.lua": "function on_alert(a) return 1.5 end\n",
               "array.lua": "function on_alert(a) return {false, \"no stop\"} end\n"}
    for name, source in scripts.items():
        (tmp_path / name).write_text(source)
    p = check(tmp_path / "moonhook.toml", *(tmp_path / n for n in scripts))
    assert p.returncode == 1, p.stdout + p.stderr
    assert "text.lua: error: on_alert on a sample alert (buy EURUSD volume=0.01 price=1.1 sl=1.089 tp=1.122): " \
           "returned a string; expected nil, a table or false" in p.stdout, p.stdout
    assert "number.lua: error: on_alert on a sample alert" in p.stdout and "returned a number;" in p.stdout
    assert "array.lua: error: on_alert on a sample alert" in p.stdout, p.stdout
    assert "returned an array (a table of values without field names); expected nil, a table or false" \
           in p.stdout, p.stdout
