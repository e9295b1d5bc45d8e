"""What a trader sets in moonhook.toml, `moonhook run` obeys: each key edited in the file
`moonhook init` wrote, as a user would, and seen at work over HTTP (the settings' own checks
are tests/unit/app/test_settings.py). The MetaTrader 5 keys are walked in test_walk_mt5.py, the
Telegram ones in test_walk_telegram.py, the account's limits in test_walk_order_cap.py."""

from __future__ import annotations

import time

import httpx

from support.e2e_support import Config, init, until

SPIN = """
plugin = {budget = {timeout = 5}}  -- more than the engine allows: it runs with the limit, and says so
function on_alert(a)
  if a.comment == 'spin' then for i = 1, 10000000 do end end
end
"""


def test_the_engines_keys_are_obeyed(user):
    config, _ = init(user, "bot")
    config.replace("# default_volume = 0.01", "default_volume = 0.03")
    config.replace('# symbol_map = { "TVC:GOLD" = "XAUUSD", "US30" = "US30.cash" }',
                   'symbol_map = { "ACME:EURO" = "EURUSD" }')
    config.replace("dedup_window = 60.0", "dedup_window = 0.0")
    config.replace("instructions = 2000000", "instructions = 100000")
    config.replace("allow_without_stop = false", "allow_without_stop = true")
    config.replace("# budget = { instructions = 5000000, timeout = 0.2, memory_mb = 32 }",
                   "budget = { instructions = 5000000, timeout = 0.2, memory_mb = 32 }")
    config.replace("max_body = 65536", "max_body = 2048")
    config.replace("leverage = 100.0", "leverage = 10.0")
    (user.home / "bot" / "scripts" / "spin.lua").write_text(SPIN)
    run = user.start("run", config=config, cwd="bot")

    sized = run.settled(run.webhook("buy ACME:EURO price=1.1 id=one")["id"])      # no size, no stop
    assert sized["status"] == "done", sized["outcome"]                                         # demo's params allow it
    assert [(p["symbol"], p["volume"]) for p in run.get("/api/positions")["positions"]] == [("EURUSD", 0.03)]
    broke = run.settled(run.webhook("buy EURUSD volume=1 price=1.1 id=broke")["id"])  # 11,000 USD of margin at 1:10
    assert broke["status"] == "failed" and broke["outcome"]["orders"][0]["error"].startswith(
        "not enough money: 1 lots of EURUSD need 11,000.00 USD of margin at 1:10"), broke["outcome"]
    limit = run.settled(run.webhook("buylimit EURUSD volume=1 price=1.05 sl=1.04 id=limit")["id"])
    assert limit["status"] == "done", limit["outcome"]                             # placing it needs no margin
    (order,) = run.get("/api/orders")["open"]
    run.settled(run.webhook("closeshort EURUSD price=1.0499 id=cross")["id"])      # its price comes: 10,499 USD
    rejected = until(run.text, lambda text: f"pending order {order['ticket']} buy limit 1 EURUSD" in text,
                     "the pending order's rejection in the log")
    assert "rejected (engine): not enough money: 1 lots of EURUSD need 10,499.00 USD of margin at 1:10" in rejected
    assert run.get("/api/orders")["open"] == [] and len(run.get("/api/positions")["positions"]) == 1
    twice = [run.webhook("closelong EURUSD") for _ in range(2)]                     # no dedup window
    assert [t["status"] for t in twice] == ["accepted", "accepted"]
    run.settled(twice[1]["id"])
    spun = run.settled(run.webhook("trend EURUSD H1 up comment=spin")["id"])
    assert spun["status"] == "done"
    spin = next(p for p in run.get("/api/plugins")["plugins"] if p["name"] == "spin")
    assert "instruction" in spin["last_error"], spin                                # the budget of [sandbox]
    assert spin["budget"] == {"instructions": 100_000, "timeout_ms": 1000, "memory_mb": 16}
    assert spin["budget_note"] == "its budget asks for 5 s (the limit is 1 s): it runs with the limit"
    demo = next(p for p in run.get("/api/plugins")["plugins"] if p["name"] == "demo")
    assert demo["budget"] == {"instructions": 5_000_000, "timeout_ms": 200, "memory_mb": 32}   # [plugins.demo]
    assert "budget_note" not in demo
    assert "spin.lua: its budget asks for 5 s" in run.text()
    secret = config.values["server"]["secret"]
    big = httpx.post(f"http://127.0.0.1:{run.port}/webhook/{secret}", content=b"buy EURUSD " + b"x" * 3000,
                     timeout=10)
    assert big.status_code == 413
    assert run.interrupt() == 0


def test_the_servers_address_list_refuses_anyone_else(user):
    config, _ = init(user, "bot")
    config.replace("allow_ips = []", 'allow_ips = ["10.9.9.9"]')
    run = user.start("run", config=config, cwd="bot")
    secret = config.values["server"]["secret"]
    refused = httpx.post(f"http://127.0.0.1:{run.port}/webhook/{secret}", content=b"buy EURUSD volume=0.1",
                         timeout=10)
    assert refused.status_code == 403
    # The banner's `try it` line comes from this machine: it said nothing of the 403 that line meets.
    assert 'moonhook: server.allow_ips leaves out 127.0.0.1' in run.banner, run.banner
    tried = user.typed(run.try_command, cwd="bot")
    assert tried.returncode == 1 and "403" in tried.stdout and "127.0.0.1 is not allowed" in tried.stdout
    assert run.get("/api/alerts")["alerts"] == []
    assert run.interrupt() == 0


def test_a_paper_account_a_proxy_and_an_engine_that_only_listens(user):
    config, _ = init(user, "bot")
    config.replace("execute_alerts = true", "execute_alerts = false")
    config.replace("balance = 10000.0", "balance = 2500.0")
    config.replace('currency = "USD"', 'currency = "EUR"')
    config.replace("allow_ips = []", 'allow_ips = ["203.0.113.7"]')      # TradingView's address, say
    config.replace("trusted_proxies = []", 'trusted_proxies = ["127.0.0.1"]')  # behind nginx on this machine
    config.replace("dashboard_edit = true", "dashboard_edit = false")
    config.replace("enabled = true", "enabled = false")                   # [plugins.demo]
    run = user.start("run", config=config, cwd="bot")
    secret = config.values["server"]["secret"]

    def post(forwarded_for: str | None) -> httpx.Response:
        headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
        return httpx.post(f"http://127.0.0.1:{run.port}/webhook/{secret}", content=b"buy EURUSD volume=0.1 price=1.1",
                          headers=headers, timeout=10)

    assert post(None).status_code == 403                   # the proxy itself is not TradingView
    assert post("198.51.100.1").status_code == 403
    heard = post("203.0.113.7")
    assert heard.status_code == 200
    row = run.settled(heard.json()["id"])
    assert (row["status"], row["outcome"]["note"]) == ("done", "not executed: engine.execute_alerts is off")
    assert run.get("/api/positions")["positions"] == []
    assert [(p["name"], p["enabled"]) for p in run.get("/api/plugins")["plugins"]] == [("demo", False)]
    account = run.get("/api/account")["account"]
    assert (account["balance"], account["currency"]) == (2500.0, "EUR")
    saved = run.client.put("/api/scripts/demo.lua", content=b"-- changed from the dashboard\n")
    assert saved.status_code == 403
    assert "changed from the dashboard" not in (user.home / "bot" / "scripts" / "demo.lua").read_text()
    assert run.interrupt() == 0


def test_alerts_missed_while_paused_expire_past_max_alert_age_but_closes_need_not(user):
    config, _ = init(user, "bot")
    config.replace("max_alert_age = 120", "max_alert_age = 1")
    config.replace("expire_closes = true", "expire_closes = false")
    run = user.start("run", config=config, cwd="bot")
    entry = run.settled(run.webhook("buy EURUSD volume=0.1 price=1.1 sl=1.09 id=before")["id"])
    assert entry["status"] == "done"
    assert run.client.post("/api/pause").status_code == 200
    late_entry = run.webhook("buy EURUSD volume=0.1 price=1.1 sl=1.09 id=late")["id"]
    late_close = run.webhook("closelong EURUSD id=late-close")["id"]
    until(lambda: time.time(), lambda now: now > run.get(f"/api/alerts/{late_close}")["received_at"] + 1.5,
          "the missed alerts older than max_alert_age")
    assert run.client.post("/api/resume", json={"execute_missed": True}).status_code == 200
    expired, closed = run.settled(late_entry), run.settled(late_close)
    assert expired["status"] == "expired" and "engine.max_alert_age (1 s)" in expired["outcome"]["reason"]
    assert closed["status"] == "done"                                   # expire_closes = false
    assert run.get("/api/positions")["positions"] == []
    assert run.interrupt() == 0


def test_a_pause_stops_a_plugins_timer_from_opening_a_position(user):
    """Paused through the API, `moonhook run` sends no entry a plugin's timer places (a script
    saved meanwhile, armed at its load): refused with the reason, the account untouched."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    assert run.settled(run.webhook("buy EURUSD volume=0.1 price=1.1 sl=1.09 id=quote")["id"])["status"] == "done"
    assert run.client.post("/api/pause", json={"reason": "news"}).status_code == 200
    (user.home / "bot" / "scripts" / "dca.lua").write_text("""
plugin = {every = "1s"}
function on_load() store.set("armed", true) end
function on_timer()
  if not store.get("armed") then return end
  store.delete("armed")
  local r = orders.market{symbol = "EURUSD", side = "buy", volume = 0.1, sl = 1.09}
  log.info("timer entry: " .. (r.ok and "entered" or r.error))
end
""")
    until(run.text, lambda t: "timer entry: moonhook is paused: no entry is made until it is resumed" in t,
          "the timer's entry refused")
    assert len(run.get("/api/positions")["positions"]) == 1   # the alert's only
    assert run.interrupt() == 0


def test_a_symbol_map_naming_no_symbol_stops_the_start_with_the_key(user):
    """It used to pass the settings and end `moonhook run` and `check` in a traceback."""
    config, _ = init(user, "bot")
    config.replace('# symbol_map = { "TVC:GOLD" = "XAUUSD", "US30" = "US30.cash" }',
                   'symbol_map = { GOLD = "XAU USD" }')
    for command in ("run", "check"):
        done = user.moonhook(command, cwd="bot")
        assert done.returncode == 2 and "Traceback" not in done.stderr, (command, done.returncode, done.stderr)
        line = config.path.read_text().splitlines().index('symbol_map = { GOLD = "XAU USD" }') + 1
        assert (f"moonhook.toml: line {line}: engine.symbol_map: 'GOLD' maps to 'XAU USD', which is not a valid "
                "symbol") in done.stderr, done.stderr


def test_a_token_saved_while_running_is_said_by_send_and_status_never_read_as_an_idle_engine(user):
    # The engine keeps the token it started with; `send` read its 401s as "not processed yet"
    # and said "not processed after 10 s" of an alert that had traded (sent again: twice), and
    # `status` printed an empty table and "0 alerts", exit 0.
    config, _ = init(user, "bot")
    run = user.start("run", "--config", "bot/moonhook.toml", config=config)
    token = config.values["server"]["api_token"]
    config.replace(f'api_token = "{token}"', 'api_token = "rotated-but-not-restarted-0123456789"')
    sent = user.moonhook("send", "--config", "bot/moonhook.toml", "buy EURUSD volume=0.01 sl=1.09 price=1.1 id=rot")
    alert_id = int(sent.stdout.split('"id": ')[1].split("}")[0])
    assert sent.returncode == 2, (sent.stdout, sent.stderr)
    assert (f"moonhook: alert {alert_id} was accepted, but its outcome cannot be read: the engine refused "
            "server.api_token (401") in sent.stderr
    assert run.settled(alert_id)["status"] == "done"   # it traded: the message must not read as "not processed"
    status = user.moonhook("status", "--config", "bot/moonhook.toml")
    assert status.returncode == 2 and "the engine refused server.api_token (401" in status.stderr, status.stderr
    assert "today:" not in status.stdout and "plugin  state" not in status.stdout


def test_mistakes_at_the_shell_are_said_plainly(user):
    (user.home / "afile").write_text("")
    bad = user.moonhook("init", "afile/bot")
    assert (bad.returncode, bad.stderr.strip()) == (2, "moonhook: init: Not a directory: afile/bot"), bad.stderr
    config, _ = init(user, "bot")
    config.replace('data = "data"', 'data = "../afile/data"')
    refused = user.moonhook("run", "--config", "bot/moonhook.toml")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
    assert ("moonhook: the data folder bot/../afile/data cannot be used: Not a directory; set [engine] data to a "
            "folder this user can write") in refused.stderr, refused.stderr
    demo = user.home / "bot" / "scripts" / "demo.lua"
    (demo.parent / "demo_copy.lua").write_text(demo.read_text().replace("plugin = {", 'plugin = {\n  name = "demo",', 1))
    checked = user.moonhook("check", "--config", "bot/moonhook.toml")   # each loads alone; run serves one at most
    assert checked.returncode == 1
    assert ("demo_copy.lua: error: plugin 'demo' is also named by demo.lua: moonhook run serves it from one file "
            "at most; give each its own plugin.name") in checked.stdout, checked.stdout


def test_a_scripts_folder_that_is_not_there_stops_the_start_in_one_line(user):
    """A typo in engine.scripts (or shadow.scripts) ended `moonhook run` in four tracebacks."""
    config, _ = init(user, "bot")
    config.replace('scripts = "scripts"', 'scripts = "scirpts"')
    refused = user.moonhook("run", "--config", "bot/moonhook.toml")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
    assert ("moonhook: engine.scripts: the folder bot/scirpts is not there: set it in bot/moonhook.toml to the folder "
            "of your strategies (`moonhook init` writes scripts/ with an example)") in refused.stderr, refused.stderr
    config.replace('scripts = "scirpts"', 'scripts = "scripts"')
    config.append('[shadow]\nscripts = "scripts-next"\n')
    refused = user.moonhook("run", "--config", "bot/moonhook.toml")
    # It was sent to "the folder of your strategies (`moonhook init` writes scripts/ ...)": the live one's advice.
    assert refused.returncode == 2 and ("moonhook: shadow.scripts: the folder bot/scripts-next is not there: set it "
                                        "in bot/moonhook.toml to the folder of the next version of your strategies "
                                        "(a copy of scripts/ to change: docs/shadow.md), or remove [shadow]\n"
                                        ) == refused.stderr, refused.stderr


def test_moonhook_toml_saved_with_comments_only_keeps_the_running_limits(user):
    """All of it deleted but its heading comments, while `moonhook run` runs: read as it is, it
    was the defaults, every limit unset and said "in force now"; it is refused, the limit holds."""
    config, _ = init(user, "bot")
    config.replace("# max_order_volume = 1.0", "max_order_volume = 0.5")
    run = user.start("run", "--config", "bot/moonhook.toml", config=config)
    config.replace("max_order_volume = 0.5", "max_order_volume = 0.4")
    told = until(run.text, lambda text: "moonhook.toml saved" in text, "the save applied")
    assert "moonhook.toml saved; in force now: engine.max_order_volume 0.4 (was 0.5)\n" in told, told  # nothing else
    secret = config.values["server"]["secret"]   # the running engine's, gone from the file
    heading = "".join(line + "\n" for line in config.path.read_text().splitlines()[:6])
    config.path.write_text(heading)
    refused = until(run.text, lambda text: "moonhook.toml not applied" in text, "the save refused")
    assert ("ERROR moonhook.plugins: moonhook.toml not applied: it holds no settings (empty, or comments only); "
            "the running configuration is kept") in refused, refused   # the file named once, not by its path again
    sent = httpx.post(f"http://127.0.0.1:{run.port}/webhook/{secret}", timeout=10,
                      content=b"buy EURUSD volume=1 price=1.1 sl=1.09 id=fat")
    fat = run.settled(sent.json()["id"])
    assert fat["outcome"]["orders"][0]["error"] == "over engine.max_order_volume: 1 lots asked, at most 0.4"
    assert run.interrupt() == 0


def test_a_plugins_table_naming_no_plugin_is_said_at_the_start(user):
    """[plugins.Demo] to switch demo off: the start said nothing, and demo traded on."""
    config, _ = init(user, "bot")
    config.append("[plugins.Demo]\nenabled = false\n")
    run = user.start("run", config=config, cwd="bot")
    assert "moonhook: moonhook.toml: [plugins.Demo] names no plugin (loaded: demo): it applies to none" in run.banner
    assert run.interrupt() == 0


def test_a_mistyped_file_stops_the_start_at_its_line_with_nothing_made(user):
    """Four slips a user makes, each refused by `moonhook run` in one line naming the file, the line,
    the key and what is wrong, before a folder or a port is taken: a port written into server.host
    (it stopped at the bind, `cannot listen on 127.0.0.1:8080:8080`, its data folder made), a key
    added again at the file's end (tomllib said `Cannot overwrite a value (at end of document)`), and
    a compose file's variable for the secret (taken as the secret: anyone's guess), and a bot's
    chats uncommented without its token (a traceback, `BotConfig.__init__() missing 1 required ...`)."""
    config, _ = init(user, "bot")
    clean = config.path.read_text()
    lines = clean.splitlines()
    host = lines.index('host = "127.0.0.1"') + 1
    secret = next(i for i, line in enumerate(lines) if line.startswith("secret = ")) + 1
    slips = [
        (clean.replace('host = "127.0.0.1"', 'host = "127.0.0.1:8080"'),
         f"line {host}: server.host: expected an IP address or a name"),
        (clean + "allow_without_stop = true\n",
         f"line {len(lines) + 1}: plugins.demo.params.allow_without_stop is written twice (first on line "
         f"{lines.index('allow_without_stop = false') + 1}): keep one"),
        (clean.replace(config.values["server"]["secret"], "${WEBHOOK_SECRET}"),
         f"line {secret}: server.secret: expected the secret itself, not an environment variable's name"),
        (clean.replace("# [[telegram.bots]]", "[[telegram.bots]]").replace("# chats = [123456789", "chats = [123456789"),
         f"line {lines.index('# [[telegram.bots]]') + 1}: telegram.bots[0].token: required: the bot's token"),
    ]
    for text, said in slips:
        config.path.write_text(text)
        refused = user.moonhook("run", "--config", "bot/moonhook.toml")
        assert refused.returncode == 2 and refused.stderr.startswith(f"moonhook: bot/moonhook.toml: {said}"), (
            said, refused.stderr)
        assert len(refused.stderr.splitlines()) == 1 and refused.stdout == "", refused.stderr
        assert not (user.home / "bot" / "data").exists()


def test_a_file_without_the_api_token_says_at_the_start_that_the_api_is_closed(user):
    """`api_token` deleted (every key is optional but the secrets): the engine starts, its API, the
    dashboard and /metrics refuse everyone (fail closed), and the banner said nothing of it, as it
    does of a missing secret; the trader met it as 401s in the browser and in `moonhook status`."""
    config, _ = init(user, "bot")
    kept = Config(user.home / "kept.toml")   # what the user had: the run below no longer knows its token
    kept.path.write_text(config.path.read_text())
    config.replace(f'api_token = "{config.values["server"]["api_token"]}"', "")
    run = user.start("run", "--config", "bot/moonhook.toml", config=kept)
    assert ("moonhook: no server.api_token is set: the API, the dashboard and /metrics refuse everyone, and "
            "`moonhook send` and `status` cannot read the engine. Run `moonhook init` or set MOONHOOK_API_TOKEN."
            ) in run.banner, run.banner
    for path in ("/api/overview", "/metrics"):
        assert run.client.get(path).status_code == 401
    assert run.interrupt() == 0


def test_a_telegram_webhook_url_without_its_secret_stops_the_start_at_the_urls_line(user):
    """It was told at the [telegram] header's line, a screen above the key to fix."""
    config, _ = init(user, "bot")
    config.append('[telegram]\nadmins = [4242]\nbots = [{token = "5150:walk-bot-token", chats = [4242]}]\n'
                  'webhook_url = "https://moonhook.example.org/telegram"\n')
    for command in ("run", "check"):
        done = user.moonhook(command, cwd="bot")
        assert done.returncode == 2 and "Traceback" not in done.stderr, (command, done.returncode, done.stderr)
        line = config.path.read_text().splitlines().index('webhook_url = "https://moonhook.example.org/telegram"') + 1
        assert f"moonhook.toml: line {line}: telegram.webhook_url: " in done.stderr, done.stderr
        assert "telegram.webhook_secret" in done.stderr, done.stderr


def test_a_save_a_plugin_refuses_puts_none_of_it_in_force(user):
    """A save giving demo's allow_without_stop "false" (its script wants true or false) and a new
    default_volume: the reload was refused, demo kept its params, yet every order's size changed."""
    config, _ = init(user, "bot")
    config.replace("# default_volume = 0.01", "default_volume = 0.03")
    run = user.start("run", config=config, cwd="bot")
    text = config.path.read_text().replace("default_volume = 0.03", "default_volume = 0.05")
    config.path.write_text(text.replace("allow_without_stop = false", 'allow_without_stop = "false"'))
    told = until(run.text, lambda t: "moonhook.toml saved" in t or "moonhook.toml not applied" in t, "the save")
    assert ('moonhook.toml not applied: demo.lua: [plugins.demo] params.allow_without_stop: expected true or false, as the '
            'script\'s default false, got a string "false"; the running configuration is kept') in told, told
    assert "moonhook.toml saved" not in told, told
    sized = run.settled(run.webhook("buy EURUSD price=1.1 sl=1.09 id=sized")["id"])
    assert sized["status"] == "done", sized["outcome"]
    assert [p["volume"] for p in run.get("/api/positions")["positions"]] == [0.03]      # default_volume as it was
    bare = run.settled(run.webhook("buy EURUSD price=1.1 id=bare")["id"])               # demo's params as they were
    assert "entries need a stop loss" in str(bare["outcome"]), bare
    assert run.interrupt() == 0
