"""A saved moonhook.toml is applied whole or not at all (``settings_saves.py``): every plugin
whose ``[plugins.NAME]`` table changed is loaded with it before any of the save is in force."""

from __future__ import annotations

from test_reload import comment_of, outbox, save, watching

from support.waits import until


async def test_a_table_one_plugin_refuses_leaves_the_others_and_the_settings_as_they_were(tmp_path):
    # "level" takes its new params, "flag" refuses its own: level ran on "high" while the save was
    # told refused, and its version loaded for the save stayed in the sandbox.
    config = tmp_path / "moonhook.toml"
    start = ('[engine]\nscripts = "scripts"\ndata = "data"\nmax_order_volume = 1\n[sandbox]\nworkers = 1\n'
             '[plugins.level]\nparams = {level = "mid"}\n[plugins.flag]\nparams = {on = false}\n')
    config.write_text(start)
    scripts = {"level": 'plugin = {params = {level = "low"}}\nfunction on_alert(a) return {comment = params.level} end',
               "flag": "plugin = {priority = 200, params = {on = false}}\nfunction on_alert(a) end"}
    async with watching(tmp_path, scripts, settings_file=config) as engine:
        loaded = set(engine.pool.plugins())
        save(config, start.replace('"mid"', '"high"').replace("on = false", 'on = "no"')
             .replace("max_order_volume = 1", "max_order_volume = 0.5"))
        await until(lambda: any("not applied" in t for t in outbox(engine)))
        assert outbox(engine) == ['moonhook.toml not applied: flag.lua: [plugins.flag] params.on: expected true or '
                                  'false, as the script\'s default false, got a string "no"; the running '
                                  'configuration is kept']
        assert set(engine.pool.plugins()) == loaded
        assert await comment_of(engine, 1) == "mid" and engine.config.max_order_volume == 1
        save(config, start.replace('"mid"', '"high"').replace("max_order_volume = 1", "max_order_volume = 0.5"))
        await until(lambda: any("saved" in t for t in outbox(engine)))
        assert await comment_of(engine, 2) == "high" and engine.config.max_order_volume == 0.5


async def test_a_symbol_map_a_plugin_refuses_leaves_the_plugins_params_and_the_map_as_they_were(tmp_path):
    # The other way round: level's new params taken, while the new map, naming no longer the ticker
    # "fut" watches, was put in force with fut refused and running on under the old one.
    config = tmp_path / "moonhook.toml"
    start = ('[engine]\nscripts = "scripts"\ndata = "data"\nsymbol_map = {"ES1!" = "US500"}\n[sandbox]\nworkers = 1\n'
             '[plugins.level]\nparams = {level = "mid"}\n')
    config.write_text(start)
    scripts = {"level": 'plugin = {params = {level = "low"}}\nfunction on_alert(a) return {comment = params.level} end',
               "fut": 'plugin = {symbols = {"ES1!"}}\nfunction on_alert(a) end'}
    async with watching(tmp_path, scripts, settings_file=config) as engine:
        loaded = set(engine.pool.plugins())
        save(config, start.replace('"mid"', '"high"').replace('"ES1!" = "US500"', '"NQ1!" = "NAS100"'))
        await until(lambda: any("not applied" in t for t in outbox(engine)))
        (told,) = outbox(engine)
        assert told.startswith("moonhook.toml not applied: fut.lua:") and "ES1!" in told, told
        assert set(engine.pool.plugins()) == loaded
        assert await comment_of(engine, 1) == "mid" and engine.config.symbol_map == {"ES1!": "US500"}
        assert engine.plugins.get("fut").meta.symbols == {"US500"}
