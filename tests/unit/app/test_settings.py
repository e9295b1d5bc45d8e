"""moonhook.toml read strictly: defaults, every section, env overrides, and each kind of error
with a message that names the file, the key and what was expected (never a secret)."""

from pathlib import Path

import pytest

from engine.domain.config import DEFAULT_BUDGET, EngineConfig, PluginConfig, ServerConfig, Settings
from engine.domain.config.telegram import ChatConfig
from engine.core.plugins import check_budget, make_budget
from engine.app.settings import SettingsError, load_settings
from sandbox import MB, Budget

from support.settings_support import error, write

FULL = """
[server]
host = "0.0.0.0"
port = 9000
secret = "file-secret-0123456789"
api_token = "file-token-0123456789"
allow_ips = ["52.89.214.238", "10.0.0.0/8", "2001:db8::/32"]
trusted_proxies = ["127.0.0.1"]
hosts = ["trader.example.com", "mypc.local:9000"]
max_body = 32768

[engine]
scripts = "my-scripts"
data = "/var/lib/moonhook"
broker = "paper"
execute_alerts = false
dedup_window = 30
default_volume = 0.05
symbol_map = { "OANDA:EURUSD" = "EURUSD" }

[sandbox]
workers = 2
instructions = 3000000
timeout_ms = 250
memory_mb = 32

[paper]
balance = 5000
currency = "eur"
leverage = 30
spread_points = 2
spreads = { EURUSD = 8 }
commission_per_lot = 3.5

[plugins.trend_filter]
enabled = false
params = { timeframe = "H4" }
budget = { instructions = 5000000, timeout = 0.2, memory_mb = 32 }

[telegram]
api_url = "http://127.0.0.1:8081/"
admins = [111, 333]
command_chats = [-100222]
parse_mode = "MarkdownV2"
throttle_seconds = 30
command_max_age = 60
webhook_url = "https://example.org/hooks"
webhook_secret = "tg-secret-0123456789"

[[telegram.bots]]
token = "111:AAA"
chats = [111, { id = -100222, events = ["trades", "errors"] }]

[[telegram.bots]]
token = "222:BBB"
chats = ["@desk"]

[mt5]
login = 1

[monitor]
latency_alert_ms = 250
memory_alert_mb = 800
"""


def test_defaults_without_a_file():
    assert load_settings(None, {}) == Settings()


def test_a_folder_given_for_the_file_names_the_file_in_it(tmp_path):
    # `--config bot` was "bot: cannot read it: Is a directory".
    (tmp_path / "bot").mkdir()
    with pytest.raises(SettingsError, match=r"^.*/bot: a folder: give the file in it, .*/bot/moonhook\.toml$"):
        load_settings(tmp_path / "bot")


def test_an_empty_file_is_the_defaults_with_folders_beside_it(tmp_path):
    s = load_settings(write(tmp_path, ""), {})
    assert s.server == ServerConfig()
    assert s.engine.scripts == tmp_path / "scripts" and s.engine.data == tmp_path / "data"
    assert s.engine.default_budget == DEFAULT_BUDGET and s.engine.plugins == {}


@pytest.mark.parametrize("text", ["", " \n\n", "#:schema ./moonhook.schema.json\n# [engine]\n# max_risk_pct = 2\n"])
def test_a_saved_file_holding_no_settings_is_refused_not_read_as_the_defaults(tmp_path, text):
    """At a start it is the defaults; saved while the engine runs, it would unset every limit."""
    assert load_settings(write(tmp_path, text), {}).engine == EngineConfig(scripts=tmp_path / "scripts",
                                                                            data=tmp_path / "data")
    with pytest.raises(SettingsError) as e:
        load_settings(write(tmp_path, text), {}, saved=True)
    assert str(e.value) == f"{tmp_path / 'moonhook.toml'}: it holds no settings (empty, or comments only)"


def test_a_file_saved_by_windows_notepad_reads_as_any_other(tmp_path):
    """UTF-8 with a byte order mark and CRLF line ends: refused as "Invalid statement (at line 1,
    column 1)", at a start and at a save alike (a tightened limit not applied)."""
    text = '#:schema ./moonhook.schema.json\n[engine]\nmax_risk_pct = 2\n[server]\nsecret = "s3cret-0123456789ab"\n'
    path = tmp_path / "moonhook.toml"
    path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    read = load_settings(path, {}, saved=True)
    assert read == load_settings(write(tmp_path, text), {}, saved=True)
    assert read.engine.max_risk_pct == 2 and read.server.secret == "s3cret-0123456789ab"


def test_a_full_file_with_every_section(tmp_path):
    s = load_settings(write(tmp_path, FULL), {})
    assert s.server.host == "0.0.0.0" and s.server.port == 9000 and s.server.max_body == 32768
    assert (s.server.secret, s.server.api_token) == ("file-secret-0123456789", "file-token-0123456789")
    assert s.server.allow_ips == ("52.89.214.238", "10.0.0.0/8", "2001:db8::/32")
    assert s.server.trusted_proxies == ("127.0.0.1",)
    assert s.server.hosts == ("trader.example.com", "mypc.local:9000")
    e = s.engine
    assert e.scripts == tmp_path / "my-scripts" and e.data == Path("/var/lib/moonhook")
    assert (e.broker, e.execute_alerts, e.dedup_window, e.default_volume) == ("paper", False, 30.0, 0.05)
    assert e.symbol_map == {"OANDA:EURUSD": "EURUSD"}
    assert e.workers == 2
    assert e.default_budget == Budget(instructions=3_000_000, timeout=0.25, memory=32 * MB)
    assert (e.paper.balance, e.paper.currency, e.paper.leverage) == (5000.0, "EUR", 30.0)
    assert e.paper.spreads == {"EURUSD": 8.0} and e.paper.commission_per_lot == 3.5
    plugin = e.plugins["trend_filter"]
    assert plugin == PluginConfig(enabled=False, params={"timeframe": "H4"},
                                  budget={"instructions": 5_000_000, "timeout": 0.2, "memory_mb": 32})
    assert e.plugin("other") == PluginConfig()
    t = e.telegram
    assert (t.api_url, t.admins, t.parse_mode, t.throttle_seconds) == ("http://127.0.0.1:8081", (111, 333),
                                                                       "MarkdownV2", 30.0)
    assert t.command_chats == (-100222,)
    assert (t.command_max_age, t.webhook_url, t.webhook_secret) == (60.0, "https://example.org/hooks", "tg-secret-0123456789")
    assert [b.id for b in t.bots] == ["111", "222"] and t.bots[1].chats == (ChatConfig("@desk"),)
    assert t.bots[0].chats == (ChatConfig(111), ChatConfig(-100222, frozenset({"trades", "errors"})))
    assert (e.monitor.latency_alert_ms, e.monitor.memory_alert_mb, e.monitor.interval_seconds) == (250, 800, 10)


def test_a_plugin_budget_is_what_the_plugin_loader_takes(tmp_path):
    budget = load_settings(write(tmp_path, FULL), {}).engine.plugins["trend_filter"].budget
    check_budget(budget, "plugins.trend_filter.budget")
    made = make_budget(DEFAULT_BUDGET, EngineConfig().budget_limits, budget)
    assert made == Budget(instructions=5_000_000, timeout=0.2, memory=32 * MB)


def test_relative_folders_are_relative_to_the_config_not_the_cwd(tmp_path, monkeypatch):
    (tmp_path / "conf").mkdir()
    path = tmp_path / "conf" / "moonhook.toml"
    path.write_text('[engine]\nscripts = "../strategies"\ndata = "state"\n')
    monkeypatch.chdir(tmp_path)
    e = load_settings(Path("conf/moonhook.toml"), {}).engine
    assert e.scripts.resolve() == (tmp_path / "strategies").resolve()
    assert e.data.resolve() == (tmp_path / "conf" / "state").resolve()


def test_the_environment_overrides_the_secrets(tmp_path):
    env = {"MOONHOOK_SECRET": "env-secret-0123456789", "MOONHOOK_API_TOKEN": "env-token-0123456789"}
    s = load_settings(write(tmp_path, FULL), env)
    assert (s.server.secret, s.server.api_token) == ("env-secret-0123456789", "env-token-0123456789")
    assert load_settings(None, env).server.secret == "env-secret-0123456789"
    assert load_settings(write(tmp_path, FULL), {"MOONHOOK_SECRET": ""}).server.secret == "file-secret-0123456789"


def test_the_environment_sets_the_port_and_a_bad_one_is_named_by_its_variable(tmp_path):
    config = write(tmp_path, FULL)
    assert load_settings(config, {"MOONHOOK_PORT": " 8123 "}).server.port == 8123
    assert load_settings(None, {"MOONHOOK_PORT": "0"}).server.port == 0  # any free port, as in the file
    assert load_settings(config, {"MOONHOOK_PORT": ""}).server.port == load_settings(config, {}).server.port
    for bad, shown in (("http", '"http"'), ("70000", "70000"), ("-1", '"-1"')):
        with pytest.raises(SettingsError) as e:
            load_settings(config, {"MOONHOOK_PORT": bad})
        assert str(e.value) == f"the environment's MOONHOOK_PORT: expected an integer from 0 to 65535, got {shown}"


@pytest.mark.parametrize("key", ["secret", "api_token"])
def test_a_secret_a_stranger_could_guess_is_refused_from_the_file_and_the_environment(tmp_path, key):
    """The webhook takes guesses without a limit (TradingView's addresses are shared by all its
    users), and the API's token commands closes: a short one is refused, never echoed."""
    with pytest.raises(SettingsError) as e:
        load_settings(write(tmp_path, f'[server]\n{key} = "hunter2-short"\n'), {})
    assert str(e.value).endswith(f"line 2: server.{key}: expected a string of at least 16 characters (a shorter "
                                 "one can be guessed; `moonhook init` writes 32 random ones)")
    var = {"secret": "MOONHOOK_SECRET", "api_token": "MOONHOOK_API_TOKEN"}[key]
    with pytest.raises(SettingsError) as e:
        load_settings(None, {var: "hunter2-short"})
    assert str(e.value).startswith(f"the environment's {var}: expected a string of at least 16 characters")
    assert "hunter2" not in str(e.value)
    assert getattr(load_settings(None, {var: "hunter2-long-enough"}).server, key) == "hunter2-long-enough"


@pytest.mark.parametrize("key, written", [("secret", "${WEBHOOK_SECRET}"), ("api_token", "$MOONHOOK_API_TOKEN"),
                                          ("secret", " ${TV_SECRET:-change-me} ")])
def test_an_environment_variable_written_for_a_secret_is_refused_not_taken_as_the_secret(tmp_path, key, written):
    """moonhook.toml is read as written: `secret = "${WEBHOOK_SECRET}"`, as in a compose file, was the
    secret itself, 17 characters anyone can guess, and TradingView's alerts carrying the real one were
    refused. Refused where it is written, naming the variable that sets it; never echoed."""
    said = ("expected the secret itself, not an environment variable's name (none is read in its place: "
            "MOONHOOK_SECRET and MOONHOOK_API_TOKEN in the environment set the secret and the token)")
    with pytest.raises(SettingsError) as e:
        load_settings(write(tmp_path, f'[server]\n{key} = "{written}"\n'), {})
    assert str(e.value).endswith(f"line 2: server.{key}: {said}")
    var = {"secret": "MOONHOOK_SECRET", "api_token": "MOONHOOK_API_TOKEN"}[key]
    with pytest.raises(SettingsError) as e:
        load_settings(None, {var: written})   # a compose file or unit that passed its text on unexpanded
    assert str(e.value) == f"the environment's {var}: {said}"
    assert getattr(load_settings(None, {var: "$uper-Secret-0123456"}).server, key) == "$uper-Secret-0123456"


def test_a_missing_file_names_its_path(tmp_path):
    with pytest.raises(SettingsError, match="nowhere.toml: no such configuration file"):
        load_settings(tmp_path / "nowhere.toml", {})


def test_a_toml_syntax_error_gives_the_file_and_line(tmp_path):
    message = error(tmp_path, '[server]\nhost = "x"\nport = = 1\n')
    assert message.startswith(f"{tmp_path / 'moonhook.toml'}: not valid TOML")
    assert "line 3" in message


@pytest.mark.parametrize("text, expected", [
    ('[server]\nallow_ips = ["52.89.214.238", "34.212.75.30"\n# proxies\ntrusted_proxies = []\n',
     "line 2: server.allow_ips: not valid TOML: Unclosed array: no ] before line 4, column 1"),
    ('[server]\nallow_ips = [\n  "52.89.214.238",\n  "34.212.75.30"\n\ntrusted_proxies = []\n',
     "line 2: server.allow_ips: not valid TOML: Unclosed array: no ] before line 6, column 1"),
    ('[server]\nallow_ips = ["52.89.214.238" "34.212.75.30"]\n',
     "line 2: server.allow_ips: not valid TOML: Unclosed array: no ] before line 2, column 30"),
])
def test_an_array_left_open_is_named_with_the_line_it_begins_on(tmp_path, text, expected):
    """tomllib places an array without its ] at the next key it meets: "Unclosed array (at line 4,
    column 1)" of `trusted_proxies = []`, a line with nothing wrong; the key it begins on is named."""
    with pytest.raises(SettingsError) as e:
        load_settings(write(tmp_path, text), {})
    assert str(e.value) == f"{tmp_path / 'moonhook.toml'}: {expected}", str(e.value)


@pytest.mark.parametrize("text, expected", [
    ("[engine]\nbreaker = 5\n\n[plugins.demo.params]\nsymbols = [\"EURUSD\", \"GBPUSD\"\n# the last line\n",
     "line 5: plugins.demo.params.symbols: not valid TOML: Unclosed array (its value runs to the end of the file)"),
    ('[server]\nport = 8080\n[plugins.demo.params]\nnote = """a note\nmax_lots = 2\n',
     "line 4: plugins.demo.params.note: not valid TOML: Unterminated string (its value runs to the end of the file)"),
    ("[engine]\nbreaker = 5\nmax_risk_pct = ", "line 3: engine.max_risk_pct: not valid TOML: Invalid value (its value "
     "runs to the end of the file)"),
    # not a value left open: the file's last line, as tomllib would name any other
    ('[[telegram.bots]]\ntoken = "1:a"\n[telegram]\nbots = []', "line 4: not valid TOML: Cannot overwrite a value"),
    ('[engine]\nbreaker = 5\n\nmax_risk', "line 4: not valid TOML: Expected '=' after a key in a key/value pair"),
])
def test_a_value_left_open_at_the_files_end_is_named_with_its_line(tmp_path, text, expected):
    """tomllib says "(at end of document)" of a value it is still reading there: no line, no key. The
    array or multi-line string a trader left open runs to the end; the last key written holds it."""
    with pytest.raises(SettingsError) as e:
        load_settings(write(tmp_path, text), {})
    assert str(e.value) == f"{tmp_path / 'moonhook.toml'}: {expected}", str(e.value)


@pytest.mark.parametrize("text, expected", [
    ("[engine]\nbroker = \"paper\"\nbreaker = 5\n\n[plugins.demo.params]\nallow_without_stop = false\n"
     "allow_without_stop = true\n", "line 7: plugins.demo.params.allow_without_stop is written twice (first on "
     "line 6): keep one"),
    ("[server]\nport = 8080\nport = 8081\nhost = \"127.0.0.1\"\n",
     "line 3: server.port is written twice (first on line 2): keep one"),
    ("[paper]\nbalance = 1.0\n[engine]\nbreaker = 1\n[paper]\nleverage = 2.0\n",
     "line 5: [paper] is written twice (first on line 1): keep one"),
    ('max_body = 1\n[server]\n"max_body" = 2\nmax_body = 3\n',
     "line 4: server.max_body is written twice (first on line 3): keep one"),
])
def test_a_key_written_twice_is_named_with_its_lines(tmp_path, text, expected):
    """tomllib says only "Cannot overwrite a value", and, for the file's last line, "(at end of
    document)": no line, no key, in a file of 150 lines."""
    with pytest.raises(SettingsError) as e:
        load_settings(write(tmp_path, text), {})
    assert str(e.value) == f"{tmp_path / 'moonhook.toml'}: {expected}", str(e.value)


@pytest.mark.parametrize("text, expected", [
    ("[server]\nport = \"80x\"\n", 'server.port: expected an integer from 0 to 65535, got "80x"'),
    ("[server]\nport = 70000\n", "server.port: expected an integer from 0 to 65535, got 70000"),
    ("[server]\nport = true\n", "server.port: expected an integer from 0 to 65535, got true"),
    ("[engine]\nbrokr = \"paper\"\n", "engine.brokr: unknown key (known: scripts, data, broker,"),
    ("servr = {}\n", "servr: unknown key (known: server, engine, sandbox, paper, plugins,"),
    ("[plugins.x]\nbudget = { timeout_ms = 5 }\n",
     "plugins.x.budget.timeout_ms: unknown key (known: instructions, timeout, memory_mb)"),
    ("[plugins.x]\nenabeld = false\n", "plugins.x.enabeld: unknown key (known: enabled, params, budget)"),
    ("[plugins.x]\nbudget = { timeout = 5 }\n", "plugins.x.budget.timeout: expected a number from 0.001 to 1, got 5"),
    ("[plugins.x]\nbudget = { instructions = 500000000 }\n",
     "plugins.x.budget.instructions: expected an integer from 1 to 50000000, got 500000000"),
    ("[plugins.x]\nbudget = { memory_mb = 128 }\n", "plugins.x.budget.memory_mb: expected a number from 0.25 to 64, got 128"),
    ("[plugins]\nx = 1\n", "plugins.x: expected a table, got 1"),
    ("server = 5\n", "server: expected a table"),   # it holds the secrets: what it holds is not echoed
    ("[engine]\nbroker = \"ib\"\n", 'engine.broker: expected one of paper, mt5, got "ib"'),
    ("[engine]\nexecute_alerts = \"yes\"\n", 'engine.execute_alerts: expected true or false, got "yes"'),
    ("[engine]\ndedup_window = -1\n", "engine.dedup_window: expected a number, 0 or more, got -1"),
    ("[engine]\ndefault_volume = nan\n", "engine.default_volume: expected a number greater than 0, got nan"),
    ("[engine]\nmax_order_volume = 0\n", "engine.max_order_volume: expected a number greater than 0, got 0"),
    ("[engine]\nmax_open_positions = 2.5\n",
     "engine.max_open_positions: expected an integer from 1 to 100000, got 2.5"),
    ("[engine]\nsymbol_map = { A = 1 }\n", "engine.symbol_map.A: expected a table of symbol names"),
    ("[engine]\nmax_spread_wait = 300\n", "engine.max_spread_wait: 300 s is longer than engine.max_alert_age "
     "(120 s): an entry would be sent older than its alert may be; raise max_alert_age with it"),
    ("[engine]\nmax_spread_pips = 0\n", "engine.max_spread_pips: expected a number of pips above 0, or a table "
     "of them by symbol"),
    ("[engine]\nmax_spread_pips = { \"*\" = 3, XAUUSD = \"wide\" }\n",
     'engine.max_spread_pips.XAUUSD: expected a number of pips above 0, or a table of them by symbol ({ "*" = 3, '
     'XAUUSD = 40 }), got "wide"'),
    ("[server]\nallow_ips = [\"10.0.0.1\", \"10.0.0.300\"]\n",
     'server.allow_ips[1]: expected an IP address or network, like 203.0.113.7 or 10.0.0.0/8, got "10.0.0.300"'),
    ("[server]\ntrusted_proxies = [\"10.0.0.1/8\"]\n", 'server.trusted_proxies[0]: expected an IP address or network'),
    ("[server]\nallow_ips = \"10.0.0.1\"\n", "server.allow_ips: expected a list of IP addresses or networks"),
    ("[server]\nallow_ips = [1]\n", "server.allow_ips[0]: expected an IP address or network"),  # not 0.0.0.1
    ("[server]\nhosts = [\"https://trader.example.com\"]\n", 'server.hosts[0]: expected a name, or a name:port, '
     'like trader.example.com or mypc.local:8080, got "https://trader.example.com"'),
    ("[server]\nhosts = \"trader.example.com\"\n", "server.hosts: expected a list of names"),
    ("[sandbox]\nworkers = 0\n", "sandbox.workers: expected an integer from 1 to 64, got 0"),
    ("[sandbox]\ntimeout_ms = 5000\n", "sandbox.timeout_ms: expected a number from 1 to 1000, got 5000"),
    ("[paper]\nbalance = \"lots\"\n", 'paper.balance: expected a number above 0 and at most 1e+15, got "lots"'),
    ("[paper]\nhedged_margin = 50000\n", "paper.hedged_margin: expected a number from 0 to 1, got 50000"),
    # Past 1e15 the paper account's sums leave floats: a commission of 1e308 booked the balance -inf for good.
    ("[paper]\nbalance = 1e16\n", "paper.balance: expected a number above 0 and at most 1e+15, got 1e+16"),
    ("[paper]\ncommission_per_lot = 1e308\n", "paper.commission_per_lot: expected a number from 0 to 1e+15, got"),
    ("[paper]\nspreads = { EURUSD = 1e300 }\n",
     "paper.spreads.EURUSD: expected a table of spreads in points, 0 to 1e15, got 1e+300"),
    ("[paper]\nsymbols = { EURUSD = { contract_size = 1e300 } }\n",
     "paper.symbols.EURUSD.contract_size: expected a positive number up to 1e15, got 1e+300"),
    ("[telegram]\nbots = 3\n", "telegram.bots: expected an array of tables ([[telegram.bots]])"),  # may hold tokens
    ("[telegram]\ntoken = \"x\"\n", "telegram.token: unknown key (known: api_url, admins,"),
    ("[telegram]\napi_url = \"api.telegram.org\"\n", "telegram.api_url: expected an http:// or https:// URL"),
    ("[telegram]\nadmins = [42, \"x\"]\n", "telegram.admins[1]: expected a person's user id, a positive number"),
    ("[telegram]\nadmins = 42\n", "telegram.admins: expected a list, like [123456789], got 42"),
    ("[telegram]\ncommand_chats = [-100222, 42]\n",
     "telegram.command_chats[1]: expected a group's chat id, a negative number (an admin's private chat needs no "
     "listing), got 42"),
    ("[telegram]\ncommand_chats = [\"@desk\"]\n", 'telegram.command_chats[0]: expected a group\'s chat id'),
    ("[telegram]\nparse_mode = \"Markdown\"\n", 'telegram.parse_mode: expected one of HTML, MarkdownV2, got "Markdown"'),
    ("[[telegram.bots]]\ntoken = \"1:A\"\nchats = [0]\n", "telegram.bots[0].chats[0]: expected a chat id"),
    ("[[telegram.bots]]\ntoken = \"1:A\"\nchats = [{ id = 5, events = [\"fills\"] }]\n",
     'telegram.bots[0].chats[0].events: expected a list of events from trades, errors, admin, plugin, got ["fills"]'),
    ("[[telegram.bots]]\ntoken = \"1:A\"\nchats = [{ chat = 5 }]\n", 'telegram.bots[0].chats[0].chat: expected one of'),
    ("[[telegram.bots]]\ntoken = \"1:A\"\nchats = [5]\n[[telegram.bots]]\ntoken = \"2:B\"\nchats = [5]\n",
     "telegram.bots[1].chats[0]: chat 5 is already served by telegram.bots[0] (one chat, one bot)"),
    ("[[telegram.bots]]\ntoken = \"1:A\"\n[[telegram.bots]]\ntoken = \"1:A\"\n",
     "telegram.bots[1]: the same bot (id 1) is listed twice"),
    ("[[telegram.bots]]\ntoken = \"1:A\"\n[[telegram.bots]]\nchats = [5]\n",
     "telegram.bots[1].token: required: the bot's token, from @BotFather"),
    ("[telegram]\nwebhook_url = \"https://x.org/h\"\n", "telegram.webhook_url: needs telegram.webhook_secret"),
    ("[monitor]\nlatency_alert_ms = 0\n", "monitor.latency_alert_ms: expected a number greater than 0, got 0"),
    ("[monitor]\nmemory = 5\n", "monitor.memory: unknown key (known: latency_alert_ms, memory_alert_mb,"),
    ("[mt5]\nserver_clock = \"GMT+2/+4 US\"\n", "mt5.server_clock: 'GMT+2/+4 US' is not a clock (its summer "
     "offset +4 is not an hour after its winter one +2); expected \"auto\", \"GMT+2/+3 US\" (or EU, AU), \"GMT+2\", "
     "\"UTC\" or a time zone name such as \"Europe/Prague\""),
    ("[mt5]\nserver_clock = \"Europe/Atlantis\"\n", "mt5.server_clock: 'Europe/Atlantis' is not a clock "
     "(unknown IANA time zone key"),
    ("[mt5]\nserver_clock = \"GMT+15\"\n", "mt5.server_clock: 'GMT+15' is not a clock"),
    ("[mt5]\nserver_clock = 2\n", "mt5.server_clock: expected a non-empty string, got 2"),
    ("[plugins.cap]\nparams = { max_lots = nan }\n", "plugins.cap.params.max_lots: expected a number, not nan "
     "(every comparison with nan is false: a script's check of it never holds), got nan"),
    ("[plugins.cap.params]\nlimits = { EURUSD = [1, nan] }\n", "plugins.cap.params.limits.EURUSD[1]: expected a number"),
    ("[engine]\nsymbol_map = { GOLD = \"XAU USD\" }\n",
     "engine.symbol_map: 'GOLD' maps to 'XAU USD', which is not a valid symbol"),
    # a built-in symbol in another case: a new symbol no alert reaches (alerts' are in capitals), or "unknown"
    ("[paper]\nsymbols = { eurusd = { stops_level = 10 } }\n",
     "paper.symbols.eurusd: the paper broker names this symbol EURUSD: write EURUSD"),
    ("[paper]\nspreads = { xauusd = 30 }\n", "paper.spreads.xauusd: the paper broker names this symbol XAUUSD: write XAUUSD"),
    # read in any case: one of the two was dropped unsaid, the other taken
    ("[engine]\nsymbol_map = { us30 = \"US30.cash\", US30 = \"DJ30\" }\n",
     "engine.symbol_map: 'us30' and 'US30' are one ticker (read in any case): keep one"),
    ("[engine]\nsymbol_map = { \"OANDA:XAUUSD\" = \"GOLD\", \"oanda:xauusd \" = \"XAU\" }\n",
     "engine.symbol_map: 'OANDA:XAUUSD' and 'oanda:xauusd ' are one ticker (read in any case): keep one"),
    ("[engine]\nmax_spread_pips = { \"*\" = 3, EURUSD = 2, eurusd = 4 }\n",
     "engine.max_spread_pips.eurusd: EURUSD and eurusd are one symbol (read in any case): keep one"),
])
def test_each_error_names_the_key_and_what_was_expected(tmp_path, text, expected):
    message = error(tmp_path, text)
    assert message.startswith(f"{tmp_path / 'moonhook.toml'}: {expected}"), message


LINES = """\
#:schema ./moonhook.schema.json
[server]
secret = 5           # a secret: never echoed
[engine]
max_risk_pct = 2
max_entries_per_hours = 20
"""


@pytest.mark.parametrize("text, expected", [
    (LINES, "line 3: server.secret: expected a string of at least 16 characters"),
    (LINES.replace("secret = 5", 'secret = "s-0123456789abcdef"'), "line 6: engine.max_entries_per_hours: unknown key"),
    (LINES.replace("[engine]", "[limits]").replace("secret = 5", 'secret = "s-0123456789abcdef"'),
     "line 4: limits: unknown key"),
    (LINES.replace("max_risk_pct = 2\nmax_entries_per_hours = 20", 'trading_day = """\nmax_risk_pct = 2\n"""\n'
                   "max_risk_pct = 200").replace("secret = 5", 'secret = "s-0123456789abcdef"'),
     "line 8: engine.max_risk_pct: expected a number above 0 and at most 100, got 200"),   # not the line in the string
    ('[[telegram.bots]]\ntoken = "1:a"\n\n[[telegram.bots]]\ntoken = 7\n', "line 5: telegram.bots[1].token: expected"),
    ("[plugins.demo]\nenabled = true\nbudget = { timeout = 9 }\n", "line 3: plugins.demo.budget.timeout: expected"),
    ('[paper]\ncurrency = "dollars"\n', "line 2: paper.currency: expected a 3-letter currency code"),
    ('engine.max_risk_pct = "2"\n', "line 1: engine.max_risk_pct: expected a number"),
    # a table's name mistyped in a longer header, or a dotted key: named no line
    ('[engine]\nbreaker = 1\n\n[plugin.demo.params]\nx = 1\n', "line 4: plugin: unknown key"),
    ('[engine]\nbreaker = 1\nsandbox.workers = 2\n', "line 3: engine.sandbox: unknown key"),
    ('[[telegram.bot]]\ntoken = "1:a"\n', "line 1: telegram.bot: unknown key"),
    ('[[telegram.bots]]\ntoken = "1:a"\n\n[[telegram.bots]]\nchats = [5]\n', "line 4: telegram.bots[1].token: required"),
])
def test_an_error_names_the_line_of_its_key(tmp_path, text, expected):
    """In a file of 150 lines a key's path is not enough: the line is said too (tomllib keeps none)."""
    with pytest.raises(SettingsError) as e:
        load_settings(write(tmp_path, text), {})
    assert str(e.value).startswith(f"{tmp_path / 'moonhook.toml'}: {expected}"), str(e.value)


def test_a_dataclass_check_is_reported_with_the_file(tmp_path):
    message = error(tmp_path, "[paper]\nspreads = { NOPE = 1 }\n")
    assert message == (f"{tmp_path / 'moonhook.toml'}: paper.spreads.NOPE: unknown symbol (define it under "
                       "paper.symbols)")


def test_a_telegram_webhook_secret_a_stranger_could_guess_is_refused(tmp_path):
    """/telegram/<bot> takes guesses without a limit, as the webhook does, and the update a right guess
    posts is an admin's command (/closeall) for anyone who knows an admin's user id: "a" was taken."""
    for short in ("a", "hunter2-short"):
        with pytest.raises(SettingsError) as e:
            load_settings(write(tmp_path, f'[telegram]\nwebhook_url = "https://x.org/h"\nwebhook_secret = "{short}"\n'), {})
        assert str(e.value).endswith("line 3: telegram.webhook_secret: expected 16 to 256 characters from A-Z, a-z, "
                                     "0-9, _ and - (a shorter one can be guessed; what Telegram accepts)"), str(e.value)
        assert "hunter2" not in str(e.value)
    settings = load_settings(write(tmp_path, '[telegram]\nwebhook_url = "https://x.org/h"\n'
                                             'webhook_secret = "hunter2-long-enough"\n'), {})
    assert settings.engine.telegram.webhook_secret == "hunter2-long-enough"


@pytest.mark.parametrize("text", [
    '[server]\nsecret = ["hunter2-secret"]\n',
    '[server]\napi_token = { t = "hunter2-secret" }\n',
    '[server]\nsecret = 12345678\napi_token = "hunter2-secret"\n',
    '[[telegram.bots]]\ntoken = ["123:hunter2-secret"]\n',
    '[telegram]\nwebhook_secret = ["hunter2-secret"]\n',
])
def test_secrets_never_appear_in_an_error(tmp_path, text):
    message = error(tmp_path, text)
    assert any(said in message for said in ("expected a non-empty string", "expected a string of at least 16 characters",
                                            "telegram.webhook_secret: expected 16 to 256 characters"))
    assert "hunter2" not in message and "12345678" not in message


@pytest.mark.parametrize("text, said", [
    ('[[mt5]]\nlogin = 1\npassword = "hunter2-secret"\n', "mt5: expected a table"),
    ('[[server]]\nsecret = "hunter2-secret-0123"\n', "server: expected a table"),
    ('[[telegram]]\nwebhook_secret = "hunter2-secret"\n', "telegram: expected a table"),
    ('[telegram]\nbots = [{ token = "123:hunter2-secret" }, 5]\n',
     "telegram.bots: expected an array of tables ([[telegram.bots]])"),
    ('[telegram]\nbots = ["123:hunter2-secret"]\n', "telegram.bots: expected an array of tables ([[telegram.bots]])"),
])
def test_a_table_holding_a_secret_written_as_another_kind_is_refused_without_it(tmp_path, text, said):
    """``[[mt5]]`` for ``[mt5]``: the error echoed the array it found, the MT5 password in it,
    to the log and, saved while running, to the administrators' chat."""
    message = error(tmp_path, text)
    assert message.endswith(said) and "hunter2" not in message, message


@pytest.mark.parametrize("token", ["bot5150:hunter2-secret", " 5150:hunter2-secret", "5150:hunter2-secret ",
                                   "5150:hunter2/secret", "5150: hunter2-secret", "5150:hunter2-secret..."])
def test_a_bot_token_telegram_cannot_read_is_refused_at_the_start_without_it(tmp_path, token):
    """The "bot" of the Bot API's URLs copied with it, a space, "..." as the docs' sample ends: Telegram finds no
    bot (404) at every call, and the trader read only 'Not Found' in the log; refused here, as @BotFather's are
    digits, a colon, then letters, digits, _ and -."""
    message = error(tmp_path, f'[[telegram.bots]]\ntoken = "{token}"\nchats = [1]\n')
    assert message.endswith("telegram.bots[0].token: expected a bot token like 123456:ABC-DEF... (from @BotFather)")
    assert "hunter2" not in message


def test_a_bot_token_never_appears_in_an_error_or_a_repr(tmp_path):
    message = error(tmp_path, '[[telegram.bots]]\ntoken = "hunter2-secret"\n')
    assert message.endswith("telegram.bots[0].token: expected a bot token like 123456:ABC-DEF... (from @BotFather)")
    assert "hunter2" not in message
    settings = load_settings(write(tmp_path, '[telegram]\nwebhook_url = "https://x.org/h"\nwebhook_secret = "hunter2-webhook-secret"\n'
                                             '[[telegram.bots]]\ntoken = "123:hunter2-secret"\nchats = [1]\n'), {})
    assert "hunter2" not in repr(settings) and settings.engine.telegram.bots[0].id == "123"


def test_an_env_secret_read_from_a_file_is_taken_without_its_line_end(tmp_path):
    """A container's secret file ends with a newline: kept, every webhook was refused as a wrong
    secret (TradingView's path carries none) and `moonhook send` ended in a traceback."""
    env = {"MOONHOOK_SECRET": "k8s-secret-0123456789abcdef\n", "MOONHOOK_API_TOKEN": " api-token-0123456789\r\n"}
    server = load_settings(write(tmp_path, FULL), env).server
    assert (server.secret, server.api_token) == ("k8s-secret-0123456789abcdef", "api-token-0123456789")
    message = error(tmp_path, "", {"MOONHOOK_SECRET": "short\n"})
    assert message == "the environment's MOONHOOK_SECRET: expected a string of at least 16 characters (a shorter " \
                      "one can be guessed; `moonhook init` writes 32 random ones)", message


def test_the_mt5_password_from_a_secret_file_is_taken_without_its_line_end(tmp_path):
    """docs/configuration.md says the four variables are taken without the spaces and line end around
    them; MOONHOOK_MT5_PASSWORD was taken whole, and a password read from a container's secret file
    carried its newline to the terminal, which refused the login."""
    env = {"MOONHOOK_MT5_PASSWORD": "mt5-Passw0rd\n"}
    assert load_settings(write(tmp_path, '[mt5]\nlogin = 1\n'), env).engine.mt5.password == "mt5-Passw0rd"
    message = error(tmp_path, '[mt5]\npassword = "file-one"\n', {"MOONHOOK_MT5_PASSWORD": " \n"})
    assert message == "the environment's MOONHOOK_MT5_PASSWORD: expected a non-empty string", message


def test_an_env_secret_never_appears_in_an_error(tmp_path):
    message = error(tmp_path, "[server]\nport = -1\n", {"MOONHOOK_SECRET": "hunter2-secret"})
    assert "server.port" in message and "hunter2" not in message


@pytest.mark.parametrize("admin", ["-100222", '"@desk"', "0"])
def test_a_chat_among_the_admins_stops_the_start_instead_of_letting_its_members_command(tmp_path, admin):
    # Before admins meant people, a group's chat id there let every member command. Such a config cannot
    # say who the admins are, so it is refused (with what to write instead) rather than half kept.
    message = error(tmp_path, f"[telegram]\nadmins = [111, {admin}]\n")
    assert message.startswith(f"{tmp_path / 'moonhook.toml'}: telegram.admins[1]: expected a person's user id")
    assert "admins are people, not chats" in message and "telegram.command_chats" in message
    assert message.endswith(f"got {admin}")
    ok = load_settings(write(tmp_path, "[telegram]\nadmins = [111]\ncommand_chats = [-100222]\n"), {})
    assert (ok.engine.telegram.admins, ok.engine.telegram.command_chats) == ((111,), (-100222,))


@pytest.mark.parametrize("host", ["127.0.0.1:8080", "http://127.0.0.1", "localhost:8080", "0.0.0.0/0", "my host"])
def test_a_listening_address_that_is_no_host_is_refused_with_its_line(tmp_path, host):
    """`host = "127.0.0.1:8080"` passed the settings, and `moonhook run` stopped later, at the bind
    ("cannot listen on 127.0.0.1:8080:8080"), without the file's line, its data folder made."""
    with pytest.raises(SettingsError) as e:
        load_settings(write(tmp_path, f'[server]\nport = 8080\nhost = "{host}"\n'), {})
    assert str(e.value) == (f"{tmp_path / 'moonhook.toml'}: line 3: server.host: expected an IP address or a name, like "
                       f"\"127.0.0.1\", \"0.0.0.0\", \"::\" or \"mypc.local\", without a port (that is server.port), "
                       f"got \"{host}\""), str(e.value)


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0", "::", "::1", "[::1]", "localhost", "mypc.local",
                                  "fe80::1%eth0"])
def test_a_listening_address_is_an_ip_address_or_a_name(tmp_path, host):
    assert load_settings(write(tmp_path, f'[server]\nhost = "{host}"\n'), {}).server.host == host


def test_a_monitor_interval_under_a_second_is_refused(tmp_path):
    # At 1e-6 an idle `moonhook run` burnt 96-98 % of a core looking at memory and the limits.
    assert "monitor.interval_seconds: expected a number from 1 to 86400, got 1e-06" in \
        error(tmp_path, "[monitor]\ninterval_seconds = 1e-6\n")
    assert load_settings(write(tmp_path, "[monitor]\ninterval_seconds = 1\n"), {}).engine.monitor.interval_seconds == 1


def test_a_whole_number_written_as_a_float_is_that_number_wherever_an_integer_is_read(tmp_path):
    """configuration.md: `workers = 2.0` is 2, as the JSON Schema an editor checks the file with reads
    it. A Telegram id and a symbol's digits and stops_level were refused so ("expected a person's
    user id", "expected an integer from 0 to 8, got 5.0"), where the editor showed them valid."""
    settings = load_settings(write(tmp_path, """
[paper]
symbols = { EURUSD = { digits = 5.0, stops_level = 10.0 } }
[telegram]
admins = [123456789.0]
command_chats = [-1001234567890.0]
[[telegram.bots]]
token = "1:A"
chats = [42.0, { id = -100222.0 }]
"""), {})
    telegram = settings.engine.telegram
    assert (telegram.admins, telegram.command_chats) == ((123456789,), (-1001234567890,))
    assert [chat.id for chat in telegram.bots[0].chats] == [42, -100222]
    assert all(type(v) is int for v in (*telegram.admins, *telegram.command_chats, *(c.id for c in telegram.bots[0].chats)))
    from engine.domain.instruments import symbol_table
    eurusd = symbol_table(settings.engine.paper.symbols)["EURUSD"]
    assert (eurusd.digits, eurusd.stops_level) == (5, 10) and type(eurusd.digits) is type(eurusd.stops_level) is int
